"""The door codes of a host's bookings as a CSV file: "Download codes (CSV)" on the codes page
(current and upcoming, PINs), and the bookings page's export (its filters; PINs only on request).

Pure apart from what the caller loaded (bookings with their property and codes prefetched, as
`bookings.views.upcoming_and_current_bookings` gives them): no query, no vendor call. Every cell
is made safe for spreadsheets (`spreadsheet_safe`): a guest's name like `=HYPERLINK(...)` must
not become a formula on the host's computer (OWASP "CSV Injection").
"""

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils.translation import gettext, gettext_noop

from bookings.models import Booking
from locks.code_status import code_to_show, describe_code
from locks.models import AccessCode, CodeState

# The columns in English; the file's header row is written in the host's language (`header_row`).
HEADER = [
    gettext_noop("Property"),
    gettext_noop("Guest"),
    gettext_noop("Arrival"),
    gettext_noop("Departure"),
    gettext_noop("Booking status"),
    gettext_noop("Code state"),
    gettext_noop("Valid from (property time)"),
    gettext_noop("Valid until (property time)"),
    gettext_noop("Time zone"),
    gettext_noop("PIN"),
    gettext_noop("First used (property time)"),
    gettext_noop("Last used (property time)"),
]

# A cell starting with one of these is a formula (or a DDE call) to Excel, LibreOffice or Google
# Sheets [OWASP CSV Injection]; the full-width forms are read as formulas by some locales' Excel.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")

# The PIN is exported only while it opens (or is about to open) the door: a revoked, expired or
# failed code's PIN, or one being removed, is of no use to the host and stays out of the file.
STATES_WITH_PIN = {CodeState.SCHEDULED, CodeState.CREATING, CodeState.ACTIVE, CodeState.UPDATING, CodeState.SUPERSEDED}

_LOCAL = "%Y-%m-%d %H:%M"


def spreadsheet_safe(value: str) -> str:
    """`value`, with a leading apostrophe when a spreadsheet would run it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def code_row(booking: Booking, *, has_lock: bool, now: datetime, with_pin: bool = True) -> list[str]:
    code = code_to_show(booking.access_codes.all())
    status = describe_code(code, booking=booking, has_lock=has_lock, now=now)
    zone = ZoneInfo(booking.property.time_zone)
    starts, ends = _window(code, zone)
    return [
        booking.property.name,
        booking.guest_name,
        booking.arrival_date.isoformat(),
        booking.departure_date.isoformat(),
        booking.get_status_display(),
        status.kind.replace("_", " "),
        starts,
        ends,
        booking.property.time_zone,
        *([_pin(code)] if with_pin else []),
        _local(code.first_used_at if code else None, zone),
        _local(code.last_used_at if code else None, zone),
    ]


def _window(code: AccessCode | None, zone: ZoneInfo) -> tuple[str, str]:
    if code is None:
        return "", ""
    starts = code.lock_starts_at or code.starts_at
    ends = code.lock_ends_at or code.ends_at
    return starts.astimezone(zone).strftime(_LOCAL), ends.astimezone(zone).strftime(_LOCAL)


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    """A use read from the lock's access log; empty when none was recorded."""
    return moment.astimezone(zone).strftime(_LOCAL) if moment else ""


def _pin(code: AccessCode | None) -> str:
    if code is None or not code.pin or code.state not in STATES_WITH_PIN:
        return ""
    return code.pin


def codes_csv(bookings: Iterable[Booking], *, with_lock: set[int], now: datetime) -> str:
    """The CSV text (UTF-8 with a byte-order mark, so Excel reads accented names right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header_row(HEADER))
    for booking in bookings:
        row = code_row(booking, has_lock=booking.property_id in with_lock, now=now)
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return out.getvalue()


HEADER_WITHOUT_PIN = [column for column in HEADER if column != "PIN"]


def header_row(columns: list[str]) -> list[str]:
    """The header row in the active language (English columns a catalogue does not know stay)."""
    return [gettext(column) for column in columns]


def csv_lines(bookings: Iterable[Booking], *, with_lock: set[int], now: datetime, with_pins: bool):
    """The same CSV, a line at a time (the bookings page's export may cover years of bookings)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: list[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
        return buffer.getvalue()

    yield "\ufeff" + line(header_row(HEADER if with_pins else HEADER_WITHOUT_PIN))
    for booking in bookings:
        yield line(code_row(booking, has_lock=booking.property_id in with_lock, now=now, with_pin=with_pins))
