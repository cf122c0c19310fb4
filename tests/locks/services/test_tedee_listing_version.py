"""Reading a Tedee lock back costs one call while its PIN list is unchanged (`listVersion`, 304), and
any change behind our back is still seen and repaired: the real adapter over the Tedee emulator."""

from datetime import date, timedelta

import pytest
from django.db import connection
from freezegun import freeze_time

from locks import services
from locks.models import CodeState, FindingKind, Lock, LockAssignment, LockFinding, ProviderAccount
from locks.providers import registry
from locks.providers.tedee import TedeeProvider
from locks.providers.tedee.codes import format_date
from locks.services.read_back import read_back_locks
from tests.helpers.lifecycle import current, tick
from tests.vendors.tedee import TedeeCloud

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


@pytest.fixture(autouse=True)
def tedee_settings(settings, monkeypatch):
    settings.TEDEE_API_URL = "https://api.tedee.com"
    settings.TEDEE_AUTH_URL = "https://tedee.b2clogin.com/tedee.onmicrosoft.com"
    settings.TEDEE_API_VERSION = "v37"
    settings.TEDEE_CLIENT_ID = "nowistay-tedee-client"
    settings.TEDEE_CLIENT_SECRET = "nowistay-tedee-secret"
    monkeypatch.setitem(registry.PROVIDER_CLASSES, "tedee", TedeeProvider)


@pytest.fixture
def cloud():
    cloud = TedeeCloud()
    cloud.add_lock(101, "Front door")
    with cloud:
        yield cloud


@pytest.fixture
def booking(host, make_property, book, cloud):
    prop = make_property(time_zone="Europe/Paris")
    account = ProviderAccount.objects.create(host=host, provider="tedee", display_name="Ada Host", credentials=cloud.credentials())
    lock = Lock.objects.create(account=account, vendor_lock_id="101", name="Front door", supports_remote_codes=True)
    LockAssignment.objects.create(property=prop, lock=lock)
    return book(prop, date(2026, 6, 3), date(2026, 6, 5))


def read_back() -> None:
    lock = Lock.objects.get()
    (result,) = read_back_locks(account_id=lock.account_id, lock_ids=[lock.pk])
    assert result.action == "read", result


def pin_list_calls(cloud, since: int) -> list:
    return [call for call in cloud.calls[since:] if call[1].startswith("my/lock/101/pin")]


def test_an_unchanged_lock_costs_one_call_and_an_edit_in_the_app_is_still_repaired(booking, cloud):
    with freeze_time("2026-06-01 00:00:00") as frozen:
        services.booking_created(booking=booking)
        tick()
        code = current(booking)
        frozen.tick(timedelta(minutes=10))
        read_back()  # no listing kept yet: the list and one call per PIN
        assert current(booking).confirmed_on_lock_at is not None

        frozen.tick(timedelta(minutes=10))
        before = len(cloud.calls)
        read_back()
        assert pin_list_calls(cloud, before) == [("GET", "my/lock/101/pin")]  # 304: nothing changed

        pin = cloud.locks[101].pins[int(code.vendor_code_id)]
        pin["endDate"] = format_date(code.lock_ends_at + timedelta(days=2))  # the host moved it in the Tedee app
        cloud.locks[101].list_version += 1
        frozen.tick(timedelta(minutes=10))
        read_back()
        assert LockFinding.objects.get().kind == FindingKind.MODIFIED_EXTERNALLY
        tick()
    (on_lock,) = cloud.pins_on(101)
    assert on_lock["endDate"] == format_date(current(booking).lock_ends_at)
    assert current(booking).state == CodeState.ACTIVE


def test_the_kept_listing_is_encrypted_and_a_broken_one_costs_a_full_listing(booking, cloud):
    with freeze_time("2026-06-01 00:00:00") as frozen:
        services.booking_created(booking=booking)
        tick()
        frozen.tick(timedelta(minutes=10))
        read_back()
        lock = Lock.objects.get()
        assert lock.listing_version and lock.listing_memo[0]["pin"] == current(booking).pin
        with connection.cursor() as cursor:
            cursor.execute("select listing_memo from locks_lock where id = %s", [lock.pk])
            (stored,) = cursor.fetchone()
        assert current(booking).pin not in stored and "nw-" not in stored

        Lock.objects.filter(pk=lock.pk).update(listing_memo=[{"id": 1}])  # unreadable: a full listing, no harm
        frozen.tick(timedelta(minutes=10))
        before = len(cloud.calls)
        read_back()
        assert len(pin_list_calls(cloud, before)) == 2
        assert LockFinding.objects.count() == 0
