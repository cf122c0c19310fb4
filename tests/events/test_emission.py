"""The lock lifecycle's events become Event rows (one INSERT per signal) with no PIN in them."""

import json
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from bookings.models import BookingStatus
from events.models import Event
from locks import services
from locks.models import AccessCode, CodeState, Lock
from locks.providers import registry
from locks.providers.base import CodeUse
from locks.providers.exceptions import CodeStorageFull, LockOffline
from locks.providers.fake import READ_BACK
from locks.services import missing_codes
from locks.services.backup_pool import tend_pools
from locks.services.code_uses import record_uses
from locks.services.ladder import run_ladder
from locks.services.read_back import read_back_locks
from tests.helpers.lifecycle import current, tick, utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed_tick(django_capture_on_commit_callbacks):
    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return tick()

    return run


def kinds() -> list[str]:
    return list(Event.objects.order_by("id").values_list("kind", flat=True))


def test_created_changed_removed(assigned_property, book, fake_cloud, committed_tick, host):
    prop = assigned_property()
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        committed_tick()
        booking.departure_date = date(2026, 3, 15)
        booking.save()
        services.booking_changed(booking=booking)
        committed_tick()
        booking.status = BookingStatus.CANCELLED
        booking.save()
        services.booking_cancelled(booking=booking)
        committed_tick()
    # Each time the code works with the times wanted, the booking's messages may go: booking.code_ready.
    assert kinds() == ["access_code.created", "booking.code_ready", "access_code.changed", "booking.code_ready", "access_code.removed"]
    code = AccessCode.objects.get(booking=booking)
    created = Event.objects.order_by("id").first()
    assert (created.host_id, created.booking_id, created.code_id) == (host.pk, booking.pk, code.pk)
    assert created.payload["access_code_id"] == code.pk and created.payload["state"] == CodeState.ACTIVE
    assert created.payload["starts_at"] and code.pin not in json.dumps(list(Event.objects.values_list("payload", flat=True)))


def test_retrying_then_failed(assigned_property, book, fake_cloud, committed_tick):
    prop = assigned_property()
    fake_cloud.fail_next("create_code", LockOffline("The gateway is offline."))
    with freeze_time("2026-03-11 09:00:00") as clock:
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        committed_tick()
        fake_cloud.fail_next("create_code", CodeStorageFull("The lock's code memory is full."))
        clock.tick(timedelta(hours=1))
        committed_tick()
    assert kinds() == ["access_code.retrying", "access_code.failed"]
    assert Event.objects.get(kind="access_code.failed").payload["detail"] == "The lock's code memory is full."


def test_a_batch_writes_its_events_in_one_insert(assigned_property, book, fake_cloud, django_capture_on_commit_callbacks):
    props = [assigned_property(vendor_lock_id=f"L{n}") for n in range(4)]
    with freeze_time("2026-03-11 09:00:00"):
        for prop in props:
            services.booking_created(booking=book(prop, date(2026, 3, 12), date(2026, 3, 14)))
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            tick()
    assert Event.objects.filter(kind="access_code.created").count() == 4
    assert Event.objects.filter(kind="booking.code_ready").count() == 4  # in the same INSERT
    assert sum('INSERT INTO "events_event"' in query["sql"] for query in queries.captured_queries) == 1


def test_first_use_is_announced_once(assigned_property, book, fake_cloud, committed_tick, django_capture_on_commit_callbacks):
    prop = assigned_property()
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        committed_tick()
    code = current(booking)
    used = [CodeUse(at=utc(2026, 3, 12, 15), vendor_code_id=code.vendor_code_id)]
    with django_capture_on_commit_callbacks(execute=True):
        record_uses(code.lock, used)
        record_uses(code.lock, [*used, CodeUse(at=utc(2026, 3, 13, 9), vendor_code_id=code.vendor_code_id)])
    first = Event.objects.get(kind="access_code.first_used")
    assert first.occurred_at == utc(2026, 3, 12, 15) and first.code_id == code.pk


