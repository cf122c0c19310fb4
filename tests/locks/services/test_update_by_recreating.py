"""A vendor that can revoke codes but not change them in place: a new window is sent by deleting
the code and creating it again with the same PIN. The create that follows the delete is a
creation like any other: a refusal is a failed code the host hears of (never a code that ended),
and a lost answer is looked for before anything is sent again (never a second code on the lock).
Driven by the fake TTLock with `update_in_place` off."""

from dataclasses import replace
from datetime import date

import pytest
from django.core import mail
from freezegun import freeze_time

from locks import services
from locks.models import CodeState
from locks.providers import registry
from locks.providers.exceptions import CodeStorageFull
from tests.helpers.lifecycle import current, on_lock, passes, tick, utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def recreating_vendor(fake_cloud, monkeypatch):
    base = registry.PROVIDER_CLASSES["ttlock"]
    monkeypatch.setitem(
        registry.PROVIDER_CLASSES,
        "ttlock",
        type("Recreating", (base,), {"capabilities": replace(base.capabilities, update_in_place=False)}),
    )
    return fake_cloud


@pytest.fixture
def active_code(assigned_property, book, recreating_vendor):
    prop = assigned_property()
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        tick()
    assert current(booking).state == CodeState.ACTIVE
    return booking


def departure_moves(booking, departure: date) -> None:
    booking.departure_date = departure
    booking.save()
    services.booking_changed(booking=booking)


def test_a_create_refused_after_the_delete_is_a_failed_code_the_host_hears_of(active_code, recreating_vendor):
    recreating_vendor.fail_next("create_code", CodeStorageFull("The lock's code memory is full."))
    with freeze_time("2026-03-11 10:00:00"):
        departure_moves(active_code, date(2026, 3, 15))
        tick()  # removed
        tick()  # and created again: refused
    code = current(active_code)
    assert code.state == CodeState.FAILED and code.finished_at is None and on_lock(recreating_vendor) == []
    assert [m.subject for m in mail.outbox] == ["Door code could not be created for Grace Guest"]


def test_a_create_whose_answer_was_lost_after_the_delete_is_found_not_sent_twice(active_code, recreating_vendor):
    pin = current(active_code).pin
    recreating_vendor.lose_response_next("create_code")
    with freeze_time("2026-03-11 10:00:00"):
        departure_moves(active_code, date(2026, 3, 15))
        tick()
    for moment in passes(utc(2026, 3, 11, 10, 15), utc(2026, 3, 11, 12, 0)):
        with freeze_time(moment):
            tick()
    code = current(active_code)
    (on_the_lock,) = on_lock(recreating_vendor)
    assert code.state == CodeState.ACTIVE and (code.pin, code.vendor_code_id) == (pin, on_the_lock.vendor_code_id)
    assert on_the_lock.pin == pin and code.lock_ends_at == on_the_lock.ends_at
