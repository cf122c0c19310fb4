"""Validity windows and lifecycle moments (locks/windows.py). Plain functions, no database.

Every expected instant below was worked out from the zone's offsets and checked against
zoneinfo; the local reading is given next to it so the arithmetic can be followed.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import given, settings, strategies as st

from locks import windows
from locks.windows import (
    SYSTEM_CHECK_IN,
    SYSTEM_CHECK_OUT,
    Window,
    alert_due_at,
    alert_moment,
    generation_due_at,
    generation_moment,
    is_valid_time_zone,
    local_day_start,
    local_midnight_after,
    local_to_utc,
    retry_deadline,
    validity_window,
)
from tests.helpers.lifecycle import utc


def local(instant: datetime, tz_name: str) -> datetime:
    """The wall-clock reading of an instant, without its offset."""
    return instant.astimezone(ZoneInfo(tz_name)).replace(tzinfo=None)


def window(
    *,
    arrival: date,
    departure: date,
    tz_name: str,
    margin_minutes: int = 0,
    booking_check_in: time | None = None,
    booking_check_out: time | None = None,
    default_check_in: time | None = None,
    default_check_out: time | None = None,
) -> Window:
    return validity_window(
        arrival=arrival,
        departure=departure,
        tz_name=tz_name,
        margin_minutes=margin_minutes,
        booking_check_in=booking_check_in,
        booking_check_out=booking_check_out,
        default_check_in=default_check_in,
        default_check_out=default_check_out,
    )


# --- The SPEC example, margins and which time wins -------------------------------------------


def test_spec_example_paris_summer():
    # CEST is UTC+2: 14:30 local = 12:30 UTC, 11:30 local = 09:30 UTC.
    result = window(
        arrival=date(2026, 6, 10),
        departure=date(2026, 6, 12),
        tz_name="Europe/Paris",
        margin_minutes=30,
    )
    assert result == Window(starts_at=utc(2026, 6, 10, 12, 30), ends_at=utc(2026, 6, 12, 9, 30))
    assert local(result.starts_at, "Europe/Paris") == datetime(2026, 6, 10, 14, 30)
    assert local(result.ends_at, "Europe/Paris") == datetime(2026, 6, 12, 11, 30)


def test_system_defaults():
    assert time(15, 0) == SYSTEM_CHECK_IN
    assert time(11, 0) == SYSTEM_CHECK_OUT


def test_returned_instants_are_utc():
    result = window(arrival=date(2026, 6, 10), departure=date(2026, 6, 12), tz_name="Asia/Tokyo")
    assert result.starts_at.tzinfo is UTC
    assert result.ends_at.tzinfo is UTC


def test_margin_zero():
    result = window(arrival=date(2026, 6, 10), departure=date(2026, 6, 12), tz_name="Europe/Paris")
    assert result == Window(starts_at=utc(2026, 6, 10, 13, 0), ends_at=utc(2026, 6, 12, 9, 0))


def test_margin_240():
    # 15:00 - 4 h = 11:00 CEST = 09:00 UTC; 11:00 + 4 h = 15:00 CEST = 13:00 UTC.
    result = window(
        arrival=date(2026, 6, 10),
        departure=date(2026, 6, 12),
        tz_name="Europe/Paris",
        margin_minutes=240,
    )
    assert result == Window(starts_at=utc(2026, 6, 10, 9, 0), ends_at=utc(2026, 6, 12, 13, 0))


def test_margin_may_reach_before_midnight_of_arrival():
    # The cap holds before the margin; the margin itself may cross midnight.
    result = window(
        arrival=date(2026, 6, 10),
        departure=date(2026, 6, 12),
        tz_name="UTC",
        margin_minutes=240,
        booking_check_in=time(1, 0),
        booking_check_out=time(23, 0),
    )
    assert result == Window(starts_at=utc(2026, 6, 9, 21, 0), ends_at=utc(2026, 6, 13, 3, 0))


def test_property_defaults_override_system_defaults():
    result = window(
        arrival=date(2026, 6, 10),
        departure=date(2026, 6, 12),
        tz_name="UTC",
        default_check_in=time(16, 0),
        default_check_out=time(10, 0),
    )
    assert result == Window(starts_at=utc(2026, 6, 10, 16, 0), ends_at=utc(2026, 6, 12, 10, 0))


def test_booking_times_override_property_defaults():
    result = window(
        arrival=date(2026, 6, 10),
        departure=date(2026, 6, 12),
        tz_name="UTC",
        booking_check_in=time(12, 0),
        booking_check_out=time(14, 0),
        default_check_in=time(16, 0),
        default_check_out=time(10, 0),
    )
    assert result == Window(starts_at=utc(2026, 6, 10, 12, 0), ends_at=utc(2026, 6, 12, 14, 0))


def test_each_time_falls_back_on_its_own():
    # Only an early check-in was negotiated: check-out still comes from the property.
    result = window(
        arrival=date(2026, 6, 10),
        departure=date(2026, 6, 12),
        tz_name="UTC",
        booking_check_in=time(9, 0),
        default_check_in=time(16, 0),
        default_check_out=time(10, 0),
    )
    assert result == Window(starts_at=utc(2026, 6, 10, 9, 0), ends_at=utc(2026, 6, 12, 10, 0))


def test_only_check_out_negotiated_check_in_from_system():
    result = window(
        arrival=date(2026, 6, 10),
        departure=date(2026, 6, 12),
        tz_name="UTC",
        booking_check_out=time(18, 0),
    )
    assert result == Window(starts_at=utc(2026, 6, 10, 15, 0), ends_at=utc(2026, 6, 12, 18, 0))


def test_latest_possible_times_stay_on_their_dates():
    result = window(
        arrival=date(2026, 6, 10),
        departure=date(2026, 6, 12),
        tz_name="UTC",
        booking_check_in=time(0, 0),
        booking_check_out=time(23, 59, 59, 999999),
    )
    assert result.starts_at == utc(2026, 6, 10, 0, 0)
    assert result.ends_at == utc(2026, 6, 12, 23, 59, 59, 999999)


def test_same_day_booking_with_its_own_times():
    result = window(
        arrival=date(2026, 6, 10),
        departure=date(2026, 6, 10),
        tz_name="UTC",
        booking_check_in=time(10, 0),
        booking_check_out=time(18, 0),
    )
    assert result == Window(starts_at=utc(2026, 6, 10, 10, 0), ends_at=utc(2026, 6, 10, 18, 0))


# --- Bad input --------------------------------------------------------------------------------


def test_departure_before_arrival_is_refused():
    with pytest.raises(ValueError, match="departure"):
        window(arrival=date(2026, 6, 12), departure=date(2026, 6, 10), tz_name="UTC")


def test_negative_margin_is_refused():
    with pytest.raises(ValueError, match="margin"):
        window(
            arrival=date(2026, 6, 10),
            departure=date(2026, 6, 12),
            tz_name="UTC",
            margin_minutes=-1,
        )


def test_same_day_with_default_times_is_an_empty_window():
    # 15:00 check-in and 11:00 check-out on the same day.
    with pytest.raises(ValueError, match="check-out"):
        window(arrival=date(2026, 6, 10), departure=date(2026, 6, 10), tz_name="UTC")


def test_unknown_time_zone_raises():
    with pytest.raises(ZoneInfoNotFoundError):
        window(arrival=date(2026, 6, 10), departure=date(2026, 6, 12), tz_name="Mars/Olympus")


# --- Europe/Paris: spring forward 2026-03-29 (02:00 CET -> 03:00 CEST at 01:00 UTC) -----------


@pytest.mark.parametrize("prefer_later", [False, True])
def test_paris_gap_moves_forward_by_the_gap(prefer_later):
    # 02:30 does not exist; moved forward one hour to 03:30 CEST = 01:30 UTC.
    result = local_to_utc(date(2026, 3, 29), time(2, 30), "Europe/Paris", prefer_later=prefer_later)
    assert result == utc(2026, 3, 29, 1, 30)
    assert local(result, "Europe/Paris") == datetime(2026, 3, 29, 3, 30)


def test_paris_gap_start_moves_to_the_jump():
    result = local_to_utc(date(2026, 3, 29), time(2, 0), "Europe/Paris", prefer_later=False)
    assert local(result, "Europe/Paris") == datetime(2026, 3, 29, 3, 0)
    assert result == utc(2026, 3, 29, 1, 0)


def test_paris_check_in_in_the_gap():
    result = window(
        arrival=date(2026, 3, 29),
        departure=date(2026, 3, 31),
        tz_name="Europe/Paris",
        booking_check_in=time(2, 30),
    )
    assert result.starts_at == utc(2026, 3, 29, 1, 30)


def test_paris_margin_is_a_real_duration_across_the_gap():
    # 03:00 CEST = 01:00 UTC; 60 real minutes earlier is 00:00 UTC = 01:00 CET (not 02:00).
    result = window(
        arrival=date(2026, 3, 29),
        departure=date(2026, 3, 31),
        tz_name="Europe/Paris",
        margin_minutes=60,
        booking_check_in=time(3, 0),
    )
    assert result.starts_at == utc(2026, 3, 29, 0, 0)
    assert local(result.starts_at, "Europe/Paris") == datetime(2026, 3, 29, 1, 0)
    # Check-out 11:00 CEST = 09:00 UTC, plus 60 minutes.
    assert result.ends_at == utc(2026, 3, 31, 10, 0)


def test_paris_check_out_in_the_gap():
    result = window(
        arrival=date(2026, 3, 27),
        departure=date(2026, 3, 29),
        tz_name="Europe/Paris",
        booking_check_out=time(2, 15),
    )
    assert result.ends_at == utc(2026, 3, 29, 1, 15)
    assert local(result.ends_at, "Europe/Paris") == datetime(2026, 3, 29, 3, 15)


# --- Europe/Paris: fall back 2026-10-25 (03:00 CEST -> 02:00 CET at 01:00 UTC) ----------------


def test_paris_repeated_time_earlier_and_later():
    day, at = date(2026, 10, 25), time(2, 30)
    # 02:30 CEST (UTC+2) = 00:30 UTC; 02:30 CET (UTC+1) = 01:30 UTC.
    assert local_to_utc(day, at, "Europe/Paris", prefer_later=False) == utc(2026, 10, 25, 0, 30)
    assert local_to_utc(day, at, "Europe/Paris", prefer_later=True) == utc(2026, 10, 25, 1, 30)


def test_paris_check_in_takes_the_earlier_occurrence():
    result = window(
        arrival=date(2026, 10, 25),
        departure=date(2026, 10, 27),
        tz_name="Europe/Paris",
        booking_check_in=time(2, 30),
    )
    assert result.starts_at == utc(2026, 10, 25, 0, 30)


def test_paris_check_out_takes_the_later_occurrence():
    result = window(
        arrival=date(2026, 10, 23),
        departure=date(2026, 10, 25),
        tz_name="Europe/Paris",
        booking_check_out=time(2, 30),
    )
    assert result.ends_at == utc(2026, 10, 25, 1, 30)


def test_paris_margin_across_fall_back():
    # Check-out 02:30 CET (later) = 01:30 UTC, plus 30 real minutes = 02:00 UTC = 03:00 CET.
    result = window(
        arrival=date(2026, 10, 23),
        departure=date(2026, 10, 25),
        tz_name="Europe/Paris",
        margin_minutes=30,
        booking_check_out=time(2, 30),
    )
    assert result.ends_at == utc(2026, 10, 25, 2, 0)
    assert local(result.ends_at, "Europe/Paris") == datetime(2026, 10, 25, 3, 0)


# --- America/New_York: fall back 2026-11-01 (02:00 EDT -> 01:00 EST at 06:00 UTC) -------------


def test_new_york_repeated_half_past_one():
    day, at = date(2026, 11, 1), time(1, 30)
    # 01:30 EDT (UTC-4) = 05:30 UTC; 01:30 EST (UTC-5) = 06:30 UTC.
    assert local_to_utc(day, at, "America/New_York", prefer_later=False) == utc(2026, 11, 1, 5, 30)
    assert local_to_utc(day, at, "America/New_York", prefer_later=True) == utc(2026, 11, 1, 6, 30)


def test_new_york_window_over_fall_back():
    result = window(
        arrival=date(2026, 11, 1),
        departure=date(2026, 11, 1),
        tz_name="America/New_York",
        booking_check_in=time(1, 30),
        booking_check_out=time(1, 45),
    )
    # Earlier 01:30 EDT to later 01:45 EST: 75 real minutes for 15 wall-clock minutes.
    assert result == Window(starts_at=utc(2026, 11, 1, 5, 30), ends_at=utc(2026, 11, 1, 6, 45))


def test_new_york_spring_forward_2026_03_08():
    # 02:00 EST -> 03:00 EDT at 07:00 UTC; 02:30 becomes 03:30 EDT = 07:30 UTC.
    result = local_to_utc(date(2026, 3, 8), time(2, 30), "America/New_York", prefer_later=False)
    assert result == utc(2026, 3, 8, 7, 30)
    assert local(result, "America/New_York") == datetime(2026, 3, 8, 3, 30)


# --- Australia/Lord_Howe: half-hour daylight saving ------------------------------------------


def test_lord_howe_fall_back_2026_04_05():
    # 02:00 (+11:00) -> 01:30 (+10:30) at 15:00 UTC on 04-04; 01:45 happens twice.
    day, at = date(2026, 4, 5), time(1, 45)
    earlier = local_to_utc(day, at, "Australia/Lord_Howe", prefer_later=False)
    later = local_to_utc(day, at, "Australia/Lord_Howe", prefer_later=True)
    assert earlier == utc(2026, 4, 4, 14, 45)
    assert later == utc(2026, 4, 4, 15, 15)
    assert later - earlier == timedelta(minutes=30)


def test_lord_howe_spring_forward_2026_10_04():
    # 02:00 (+10:30) -> 02:30 (+11:00) at 15:30 UTC on 10-03; 02:15 moves 30 minutes to 02:45.
    result = local_to_utc(date(2026, 10, 4), time(2, 15), "Australia/Lord_Howe", prefer_later=False)
    assert local(result, "Australia/Lord_Howe") == datetime(2026, 10, 4, 2, 45)
    assert result == utc(2026, 10, 3, 15, 45)


def test_lord_howe_margin_across_half_hour_gap():
    # Check-in 02:30 (+11:00) = 15:30 UTC; 60 real minutes earlier = 14:30 UTC = 01:00 (+10:30).
    result = window(
        arrival=date(2026, 10, 4),
        departure=date(2026, 10, 6),
        tz_name="Australia/Lord_Howe",
        margin_minutes=60,
        booking_check_in=time(2, 30),
    )
    assert result.starts_at == utc(2026, 10, 3, 14, 30)
    assert local(result.starts_at, "Australia/Lord_Howe") == datetime(2026, 10, 4, 1, 0)


def test_lord_howe_window_default_times():
    # 2026-07-01 is winter, +10:30: 15:00 -> 04:30 UTC; 11:00 -> 00:30 UTC.
    result = window(
        arrival=date(2026, 7, 1), departure=date(2026, 7, 3), tz_name="Australia/Lord_Howe"
    )
    assert result == Window(starts_at=utc(2026, 7, 1, 4, 30), ends_at=utc(2026, 7, 3, 0, 30))


# --- Asia/Kathmandu: +05:45 all year ---------------------------------------------------------


def test_kathmandu_window():
    # 14:30 +05:45 = 08:45 UTC; 11:30 +05:45 = 05:45 UTC.
    result = window(
        arrival=date(2026, 7, 1),
        departure=date(2026, 7, 3),
        tz_name="Asia/Kathmandu",
        margin_minutes=30,
    )
    assert result == Window(starts_at=utc(2026, 7, 1, 8, 45), ends_at=utc(2026, 7, 3, 5, 45))


# --- Midnight itself moved by a clock change -------------------------------------------------


def test_santiago_skipped_midnight_moves_forward():
    # 2026-09-06 00:00 (-04) jumps to 01:00 (-03) at 04:00 UTC.
    assert local_day_start(date(2026, 9, 6), "America/Santiago") == utc(2026, 9, 6, 4, 0)
    assert local_midnight_after(date(2026, 9, 5), "America/Santiago") == utc(2026, 9, 6, 4, 0)
    assert local(utc(2026, 9, 6, 4, 0), "America/Santiago") == datetime(2026, 9, 6, 1, 0)


def test_havana_repeated_midnight_ends_the_day_at_its_first_occurrence():
    # 2026-11-01 01:00 (-04) falls back to 00:00 (-05) at 05:00 UTC; 00:00 happens at 04:00 and
    # 05:00 UTC. The day before ends the first time the clock reads 00:00.
    assert local_midnight_after(date(2026, 10, 31), "America/Havana") == utc(2026, 11, 1, 4, 0)


def test_santiago_repeated_evening_before_midnight():
    # 2026-04-05 00:00 (-03) falls back to 04-04 23:00 (-04) at 03:00 UTC: 23:30 happens twice,
    # both before 24:00 (04:00 UTC), so no cap applies.
    result = window(
        arrival=date(2026, 4, 4),
        departure=date(2026, 4, 4),
        tz_name="America/Santiago",
        booking_check_in=time(23, 15),
        booking_check_out=time(23, 30),
    )
    assert result == Window(starts_at=utc(2026, 4, 5, 2, 15), ends_at=utc(2026, 4, 5, 3, 30))
    assert local_midnight_after(date(2026, 4, 4), "America/Santiago") == utc(2026, 4, 5, 4, 0)


# --- The 00:00-24:00 cap ---------------------------------------------------------------------


def test_nuuk_check_out_pushed_past_midnight_is_capped():
    # 2026-03-28 23:00 (-02) jumps to 03-29 00:00 (-01) at 01:00 UTC. A 23:30 check-out would
    # move to 00:30 the next day; it is held at 24:00 of the departure date = 01:00 UTC.
    assert local_to_utc(date(2026, 3, 28), time(23, 30), "America/Nuuk", prefer_later=True) == utc(
        2026, 3, 29, 1, 30
    )
    result = window(
        arrival=date(2026, 3, 26),
        departure=date(2026, 3, 28),
        tz_name="America/Nuuk",
        margin_minutes=30,
        booking_check_out=time(23, 30),
    )
    assert result.ends_at == utc(2026, 3, 29, 1, 0) + timedelta(minutes=30)


def test_nuuk_check_in_pushed_past_midnight_stays_on_the_arrival_date():
    result = window(
        arrival=date(2026, 3, 28),
        departure=date(2026, 3, 30),
        tz_name="America/Nuuk",
        booking_check_in=time(23, 30),
    )
    assert result.starts_at == utc(2026, 3, 29, 1, 0)


def test_goose_bay_later_check_out_after_midnight_is_capped():
    # 2010-11-07 00:01 (-03) fell back to 11-06 23:01 (-04) at 03:01 UTC: the later 23:30 of
    # 11-06 (03:30 UTC) came after the clock had first read 00:00 of 11-07 (03:00 UTC).
    assert local_to_utc(
        date(2010, 11, 6), time(23, 30), "America/Goose_Bay", prefer_later=True
    ) == utc(2010, 11, 7, 3, 30)
    result = window(
        arrival=date(2010, 11, 4),
        departure=date(2010, 11, 6),
        tz_name="America/Goose_Bay",
        booking_check_out=time(23, 30),
    )
    assert result.ends_at == utc(2010, 11, 7, 3, 0)


def test_apia_skipped_day_caps_check_out():
    # Samoa skipped 2011-12-30: 12-29 24:00 (-10) was 12-31 00:00 (+14), at 10:00 UTC on 12-30.
    result = window(
        arrival=date(2011, 12, 28),
        departure=date(2011, 12, 30),
        tz_name="Pacific/Apia",
        margin_minutes=30,
    )
    # Check-in 12-28 15:00 (-10) = 12-29 01:00 UTC.
    assert result.starts_at == utc(2011, 12, 29, 0, 30)
    # Check-out 11:00 on the skipped day would be 12-31 11:00; held at 24:00 of 12-30.
    assert result.ends_at == utc(2011, 12, 30, 10, 30)


# --- Generation, retry and alert moments ------------------------------------------------------


def test_generation_moment_lead_one_day():
    # 2026-06-09 00:00 CEST = 06-08 22:00 UTC.
    moment = generation_moment(arrival=date(2026, 6, 10), lead_days=1, tz_name="Europe/Paris")
    assert moment == utc(2026, 6, 8, 22, 0)


def test_generation_moment_lead_fourteen_days():
    # 2026-05-27 00:00 CEST = 05-26 22:00 UTC.
    moment = generation_moment(arrival=date(2026, 6, 10), lead_days=14, tz_name="Europe/Paris")
    assert moment == utc(2026, 5, 26, 22, 0)


def test_generation_moment_uses_the_offset_of_its_own_day():
    # Arrival in CEST, generation day 2026-03-22 still in CET: 00:00 CET = 03-21 23:00 UTC.
    moment = generation_moment(arrival=date(2026, 4, 5), lead_days=14, tz_name="Europe/Paris")
    assert moment == utc(2026, 3, 21, 23, 0)


def test_generation_moment_kathmandu():
    # 2026-06-26 00:00 +05:45 = 06-25 18:15 UTC.
    moment = generation_moment(arrival=date(2026, 7, 1), lead_days=5, tz_name="Asia/Kathmandu")
    assert moment == utc(2026, 6, 25, 18, 15)


def test_generation_moment_on_a_skipped_midnight():
    # Generation day 2026-09-06 in Santiago starts at 01:00 (-03) = 04:00 UTC.
    moment = generation_moment(arrival=date(2026, 9, 7), lead_days=1, tz_name="America/Santiago")
    assert moment == utc(2026, 9, 6, 4, 0)


def test_generation_due_at_for_an_early_booking_is_the_moment():
    due = generation_due_at(
        arrival=date(2026, 6, 10), lead_days=5, tz_name="Europe/Paris", now=utc(2026, 1, 1)
    )
    # 2026-06-05 00:00 CEST = 06-04 22:00 UTC.
    assert due == utc(2026, 6, 4, 22, 0)


def test_generation_due_at_for_a_late_booking_is_now():
    now = utc(2026, 6, 9, 10, 0)
    due = generation_due_at(arrival=date(2026, 6, 10), lead_days=5, tz_name="Europe/Paris", now=now)
    assert due == now


def test_generation_due_at_exactly_at_the_moment():
    moment = utc(2026, 6, 8, 22, 0)
    due = generation_due_at(
        arrival=date(2026, 6, 10), lead_days=1, tz_name="Europe/Paris", now=moment
    )
    assert due == moment


def test_retry_deadline_paris():
    # 24:00 at the end of 2026-06-10 = 06-11 00:00 CEST = 06-10 22:00 UTC.
    assert retry_deadline(arrival=date(2026, 6, 10), tz_name="Europe/Paris") == utc(
        2026, 6, 10, 22, 0
    )


def test_retry_deadline_kathmandu():
    # 2026-07-02 00:00 +05:45 = 07-01 18:15 UTC.
    assert retry_deadline(arrival=date(2026, 7, 1), tz_name="Asia/Kathmandu") == utc(
        2026, 7, 1, 18, 15
    )


def test_retry_deadline_lord_howe():
    # End of 2026-04-04 = 04-05 00:00, still +11:00 (fall back is at 02:00) = 04-04 13:00 UTC.
    assert retry_deadline(arrival=date(2026, 4, 4), tz_name="Australia/Lord_Howe") == utc(
        2026, 4, 4, 13, 0
    )
    # End of 2026-10-04 = 10-05 00:00, now +11:00 = 10-04 13:00 UTC.
    assert retry_deadline(arrival=date(2026, 10, 4), tz_name="Australia/Lord_Howe") == utc(
        2026, 10, 4, 13, 0
    )


def test_retry_deadline_on_a_skipped_midnight():
    assert retry_deadline(arrival=date(2026, 9, 5), tz_name="America/Santiago") == utc(
        2026, 9, 6, 4, 0
    )


def test_alert_moment_paris():
    # 2026-06-09 18:00 CEST = 16:00 UTC.
    assert alert_moment(arrival=date(2026, 6, 10), tz_name="Europe/Paris") == utc(
        2026, 6, 9, 16, 0
    )


def test_alert_moment_kathmandu():
    # 2026-06-30 18:00 +05:45 = 12:15 UTC.
    assert alert_moment(arrival=date(2026, 7, 1), tz_name="Asia/Kathmandu") == utc(
        2026, 6, 30, 12, 15
    )


def test_alert_moment_lord_howe():
    # 2026-04-04 18:00 (+11:00) = 07:00 UTC; 2026-10-03 18:00 (+10:30) = 07:30 UTC.
    assert alert_moment(arrival=date(2026, 4, 5), tz_name="Australia/Lord_Howe") == utc(
        2026, 4, 4, 7, 0
    )
    assert alert_moment(arrival=date(2026, 10, 4), tz_name="Australia/Lord_Howe") == utc(
        2026, 10, 3, 7, 30
    )


def test_alert_due_at_failure_before_the_evening_waits_for_it():
    due = alert_due_at(
        arrival=date(2026, 6, 10), tz_name="Europe/Paris", first_failure_at=utc(2026, 6, 8, 10, 0)
    )
    assert due == utc(2026, 6, 9, 16, 0)


def test_alert_due_at_failure_after_the_evening_alerts_at_once():
    # First failure at 19:00 CEST on the eve of arrival, after the 18:00 alert moment.
    failure = utc(2026, 6, 9, 17, 0)
    due = alert_due_at(arrival=date(2026, 6, 10), tz_name="Europe/Paris", first_failure_at=failure)
    assert due == failure


def test_alert_due_at_failure_on_arrival_day_in_kathmandu():
    failure = utc(2026, 7, 1, 3, 0)
    due = alert_due_at(arrival=date(2026, 7, 1), tz_name="Asia/Kathmandu", first_failure_at=failure)
    assert due == failure


# --- Time zone names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["Europe/Paris", "Asia/Kathmandu", "Australia/Lord_Howe", "America/New_York", "UTC"]
)
def test_valid_time_zones(name):
    assert is_valid_time_zone(name)


@pytest.mark.parametrize(
    "name",
    ["", "Mars/Olympus", "europe/paris", "Europe/Paris ", "+02:00", "localtime", "Factory", "../etc"],
)
def test_invalid_time_zones(name):
    assert not is_valid_time_zone(name)
    assert not is_valid_time_zone(name)


# --- Properties ------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Paris",
    "Europe/London",
    "America/New_York",
    "America/St_Johns",
    "America/Santiago",
    "America/Havana",
    "America/Nuuk",
    "Asia/Beirut",
    "Asia/Kathmandu",
    "Asia/Tehran",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
]
# 2012 onwards, where none of these zones has a clock change that crosses midnight (the
# bisection below relies on that).
FIRST_DAY, LAST_DAY = date(2012, 1, 1), date(2037, 12, 31)


def clock_changes(tz_name: str) -> list[datetime]:
    """The wall-clock reading just before each clock change of the zone, found by bisection."""
    zone = ZoneInfo(tz_name)
    readings = []
    instant = datetime.combine(FIRST_DAY, time(0), tzinfo=UTC)
    offset = instant.astimezone(zone).utcoffset()
    while instant.date() < LAST_DAY:
        following = instant + timedelta(days=1)
        next_offset = following.astimezone(zone).utcoffset()
        if next_offset != offset:
            low, high = instant, following
            while high - low > timedelta(microseconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            readings.append((high + offset).replace(tzinfo=None))
        instant, offset = following, next_offset
    return readings


CLOCK_CHANGES = {tz_name: clock_changes(tz_name) for tz_name in ZONES}

zones = st.sampled_from(ZONES)
days = st.dates(min_value=FIRST_DAY, max_value=LAST_DAY)
wall_times = st.times()
optional_times = st.none() | wall_times


def walls(tz_name: str) -> st.SearchStrategy[datetime]:
    """Local wall times, half of them within three hours of one of the zone's clock changes."""
    anywhere = st.builds(datetime.combine, days, wall_times)
    changes = CLOCK_CHANGES[tz_name]
    if not changes:
        return anywhere
    near_a_change = st.builds(
        lambda change, delta: change + delta,
        st.sampled_from(changes),
        st.timedeltas(min_value=timedelta(hours=-3), max_value=timedelta(hours=3)),
    )
    return anywhere | near_a_change


