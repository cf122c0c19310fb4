"""Nuki's dates on the wire: UTC, YYYY-MM-DDTHH:MM:SSZ [N-ROOM, N-TZ]."""

from datetime import UTC, datetime
from typing import Any

from locks.providers.nuki.errors import malformed

# --- dates ----------------------------------------------------------------------------------------


def format_date(moment: datetime) -> str:
    """Nuki's documented date format, in UTC: YYYY-MM-DDTHH:MM:SSZ."""
    if moment.tzinfo is None:
        raise ValueError("Nuki dates are built from aware datetimes only.")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(value: Any) -> datetime | None:
    """A Nuki date (with or without milliseconds) as an aware UTC datetime."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise malformed("a date")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise malformed("a date") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def as_sent(moment: datetime) -> datetime:
    """The moment as Nuki holds it once sent (whole seconds, UTC)."""
    return moment.astimezone(UTC).replace(microsecond=0)
