"""Clock changes and lock clocks (locks/clocks.py). Plain functions, no database.

Each change below was read off the zone's rules and checked against zoneinfo: the UTC instant of
the change, then the wall clock just before and just after it.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, strategies as st

from locks.clocks import (
    COMPARED_AHEAD,
    ClockChange,
    LockClock,
    clock_change_message,
    clock_changes,
    clock_mismatch,
    first_difference,
    offset_label,
)
from tests.helpers.lifecycle import utc

HOUR = timedelta(hours=1)
WINTER_NOON = datetime(2026, 1, 10, 12, tzinfo=UTC)


def at(tz_name: str, *args) -> datetime:
    """A wall-clock reading in `tz_name`, as a UTC instant (never a skipped or repeated one here)."""
    return datetime(*args, tzinfo=ZoneInfo(tz_name)).astimezone(UTC)


def walls(change: ClockChange) -> tuple[str, str]:
    return f"{change.wall_before:%Y-%m-%d %H:%M}", f"{change.wall_after:%H:%M}"


class TestClockChanges:
    def test_paris_in_spring(self):
        (change,) = clock_changes(at("Europe/Paris", 2026, 3, 27, 15), at("Europe/Paris", 2026, 3, 30, 11), "Europe/Paris")
        assert change.at == utc(2026, 3, 29, 1)
        assert (change.before, change.after) == (HOUR, 2 * HOUR)
        assert walls(change) == ("2026-03-29 02:00", "03:00")

    def test_paris_in_autumn(self):
        (change,) = clock_changes(at("Europe/Paris", 2026, 10, 23, 15), at("Europe/Paris", 2026, 10, 26, 11), "Europe/Paris")
        assert change.at == utc(2026, 10, 25, 1)
        assert walls(change) == ("2026-10-25 03:00", "02:00")

    def test_new_york_both_ways(self):
        spring, autumn = clock_changes(at("America/New_York", 2026, 3, 1, 15), at("America/New_York", 2026, 11, 5, 11), "America/New_York")
        assert (spring.at, walls(spring)) == (utc(2026, 3, 8, 7), ("2026-03-08 02:00", "03:00"))
        assert (autumn.at, walls(autumn)) == (utc(2026, 11, 1, 6), ("2026-11-01 02:00", "01:00"))
        assert offset_label(spring.before) == "-05:00" and offset_label(spring.after) == "-04:00"

    def test_lord_howe_moves_by_half_an_hour(self):
        zone = "Australia/Lord_Howe"
        autumn, spring = clock_changes(at(zone, 2026, 4, 1, 15), at(zone, 2026, 10, 8, 11), zone)
        assert (autumn.at, walls(autumn)) == (utc(2026, 4, 4, 15), ("2026-04-05 02:00", "01:30"))
        assert (spring.at, walls(spring)) == (utc(2026, 10, 3, 15, 30), ("2026-10-04 02:00", "02:30"))
        assert autumn.shift == -timedelta(minutes=30)
        assert (offset_label(autumn.before), offset_label(autumn.after)) == ("+11:00", "+10:30")

    @pytest.mark.parametrize("tz_name", ["Asia/Kathmandu", "Asia/Tokyo", "UTC", "America/Phoenix"])
    def test_a_zone_without_daylight_saving_has_no_change_all_year(self, tz_name):
        assert clock_changes(utc(2026, 1, 1), utc(2027, 1, 1), tz_name) == ()

    def test_a_stay_inside_one_offset_crosses_nothing(self):
        assert clock_changes(at("Europe/Paris", 2026, 6, 10, 15), at("Europe/Paris", 2026, 6, 24, 11), "Europe/Paris") == ()

    def test_a_change_at_either_end_of_the_window_is_not_crossed(self):
        change_at = utc(2026, 3, 29, 1)
        assert clock_changes(change_at, change_at + 48 * HOUR, "Europe/Paris") == ()
        assert clock_changes(change_at - 48 * HOUR, change_at, "Europe/Paris") == ()
        assert len(clock_changes(change_at - 48 * HOUR, change_at + timedelta(seconds=1), "Europe/Paris")) == 1

    def test_an_empty_or_reversed_window_crosses_nothing(self):
        assert clock_changes(utc(2026, 3, 30), utc(2026, 3, 28), "Europe/Paris") == ()

    @given(
        tz_name=st.sampled_from(["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kathmandu"]),
        start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1)),
        length=st.timedeltas(min_value=timedelta(hours=1), max_value=timedelta(days=60)),
    )
    def test_every_change_is_found_to_the_second(self, tz_name, start, length):
        starts_at = start.replace(tzinfo=UTC)
        ends_at = starts_at + length
        zone = ZoneInfo(tz_name)
        changes = clock_changes(starts_at, ends_at, tz_name)
        for change in changes:
            assert starts_at < change.at < ends_at
            assert (change.at - timedelta(seconds=1)).astimezone(zone).utcoffset() == change.before
            assert change.at.astimezone(zone).utcoffset() == change.after != change.before
        # Between the changes found, the offset holds (checked every 15 minutes).
        expected = [starts_at.astimezone(zone).utcoffset()] + [change.after for change in changes]
        moment, seen = starts_at, []
        while moment < ends_at:
            offset = moment.astimezone(zone).utcoffset()
            if not seen or seen[-1] != offset:
                seen.append(offset)
            moment += timedelta(minutes=15)
        assert seen == expected


class TestClockChangeMessage:
    def paris_spring(self):
        opens, closes = at("Europe/Paris", 2026, 3, 27, 15), at("Europe/Paris", 2026, 3, 30, 11)
        return clock_changes(opens, closes, "Europe/Paris"), opens, closes

    def test_exact_times_open_and_close_at_the_same_local_hours(self):
        changes, opens, closes = self.paris_spring()
        message = clock_change_message(changes, tz_name="Europe/Paris", opens_at=opens, closes_at=closes, lock_clock=LockClock.EXACT)
        assert message == (
            "This stay crosses the clock change on Sun 29 Mar (02:00 → 03:00). The code is set in exact times, so the "
            "door opens at 15:00 and closes at 11:00 local time on both sides of the change."
        )

    def test_a_lock_at_a_fixed_offset_may_be_an_hour_off_on_one_side(self):
        changes, opens, closes = self.paris_spring()
        message = clock_change_message(
            changes, tz_name="Europe/Paris", opens_at=opens, closes_at=closes, lock_clock=LockClock.FIXED_OFFSET, brand="TTLock"
        )
        assert message.startswith("This stay crosses the clock change on Sun 29 Mar (02:00 → 03:00). The code is set in exact times")
        assert "a TTLock lock reads them with one fixed UTC offset" in message
        assert "on one side of it the door may open and close an hour off" in message
        assert message.endswith("Check the lock's time zone in the TTLock app.")

    def test_lord_howe_says_half_an_hour(self):
        opens, closes = at("Australia/Lord_Howe", 2026, 4, 3, 15), at("Australia/Lord_Howe", 2026, 4, 7, 11)
        changes = clock_changes(opens, closes, "Australia/Lord_Howe")
        message = clock_change_message(
            changes, tz_name="Australia/Lord_Howe", opens_at=opens, closes_at=closes, lock_clock=LockClock.FIXED_OFFSET, brand="TTLock"
        )
        assert "Sun 5 Apr (02:00 → 01:30)" in message and "30 minutes off" in message

    def test_without_a_code_it_speaks_of_check_in_and_check_out(self):
        opens, closes = at("America/New_York", 2026, 10, 30, 16), at("America/New_York", 2026, 11, 2, 10)
        changes = clock_changes(opens, closes, "America/New_York")
        message = clock_change_message(changes, tz_name="America/New_York", opens_at=opens, closes_at=closes, lock_clock=None)
        assert message == (
            "This stay crosses the clock change on Sun 1 Nov (02:00 → 01:00). "
            "Check-in at 16:00 and check-out at 10:00 are local times on both sides of the change."
        )

    def test_a_long_stay_names_every_change(self):
        opens, closes = at("Europe/Paris", 2026, 3, 1, 15), at("Europe/Paris", 2026, 11, 1, 11)
        changes = clock_changes(opens, closes, "Europe/Paris")
        message = clock_change_message(changes, tz_name="Europe/Paris", opens_at=opens, closes_at=closes, lock_clock=LockClock.EXACT)
        assert message.startswith("This stay crosses 2 clock changes: Sun 29 Mar (02:00 → 03:00) and Sun 25 Oct (03:00 → 02:00).")
        assert message.endswith("on both sides of the changes.")

    def test_no_change_no_message(self):
        assert clock_change_message((), tz_name="Europe/Paris", opens_at=utc(2026, 6, 1), closes_at=utc(2026, 6, 3), lock_clock=None) == ""


class TestZoneMismatch:
    def mismatch(self, lock_zone, property_tz, starts_at=WINTER_NOON, ends_at=None, offset=None):
        return clock_mismatch(
            lock_zone=lock_zone, lock_offset_minutes=offset, property_tz=property_tz, starts_at=starts_at, ends_at=ends_at, brand="Tedee"
        )

    @pytest.mark.parametrize(
        "lock_zone, property_tz",
        [("Europe/Berlin", "Europe/Paris"), ("Europe/Amsterdam", "Europe/Paris"), ("Europe/Lisbon", "Europe/London"),
         ("America/Toronto", "America/New_York"), ("Asia/Kolkata", "Asia/Calcutta"), ("Europe/Paris", "Europe/Paris")],
    )
    def test_another_name_for_the_same_clock_all_year_is_no_mismatch(self, lock_zone, property_tz):
        assert self.mismatch(lock_zone, property_tz) == ""
        assert first_difference(lock_zone, property_tz, utc(2026, 1, 1), utc(2026, 1, 1) + COMPARED_AHEAD) is None

    def test_another_clock_is_a_mismatch_with_both_offsets(self):
        warning = self.mismatch("America/New_York", "Europe/Paris", starts_at=utc(2026, 6, 12, 10))
        assert warning == (
            "The lock's time zone is America/New_York, but the property is in Europe/Paris: on 2026-06-12 the lock is at "
            "UTC-04:00 where the property is at UTC+02:00, so guest codes may open at the wrong hour. "
            "Set the lock's time zone in the Tedee app."
        )

    def test_a_zone_that_differs_only_in_summer_is_named_from_the_day_it_differs(self):
        warning = self.mismatch("Africa/Abidjan", "Europe/London")  # the same in winter, an hour behind in summer
        assert "on 2026-03-29 the lock is at UTC+00:00 where the property is at UTC+01:00" in warning

    def test_a_code_window_where_both_agree_is_not_affected(self):
        assert self.mismatch("Africa/Abidjan", "Europe/London", starts_at=utc(2026, 1, 10, 14), ends_at=utc(2026, 1, 14, 11)) == ""

    def test_zones_changing_an_hour_apart_differ_for_that_hour(self):
        # Moldova moves its clocks at 00:00 UTC, the EU (Romania) at 01:00 UTC: an hour apart, the same otherwise.
        differs = first_difference("Europe/Chisinau", "Europe/Bucharest", utc(2026, 3, 20), utc(2026, 4, 5))
        assert differs is not None and differs.date() == datetime(2026, 3, 29).date()

    def test_an_unknown_zone_name_falls_back_to_the_offset(self):
        assert self.mismatch("Mars/Olympus", "Europe/Paris") == ""
        assert self.mismatch("Mars/Olympus", "Europe/Paris", offset=-300).startswith("The lock is set to UTC-05:00")


class TestOffsetMismatch:
    def mismatch(self, offset, property_tz, starts_at):
        return clock_mismatch(lock_zone="", lock_offset_minutes=offset, property_tz=property_tz, starts_at=starts_at, brand="TTLock")

    def test_agreeing_offsets_give_no_warning(self):
        assert self.mismatch(120, "Europe/Paris", utc(2026, 6, 2, 10)) == ""
        assert self.mismatch(60, "Europe/Paris", utc(2026, 1, 15, 11)) == ""
        assert self.mismatch(None, "Europe/Paris", utc(2026, 6, 2, 10)) == ""

    def test_a_lock_on_standard_time_in_summer_is_flagged_with_the_likely_cause(self):
        warning = self.mismatch(60, "Europe/Paris", utc(2026, 6, 2, 10))
        assert warning == (
            "The lock is set to UTC+01:00 (it may not follow daylight saving time), but Europe/Paris is at UTC+02:00 on "
            "2026-06-02: guest codes may open at the wrong hour. Set the lock's time zone in the TTLock app."
        )

    def test_a_lock_in_another_zone_is_flagged(self):
        warning = self.mismatch(-300, "Asia/Kolkata", utc(2026, 6, 2, 10))
        assert "UTC-05:00" in warning and "UTC+05:30" in warning and "daylight" not in warning

    def test_the_offset_is_compared_at_the_start_of_the_code(self):
        # A winter offset is right for a code starting before the spring change, wrong for one after it.
        assert self.mismatch(60, "Europe/Paris", at("Europe/Paris", 2026, 3, 28, 14, 30)) == ""
        assert "UTC+02:00 on 2026-03-29" in self.mismatch(60, "Europe/Paris", at("Europe/Paris", 2026, 3, 29, 14, 30))

    def test_half_hour_offsets(self):
        assert self.mismatch(660, "Australia/Lord_Howe", utc(2026, 1, 10, 4)) == ""  # summer there: UTC+11:00
        assert "UTC+10:30" in self.mismatch(660, "Australia/Lord_Howe", utc(2026, 6, 10, 4))

    def test_nothing_reported_nothing_said(self):
        nothing = {"lock_zone": "", "lock_offset_minutes": None}
        assert clock_mismatch(**nothing, property_tz="Europe/Paris", starts_at=utc(2026, 6, 2), brand="Nuki") == ""