def test_the_sampled_zones_change_clocks_where_expected():
    assert datetime(2026, 3, 29, 2, 0) in CLOCK_CHANGES["Europe/Paris"]
    assert datetime(2026, 10, 25, 3, 0) in CLOCK_CHANGES["Europe/Paris"]
    assert datetime(2026, 10, 4, 2, 0) in CLOCK_CHANGES["Australia/Lord_Howe"]
    assert datetime(2026, 3, 28, 23, 0) in CLOCK_CHANGES["America/Nuuk"]
    assert CLOCK_CHANGES["Asia/Kathmandu"] == CLOCK_CHANGES["UTC"] == []


def brute_occurrences(wall: datetime, tz_name: str) -> list[datetime]:
    """Every UTC instant whose local reading is `wall`, from the offsets the zone uses nearby."""
    zone = ZoneInfo(tz_name)
    probe = wall.replace(tzinfo=UTC)
    offsets = {
        (probe + timedelta(minutes=30 * step)).astimezone(zone).utcoffset()
        for step in range(-60, 61)
    }
    return sorted(
        {probe - offset for offset in offsets if local(probe - offset, tz_name) == wall}
    )


def first_instant_at_or_after(wall: datetime, tz_name: str) -> datetime:
    """The first instant whose local reading is `wall` or later (bisection to a microsecond)."""
    low = wall.replace(tzinfo=UTC) - timedelta(hours=15)
    high = wall.replace(tzinfo=UTC) + timedelta(hours=15)
    while high - low > timedelta(microseconds=1):
        middle = low + (high - low) / 2
        if local(middle, tz_name) >= wall:
            high = middle
        else:
            low = middle
    return high


