"""The code lifecycle end to end across time zones and clock changes, on the fake cloud.

booking_created -> a scheduler pass at the generation moment -> the code on the fake lock with
the exact UTC window. Every expected instant was worked out by hand from the zone's UTC offsets
(never with locks.windows); the local reading is written beside it so the arithmetic can be
followed. `test_the_clock_changes_these_tests_rely_on` checks those offsets against zoneinfo, so
a tzdata change shows up there first rather than as a puzzling lifecycle failure.

Offsets used (2026):
- Europe/Paris: CET +01:00; CEST +02:00 from 29 Mar 01:00 UTC (02:00 -> 03:00) to 25 Oct 01:00
  UTC (03:00 -> 02:00).
- America/New_York: EST -05:00; EDT -04:00 from 8 Mar 07:00 UTC (02:00 -> 03:00) to 1 Nov
  06:00 UTC (02:00 -> 01:00).
- Australia/Lord_Howe: +10:30 standard, +11:00 in summer (a 30-minute change): 5 Apr 15:00 UTC
  on the 4th (02:00 -> 01:30), 4 Oct 15:30 UTC on the 3rd (02:00 -> 02:30).
- Asia/Kathmandu: +05:45 all year.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from freezegun import freeze_time

from locks import services
from locks.models import CodeState
from locks.providers.exceptions import LockOffline
from locks.services import missing_codes
from tests.helpers.lifecycle import current, passes, tick, utc

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)
QUARTER = timedelta(minutes=15)


# --- the offsets the expectations were computed from -------------------------------------------

@pytest.mark.parametrize(
    "tz_name, before, after, offset_before, offset_after",
    [
        ("Europe/Paris", utc(2026, 3, 29, 0, 59), utc(2026, 3, 29, 1, 0), 60, 120),
        ("Europe/Paris", utc(2026, 10, 25, 0, 59), utc(2026, 10, 25, 1, 0), 120, 60),
        ("America/New_York", utc(2026, 3, 8, 6, 59), utc(2026, 3, 8, 7, 0), -300, -240),
        ("America/New_York", utc(2026, 11, 1, 5, 59), utc(2026, 11, 1, 6, 0), -240, -300),
        ("Australia/Lord_Howe", utc(2026, 4, 4, 14, 59), utc(2026, 4, 4, 15, 0), 660, 630),
        ("Australia/Lord_Howe", utc(2026, 10, 3, 15, 29), utc(2026, 10, 3, 15, 30), 630, 660),
        ("Asia/Kathmandu", utc(2026, 1, 1), utc(2026, 7, 1), 345, 345),
    ],
)
def test_the_clock_changes_these_tests_rely_on(tz_name, before, after, offset_before, offset_after):
    zone = ZoneInfo(tz_name)
    assert before.astimezone(zone).utcoffset() == timedelta(minutes=offset_before)
    assert after.astimezone(zone).utcoffset() == timedelta(minutes=offset_after)


# --- end to end: one booking, its moments and its window ------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    tz_name: str
    arrival: date
    departure: date
    check_in: time | None
    check_out: time | None
    margin: int
    generate_at: datetime
    starts_at: datetime
    ends_at: datetime
    retry_deadline: datetime
    alert_at: datetime


CASES = [
    Case(
        "paris-spring-forward-check-in-in-the-gap",
        "Europe/Paris", date(2026, 3, 29), date(2026, 3, 31), time(2, 30), None, 30,
        generate_at=utc(2026, 3, 23, 23, 0),  # 00:00 CET 24 Mar
        # 02:30 does not exist: 03:30 CEST = 01:30 UTC; minus 30 real minutes.
        starts_at=utc(2026, 3, 29, 1, 0),
        ends_at=utc(2026, 3, 31, 9, 30),  # 11:00 CEST = 09:00 UTC, plus 30
        retry_deadline=utc(2026, 3, 29, 22, 0),  # 24:00 CEST 29 Mar
        alert_at=utc(2026, 3, 28, 17, 0),  # 18:00 CET 28 Mar
    ),
    Case(
        "paris-spring-forward-check-in-in-the-gap-margin-90",
        "Europe/Paris", date(2026, 3, 29), date(2026, 3, 31), time(2, 30), None, 90,
        generate_at=utc(2026, 3, 23, 23, 0),
        # 01:30 UTC minus 90 real minutes = 00:00 UTC (01:00 CET); wall-clock arithmetic would
        # have given 02:00 local, a time that does not exist.
        starts_at=utc(2026, 3, 29, 0, 0),
        ends_at=utc(2026, 3, 31, 10, 30),
        retry_deadline=utc(2026, 3, 29, 22, 0),
        alert_at=utc(2026, 3, 28, 17, 0),
    ),
    Case(
        "paris-fall-back-check-out-repeated",
        "Europe/Paris", date(2026, 10, 22), date(2026, 10, 25), None, time(2, 30), 0,
        generate_at=utc(2026, 10, 16, 22, 0),  # 00:00 CEST 17 Oct
        starts_at=utc(2026, 10, 22, 13, 0),  # 15:00 CEST
        # 02:30 happens twice (00:30 UTC in CEST, 01:30 UTC in CET): check-out takes the later.
        ends_at=utc(2026, 10, 25, 1, 30),
        retry_deadline=utc(2026, 10, 22, 22, 0),  # 24:00 CEST 22 Oct
        alert_at=utc(2026, 10, 21, 16, 0),  # 18:00 CEST 21 Oct
    ),
    Case(
        "paris-fall-back-check-out-repeated-margin-30",
        "Europe/Paris", date(2026, 10, 22), date(2026, 10, 25), None, time(2, 30), 30,
        generate_at=utc(2026, 10, 16, 22, 0),
        starts_at=utc(2026, 10, 22, 12, 30),
        ends_at=utc(2026, 10, 25, 2, 0),  # 01:30 UTC + 30 real minutes = 03:00 CET
        retry_deadline=utc(2026, 10, 22, 22, 0),
        alert_at=utc(2026, 10, 21, 16, 0),
    ),
    Case(
        "new-york-fall-back-check-out-repeated",
        "America/New_York", date(2026, 10, 30), date(2026, 11, 1), None, time(1, 30), 0,
        generate_at=utc(2026, 10, 25, 4, 0),  # 00:00 EDT 25 Oct
        starts_at=utc(2026, 10, 30, 19, 0),  # 15:00 EDT
        # 01:30 happens twice (05:30 UTC in EDT, 06:30 UTC in EST): check-out takes the later.
        ends_at=utc(2026, 11, 1, 6, 30),
        retry_deadline=utc(2026, 10, 31, 4, 0),  # 24:00 EDT 30 Oct
        alert_at=utc(2026, 10, 29, 22, 0),  # 18:00 EDT 29 Oct
    ),
    Case(
        "new-york-fall-back-check-in-repeated",
        "America/New_York", date(2026, 11, 1), date(2026, 11, 3), time(1, 30), None, 0,
        generate_at=utc(2026, 10, 27, 4, 0),  # 00:00 EDT 27 Oct
        starts_at=utc(2026, 11, 1, 5, 30),  # the earlier 01:30, EDT
        ends_at=utc(2026, 11, 3, 16, 0),  # 11:00 EST
        retry_deadline=utc(2026, 11, 2, 5, 0),  # 24:00 on 1 Nov, now EST
        alert_at=utc(2026, 10, 31, 22, 0),  # 18:00 EDT 31 Oct
    ),
    Case(
        "lord-howe-half-hour-spring-forward-check-in-in-the-gap",
        "Australia/Lord_Howe", date(2026, 10, 4), date(2026, 10, 6), time(2, 15), None, 30,
        generate_at=utc(2026, 9, 28, 13, 30),  # 00:00 +10:30 on 29 Sep
        # 02:15 does not exist (02:00 -> 02:30): 02:45 +11:00 = 15:45 UTC on the 3rd; minus 30
        # real minutes = 15:15 UTC (01:45 +10:30; wall arithmetic would give a missing 02:15).
        starts_at=utc(2026, 10, 3, 15, 15),
        ends_at=utc(2026, 10, 6, 0, 30),  # 11:00 +11:00 = 00:00 UTC, plus 30
        retry_deadline=utc(2026, 10, 4, 13, 0),  # 24:00 +11:00 on 4 Oct
        alert_at=utc(2026, 10, 3, 7, 30),  # 18:00 +10:30 on 3 Oct
    ),
    Case(
        "lord-howe-half-hour-fall-back-check-out-repeated",
        "Australia/Lord_Howe", date(2026, 4, 2), date(2026, 4, 5), None, time(1, 45), 0,
        generate_at=utc(2026, 3, 27, 13, 0),  # 00:00 +11:00 on 28 Mar
        starts_at=utc(2026, 4, 2, 4, 0),  # 15:00 +11:00
        # 01:45 happens twice (14:45 UTC at +11:00, 15:15 UTC at +10:30): the later.
        ends_at=utc(2026, 4, 4, 15, 15),
        retry_deadline=utc(2026, 4, 2, 13, 0),  # 24:00 +11:00 on 2 Apr
        alert_at=utc(2026, 4, 1, 7, 0),  # 18:00 +11:00 on 1 Apr
    ),
    Case(
        "lord-howe-half-hour-fall-back-check-in-repeated",
        "Australia/Lord_Howe", date(2026, 4, 5), date(2026, 4, 7), time(1, 45), None, 0,
        generate_at=utc(2026, 3, 30, 13, 0),  # 00:00 +11:00 on 31 Mar
        starts_at=utc(2026, 4, 4, 14, 45),  # the earlier 01:45, +11:00
        ends_at=utc(2026, 4, 7, 0, 30),  # 11:00 +10:30
        retry_deadline=utc(2026, 4, 5, 13, 30),  # 24:00 +10:30 on 5 Apr
        alert_at=utc(2026, 4, 4, 7, 0),  # 18:00 +11:00 on 4 Apr
    ),
    Case(
        "kathmandu-quarter-hour-offset",
        "Asia/Kathmandu", date(2026, 6, 11), date(2026, 6, 13), None, None, 30,
        generate_at=utc(2026, 6, 5, 18, 15),  # 00:00 +05:45 on 6 Jun
        starts_at=utc(2026, 6, 11, 8, 45),  # 15:00 +05:45 = 09:15 UTC, minus 30
        ends_at=utc(2026, 6, 13, 5, 45),  # 11:00 +05:45 = 05:15 UTC, plus 30
        retry_deadline=utc(2026, 6, 11, 18, 15),  # 24:00 +05:45 on 11 Jun
        alert_at=utc(2026, 6, 10, 12, 15),  # 18:00 +05:45 on 10 Jun
    ),
    # The margin is a real duration on a clock-change night: 0 and the maximum, 240.
    Case(
        "paris-spring-forward-margin-0",
        "Europe/Paris", date(2026, 3, 29), date(2026, 3, 30), time(3, 0), None, 0,
        generate_at=utc(2026, 3, 23, 23, 0),
        starts_at=utc(2026, 3, 29, 1, 0),  # 03:00 CEST
        ends_at=utc(2026, 3, 30, 9, 0),  # 11:00 CEST
        retry_deadline=utc(2026, 3, 29, 22, 0),
        alert_at=utc(2026, 3, 28, 17, 0),
    ),
    Case(
        "paris-spring-forward-margin-240",
        "Europe/Paris", date(2026, 3, 29), date(2026, 3, 30), time(3, 0), None, 240,
        generate_at=utc(2026, 3, 23, 23, 0),
        # 01:00 UTC minus 4 real hours = 21:00 UTC = 22:00 CET on the 28th (wall arithmetic:
        # 23:00 CET = 22:00 UTC, one hour short).
        starts_at=utc(2026, 3, 28, 21, 0),
        ends_at=utc(2026, 3, 30, 13, 0),
        retry_deadline=utc(2026, 3, 29, 22, 0),
        alert_at=utc(2026, 3, 28, 17, 0),
    ),
    Case(
        "paris-fall-back-margin-0",
        "Europe/Paris", date(2026, 10, 23), date(2026, 10, 25), None, time(1, 0), 0,
        generate_at=utc(2026, 10, 17, 22, 0),  # 00:00 CEST 18 Oct
        starts_at=utc(2026, 10, 23, 13, 0),
        ends_at=utc(2026, 10, 24, 23, 0),  # 01:00 CEST on the 25th (before the change)
        retry_deadline=utc(2026, 10, 23, 22, 0),
        alert_at=utc(2026, 10, 22, 16, 0),
    ),
    Case(
        "paris-fall-back-margin-240",
        "Europe/Paris", date(2026, 10, 23), date(2026, 10, 25), None, time(1, 0), 240,
        generate_at=utc(2026, 10, 17, 22, 0),
        starts_at=utc(2026, 10, 23, 9, 0),
        # 23:00 UTC plus 4 real hours = 03:00 UTC = 04:00 CET (wall arithmetic: 05:00 CET).
        ends_at=utc(2026, 10, 25, 3, 0),
        retry_deadline=utc(2026, 10, 23, 22, 0),
        alert_at=utc(2026, 10, 22, 16, 0),
    ),
    Case(
        "new-york-spring-forward-margin-240",
        "America/New_York", date(2026, 3, 8), date(2026, 3, 9), time(3, 0), None, 240,
        generate_at=utc(2026, 3, 3, 5, 0),  # 00:00 EST 3 Mar
        # 03:00 EDT = 07:00 UTC, minus 4 real hours = 03:00 UTC = 22:00 EST on the 7th.
        starts_at=utc(2026, 3, 8, 3, 0),
        ends_at=utc(2026, 3, 9, 19, 0),  # 11:00 EDT = 15:00 UTC, plus 4 hours
        retry_deadline=utc(2026, 3, 9, 4, 0),  # 24:00 EDT on the 8th
        alert_at=utc(2026, 3, 7, 23, 0),  # 18:00 EST on the 7th
    ),
    Case(
        "new-york-fall-back-margin-240",
        "America/New_York", date(2026, 10, 30), date(2026, 11, 1), None, time(0, 30), 240,
        generate_at=utc(2026, 10, 25, 4, 0),
        starts_at=utc(2026, 10, 30, 15, 0),  # 15:00 EDT = 19:00 UTC, minus 4 hours
        # 00:30 EDT = 04:30 UTC, plus 4 real hours = 08:30 UTC = 03:30 EST (wall: 04:30 EST).
        ends_at=utc(2026, 11, 1, 8, 30),
        retry_deadline=utc(2026, 10, 31, 4, 0),
        alert_at=utc(2026, 10, 29, 22, 0),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_code_is_created_at_the_generation_moment_with_the_exact_window(case, assigned_property, book, fake_cloud):
    prop = assigned_property(time_zone=case.tz_name, margin_minutes=case.margin)  # lead 5 days
    with freeze_time(case.generate_at - timedelta(days=3)) as frozen:
        booking = book(prop, case.arrival, case.departure, check_in_time=case.check_in, check_out_time=case.check_out)
        code = services.booking_created(booking=booking)
        assert code.state == CodeState.SCHEDULED
        assert code.generate_at == case.generate_at
        assert code.next_attempt_at == case.generate_at
        assert (code.starts_at, code.ends_at) == (case.starts_at, case.ends_at)
        assert code.retry_deadline == case.retry_deadline
        assert code.alert_at == case.alert_at

        frozen.move_to(case.generate_at - MINUTE)
        report = tick()
        assert report.claimed == 0 and missing_codes.last_missing_codes_pass().planned == 0
        assert fake_cloud.codes_on("L1") == [] and sum(fake_cloud.calls.values()) == 0

        frozen.move_to(case.generate_at)
        report = tick()

    assert report.claimed == 1 and dict(report.actions) == {"created": 1}
    code.refresh_from_db()
    assert code.state == CodeState.ACTIVE
    assert (code.lock_starts_at, code.lock_ends_at) == (case.starts_at, case.ends_at)
    assert code.next_attempt_at == case.ends_at  # the next work is removing it at its end
    (issued,) = fake_cloud.codes_on("L1")
    assert (issued.starts_at, issued.ends_at) == (case.starts_at, case.ends_at)
    assert issued.starts_at.utcoffset() == timedelta(0)
    assert issued.name == code.vendor_name and issued.pin == code.pin
    assert fake_cloud.calls["create_code"] == 1


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.id.startswith(("paris-fall-back-check-out", "new-york-fall-back-check-out"))], ids=lambda c: c.id
)
def test_code_is_removed_at_its_end_on_a_fall_back_night(case, assigned_property, book, fake_cloud):
    """The later occurrence is when the code stops: a pass during the first occurrence of the
    repeated wall time leaves it on the lock."""
    prop = assigned_property(time_zone=case.tz_name, margin_minutes=case.margin)
    with freeze_time(case.generate_at) as frozen:
        booking = book(prop, case.arrival, case.departure, check_in_time=case.check_in, check_out_time=case.check_out)
        services.booking_created(booking=booking)
        tick()
        code = current(booking)
        assert code.state == CodeState.ACTIVE

        frozen.move_to(case.ends_at - timedelta(hours=1))  # the first occurrence of the wall time
        assert tick().claimed == 0
        frozen.move_to(case.ends_at - MINUTE)
        assert tick().claimed == 0
        assert len(fake_cloud.codes_on("L1")) == 1
        frozen.move_to(case.ends_at)
        report = tick()

    assert report.actions["expired"] == 1
    code.refresh_from_db()
    assert code.state == CodeState.EXPIRED
    assert fake_cloud.codes_on("L1") == []


# --- Kathmandu: every moment at :15 past a UTC hour ----------------------------------------------

KTM = "Asia/Kathmandu"
KTM_ARRIVAL, KTM_DEPARTURE = date(2026, 6, 11), date(2026, 6, 13)
KTM_GENERATE_AT = utc(2026, 6, 5, 18, 15)  # 00:00 +05:45 on 6 Jun (5 days before arrival)
KTM_ALERT_AT = utc(2026, 6, 10, 12, 15)  # 18:00 +05:45 on 10 Jun
KTM_DEADLINE = utc(2026, 6, 11, 18, 15)  # 24:00 +05:45 on 11 Jun
OFFLINE = LockOffline("The lock's gateway is offline.")


@pytest.mark.parametrize(
    "first_pass, acting_pass",
    [
        # Beat on the quarter hours: a :45 zone's midnight is itself a pass.
        (utc(2026, 6, 5, 17, 0), KTM_GENERATE_AT),
        # Beat started at :07: the first pass at or after 18:15 is 18:22.
        (utc(2026, 6, 5, 17, 7), utc(2026, 6, 5, 18, 22)),
        # A pass one minute after the moment acts then, not an hour later.
        (utc(2026, 6, 5, 17, 1), utc(2026, 6, 5, 18, 16)),
    ],
)
def test_kathmandu_code_is_created_by_the_first_pass_at_or_after_local_midnight(
    first_pass, acting_pass, assigned_property, book, fake_cloud
):
    prop = assigned_property(time_zone=KTM)
    with freeze_time(utc(2026, 6, 1)) as frozen:
        booking = book(prop, KTM_ARRIVAL, KTM_DEPARTURE)
        code = services.booking_created(booking=booking)
        assert code.generate_at == KTM_GENERATE_AT
        created_at = None
        for moment in passes(first_pass, first_pass + timedelta(hours=2)):
            frozen.move_to(moment)
            report = tick()
            if report.actions["created"]:
                assert created_at is None, "created twice"
                created_at = moment
            elif moment < KTM_GENERATE_AT:
                assert report.claimed == 0
    assert created_at == acting_pass
    code.refresh_from_db()
    assert code.state == CodeState.ACTIVE
    assert code.activated_at == acting_pass
    # The window does not depend on when the pass ran.
    assert (code.starts_at, code.ends_at) == (utc(2026, 6, 11, 8, 45), utc(2026, 6, 13, 5, 45))


def test_kathmandu_alert_is_sent_at_18_local_the_day_before_and_not_a_minute_earlier(assigned_property, book, fake_cloud):
    prop = assigned_property(time_zone=KTM)
    fake_cloud.fail_next("create_code", OFFLINE, times=1000)
    with freeze_time(KTM_GENERATE_AT) as frozen:
        booking = book(prop, KTM_ARRIVAL, KTM_DEPARTURE)
        services.booking_created(booking=booking)
        assert tick().actions["retrying"] == 1
        code = current(booking)
        assert code.alert_at == KTM_ALERT_AT
        assert code.next_attempt_at == KTM_GENERATE_AT + timedelta(hours=1)

        # A late pass takes an overdue attempt at 11:14 UTC; retries stay on the hour grid of the
        # generation moment (:15 UTC), so the next is 11:15 and the one after falls on the alert moment.
        frozen.move_to(KTM_ALERT_AT - timedelta(hours=1, minutes=1))
        assert tick().actions["retrying"] == 1
        code.refresh_from_db()
        assert code.next_attempt_at == KTM_ALERT_AT - timedelta(hours=1)

        frozen.move_to(KTM_ALERT_AT - timedelta(hours=1))
        assert tick().actions["retrying"] == 1
        code.refresh_from_db()
        assert code.next_attempt_at == KTM_ALERT_AT

        frozen.move_to(KTM_ALERT_AT - MINUTE)
        assert tick().claimed == 0  # nothing a minute early
        assert mail.outbox == []
        assert code.alert_sent_at is None

        frozen.move_to(KTM_ALERT_AT)
        assert tick().actions["retrying"] == 1
        assert len(mail.outbox) == 1
        assert "not created yet" in mail.outbox[0].subject
        code.refresh_from_db()
        assert code.alert_sent_at == KTM_ALERT_AT
        assert code.next_attempt_at == KTM_ALERT_AT + timedelta(hours=1)

        for moment in passes(KTM_ALERT_AT + QUARTER, KTM_ALERT_AT + timedelta(hours=3)):
            frozen.move_to(moment)
            tick()
    assert len(mail.outbox) == 1  # once
    assert current(booking).state == CodeState.CREATING


@pytest.mark.parametrize(
    "confirmed_at, mails_after_first_failure",
    [(KTM_ALERT_AT - MINUTE, 0), (KTM_ALERT_AT, 1), (KTM_ALERT_AT + timedelta(minutes=5), 1)],
)
def test_kathmandu_first_failure_at_or_after_the_alert_moment_alerts_at_once(
    confirmed_at, mails_after_first_failure, assigned_property, book, fake_cloud
):
    prop = assigned_property(time_zone=KTM)
    fake_cloud.fail_next("create_code", OFFLINE, times=1000)
    with freeze_time(confirmed_at) as frozen:
        booking = book(prop, KTM_ARRIVAL, KTM_DEPARTURE)
        services.booking_confirmed(booking=booking)
        tick()
        assert len(mail.outbox) == mails_after_first_failure
        if confirmed_at < KTM_ALERT_AT:
            assert current(booking).next_attempt_at == KTM_ALERT_AT
            frozen.move_to(KTM_ALERT_AT)
            tick()
    assert len(mail.outbox) == 1
    assert current(booking).state == CodeState.CREATING


def test_kathmandu_retries_stop_at_local_midnight_after_arrival_and_not_a_minute_earlier(assigned_property, book, fake_cloud):
    prop = assigned_property(time_zone=KTM)
    fake_cloud.fail_next("create_code", OFFLINE, times=1000)
    with freeze_time(KTM_GENERATE_AT) as frozen:
        booking = book(prop, KTM_ARRIVAL, KTM_DEPARTURE)
        services.booking_created(booking=booking)
        tick()
        code = current(booking)
        assert code.retry_deadline == KTM_DEADLINE

        frozen.move_to(KTM_DEADLINE - timedelta(hours=1, minutes=1))  # an overdue attempt, late
        tick()
        code.refresh_from_db()
        assert code.next_attempt_at == KTM_DEADLINE - timedelta(hours=1)  # back on the hour grid

        frozen.move_to(KTM_DEADLINE - timedelta(hours=1))
        assert tick().actions["retrying"] == 1
        code.refresh_from_db()
        assert code.state == CodeState.CREATING
        assert code.next_attempt_at == KTM_DEADLINE  # the last hourly attempt is the deadline's
        assert code.failure_notified_at is None
        mails_before = len(mail.outbox)

        frozen.move_to(KTM_DEADLINE - MINUTE)
        assert tick().claimed == 0

        frozen.move_to(KTM_DEADLINE)
        assert tick().actions["failed"] == 1
        code.refresh_from_db()
        assert code.state == CodeState.FAILED and code.next_attempt_at is None
        assert len(mail.outbox) == mails_before + 1
        assert "could not be created" in mail.outbox[-1].subject

        attempts = fake_cloud.calls["create_code"]
        for moment in passes(KTM_DEADLINE + QUARTER, KTM_DEADLINE + timedelta(hours=2)):
            frozen.move_to(moment)
            assert tick().claimed == 0
    assert fake_cloud.calls["create_code"] == attempts
    assert fake_cloud.codes_on("L1") == []


def test_kathmandu_code_that_succeeds_on_the_last_attempt_is_active(assigned_property, book, fake_cloud):
    """The attempt at the deadline itself is still made; if it succeeds the guest has a code."""
    prop = assigned_property(time_zone=KTM)
    with freeze_time(KTM_DEADLINE - timedelta(hours=5)) as frozen:  # confirmed on arrival day
        booking = book(prop, KTM_ARRIVAL, KTM_DEPARTURE)
        fake_cloud.fail_next("create_code", OFFLINE, times=5)
        services.booking_confirmed(booking=booking)
        for hour in range(5):
            frozen.move_to(KTM_DEADLINE - timedelta(hours=5 - hour))
            assert tick().actions["retrying"] == 1
        frozen.move_to(KTM_DEADLINE)
        assert tick().actions["created"] == 1
    assert current(booking).state == CodeState.ACTIVE
    assert len(fake_cloud.codes_on("L1")) == 1
