"""Tedee's PINs on the wire: dates and the full PIN body [TD endpoints/lockpin]."""

from datetime import UTC, datetime

from locks.providers.exceptions import (
    VendorUnavailable,
)

# --- dates ---------------------------------------------------------------------------------------


def format_date(moment: datetime) -> str:
    """Tedee's date format: ISO 8601 in UTC with milliseconds and a Z, e.g. 2021-10-01T00:00:00.000Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_date(value: str | None) -> datetime | None:
    """A Tedee date as an aware UTC datetime; a date without an offset is taken as UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise VendorUnavailable("Tedee answered with a date it could not have meant.") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def pin_body(alias: str, pin: str, starts_at: datetime, ends_at: datetime) -> dict:
    """The full PIN body Tedee takes on create and (full replace) update; the PIN is a string."""
    return {
        "alias": alias,
        "pin": pin,
        "startDate": format_date(starts_at),
        "endDate": format_date(ends_at),
        "dayStartTime": None,
        "dayEndTime": None,
        "weekDays": None,
    }