def assert_reads_as(instant: datetime, wall: datetime, tz_name: str) -> None:
    """`instant` reads `wall`, or `wall` was skipped and `instant` reads it plus the gap."""
    shift = local(instant, tz_name) - wall
    if shift:
        zone = ZoneInfo(tz_name)
        assert not brute_occurrences(wall, tz_name)
        assert shift > timedelta(0)
        # The clock change lies between `instant - shift` and `instant`.
        offset_jump = instant.astimezone(zone).utcoffset() - (instant - shift).astimezone(
            zone
        ).utcoffset()
        assert shift == offset_jump


@settings(max_examples=500)
@given(data=st.data(), tz_name=zones, prefer_later=st.booleans())
def test_local_to_utc_reads_back_as_the_wall_time_or_shifted_by_the_gap(
    data, tz_name, prefer_later
):
    wall = data.draw(walls(tz_name))
    result = local_to_utc(wall.date(), wall.time(), tz_name, prefer_later=prefer_later)
    assert result.utcoffset() == timedelta(0)
    assert_reads_as(result, wall, tz_name)
    occurrences = brute_occurrences(wall, tz_name)
    if occurrences:
        assert result == (occurrences[-1] if prefer_later else occurrences[0])


@settings(max_examples=300)
@given(data=st.data(), tz_name=zones)
def test_day_bounds_are_the_first_instants_of_the_days(data, tz_name):
    day = data.draw(walls(tz_name)).date()
    next_day = day + timedelta(days=1)
    assert local_day_start(day, tz_name) == first_instant_at_or_after(
        datetime.combine(day, time(0)), tz_name
    )
    assert local_midnight_after(day, tz_name) == first_instant_at_or_after(
        datetime.combine(next_day, time(0)), tz_name
    )
    assert local(local_midnight_after(day, tz_name), tz_name).date() == next_day


