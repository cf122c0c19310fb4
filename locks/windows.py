"""When a booking's code is valid and when its lifecycle work falls due.

Pure functions over plain values: dates and times of day are property-local wall times, every
returned instant is an aware UTC datetime. The rules are docs/product.md, "The code lifecycle".
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

SYSTEM_CHECK_IN = time(15, 0)
SYSTEM_CHECK_OUT = time(11, 0)
ALERT_TIME = time(18, 0)


def check_in_time_of(booking_time: time | None, property_default: time | None) -> time:
    """The check-in time of day of a stay: the booking's own, else the property's default, else 15:00.

    The one place this rule is written: the code window, the guest messages, the booking pages and
    the API all ask here (a property's default alone: `check_in_time_of(None, default)`).
    """
    return _first_set(booking_time, property_default, SYSTEM_CHECK_IN)


def check_out_time_of(booking_time: time | None, property_default: time | None) -> time:
    """The check-out time of day of a stay: the booking's own, else the property's default, else 11:00."""
    return _first_set(booking_time, property_default, SYSTEM_CHECK_OUT)


@dataclass(frozen=True)
class Window:
    """The instants, aware and in UTC, between which a guest's code opens the door."""

    starts_at: datetime
    ends_at: datetime


@functools.lru_cache(maxsize=1)
def _time_zone_names() -> frozenset[str]:
    # "localtime" is whatever the server runs in and "Factory" is a placeholder: neither is a
    # place a property can be.
    return frozenset(available_timezones() - {"localtime", "Factory"})


def is_valid_time_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone this server knows (e.g. "Europe/Paris")."""
    return name in _time_zone_names()



def local_to_utc(day: date, at: time, tz_name: str, *, prefer_later: bool) -> datetime:
    """The UTC instant at which the wall clock of `tz_name` reads `at` on `day`.

    A wall time skipped by a clock change moves forward by the length of the gap (02:30 becomes
    03:30 when 02:00 jumps to 03:00). A wall time that happens twice gives its earlier
    occurrence, or the later one when `prefer_later`.
    """
    zone = ZoneInfo(tz_name)
    wall = datetime.combine(day, at.replace(tzinfo=None))
    readings = sorted({wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)})
    occurrences = [instant for instant in readings if _wall_time(instant, zone) == wall]
    if not occurrences:
        # In a gap the later reading uses the offset in force before the jump, which puts it
        # exactly one gap-length further on the clock after the jump (PEP 495).
        return readings[-1]
    return occurrences[-1] if prefer_later else occurrences[0]


def _wall_time(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def local_day_start(day: date, tz_name: str) -> datetime:
    """00:00 of `day` in `tz_name`, as UTC; a skipped midnight moves forward like any wall time."""
    return local_to_utc(day, time(0, 0), tz_name, prefer_later=False)


def local_midnight_after(day: date, tz_name: str) -> datetime:
    """24:00 of `day` in `tz_name` (the start of the next day), as UTC."""
    return local_day_start(day + timedelta(days=1), tz_name)


def validity_window(
    *,
    arrival: date,
    departure: date,
    tz_name: str,
    margin_minutes: int,
    booking_check_in: time | None,
    booking_check_out: time | None,
    default_check_in: time | None,
    default_check_out: time | None,
) -> Window:
    """The window of a booking's code: check-in minus the margin to check-out plus the margin.

    Check-in is `check_in_time_of` (the booking's, the property's, 15:00) on the arrival date;
    check-out is `check_out_time_of` on the departure date. Each is held within 00:00-24:00
    of its own date, so before the margin the window never starts before 00:00 of the arrival
    date nor ends after 24:00 of the departure date. The margin is then a real duration, the
    same length across a clock change. Raises ValueError for a window that would be empty.
    """
    if departure < arrival:
        raise ValueError("The departure date is before the arrival date.")
    if margin_minutes < 0:
        raise ValueError("The access margin cannot be negative.")

    check_in_at = check_in_time_of(booking_check_in, default_check_in)
    check_out_at = check_out_time_of(booking_check_out, default_check_out)
    check_in = _within_day(
        local_to_utc(arrival, check_in_at, tz_name, prefer_later=False), arrival, tz_name
    )
    check_out = _within_day(
        local_to_utc(departure, check_out_at, tz_name, prefer_later=True), departure, tz_name
    )
    if check_out <= check_in:
        raise ValueError("The check-out moment is not after the check-in moment.")

    margin = timedelta(minutes=margin_minutes)
    return Window(starts_at=check_in - margin, ends_at=check_out + margin)


def _first_set(*candidates: time | None) -> time:
    return next(candidate for candidate in candidates if candidate is not None)


def _within_day(instant: datetime, day: date, tz_name: str) -> datetime:
    # A time of day belongs to its date, but a clock change can push it past 24:00 (America/Nuuk
    # skips 23:00-24:00 on 2026-03-28) or repeat it after midnight (America/Goose_Bay, until 2010).
    return min(max(instant, local_day_start(day, tz_name)), local_midnight_after(day, tz_name))


def generation_moment(*, arrival: date, lead_days: int, tz_name: str) -> datetime:
    """00:00 property time, `lead_days` days before arrival: when the code is due to be made."""
    return local_day_start(arrival - timedelta(days=lead_days), tz_name)


def generation_due_at(*, arrival: date, lead_days: int, tz_name: str, now: datetime) -> datetime:
    """When to make the code: the generation moment, or now for a booking confirmed after it."""
    return max(generation_moment(arrival=arrival, lead_days=lead_days, tz_name=tz_name), now)


def retry_deadline(*, arrival: date, tz_name: str) -> datetime:
    """24:00 property time at the end of the arrival day, when retrying a failed code stops."""
    return local_midnight_after(arrival, tz_name)


def alert_moment(*, arrival: date, tz_name: str) -> datetime:
    """18:00 property time the evening before arrival: when a still-failing code is reported."""
    return local_to_utc(arrival - timedelta(days=1), ALERT_TIME, tz_name, prefer_later=False)


def alert_due_at(*, arrival: date, tz_name: str, first_failure_at: datetime) -> datetime:
    """When to email the host about a failing code; at once if it first failed after 18:00."""
    return max(alert_moment(arrival=arrival, tz_name=tz_name), first_failure_at)


def next_on_grid(*, anchor: datetime, after: datetime, period: timedelta) -> datetime:
    """The first instant of the grid `anchor + k·period` (k any integer) strictly after `after`."""
    return anchor + ((after - anchor) // period + 1) * period


def next_retry_at(
    *,
    anchor: datetime,
    now: datetime,
    period: timedelta,
    deadline: datetime,
    alert_at: datetime | None = None,
    not_before: datetime | None = None,
) -> datetime:
    """When a failing code is tried next: on the hour grid of `anchor` (its generation moment).

    Passes take "now" when they start and a worker acts a moment later, so a next try counted from
    the end of the failed step would be missed by the pass one period later and taken a quarter of
    an hour after it. On the grid, every hourly pass tries. A vendor's Retry-After (`not_before`)
    postpones to the first grid instant at or after it; one try falls right on the alert moment
    when it is still ahead; none after the deadline.
    """
    candidate = next_on_grid(anchor=anchor, after=now, period=period)
    if not_before is not None and candidate < not_before:
        candidate = next_on_grid(anchor=anchor, after=not_before - timedelta(microseconds=1), period=period)
    candidates = [candidate, deadline]
    if alert_at is not None and alert_at > now:
        candidates.append(alert_at)
    return min(candidates)
