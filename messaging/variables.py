"""Guest-message variables: their names, what each becomes, and their values for one booking.

The scanner and substitution that use them are in `messaging.rendering`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _

from nowistay.guest_languages import format_day, format_moment, format_time_of_day

# name -> what it becomes, shown to hosts next to the editor. Order is the order they are listed in.
VARIABLES: dict[str, str] = {
    "guest_name": _("the guest's name"),
    "property_name": _("the property's name"),
    "arrival_date": _("the arrival date, e.g. Sunday 29 March 2026"),
    "departure_date": _("the departure date"),
    "check_in_time": _("the check-in time (the booking's own, else the property's, else 15:00)"),
    "check_out_time": _("the check-out time (the booking's own, else the property's, else 11:00)"),
    "smartlock_code": _("the guest's door code (the message waits until the code is active on the lock)"),
    "nuki_code": _("the same door code (legacy name)"),
    "smartlock_link": _("a link that opens the door, for locks whose guests get one; empty otherwise"),
    "code_valid_from": _("when the door code starts working, property time"),
    "code_valid_until": _("when the door code stops working, property time"),
    "code_usage_note": _("how to use the code, when the lock needs it (igloohome: use it within 24 hours of its start)"),
}
ALIASES = {"nuki_code": "smartlock_code"}
# Variables whose value comes from the door code: a message using one waits for an active code.
CODE_VARIABLES = frozenset({"smartlock_code", "nuki_code", "smartlock_link", "code_valid_from", "code_valid_until", "code_usage_note"})


@dataclass(frozen=True)
class CodeValues:
    """What a message may say about a door code. `pin` is never empty."""

    pin: str
    valid_from: datetime
    valid_until: datetime
    usage_note: str = ""
    access_link: str = ""  # a link that opens the door, for locks whose guests get one

    def __post_init__(self):
        if not self.pin:
            raise ValueError("a door code without a PIN cannot go into a message")


def values_for(
    *,
    guest_name: str,
    property_name: str,
    arrival: date,
    departure: date,
    check_in: time,
    check_out: time,
    tz_name: str,
    code: CodeValues | None,
    language: str = "",
) -> dict[str, str]:
    """The value of every variable for one booking, dates and times written in `language` (ISO
    639-1; "" or "en": English); code variables only when `code` is given. The usage note is
    written in `language` by the caller (messaging.usage_notes)."""
    values = {
        "guest_name": guest_name,
        "property_name": property_name,
        "arrival_date": format_day(arrival, language),
        "departure_date": format_day(departure, language),
        "check_in_time": format_time_of_day(check_in, language),
        "check_out_time": format_time_of_day(check_out, language),
    }
    if code is not None:
        zone = ZoneInfo(tz_name)
        values.update(
            smartlock_code=code.pin,
            code_valid_from=format_moment(code.valid_from.astimezone(zone), language),
            code_valid_until=format_moment(code.valid_until.astimezone(zone), language),
            code_usage_note=code.usage_note,
            smartlock_link=code.access_link,
        )
    return values


def one_line(text: str) -> str:
    """An email subject cannot hold a line break (a guest's name could bring one)."""
    return " ".join(text.split())


def describe_variables(names: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(placeholder, description) pairs for the editor's help."""
    return [(f"{{{{{name}}}}}", VARIABLES[name]) for name in (names or VARIABLES)]