@settings(max_examples=500)
@given(
    data=st.data(),
    tz_name=zones,
    nights=st.integers(min_value=1, max_value=30),
    margin_minutes=st.integers(min_value=0, max_value=240),
    use_booking_check_in=st.booleans(),
    use_booking_check_out=st.booleans(),
    default_check_in=optional_times,
    default_check_out=optional_times,
)
def test_window_properties(
    data,
    tz_name,
    nights,
    margin_minutes,
    use_booking_check_in,
    use_booking_check_out,
    default_check_in,
    default_check_out,
):
    check_in_near = data.draw(walls(tz_name))
    arrival = check_in_near.date()
    check_out_near = data.draw(
        st.builds(datetime.combine, st.just(arrival + timedelta(days=nights)), wall_times)
        | walls(tz_name).filter(lambda wall: wall.date() > arrival)
    )
    departure = check_out_near.date()
    booking_check_in = check_in_near.time() if use_booking_check_in else None
    booking_check_out = check_out_near.time() if use_booking_check_out else None

    check_in_at = next(t for t in (booking_check_in, default_check_in, time(15)) if t is not None)
    check_out_at = next(t for t in (booking_check_out, default_check_out, time(11)) if t is not None)
    check_in_wall = datetime.combine(arrival, check_in_at)
    check_out_wall = datetime.combine(departure, check_out_at)
    arrival_starts = first_instant_at_or_after(datetime.combine(arrival, time(0)), tz_name)
    arrival_ends = first_instant_at_or_after(
        datetime.combine(arrival + timedelta(days=1), time(0)), tz_name
    )
    departure_starts = first_instant_at_or_after(datetime.combine(departure, time(0)), tz_name)
    departure_ends = first_instant_at_or_after(
        datetime.combine(departure + timedelta(days=1), time(0)), tz_name
    )
    try:
        result = window(
            arrival=arrival,
            departure=departure,
            tz_name=tz_name,
            margin_minutes=margin_minutes,
            booking_check_in=booking_check_in,
            booking_check_out=booking_check_out,
            default_check_in=default_check_in,
            default_check_out=default_check_out,
        )
    except ValueError:
        # Only a late check-in pushed to 24:00 by a skipped hour (America/Nuuk) can meet a
        # check-out at 00:00 the next morning and leave nothing between them.
        assert departure == arrival + timedelta(days=1)
        assert local_to_utc(arrival, check_in_at, tz_name, prefer_later=False) >= arrival_ends
        assert local_to_utc(departure, check_out_at, tz_name, prefer_later=True) == departure_starts
        return

    margin = timedelta(minutes=margin_minutes)
    check_in = result.starts_at + margin
    check_out = result.ends_at - margin
    assert result.starts_at.utcoffset() == result.ends_at.utcoffset() == timedelta(0)
    assert result.starts_at < result.ends_at
    assert result.ends_at - result.starts_at == (check_out - check_in) + 2 * margin
    assert arrival_starts <= check_in <= arrival_ends
    assert departure_starts <= check_out <= departure_ends

    check_in_occurrences = brute_occurrences(check_in_wall, tz_name)
    check_out_occurrences = brute_occurrences(check_out_wall, tz_name)
    if check_in_occurrences:
        assert check_in == check_in_occurrences[0]
    if check_out_occurrences:
        assert check_out == check_out_occurrences[-1]
    if check_in != arrival_ends:  # otherwise held at 24:00 of the arrival date
        assert_reads_as(check_in, check_in_wall, tz_name)
    if check_out != departure_ends:  # otherwise held at 24:00 of the departure date
        assert_reads_as(check_out, check_out_wall, tz_name)


