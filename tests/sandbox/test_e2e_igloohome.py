"""The virtual igloohome cloud (sandbox/vendors/igloohome.py) under the real adapter and services.

Connecting and issuing algoPINs need only the sandbox process; the booking lifecycle test needs a
real Celery worker, so it runs where CI runs it: with REDIS_URL set and DATABASE_URL on PostgreSQL.
"""

import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from django.core import mail
from django.utils import timezone

from tests.helpers.processes import wait_until

CLIENT_ID, CLIENT_SECRET = "sandbox-igloohome-client", "sandbox-igloohome-secret"
FRONT_DOOR, GARDEN_GATE, CELLAR, SHED, STUDIO, NEIGHBOUR = (f"IGP1{n:02d}A7" for n in range(1, 7))
PARIS = ZoneInfo("Europe/Paris")

# As test_e2e_sandbox.py's pytestmark, for the worker test only.
needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL) for the real worker")
needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (DATABASE_URL): the worker's threads share the test database",
)


def _codes_on(sandbox_url: str, lock_id: str) -> list[dict]:
    return requests.get(f"{sandbox_url}/_control/igloohome/locks/{lock_id}/", timeout=5).json()["codes"]


def _set_faults(sandbox_url: str, lock_id: str, **switches) -> None:
    requests.post(f"{sandbox_url}/_control/igloohome/locks/{lock_id}/faults/", json=switches, timeout=5).raise_for_status()


def _window(code: dict) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(code["starts_at"]), datetime.fromisoformat(code["ends_at"])


