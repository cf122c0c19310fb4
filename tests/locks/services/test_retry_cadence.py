"""A code that cannot be created is tried at every hourly pass until its deadline.

A pass takes "now" when it starts, while a worker takes the claimed code a moment later and its
vendor call ends some seconds after that: the next try is anchored to the hour grid of the code's
generation moment, never to when the step ran (which made every retry wait for the pass after the
hourly one: every 75 minutes). Real passes under freezegun, with a second of queueing before each
batch and 20 s per vendor call, both in frozen time.
"""

from datetime import date, timedelta
from itertools import pairwise

import pytest
from django.core import mail
from freezegun import freeze_time

from bookings.models import Property
from locks import services
from locks.models import CodeState
from locks.providers.exceptions import LockOffline, RateLimited
from locks.services import scheduler
from tests.helpers.lifecycle import current, passes, utc

KTM = "Asia/Kathmandu"  # +05:45: every local hour is :15 past a UTC hour
ARRIVAL, DEPARTURE = date(2026, 6, 11), date(2026, 6, 13)
GENERATE_AT = utc(2026, 6, 5, 18, 15)  # 00:00 +05:45 on 6 June, 5 days before arrival
OFFLINE = LockOffline("The lock's gateway is offline.")
CALL_TAKES = timedelta(seconds=20)


@pytest.fixture
def slow_offline_cloud(fake_cloud):
    fake_cloud.fail_next("create_code", OFFLINE, times=10_000)
    return fake_cloud


def make_every_call_take(frozen, cloud, duration=CALL_TAKES):
    cloud.after_call = lambda: frozen.tick(duration)


def tick(frozen=None):
    """One pass; with `frozen`, each dispatched batch reaches its worker a second later."""

    def queued_then_processed(ids, token, vendor):
        if frozen is not None:
            frozen.tick(timedelta(seconds=1))
        return scheduler.process_inline(ids, token, vendor)

    return scheduler.run_pass(dispatch=queued_then_processed)


@pytest.mark.parametrize(
    "beat_phase",
    [timedelta(0), timedelta(minutes=7), timedelta(minutes=14, seconds=59)],
    ids=["beat-on-the-quarter", "beat-at-07", "beat-just-before-the-quarter"],
)
def test_offline_for_48_hours_from_the_generation_moment_is_tried_at_every_hourly_pass(
    beat_phase, assigned_property, book, slow_offline_cloud
):
    prop = assigned_property(time_zone=KTM)
    with freeze_time(utc(2026, 6, 1)) as frozen:
        booking = book(prop, ARRIVAL, DEPARTURE)
        services.booking_created(booking=booking)
        make_every_call_take(frozen, slow_offline_cloud)
        attempted_at = []
        first_pass = GENERATE_AT - timedelta(minutes=15) + beat_phase
        for moment in passes(first_pass, GENERATE_AT + timedelta(hours=48) + beat_phase):
            frozen.move_to(moment)
            if tick(frozen).actions["retrying"]:
                attempted_at.append(moment)
    assert len(attempted_at) == 49  # at the generation moment, then once an hour for 48 hours
    gaps = {later - earlier for earlier, later in pairwise(attempted_at)}
    assert gaps == {timedelta(hours=1)}
    assert current(booking).state == CodeState.CREATING


def test_a_late_attempt_goes_back_on_the_hour_grid(assigned_property, book, slow_offline_cloud):
    """A worker backlog that delays one attempt does not shift every later attempt."""
    prop = assigned_property(time_zone=KTM)
    with freeze_time(GENERATE_AT) as frozen:
        booking = book(prop, ARRIVAL, DEPARTURE)
        services.booking_created(booking=booking)
        make_every_call_take(frozen, slow_offline_cloud)
        tick(frozen)
        frozen.move_to(GENERATE_AT + timedelta(hours=1, minutes=40))  # overdue by 40 minutes
        tick(frozen)
        assert current(booking).next_attempt_at == GENERATE_AT + timedelta(hours=2)


def test_retry_after_longer_than_an_hour_waits_then_lands_on_the_grid(assigned_property, book, fake_cloud):
    prop = assigned_property(time_zone=KTM)
    fake_cloud.fail_next("create_code", RateLimited("Slow down.", retry_after=90 * 60))
    with freeze_time(GENERATE_AT) as frozen:
        booking = book(prop, ARRIVAL, DEPARTURE)
        services.booking_created(booking=booking)
        make_every_call_take(frozen, fake_cloud)
        tick(frozen)
    assert current(booking).next_attempt_at == GENERATE_AT + timedelta(hours=2)


