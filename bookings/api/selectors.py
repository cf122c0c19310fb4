"""Read queries of the PMS API, scoped to one host, and the code of a booking as the API shows it.

Read from the database only, never from a vendor (like every page). A missing object and another
host's object both raise Http404.
"""

import copy
import dataclasses
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from bookings.api.models import ApiToken
from bookings.models import Booking, Property
from bookings.rotations import latest_rotation_view
from locks.clock_notes import booking_clock_notes, code_clock_warning
from locks.code_problems import code_errors, code_warnings, codes_with_findings
from locks.code_status import code_to_show, describe_code
from locks.models import CodeRotation, FallbackKind

LINK_HIDDEN = "hidden"  # the door link opens the door as the PIN does: same permission
PIN_HIDDEN = "PIN hidden"  # replaces the PIN in the description for tokens without read_pins


def properties_of(host) -> QuerySet[Property]:
    return Property.objects.of_host(host).select_related("lock_assignment__lock__account").order_by("name", "id")


def property_of(host, property_id: int) -> Property:
    prop = properties_of(host).filter(pk=property_id).first()
    if prop is None:
        raise Http404
    return prop


def _bookings(host) -> QuerySet[Booking]:
    codes = codes_with_findings()  # with what locks.code_problems reads
    rotations = CodeRotation.objects.select_related("old_code__lock__account", "new_code__lock__account")
    return (
        Booking.objects.filter(property__host=host)
        .select_related("property__lock_assignment", "external_ref")
        .prefetch_related(Prefetch("access_codes", queryset=codes), "ladder_steps", Prefetch("code_rotations", queryset=rotations))
    )


def bookings_of(
    host,
    *,
    property_id: int | None = None,
    status: str | None = None,
    arrival_from: date | None = None,
    arrival_to: date | None = None,
    external_ref: str | None = None,
) -> QuerySet[Booking]:
    bookings = _bookings(host)
    if property_id is not None:
        bookings = bookings.filter(property_id=property_id)
    if status:
        bookings = bookings.filter(status=status)
    if arrival_from:
        bookings = bookings.filter(arrival_date__gte=arrival_from)
    if arrival_to:
        bookings = bookings.filter(arrival_date__lte=arrival_to)
    if external_ref is not None:
        bookings = bookings.filter(external_ref__host=host, external_ref__ref=external_ref.strip())
    return bookings.order_by("arrival_date", "id")


def booking_of(host, booking_id: int) -> Booking:
    booking = _bookings(host).filter(pk=booking_id).first()
    if booking is None:
        raise Http404
    return booking


def booking_by_ref(host, ref: str) -> Booking:
    booking = _bookings(host).filter(external_ref__host=host, external_ref__ref=ref.strip()).first()
    if booking is None:
        raise Http404
    return booking


def _has_lock(prop: Property) -> bool:
    # A missing reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError too: Django's
    # documented test for "has one" (https://docs.djangoproject.com/en/5.2/topics/db/examples/one_to_one/).
    return hasattr(prop, "lock_assignment")


def lock_of(prop: Property):
    return prop.lock_assignment.lock if _has_lock(prop) else None


def code_view(booking: Booking, *, token: ApiToken | None, now: datetime | None = None) -> dict:
    """The booking's code for the API: state (machine kind) and plain words, the window in UTC and
    in the property's zone, the usage note, and the PIN only for a token with read_pins."""
    now = now or timezone.now()
    zone = ZoneInfo(booking.property.time_zone)
    code = code_to_show(booking.access_codes.all())
    may_read_pin = bool(token and token.read_pins)
    described = code
    if code is not None and (code.pin or code.access_link) and not may_read_pin:
        described = copy.copy(code)  # never saved: only so the plain words carry no PIN and no door link
        described.pin = PIN_HIDDEN if code.pin else code.pin
        described.access_link = LINK_HIDDEN if code.access_link else ""
    status = describe_code(described, booking=booking, has_lock=_has_lock(booking.property), now=now)
    starts = ends = None
    if code is not None and code.fallback == FallbackKind.BACKUP:  # the guest's for the stay, whatever its pool window
        starts, ends = code.starts_at, code.ends_at
    elif code is not None:
        starts = code.lock_starts_at or code.starts_at
        ends = code.lock_ends_at or code.ends_at
    return {
        "state": status.kind,
        "description": status.text,
        "valid_from": starts,
        "valid_until": ends,
        "valid_from_local": starts.astimezone(zone) if starts else None,
        "valid_until_local": ends.astimezone(zone) if ends else None,
        "time_zone": booking.property.time_zone,
        "usage_note": code.usage_note if code is not None else "",
        "pin": (code.pin or None) if (code is not None and may_read_pin) else None,
        # Read back from the lock (issue 19): not secrets, so for every token.
        "confirmed_on_lock_at": code.confirmed_on_lock_at if code is not None else None,
        "first_used_at": code.first_used_at if code is not None else None,
        "last_used_at": code.last_used_at if code is not None else None,
        "fallback": (code.fallback or None) if code is not None else None,
        "clock_warning": code_clock_warning(code, booking.property.time_zone),
        "errors": [_problem(problem) for problem in code_errors(code, now=now)],
        "warnings": [_problem(problem) for problem in code_warnings(code, booking=booking, now=now)],
    }


def _problem(problem) -> dict:
    return {"code": problem.code, "since": problem.since, "message": problem.message}


def clock_change_view(booking: Booking) -> dict | None:
    """The first clock change the stay crosses (locks.clock_notes), as the API shows it; None when none."""
    change = booking_clock_notes(booking, code_to_show(booking.access_codes.all())).change
    return dataclasses.asdict(change) if change is not None else None


def rotation_of(booking: Booking, *, now: datetime | None = None) -> dict | None:
    """The booking's latest code rotation for the API: its state and each step's, in plain words
    (never a PIN, so for every token)."""
    view = latest_rotation_view(booking, now=now or timezone.now())
    if view is None:
        return None
    return {
        "state": view.state,
        "description": view.description,
        "started_at": view.rotation.created_at,
        "requested_via": view.rotation.requested_via,
        "new_pin": _step(view.new_pin),
        "old_code": _step(view.old_code),
        "guest": _step(view.guest),
    }


def _step(step) -> dict:
    return {"state": step.state, "description": step.text}
