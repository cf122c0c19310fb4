"""Set-based planning of bookings that have no code (locks.services.missing_codes): the pass's
backstop costs a handful of queries whatever their number, and plans exactly what an event would."""

import threading
from datetime import date, timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from bookings.models import Booking, BookingStatus
from locks.models import AccessCode, AccountStatus, CodeState, ProviderAccount
from locks.services import codes, missing_codes, scheduler
from locks.services.missing_codes import plan_missing_codes
from tests.helpers.lifecycle import current, current_or_none, tick, utc

pytestmark = pytest.mark.django_db

NOW = "2026-06-01 08:00:00"


def missed_bookings(assigned_property, book, count: int, *, locks: int = 1) -> list[Booking]:
    """`count` bookings whose creation event was missed (no code), spread over `locks` properties."""
    props = [assigned_property(vendor_lock_id=f"L{n}") for n in range(locks)]
    return [
        book(props[n % locks], date(2026, 6, 2) + timedelta(days=n % 10), date(2026, 6, 14), guest_name=f"Guest {n}")
        for n in range(count)
    ]


@pytest.mark.parametrize("count", [3, 60])
def test_planning_costs_the_same_few_queries_whatever_the_number_of_bookings(assigned_property, book, fake_cloud, count):
    missed_bookings(assigned_property, book, count, locks=3)
    with freeze_time(NOW), CaptureQueriesContext(connection) as queries:
        planned = plan_missing_codes(utc(2026, 6, 1, 8))
    assert planned == count == AccessCode.objects.count()
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    inserts = [sql for sql in statements if sql.startswith("INSERT")]
    # One read of every booking lacking a code, and one of the new codes' ids (their `scheduled` events).
    assert len(statements) - len(inserts) == 2
    # One INSERT (SQLite's 999-parameter limit makes Django split it in chunks of a fixed size).
    assert len(inserts) == (1 if connection.vendor == "postgresql" else -(-count // max(1, 999 // 40)))


def test_the_pass_that_claims_what_was_planned_costs_the_same_few_queries_at_two_sizes(assigned_property, book, fake_cloud):
    counts = []
    for size in (4, 80):
        missed_bookings(assigned_property, book, size, locks=2) if not counts else [
            book(Booking.objects.first().property, date(2026, 6, 3), date(2026, 6, 5), guest_name=f"More {n}") for n in range(size)
        ]
        with freeze_time(NOW):
            assert plan_missing_codes(utc(2026, 6, 1, 8)) == size
            with CaptureQueriesContext(connection) as queries:
                report = scheduler.run_pass(dispatch=lambda ids, token, vendor: None)
        assert report.claimed == size
        counts.append(len([q for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]))
    # PostgreSQL: the claim, one UPDATE ... RETURNING each code's vendor. SQLite reads the due ids
    # before claiming them and their vendors after.
    assert counts[0] == counts[1] <= (1 if connection.vendor == "postgresql" else 3)


def test_each_code_is_planned_as_the_booking_event_would_plan_it(assigned_property, book, fake_cloud, make_property):
    tokyo = assigned_property(time_zone="Asia/Tokyo", vendor_lock_id="T1", lead_days=2, margin_minutes=45)
    paris = assigned_property(vendor_lock_id="P1")
    stays = [book(tokyo, date(2026, 6, 2), date(2026, 6, 4)), book(paris, date(2026, 6, 9), date(2026, 6, 12))]
    with freeze_time(NOW):
        assert plan_missing_codes(utc(2026, 6, 1, 8)) == 2
        planned = {booking.pk: current(booking) for booking in stays}
        AccessCode.objects.all().delete()
        for booking in stays:
            codes.booking_reconcile(booking=booking, now=utc(2026, 6, 1, 8))
    fields = ("lock_id", "state", "starts_at", "ends_at", "generate_at", "retry_deadline", "alert_at", "next_attempt_at", "pin")
    for booking in stays:
        by_event = current(booking)
        assert [getattr(planned[booking.pk], name) for name in fields] == [getattr(by_event, name) for name in fields]
    assert planned[stays[1].pk].state == CodeState.SCHEDULED and planned[stays[1].pk].next_attempt_at > utc(2026, 6, 1, 8)


def test_only_bookings_that_should_have_a_code_get_one(assigned_property, book, fake_cloud, make_property):
    prop = assigned_property()
    wanted = book(prop, date(2026, 6, 2), date(2026, 6, 4))
    book(prop, date(2026, 6, 2), date(2026, 6, 4), status=BookingStatus.CANCELLED)
    book(prop, date(2026, 5, 29), date(2026, 5, 31))  # over
    book(prop, date(2026, 6, 2), date(2026, 6, 4), access_ended_at=utc(2026, 5, 31))
    book(prop, date(2026, 9, 2), date(2026, 9, 4))  # beyond any lead time
    book(make_property(name="No lock"), date(2026, 6, 2), date(2026, 6, 4))
    book(make_property(name="Not eligible", ai_assistant_active=False), date(2026, 6, 2), date(2026, 6, 4))
    going = assigned_property(vendor_lock_id="G1", provider="tedee")
    ProviderAccount.objects.filter(provider="tedee").update(status=AccountStatus.DISCONNECTING)
    book(going, date(2026, 6, 2), date(2026, 6, 4))
    with freeze_time(NOW):
        assert plan_missing_codes(utc(2026, 6, 1, 8)) == 1
        assert plan_missing_codes(utc(2026, 6, 1, 8)) == 0  # idempotent
    assert list(AccessCode.objects.values_list("booking_id", flat=True)) == [wanted.pk]


def test_the_missing_codes_pass_counts_what_it_planned_and_what_is_due_at_once(assigned_property, book, fake_cloud):
    (soon,) = missed_bookings(assigned_property, book, 1)
    later = book(soon.property, date(2026, 6, 10), date(2026, 6, 12), guest_name="Later")  # beyond its lead time
    with freeze_time(NOW):
        figures = missing_codes.missing_codes_pass(utc(2026, 6, 1, 8))
        assert (figures.planned, figures.due) == (2, 1)
        assert missing_codes.last_missing_codes_pass() == figures
        report = tick()
    assert dict(report.actions) == {"created": 1}
    assert current(soon).state == CodeState.ACTIVE and current(later).state == CodeState.SCHEDULED
    assert fake_cloud.calls["create_code"] == 1


needs_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks (SKIP LOCKED)")


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_booking_being_changed_is_left_to_its_own_event_and_never_gets_a_code_after_its_cancellation(
    assigned_property, book, fake_cloud
):
    """The booking's row is locked by its cancellation (as `booking_reconcile` locks it) while the
    pass plans: the pass skips it, and the cancellation finds no code to leave behind."""
    (booking,) = missed_bookings(assigned_property, book, 1)
    locked, planned = threading.Event(), threading.Event()

    def cancel_slowly():
        try:
            with transaction.atomic():
                Booking.objects.select_for_update().get(pk=booking.pk)
                locked.set()
                planned.wait(30)
                Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CANCELLED)
        finally:
            connections.close_all()

    canceller = threading.Thread(target=cancel_slowly)
    canceller.start()
    assert locked.wait(30)
    try:
        assert plan_missing_codes(utc(2026, 6, 1, 8)) == 0
    finally:
        planned.set()
        canceller.join(30)
    assert current_or_none(booking) is None