@given(
    tz_name=zones,
    arrival=days,
    lead_days=st.integers(min_value=1, max_value=14),
    now=st.datetimes(
        min_value=datetime(2011, 12, 1), max_value=datetime(2038, 1, 1), timezones=st.just(UTC)
    ),
)
def test_generation_due_at_is_the_later_of_the_moment_and_now(tz_name, arrival, lead_days, now):
    moment = generation_moment(arrival=arrival, lead_days=lead_days, tz_name=tz_name)
    due = generation_due_at(arrival=arrival, lead_days=lead_days, tz_name=tz_name, now=now)
    assert due == max(moment, now)
    assert local(moment, tz_name).date() == arrival - timedelta(days=lead_days)


@given(data=st.data(), tz_name=zones, first_failure_hours=st.integers(min_value=-72, max_value=72))
def test_lifecycle_moments_are_in_order(data, tz_name, first_failure_hours):
    arrival = data.draw(walls(tz_name)).date()
    generation = generation_moment(arrival=arrival, lead_days=1, tz_name=tz_name)
    alert = alert_moment(arrival=arrival, tz_name=tz_name)
    deadline = retry_deadline(arrival=arrival, tz_name=tz_name)
    default_check_in = window(
        arrival=arrival, departure=arrival + timedelta(days=1), tz_name=tz_name
    ).starts_at
    assert generation < alert < default_check_in < deadline
    assert local(alert, tz_name) == datetime.combine(arrival - timedelta(days=1), time(18))
    assert local(deadline, tz_name).date() == arrival + timedelta(days=1)

    first_failure = alert + timedelta(hours=first_failure_hours)
    due = alert_due_at(arrival=arrival, tz_name=tz_name, first_failure_at=first_failure)
    assert due == max(alert, first_failure)


