"""algoPIN windows and start slots on igloohome's terms: whole local hours, hourly or daily, three variances per slot (pure functions)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from locks.providers.exceptions import (
    CodeRejected,
)

HOURLY_MAX = timedelta(hours=672)
DAILY_MIN_DAYS, DAILY_MAX_DAYS = 29, 367
VARIANCES = (1, 2, 3)  # up to three distinct algoPINs per hour (or day) slot
MAX_EARLIER_SLOTS = 3  # a code whose start hour is full starts at most this many hours earlier
FIRST_USE_WINDOW = timedelta(hours=24)


# --- time on igloohome's terms (pure functions) ----------------------------------------------------


def floor_to_local_hour(moment: datetime, zone: ZoneInfo) -> datetime:
    """The start of `moment`'s hour on the local clock of `zone` (e.g. :15 UTC in Kathmandu)."""
    local = moment.astimezone(zone)
    return (moment - timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)).astimezone(UTC)


def ceil_to_local_hour(moment: datetime, zone: ZoneInfo) -> datetime:
    floored = floor_to_local_hour(moment, zone)
    return floored if floored == moment else floored + timedelta(hours=1)


def wire_time(moment: datetime, zone: ZoneInfo) -> str:
    """`YYYY-MM-DDTHH:00:00±hh:mm`: local wall time with that date's offset."""
    return moment.astimezone(zone).isoformat(timespec="seconds")


def local_words(moment: datetime, zone: ZoneInfo) -> str:
    """As hosts and guests read it, e.g. "14:00 on 3 June 2026"."""
    return moment.astimezone(zone).strftime("%H:%M on %-d %B %Y")


@dataclass(frozen=True)
class AlgoPinWindow:
    kind: str  # "hourly" or "daily"
    starts_at: datetime  # aware UTC, as igloohome will enforce it
    ends_at: datetime


def algopin_window(starts_at: datetime, ends_at: datetime, zone: ZoneInfo, now: datetime) -> AlgoPinWindow:
    """The algoPIN that covers [starts_at, ends_at]: whole local hours, never starting in the past;
    hourly up to 672 hours, else daily (29-367 days, same wall time at both ends)."""
    if ends_at <= now:
        raise CodeRejected("The code's window is already over.")
    start = max(floor_to_local_hour(starts_at, zone), floor_to_local_hour(now, zone))
    end = ceil_to_local_hour(ends_at, zone)
    if end - start <= HOURLY_MAX:
        return AlgoPinWindow("hourly", start, end)
    return AlgoPinWindow("daily", start, daily_end(start, end, zone))


def slot_of(kind: str, starts_at: datetime, zone: ZoneInfo) -> tuple:
    """igloohome's start slot: the start hour of an hourly code, the local start day of a daily one."""
    if kind == "hourly":
        return kind, starts_at.astimezone(UTC)
    return kind, starts_at.astimezone(zone).date()


def free_variances(window: AlgoPinWindow, used_slots, zone: ZoneInfo) -> list[int]:
    """The variances of the window's slot that none of `used_slots` (start, end, variance) took."""
    slot = slot_of(window.kind, window.starts_at, zone)
    taken = {
        variance for start, end, variance in used_slots if slot_of("hourly" if end - start <= HOURLY_MAX else "daily", start, zone) == slot
    }
    return [variance for variance in VARIANCES if variance not in taken]


def slot_candidates(wanted: AlgoPinWindow, zone: ZoneInfo, now: datetime) -> list[AlgoPinWindow]:
    """The windows to ask for, in order, when start slots are full: the wanted one; then each hour
    earlier, up to MAX_EARLIER_SLOTS, never before the current hour, while the code stays hourly;
    when the wanted start is the current hour itself, the next hour. A daily code keeps its day."""
    if wanted.kind == "daily":
        return [wanted]
    current_hour = floor_to_local_hour(now, zone)
    candidates, start = [wanted], wanted.starts_at
    for _ in range(MAX_EARLIER_SLOTS):
        start = floor_to_local_hour(start - timedelta(hours=1), zone)
        if start < current_hour or wanted.ends_at - start > HOURLY_MAX:
            break
        candidates.append(AlgoPinWindow("hourly", start, wanted.ends_at))
    if wanted.starts_at == current_hour:
        later = ceil_to_local_hour(wanted.starts_at + timedelta(minutes=1), zone)
        if wanted.ends_at - later >= timedelta(hours=1):
            candidates.append(AlgoPinWindow("hourly", later, wanted.ends_at))
    return candidates


def daily_end(start: datetime, cover_until: datetime, zone: ZoneInfo) -> datetime:
    wall = start.astimezone(zone).replace(tzinfo=None)
    days = max(DAILY_MIN_DAYS, (cover_until - start).days)
    while days <= DAILY_MAX_DAYS:
        candidate = (wall + timedelta(days=days)).replace(tzinfo=zone, fold=1)
        exists = candidate.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall + timedelta(days=days)
        if exists and candidate >= cover_until:  # a wall time skipped by a DST change is passed over
            return candidate.astimezone(UTC)
        days += 1
    raise CodeRejected(f"igloohome codes last at most {DAILY_MAX_DAYS} days; this stay is longer.")


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CodeRejected(f"The property's time zone “{name}” is not known.") from None
