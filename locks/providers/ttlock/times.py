"""TTLock's times: epoch milliseconds, and the lock's own clock against its property's zone."""

import time
from datetime import UTC, date, datetime, time as clock_time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BEIJING = ZoneInfo("Asia/Shanghai")  # the monthly quota resets on the 1st, Beijing time [T-ERR CN, T-CNT]


# --- time --------------------------------------------------------------------------------------


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, exactly (TTLock's unit for every date) [T-ADD]."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_ms(value: Any) -> datetime:
    return _EPOCH + timedelta(milliseconds=int(value))


def now_ms() -> int:
    return int(time.time() * 1000)


def offset_warning(lock_offset_minutes: int | None, property_tz: str, *, on: date) -> str:
    """A plain warning when the lock's UTC offset is not its property's on `on`; "" when they agree.

    The lock checks code windows against its own clock and zone [T-LD, SEAM-T]; a wrong zone is
    the usual cause of codes that open hours off.
    """
    if lock_offset_minutes is None:
        return ""
    noon = datetime.combine(on, clock_time(12), tzinfo=ZoneInfo(property_tz))
    expected = int(noon.utcoffset().total_seconds()) // 60
    if lock_offset_minutes == expected:
        return ""
    standard = expected - int((noon.dst() or timedelta()).total_seconds()) // 60
    why = " (it may not follow daylight saving time)" if lock_offset_minutes == standard else ""
    return (
        f"The lock is set to {_utc_label(lock_offset_minutes)}{why}, but {property_tz} is at "
        f"{_utc_label(expected)} on {on.isoformat()}: guest codes may open at the wrong hour. "
        "Set the lock's time zone in the TTLock app."
    )


def _utc_label(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"