# --- the hour grid of retries --------------------------------------------------------------------

_instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))


@given(anchor=_instants, after=_instants, minutes=st.integers(min_value=1, max_value=24 * 60))
def test_next_on_grid_is_the_first_grid_instant_after(anchor, after, minutes):
    period = timedelta(minutes=minutes)
    found = windows.next_on_grid(anchor=anchor, after=after, period=period)
    assert after < found <= after + period
    assert (found - anchor) % period == timedelta(0)


@given(anchor=_instants, now=_instants, wait=st.integers(min_value=1, max_value=6 * 3600))
def test_next_retry_at_honours_retry_after_on_the_grid_and_never_passes_the_deadline(anchor, now, wait):
    hour = timedelta(hours=1)
    deadline = now + timedelta(days=1)
    not_before = now + timedelta(seconds=wait)
    found = windows.next_retry_at(anchor=anchor, now=now, period=hour, deadline=deadline, not_before=not_before)
    assert not_before <= found < not_before + hour
    assert (found - anchor) % hour == timedelta(0)
    assert windows.next_retry_at(anchor=anchor, now=now, period=hour, deadline=now + timedelta(minutes=1)) <= now + timedelta(minutes=1)


def test_next_retry_at_tries_once_on_the_alert_moment_when_it_is_still_ahead():
    anchor = datetime(2026, 6, 5, 18, 15, tzinfo=UTC)
    now = datetime(2026, 6, 10, 11, 30, tzinfo=UTC)
    alert = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    deadline = datetime(2026, 6, 11, 18, 15, tzinfo=UTC)
    assert windows.next_retry_at(anchor=anchor, now=now, period=timedelta(hours=1), deadline=deadline, alert_at=alert) == alert
    assert windows.next_retry_at(anchor=anchor, now=alert, period=timedelta(hours=1), deadline=deadline, alert_at=alert) == datetime(
        2026, 6, 10, 12, 15, tzinfo=UTC
    )