def test_a_time_zone_change_moves_a_retrying_codes_next_try_and_alert(assigned_property, book, slow_offline_cloud):
    prop = assigned_property(time_zone=KTM)
    paris_alert = utc(2026, 6, 10, 16, 0)  # 18:00 +02:00 on 10 June; Kathmandu's is 12:15 UTC
    with freeze_time(utc(2026, 6, 10, 9, 30)) as frozen:
        booking = book(prop, ARRIVAL, DEPARTURE)
        services.booking_created(booking=booking)
        tick(frozen)
        assert current(booking).next_attempt_at == utc(2026, 6, 10, 10, 15)  # Kathmandu's grid

        Property.objects.filter(pk=prop.pk).update(time_zone="Europe/Paris")
        prop.refresh_from_db()
        services.property_times_changed(prop=prop)
        code = current(booking)
        assert code.alert_at == paris_alert
        assert code.next_attempt_at == utc(2026, 6, 10, 10, 0)  # Paris's midnight is :00 UTC

        attempted_at, alerted_at = [], []
        for moment in passes(utc(2026, 6, 10, 9, 45), utc(2026, 6, 10, 17, 0)):
            frozen.move_to(moment)
            if tick(frozen).actions["retrying"]:
                attempted_at.append(moment)
            if len(mail.outbox) > len(alerted_at):
                alerted_at.append(moment)
    assert [moment.minute for moment in attempted_at] == [0] * 8  # 10:00 ... 17:00
    assert alerted_at == [paris_alert]


def test_a_time_zone_change_that_brings_the_deadline_before_the_next_try_fails_on_time(
    assigned_property, book, slow_offline_cloud
):
    # From the Marquesas (-09:30, hours at :30 UTC) to Kiritimati (+14): the deadline comes a day earlier.
    prop = assigned_property(time_zone="Pacific/Marquesas")
    arrival = date(2026, 6, 11)
    kiritimati_deadline = utc(2026, 6, 11, 10, 0)  # 24:00 +14:00 on 11 June
    with freeze_time(kiritimati_deadline - timedelta(minutes=15)) as frozen:
        booking = book(prop, arrival, arrival + timedelta(days=2))
        services.booking_created(booking=booking)
        tick(frozen)
        code = current(booking)
        assert code.next_attempt_at == utc(2026, 6, 11, 10, 30)

        Property.objects.filter(pk=prop.pk).update(time_zone="Pacific/Kiritimati")
        prop.refresh_from_db()
        services.property_times_changed(prop=prop)
        code = current(booking)
        assert code.retry_deadline == kiritimati_deadline
        assert code.next_attempt_at == kiritimati_deadline

        frozen.move_to(kiritimati_deadline)
        assert tick(frozen).actions["failed"] == 1
    assert current(booking).state == CodeState.FAILED


# --- an oracle over whole retry periods -----------------------------------------------------------

ZONE_CASES = [
    ("Asia/Kathmandu", date(2026, 6, 11)),  # +05:45
    ("Pacific/Chatham", date(2026, 6, 11)),  # +12:45
    ("Australia/Lord_Howe", date(2026, 4, 5)),  # a half-hour clock change on arrival day
    ("America/New_York", date(2026, 3, 8)),  # spring forward on arrival day
    ("Europe/Paris", date(2026, 10, 25)),  # fall back on arrival day
    ("Pacific/Marquesas", date(2026, 6, 11)),  # -09:30
]


@pytest.mark.parametrize("zone, arrival", ZONE_CASES, ids=[zone for zone, _ in ZONE_CASES])
def test_an_offline_lock_is_tried_on_every_hour_of_the_grid_and_at_the_alert_moment_until_the_deadline(
    zone, arrival, assigned_property, book, slow_offline_cloud
):
    """Lead time one day: from 00:00 the day before arrival to 24:00 on arrival day. Beat at :07,
    a second of queueing and 20 s per call. Every instant the product promises an attempt at (each
    whole hour after the generation moment, 18:00 the evening before, the deadline itself) is taken
    by the first pass at or after it, and no pass tries in between."""
    prop = assigned_property(time_zone=zone, lead_days=1)
    with freeze_time(utc(2026, 1, 1)) as frozen:
        booking = book(prop, arrival, arrival + timedelta(days=2))
        services.booking_created(booking=booking)
        code = current(booking)
        generate_at, deadline, alert_at = code.generate_at, code.retry_deadline, code.alert_at
        make_every_call_take(frozen, slow_offline_cloud)
        first_pass = generate_at.replace(minute=7, second=0) - timedelta(hours=1)
        beat = list(passes(first_pass, deadline + timedelta(hours=1)))
        attempted_at = []
        for moment in beat:
            frozen.move_to(moment)
            report = tick(frozen)
            if report.actions["retrying"] or report.actions["failed"]:
                attempted_at.append(moment)
    promised = {generate_at + k * timedelta(hours=1) for k in range(60)} | {alert_at, deadline}
    promised = {instant for instant in promised if generate_at <= instant <= deadline}
    expected = sorted({next(moment for moment in beat if moment >= instant) for instant in promised})
    assert attempted_at == expected
    assert current(booking).state == CodeState.FAILED