def _connect(host):
    from locks.connect.services import connect_with_credentials

    return connect_with_credentials(
        host=host, provider="igloohome", method="api-client", values={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    )


def _provider(account):
    from locks.services.vendor_accounts import provider_for_account

    return provider_for_account(account)


def _spec(name: str, starts_at: datetime, ends_at: datetime):
    from locks.providers.base import CodeSpec

    return CodeSpec(name=name, pin=None, starts_at=starts_at, ends_at=ends_at, time_zone="Europe/Paris")


def _next_local_midnight(days: int) -> datetime:
    local = timezone.now().astimezone(PARIS).date() + timedelta(days=days)
    return datetime(local.year, local.month, local.day, tzinfo=PARIS).astimezone(UTC)


# --- connecting ----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_connect_reads_the_devices_with_their_eligibility(vendors_on_sandbox, host):
    from locks.models import AccountStatus, Provider

    account = _connect(host)

    assert (account.provider, account.status) == (Provider.IGLOOHOME, AccountStatus.CONNECTED)
    assert account.display_name == f"API client {CLIENT_ID}"
    account.refresh_from_db()
    assert account.last_error == ""  # the device list came back whole, over several cursor pages
    assert account.credentials["client_id"] == CLIENT_ID and account.credentials["access_token"]
    locks = {lock.vendor_lock_id: lock for lock in account.locks.all()}
    # Keypads and bridges are not locks; a lock the client does not own is not listed at all.
    assert set(locks) == {FRONT_DOOR, GARDEN_GATE, CELLAR, SHED, STUDIO}
    assert locks[SHED].name == "Shed (no keypad)"  # its linked keypad stands for it, codes go to the lock
    # algoPINs are computed offline: every igloohome lock takes them, with or without a bridge.
    assert all(lock.supports_remote_codes and not lock.unavailable_reason for lock in locks.values())
    # Online only where a bridge serves the lock; unknown otherwise (no bridge, or offline).
    assert {lock_id: lock.is_online for lock_id, lock in locks.items()} == {
        FRONT_DOOR: True, CELLAR: True, SHED: True, GARDEN_GATE: None, STUDIO: None,
    }


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")  # whitenoise without collectstatic
def test_connect_with_a_wrong_secret_says_so_and_saves_nothing(vendors_on_sandbox, host, client):
    from locks.connect.services import ConnectError, connect_with_credentials
    from locks.models import ProviderAccount

    values = {"client_id": CLIENT_ID, "client_secret": "not-the-secret"}
    with pytest.raises(ConnectError, match="did not accept the API client ID and secret"):
        connect_with_credentials(host=host, provider="igloohome", method="api-client", values=values)
    assert not ProviderAccount.objects.filter(host=host).exists()

    client.force_login(host)
    page = client.post("/locks/connect/igloohome/", {"client_id": CLIENT_ID, "client_secret": "not-the-secret"})
    assert page.status_code == 400
    assert "igloohome did not accept the API client ID and secret. Nothing was saved" in page.content.decode()
    assert "not-the-secret" not in page.content.decode()
    assert not ProviderAccount.objects.filter(host=host).exists()


# --- algoPINs through the adapter ------------------------------------------------------------------------

@pytest.mark.django_db
def test_algopins_use_the_next_variance_of_a_slot_and_at_most_three(vendors_on_sandbox, host):
    provider = _provider(_connect(host))
    start = _next_local_midnight(3) + timedelta(hours=14, minutes=30)  # rounded down to 14:00
    spec = _spec("nwsty-slot", start, start + timedelta(days=2))
    issued = [provider.create_code(CELLAR, spec) for _ in range(3)]

    assert len({code.pin for code in issued}) == 3  # one PIN per variance
    assert issued[0].starts_at == start - timedelta(minutes=30) and issued[0].ends_at == start + timedelta(days=2, minutes=30)
    assert "within 24 hours" in issued[0].usage_note  # longer than a day: the first-use rule applies
    # The 14:00 slot is full (three 409s from the sandbox): the fourth code starts an hour earlier.
    fourth = provider.create_code(CELLAR, spec)
    assert (fourth.starts_at, fourth.ends_at) == (issued[0].starts_at - timedelta(hours=1), issued[0].ends_at)
    assert "starts an hour earlier than wanted" in fourth.warning
    on_lock = {code["pin"]: code for code in _codes_on(vendors_on_sandbox, CELLAR) if code["name"] == "nwsty-slot"}
    assert sorted(on_lock) == sorted(code.pin for code in [*issued, fourth])
    assert all(_window(on_lock[code.pin]) == (code.starts_at, code.ends_at) for code in [*issued, fourth])


@pytest.mark.django_db
def test_an_offline_lock_takes_algopins_and_a_long_stay_gets_a_daily_one(vendors_on_sandbox, host):
    provider = _provider(_connect(host))
    start = _next_local_midnight(2) + timedelta(hours=15)
    issued = provider.create_code(STUDIO, _spec("nwsty-offline", start, start + timedelta(hours=20)))  # offline lock
    (on_lock,) = [code for code in _codes_on(vendors_on_sandbox, STUDIO) if code["name"] == "nwsty-offline"]
    assert on_lock["pin"] == issued.pin and _window(on_lock) == (start, start + timedelta(hours=20))
    assert issued.usage_note == ""  # a day or less: no first-use deadline

    # 40 days: past the hourly limit of 672 hours, so a daily algoPIN, same wall time at both ends.
    stay = provider.create_code(GARDEN_GATE, _spec("nwsty-daily", start, start + timedelta(days=40)))
    (daily,) = [code for code in _codes_on(vendors_on_sandbox, GARDEN_GATE) if code["name"] == "nwsty-daily"]
    starts, ends = _window(daily)
    assert (starts, ends) == (stay.starts_at, stay.ends_at) and starts == start
    assert ends.astimezone(PARIS).time() == starts.astimezone(PARIS).time() and ends >= start + timedelta(days=40)


@pytest.mark.django_db
def test_faults_reach_the_adapter_as_its_errors(vendors_on_sandbox, host):
    from locks.providers.exceptions import LockNotFound, RateLimited, VendorUnavailable

    provider = _provider(_connect(host))
    start = _next_local_midnight(4) + timedelta(hours=15)
    spec = _spec("nwsty-faults", start, start + timedelta(hours=5))
    _set_faults(vendors_on_sandbox, SHED, rate_limited=1, retry_after_seconds=42)
    with pytest.raises(RateLimited) as limited:
        provider.create_code(SHED, spec)
    assert limited.value.retry_after == 42
    _set_faults(vendors_on_sandbox, SHED, server_errors=1)
    with pytest.raises(VendorUnavailable):
        provider.create_code(SHED, spec)
    with pytest.raises(LockNotFound):  # not this API client's lock
        provider.create_code(NEIGHBOUR, spec)
    assert [code["name"] for code in _codes_on(vendors_on_sandbox, SHED)] == []
    assert provider.create_code(SHED, spec).pin  # the faults were one-shot


@pytest.mark.django_db
def test_a_lost_answer_is_an_unknown_outcome_and_the_pin_stays_on_the_lock(vendors_on_sandbox, host):
    from locks.providers.exceptions import OutcomeUnknown

    provider = _provider(_connect(host))
    start = _next_local_midnight(5) + timedelta(hours=15)
    _set_faults(vendors_on_sandbox, FRONT_DOOR, lose_responses=1)
    try:
        with pytest.raises(OutcomeUnknown):
            provider.create_code(FRONT_DOOR, _spec("nwsty-lost", start, start + timedelta(hours=5)))
    finally:
        _set_faults(vendors_on_sandbox, FRONT_DOOR, lose_responses=0)
    assert [code["name"] for code in _codes_on(vendors_on_sandbox, FRONT_DOOR)].count("nwsty-lost") == 1


# --- the booking lifecycle, through a real worker ----------------------------------------------------------

@needs_redis
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_igloohome_booking_to_door_through_worker_and_sandbox(
    vendors_on_sandbox, worker, make_property, book, mailoutbox, django_capture_on_commit_callbacks
):
    from bookings.models import BookingStatus
    from locks import services
    from locks.models import AccessCode, CodeState
    from locks.providers.igloohome import ceil_to_local_hour, floor_to_local_hour

    sandbox = vendors_on_sandbox
    prop = make_property(time_zone="Europe/Paris", name="Igloo flat")
    account = _connect(prop.host)
    services.lock_assignment_set(prop=prop, lock=account.locks.get(vendor_lock_id=FRONT_DOOR))
    before = {code["id"] for code in _codes_on(sandbox, FRONT_DOOR)}

    def new_codes() -> list[dict]:
        return [code for code in _codes_on(sandbox, FRONT_DOOR) if code["id"] not in before]

    # Booking created → an algoPIN on the virtual lock, its window rounded out to whole local hours.
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(prop, today + timedelta(days=1), today + timedelta(days=3))
        services.booking_created(booking=booking)
    code = AccessCode.objects.get(booking=booking, is_current=True)
    wait_until(lambda: AccessCode.objects.get(pk=code.pk).state == CodeState.ACTIVE, "the code to be active")
    code.refresh_from_db()
    (first,) = new_codes()
    assert (first["id"], first["pin"], first["name"]) == (code.vendor_code_id, code.pin, code.vendor_name)
    assert code.lock_starts_at == floor_to_local_hour(code.starts_at, PARIS) != code.starts_at  # 14:30 → 14:00
    assert code.lock_ends_at == ceil_to_local_hour(code.ends_at, PARIS) != code.ends_at  # 11:30 → 12:00
    assert _window(first) == (code.lock_starts_at, code.lock_ends_at)

    # Dates changed → a new code (igloohome cannot change one); the old one stays on the lock, on record.
    with django_capture_on_commit_callbacks(execute=True):
        booking.departure_date = today + timedelta(days=4)
        booking.save()
        services.booking_changed(booking=booking)
    wait_until(
        lambda: AccessCode.objects.filter(booking=booking, is_current=True, state=CodeState.ACTIVE).exclude(pk=code.pk).exists(),
        "the new code to be active",
    )
    old = AccessCode.objects.get(pk=code.pk)
    new = AccessCode.objects.get(booking=booking, is_current=True)
    assert (old.state, old.is_current) == (CodeState.SUPERSEDED, False)
    assert "Replaced by a new code" in old.warning and old.next_attempt_at == old.lock_ends_at
    assert new.pin != old.pin  # the same start hour: igloohome's next variance
    on_lock = {code["id"]: code for code in new_codes()}
    assert set(on_lock) == {old.vendor_code_id, new.vendor_code_id}
    assert _window(on_lock[old.vendor_code_id]) == (old.lock_starts_at, old.lock_ends_at)
    assert _window(on_lock[new.vendor_code_id]) == (new.lock_starts_at, new.lock_ends_at)
    assert new.lock_ends_at == old.lock_ends_at + timedelta(days=1) and new.lock_starts_at == old.lock_starts_at

    # Cancelled → the code cannot be revoked: it stays on the lock, recorded until its end, host emailed.
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        booking.status = BookingStatus.CANCELLED
        booking.save()
        services.booking_cancelled(booking=booking)
    new.refresh_from_db()
    assert (new.state, new.is_current) == (CodeState.SUPERSEDED, False)
    assert new.next_attempt_at == new.lock_ends_at and "cannot revoke this code" in new.warning
    assert {code["id"] for code in new_codes()} == {old.vendor_code_id, new.vendor_code_id}
    wait_until(lambda: len(mail.outbox) == 1, "the host's email")
    (email,) = mail.outbox
    assert email.to == [prop.host.email] and "igloohome code keeps working until" in email.subject
