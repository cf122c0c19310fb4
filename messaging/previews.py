"""What a guest would read: the template preview (never sends, never changes anything)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.models import Booking, BookingStatus
from locks.windows import local_to_utc
from messaging import rendering, schedule
from messaging.ledger import booking_values, current_code, is_usable

SAMPLE_PIN = "482913"


@dataclass(frozen=True)
class Preview:
    subject: str
    body: str
    problems: list[str]
    notes: list[str]
    language: str = ""  # the language of the text shown


def template_preview(
    *,
    subject: str,
    body: str,
    booking: Booking | None,
    sample_property_name: str = "Seaside Flat",
    now: datetime | None = None,
    language: str = "",
    notes: list[str] | None = None,
) -> Preview:
    """What a guest would read, variables written in `language` (the language of the text shown).
    Never sends, never changes anything. On a real booking without an active code, the code
    variables show a marker: the real message waits for the code."""
    now = now or timezone.now()
    notes = list(notes or [])
    if booking is None:
        values = _sample_values(sample_property_name, now, language)
        notes.append(_("Sample booking: Grace Guest, arriving in a week, with a sample door code."))
    else:
        code = current_code(booking.pk)
        values = booking_values(booking, code, language)
        if not is_usable(code):
            marker = _("[door code: not active yet]")
            values.update({name: marker for name in rendering.CODE_VARIABLES if name not in rendering.ALIASES})
            if rendering.uses_code(subject, body):
                notes.append(_("This booking's door code is not active yet: the real message waits for it."))
    found = rendering.problems(subject) + rendering.problems(body)
    return Preview(
        subject=rendering.one_line(lenient_render(subject, values)),
        body=lenient_render(body, values),
        problems=list(dict.fromkeys(found)),
        notes=notes,
        language=language,
    )


def lenient_render(text: str, values: dict[str, str]) -> str:
    """For the preview only: known variables filled in, anything else left as written."""

    def value_or_written(placeholder: rendering.Placeholder) -> str:
        name = placeholder.name
        key = rendering.ALIASES.get(name, name)
        return values[key] if name in rendering.VARIABLES and key in values else placeholder.written

    return rendering.substitute(text, value_or_written)


def _sample_values(property_name: str, now: datetime, language: str = "") -> dict[str, str]:
    arrival = (now + timedelta(days=7)).date()
    tz_name = "Europe/Paris"
    check_in, check_out = schedule.resolved_times(None, None, None, None)
    return rendering.values_for(
        guest_name="Grace Guest",
        property_name=property_name,
        arrival=arrival,
        departure=arrival + timedelta(days=3),
        check_in=check_in,
        check_out=check_out,
        tz_name=tz_name,
        language=language,
        code=rendering.CodeValues(
            pin=SAMPLE_PIN,
            valid_from=local_to_utc(arrival, check_in, tz_name, prefer_later=False) - timedelta(minutes=30),
            valid_until=local_to_utc(arrival + timedelta(days=3), check_out, tz_name, prefer_later=True) + timedelta(minutes=30),
            usage_note="",
        ),
    )


def preview_bookings(host, now: datetime | None = None):
    """Bookings a host may preview a message on: current and upcoming, nearest first."""
    now = now or timezone.now()
    return (
        Booking.objects.filter(property__host=host, departure_date__gte=now.date() - timedelta(days=1))
        .exclude(status=BookingStatus.CANCELLED)
        .select_related("property")
        .order_by("arrival_date", "pk")[:50]
    )
