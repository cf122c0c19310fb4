"""When a scheduled guest message falls due. Pure functions over plain values.

Wall times are property-local and resolved with `locks.windows` (zoneinfo, DST-correct: a local
time skipped by a clock change moves forward by the gap, a repeated one takes its first
occurrence); every instant returned is aware UTC. "N hours before check-in" and "N hours after
check-out" are real durations, like the code window's margin.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from locks.windows import check_in_time_of, check_out_time_of, local_midnight_after, local_to_utc, validity_window

ON_CONFIRMATION = "on_confirmation"
BEFORE_CHECK_IN = "before_check_in"
ARRIVAL_DAY = "arrival_day"
AFTER_CHECK_OUT = "after_check_out"
DAYS, HOURS = "days", "hours"
CODE_CHANGE = "code_change"
FALLBACK = "fallback"  # Nowistay's door code message for a fallback code (messaging.fallbacks)

# A message found after its moment is still sent late within this time (a worker was down, the
# booking was confirmed late, the template was just created); after it, it is pointless.
AFTER_CHECK_OUT_LATENESS = timedelta(hours=24)


@dataclass(frozen=True)
class Trigger:
    kind: str
    offset: int | None = None  # N days or N hours
    unit: str | None = None  # DAYS or HOURS, for BEFORE_CHECK_IN (AFTER_CHECK_OUT is in hours)
    at: time | None = None  # local time of day, for BEFORE_CHECK_IN in days and ARRIVAL_DAY


@dataclass(frozen=True)
class Stay:
    arrival: date
    departure: date
    tz_name: str
    check_in: time  # already resolved (`resolved_times`)
    check_out: time

    @property
    def check_in_at(self) -> datetime:
        return _moments(self)[0]

    @property
    def check_out_at(self) -> datetime:
        return _moments(self)[1]


def _moments(stay: Stay) -> tuple[datetime, datetime]:
    # The code window with no margin is exactly the check-in and check-out moments, with the same
    # DST and 00:00-24:00 rules as the door code itself.
    window = validity_window(
        arrival=stay.arrival,
        departure=stay.departure,
        tz_name=stay.tz_name,
        margin_minutes=0,
        booking_check_in=stay.check_in,
        booking_check_out=stay.check_out,
        default_check_in=None,
        default_check_out=None,
    )
    return window.starts_at, window.ends_at


def resolved_times(
    booking_check_in: time | None, booking_check_out: time | None, default_check_in: time | None, default_check_out: time | None
) -> tuple[time, time]:
    """Check-in and check-out times of day (`locks.windows.check_in_time_of` / `check_out_time_of`)."""
    return check_in_time_of(booking_check_in, default_check_in), check_out_time_of(booking_check_out, default_check_out)


@dataclass(frozen=True)
class Occurrence:
    """One sending of a template for one booking: its ledger key, when it is due, and until when a
    late sending still makes sense."""

    key: str
    due_at: datetime
    expires_at: datetime


def occurrence(trigger: Trigger, stay: Stay) -> Occurrence:
    """When `trigger` falls due for `stay`. The key names the stay's dates, so a booking moved to
    other dates gets the message again for its new dates, and never twice for the same ones."""
    if trigger.kind == BEFORE_CHECK_IN:
        if trigger.unit == HOURS:
            due = stay.check_in_at - timedelta(hours=trigger.offset)
        else:
            due = local_to_utc(stay.arrival - timedelta(days=trigger.offset), trigger.at, stay.tz_name, prefer_later=False)
        return Occurrence(f"{BEFORE_CHECK_IN}:{stay.arrival.isoformat()}", due, stay.check_in_at)
    if trigger.kind == ARRIVAL_DAY:
        due = local_to_utc(stay.arrival, trigger.at, stay.tz_name, prefer_later=False)
        return Occurrence(f"{ARRIVAL_DAY}:{stay.arrival.isoformat()}", due, local_midnight_after(stay.arrival, stay.tz_name))
    if trigger.kind == AFTER_CHECK_OUT:
        due = stay.check_out_at + timedelta(hours=trigger.offset)
        return Occurrence(f"{AFTER_CHECK_OUT}:{stay.departure.isoformat()}", due, due + AFTER_CHECK_OUT_LATENESS)
    raise ValueError(f"{trigger.kind} is an event, not a moment")


def confirmation_key() -> str:
    return ON_CONFIRMATION


def fallback_key(code_id: int) -> str:
    return f"{FALLBACK}:{code_id}"


def code_change_key(code_id: int, vendor_code_id: str) -> str:
    """The door code change messages of one code as its lock holds it: the code row and the vendor's
    id of it, since a row created again on its lock (with a new PIN or link) is a change of its own.
    The id is hashed to stay within the key's 64 characters whatever the vendor's ids look like."""
    digest = hashlib.sha256(vendor_code_id.encode()).hexdigest()[:12]
    return f"{CODE_CHANGE}:{code_id}:{digest}"


def is_code_change_key_of(key: str, code_id: int, vendor_code_id: str) -> bool:
    # A key of the code row alone was planned before keys named the vendor's code: still this row's.
    return key in (code_change_key(code_id, vendor_code_id), f"{CODE_CHANGE}:{code_id}")


def lookahead_days(trigger: Trigger) -> int:
    """How many days before arrival (whole days, rounded up) `trigger` can fall due."""
    if trigger.kind != BEFORE_CHECK_IN:
        return 0
    if trigger.unit == HOURS:
        return -(-trigger.offset // 24)
    return trigger.offset


def lookback_days(trigger: Trigger) -> int:
    """How many days after departure `trigger` can still be sent."""
    if trigger.kind != AFTER_CHECK_OUT:
        return 0
    return -(-(trigger.offset + int(AFTER_CHECK_OUT_LATENESS.total_seconds() // 3600)) // 24)
