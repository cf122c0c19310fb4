"""Clock changes and lock clocks, in plain words: pure functions over zone names and UTC instants.

Two questions the host's pages and the API ask (docs/product.md, "Clock changes and lock clocks"):

- Does a window (a stay, a code) cross a change of its property's UTC offset, and what did
  Nowistay do about it? `clock_changes` finds the changes, `clock_change_message` says it.
- Does a lock's own clock disagree with its property's zone? `clock_mismatch` compares the
  lock's reported IANA zone (by its offsets, never its name: Europe/Berlin keeps Europe/Paris's
  time all year) or its reported UTC offset (with the property's offset at the window's start).

A zone's offsets are sampled every SAMPLE_STEP and a change is narrowed to the second it
happens, so a one-hour change, a 30-minute one (Australia/Lord_Howe) and a zone without any read
the same way. Every instant taken or returned is aware; returned instants are in UTC.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from locks.windows import is_valid_time_zone

# No zone changes its offset twice within six hours (tzdata's closest pairs are days apart).
SAMPLE_STEP = timedelta(hours=6)
# How far ahead a lock's zone is compared with its property's when no code window is given.
COMPARED_AHEAD = timedelta(days=366)


class LockClock(StrEnum):
    """How a vendor's locks read the window Nowistay sends (LockProvider.lock_clock)."""

    # Exact instants (UTC, or with the offset of each date): right on both sides of a change.
    EXACT = "exact"
    # Against the lock's own clock at one UTC offset that does not follow a change (TTLock's
    # `timezoneRawOffset`): the window is right on one side of a change only.
    FIXED_OFFSET = "fixed_offset"


@dataclass(frozen=True)
class ClockChange:
    """A change of a zone's UTC offset: from `at` (UTC) on, the offset is `after`."""

    at: datetime
    before: timedelta
    after: timedelta

    @property
    def wall_before(self) -> datetime:
        """What the zone's clocks read as the change happens, before it (02:00 in Paris each March)."""
        return (self.at + self.before).replace(tzinfo=None)

    @property
    def wall_after(self) -> datetime:
        """...and what they read after it (03:00)."""
        return (self.at + self.after).replace(tzinfo=None)

    @property
    def shift(self) -> timedelta:
        return self.after - self.before


