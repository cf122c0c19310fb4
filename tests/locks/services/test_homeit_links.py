"""A homeit key's link and PIN live and die with the key: homeit generates both, so a key that
leaves homeit takes them with it, and the code row must not keep them for a guest message or the
host's page while a new key is made (or cannot be). Driven through the lifecycle (`tick`) on the
homeit emulator (tests/vendors/homeit.py)."""

from datetime import date

import pytest
from django.core import mail
from freezegun import freeze_time

from locks import services
from locks.code_status import describe_code
from locks.models import CodeState, Lock, LockAssignment, ProviderAccount
from locks.providers.homeit import HomeitProvider
from messaging.ledger import is_usable
from tests.helpers.lifecycle import current, passes, tick, utc
from tests.vendors.homeit import API_KEY, HomeitCloud

pytestmark = pytest.mark.django_db

FLAT = 530001


@pytest.fixture
def homeit_cloud():
    cloud = HomeitCloud()  # its clock is Django's, which freezegun moves
    cloud.add_property(FLAT, "Flat 1")
    with cloud:
        yield cloud


@pytest.fixture
def homeit_booking(host, make_property, book, homeit_cloud):
    """A Paris stay from 2 to 5 June on a homeit property, its key made on 1 June."""
    account = ProviderAccount.objects.create(
        host=host, provider=HomeitProvider.slug, display_name="homeit", credentials={"api_key": API_KEY}
    )
    lock = Lock.objects.create(account=account, vendor_lock_id=str(FLAT), name="Flat 1", supports_remote_codes=True)
    prop = make_property()
    LockAssignment.objects.create(property=prop, lock=lock)
    with freeze_time("2026-06-01 00:00:00"):
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=booking)
        tick()
    code = current(booking)
    assert code.state == CodeState.ACTIVE and code.pin and code.access_link
    return booking


def departure_moves(booking, departure: date) -> None:
    booking.departure_date = departure
    booking.save()
    services.booking_changed(booking=booking)


def test_a_key_an_update_withdrew_takes_its_link_and_pin_off_the_code(homeit_booking, homeit_cloud):
    old = current(homeit_booking)
    homeit_cloud.properties[FLAT].keypad = False  # the keypad went away: the key is a link alone now
    homeit_cloud.keys[int(old.vendor_code_id)]["code"] = None
    with freeze_time("2026-06-01 01:00:00"):
        departure_moves(homeit_booking, date(2026, 6, 6))
        tick()  # the update finds a link-only key and withdraws it
    for moment in passes(utc(2026, 6, 1, 1, 15), utc(2026, 6, 1, 3, 0)):
        with freeze_time(moment):
            tick()
            keys = homeit_cloud.keys_on(FLAT)
    code = current(homeit_booking)
    assert keys == []
    assert (code.vendor_code_id, code.access_link, code.pin) == ("", None, None)
    assert code.state == CodeState.FAILED and "no keypad" in code.last_error
    assert [m.subject for m in mail.outbox] == ["Door code could not be created for Grace Guest"]
    assert old.access_link not in describe_code(code, booking=homeit_booking, has_lock=True, now=utc(2026, 6, 1, 3)).text


def test_a_key_gone_from_homeit_is_made_again_and_the_code_carries_only_the_new_keys_link(homeit_booking, homeit_cloud):
    old = current(homeit_booking)
    del homeit_cloud.keys[int(old.vendor_code_id)]  # deleted in homeit's app
    homeit_cloud.fail_next("POST", "keys", 503)
    with freeze_time("2026-06-01 01:00:00"):
        departure_moves(homeit_booking, date(2026, 6, 6))
        tick()  # the update finds the key gone; its new key cannot be made yet
    waiting = current(homeit_booking)
    assert waiting.state == CodeState.CREATING and not is_usable(waiting)
    assert (waiting.vendor_code_id, waiting.access_link, waiting.pin) == ("", None, None)  # none of it opens the door
    for moment in passes(utc(2026, 6, 1, 1, 15), utc(2026, 6, 1, 3, 0)):
        with freeze_time(moment):
            tick()
            keys = homeit_cloud.keys_on(FLAT)
    (key,) = keys
    code = current(homeit_booking)
    assert code.pk == old.pk and code.state == CodeState.ACTIVE and is_usable(code)
    assert (code.vendor_code_id, code.pin, code.access_link) == (str(key["id"]), key["code"], key["link"])
    assert code.access_link != old.access_link


def test_a_failed_update_of_a_key_still_in_homeit_keeps_its_link(homeit_booking, homeit_cloud):
    """The other side: a key homeit keeps (its dates could not be moved) still opens the door at
    its old times with its link, so the code keeps it, and says it keeps the old times."""
    old = current(homeit_booking)
    homeit_cloud.fail_next("PUT", "key", 503, times=2)
    with freeze_time("2026-06-01 01:00:00"):
        departure_moves(homeit_booking, date(2026, 6, 6))
        tick()
        (key,) = homeit_cloud.keys_on(FLAT)
    code = current(homeit_booking)
    assert code.state == CodeState.UPDATING and (code.vendor_code_id, code.access_link) == (str(key["id"]), key["link"])
    assert code.access_link == old.access_link and not is_usable(code)
    status = describe_code(code, booking=homeit_booking, has_lock=True, now=utc(2026, 6, 1, 1))
    assert "meanwhile the lock keeps the old times" in status.hint
