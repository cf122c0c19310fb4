"""TTLock's times: epoch milliseconds (the lock's own clock against its property's zone: locks.clocks)."""

import time
from datetime import UTC, datetime, timedelta
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