def offset_label(offset: timedelta) -> str:
    """An offset as ISO 8601 writes it: "+01:00", "-04:00", "+10:30"."""
    minutes = round(offset.total_seconds() / 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def utc_label(offset: timedelta) -> str:
    return f"UTC{offset_label(offset)}"


# --- finding a zone's changes ---------------------------------------------------------------------


def offset_at(tz_name: str, instant: datetime) -> timedelta:
    return instant.astimezone(ZoneInfo(tz_name)).utcoffset()


def clock_changes(starts_at: datetime, ends_at: datetime, tz_name: str) -> tuple[ClockChange, ...]:
    """The changes of `tz_name`'s UTC offset within the window [starts_at, ends_at), oldest first.

    A change at `starts_at` is not in it (the whole window has the new offset), nor one at
    `ends_at` (the window is over when it happens).
    """
    if ends_at <= starts_at:
        return ()
    starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    return tuple(change for change in _changes(tz_name, starts_at, ends_at) if change.at < ends_at)


@functools.lru_cache(maxsize=1024)
def _changes(tz_name: str, starts_at: datetime, ends_at: datetime) -> tuple[ClockChange, ...]:
    # Cached: a page compares many rows over the same year (the panel) or the same stays.
    found = []
    previous, before = starts_at, offset_at(tz_name, starts_at)
    while previous < ends_at:
        probe = min(previous + SAMPLE_STEP, ends_at)
        after = offset_at(tz_name, probe)
        if after != before:
            found.append(ClockChange(_first_instant_of(tz_name, after, previous, probe), before, after))
            before = after
        previous = probe
    return tuple(found)


def _first_instant_of(tz_name: str, offset: timedelta, earlier: datetime, later: datetime) -> datetime:
    """The first second with `offset`, which `later` has and `earlier` has not (zones change on whole seconds)."""
    low, high = math.floor(earlier.timestamp()), math.ceil(later.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if offset_at(tz_name, datetime.fromtimestamp(middle, UTC)) == offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


# --- a stay across a change -------------------------------------------------------------------------


def clock_change_message(
    changes: tuple[ClockChange, ...] | list[ClockChange],
    *,
    tz_name: str,
    opens_at: datetime,
    closes_at: datetime,
    lock_clock: LockClock | None,
    brand: str = "",
) -> str:
    """What a window across `changes` means, in plain words; "" without a change.

    `opens_at`/`closes_at`: the code's window on the lock, or without a code (`lock_clock` None)
    the stay's check-in and check-out. `lock_clock` says how the lock reads the window, `brand`
    names its vendor.
    """
    if not changes:
        return ""
    zone = ZoneInfo(tz_name)
    opens, closes = (f"{moment.astimezone(zone):%H:%M}" for moment in (opens_at, closes_at))
    return f"{_crossing(changes)} {_what_it_means(lock_clock, opens, closes, brand, changes)}"


def _crossing(changes) -> str:
    if len(changes) == 1:
        return f"This stay crosses the clock change on {_change_text(changes[0])}."
    listed = ", ".join(_change_text(change) for change in changes[:-1]) + f" and {_change_text(changes[-1])}"
    return f"This stay crosses {len(changes)} clock changes: {listed}."


def _change_text(change: ClockChange) -> str:
    return f"{change.wall_before:%a %-d %b} ({change.wall_before:%H:%M} → {change.wall_after:%H:%M})"


def _what_it_means(lock_clock: LockClock | None, opens: str, closes: str, brand: str, changes) -> str:
    the_change, sides = ("the change", "on one side of it") if len(changes) == 1 else ("the changes", "on some days")
    if lock_clock is None:
        return f"Check-in at {opens} and check-out at {closes} are local times on both sides of {the_change}."
    if lock_clock == LockClock.FIXED_OFFSET:
        return (
            f"The code is set in exact times (the door opens at {opens} and closes at {closes} local time), but a "
            f"{brand} lock reads them with one fixed UTC offset, which does not follow {the_change}: {sides} "
            f"the door may open and close {_duration(changes[0].shift)} off. Check the lock's time zone in the {brand} app."
        )
    return (
        f"The code is set in exact times, so the door opens at {opens} and closes at {closes} local time "
        f"on both sides of {the_change}."
    )


def _duration(shift: timedelta) -> str:
    minutes = abs(round(shift.total_seconds() / 60))
    if minutes == 60:
        return "an hour"
    if minutes % 60 == 0:
        return f"{minutes // 60} hours"
    return f"{minutes} minutes"


# --- a lock's own clock ---------------------------------------------------------------------------


def clock_mismatch(
    *,
    lock_zone: str,
    lock_offset_minutes: int | None,
    property_tz: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    brand: str,
) -> str:
    """Why the lock's own clock may open codes at the wrong hour in `property_tz`; "" when it agrees.

    A reported IANA `lock_zone` is compared by its offsets over [starts_at, ends_at) (a year
    ahead without `ends_at`): another name with the same offsets is no mismatch. Without one (or
    with a name this server does not know), a reported UTC offset is compared with the property's
    offset at `starts_at`. Nothing reported: "".
    """
    if lock_zone and is_valid_time_zone(lock_zone):
        return _zone_mismatch(lock_zone, property_tz, starts_at, ends_at or starts_at + COMPARED_AHEAD, brand)
    if lock_offset_minutes is not None:
        return _offset_mismatch(lock_offset_minutes, property_tz, starts_at, brand)
    return ""


def _zone_mismatch(lock_zone: str, property_tz: str, starts_at: datetime, ends_at: datetime, brand: str) -> str:
    differs_at = first_difference(lock_zone, property_tz, starts_at, ends_at)
    if differs_at is None:
        return ""
    day = differs_at.astimezone(ZoneInfo(property_tz)).date()
    lock_offset, property_offset = offset_at(lock_zone, differs_at), offset_at(property_tz, differs_at)
    return (
        f"The lock's time zone is {lock_zone}, but the property is in {property_tz}: on {day.isoformat()} the lock "
        f"is at {utc_label(lock_offset)} where the property is at {utc_label(property_offset)}, so guest codes may "
        f"open at the wrong hour. Set the lock's time zone in the {brand} app."
    )


def first_difference(zone_a: str, zone_b: str, starts_at: datetime, ends_at: datetime) -> datetime | None:
    """The first instant of [starts_at, ends_at) at which the two zones' offsets differ; None if never."""
    starts_at = starts_at.astimezone(UTC)
    moments = {starts_at} | {change.at for zone in (zone_a, zone_b) for change in clock_changes(starts_at, ends_at, zone)}
    return next((moment for moment in sorted(moments) if offset_at(zone_a, moment) != offset_at(zone_b, moment)), None)


def _offset_mismatch(lock_offset_minutes: int, property_tz: str, at: datetime, brand: str) -> str:
    local = at.astimezone(ZoneInfo(property_tz))
    expected = local.utcoffset()
    lock_offset = timedelta(minutes=lock_offset_minutes)
    if lock_offset == expected:
        return ""
    # A lock on the zone's standard time in summer: the usual cause (TTLock's raw offset).
    standard = expected - (local.dst() or timedelta())
    why = " (it may not follow daylight saving time)" if lock_offset == standard else ""
    return (
        f"The lock is set to {utc_label(lock_offset)}{why}, but {property_tz} is at {utc_label(expected)} on "
        f"{local.date().isoformat()}: guest codes may open at the wrong hour. Set the lock's time zone in the {brand} app."
    )