def test_a_fallback_given_is_announced(assigned_property, book, fake_cloud, django_capture_on_commit_callbacks):
    prop = assigned_property(provider="tedee")
    with freeze_time("2026-05-27 08:00:00"):
        tend_pools(utc(2026, 5, 27, 8))
    fake_cloud.locks["L1"].online = False
    booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
    with freeze_time("2026-05-28 09:00:00"):
        services.booking_created(booking=booking)
        tick()
    for moment in (utc(2026, 6, 1, 13), utc(2026, 6, 2, 11)):
        with freeze_time(moment), django_capture_on_commit_callbacks(execute=True):
            tick()
            run_ladder(moment)
    given = current(booking)
    event = Event.objects.get(kind="access_code.fallback_sent")
    assert event.code_id == given.pk and event.payload["fallback"] == given.fallback


@pytest.fixture
def reading(fake_cloud, monkeypatch):
    monkeypatch.setattr(registry.PROVIDER_CLASSES["ttlock"], "capabilities", READ_BACK)
    return fake_cloud


def read_back(django_capture_on_commit_callbacks):
    lock = Lock.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        read_back_locks(account_id=lock.account_id, lock_ids=[lock.pk])


def test_confirmed_on_lock_once_then_drift_repaired(assigned_property, book, reading, committed_tick, django_capture_on_commit_callbacks):
    with freeze_time("2026-06-01 08:00:00") as clock:
        booking = book(assigned_property(), date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=booking)
        committed_tick()
        code = current(booking)
        for _ in range(2):
            clock.tick(timedelta(minutes=10))
            read_back(django_capture_on_commit_callbacks)
        reading.delete_behind_our_back("L1", code.vendor_code_id)
        clock.tick(timedelta(minutes=10))
        read_back(django_capture_on_commit_callbacks)
        committed_tick()
    assert kinds() == [
        "access_code.created", "booking.code_ready", "access_code.confirmed_on_lock", "access_code.drift_repaired",
        "access_code.created", "booking.code_ready",
    ]
    assert Event.objects.get(kind="access_code.drift_repaired").payload["drift"] == "missing from the lock"


def test_a_planned_code_is_announced_as_scheduled_by_the_booking_event_and_by_the_backstop(
    assigned_property, book, fake_cloud, django_capture_on_commit_callbacks
):
    prop = assigned_property()
    with freeze_time("2026-03-01 09:00:00"):
        with django_capture_on_commit_callbacks(execute=True):
            by_event = services.booking_created(booking=book(prop, date(2026, 3, 20), date(2026, 3, 22)))
        missed = book(prop, date(2026, 3, 10), date(2026, 3, 12))  # its event was missed
        with django_capture_on_commit_callbacks(execute=True):
            missing_codes.missing_codes_pass(utc(2026, 3, 1, 9))
    scheduled = Event.objects.filter(kind="access_code.scheduled").order_by("id")
    assert [(event.booking_id, event.code_id) for event in scheduled] == [
        (by_event.booking_id, by_event.pk), (missed.pk, current(missed).pk),
    ]
    assert scheduled[0].payload["state"] == CodeState.SCHEDULED and scheduled[0].payload["generate_at"] == by_event.generate_at.isoformat()


def test_a_retry_past_the_alert_moment_says_so(assigned_property, book, fake_cloud, committed_tick):
    prop = assigned_property()
    fake_cloud.fail_next("create_code", LockOffline("The gateway is offline."), times=100)
    with freeze_time("2026-03-11 09:00:00") as clock:
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        committed_tick()
        clock.move_to(current(booking).alert_at + timedelta(minutes=1))
        committed_tick()
    retries = [event.payload["past_alert"] for event in Event.objects.filter(kind="access_code.retrying").order_by("id")]
    assert retries[0] is False and retries[-1] is True
