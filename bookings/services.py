"""Changing bookings, from any path (host pages, the PMS API, admin): validate, save, then hand the
booking to the code lifecycle's entry point for that event. Nothing here talks to a vendor."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from bookings.models import Booking, BookingStatus, ExternalBookingRef, Property
from locks import services as lifecycle
from locks.code_status import code_to_show

# What a host or a PMS may set on a booking.
BOOKING_FIELDS = (
    "property",
    "guest_name",
    "guest_email",
    "guest_phone",
    "guest_language",
    "arrival_date",
    "departure_date",
    "status",
    "check_in_time",
    "check_out_time",
)

_STATUS_EVENTS = {
    BookingStatus.CONFIRMED: lifecycle.booking_confirmed,
    BookingStatus.CANCELLED: lifecycle.booking_cancelled,
    BookingStatus.PENDING: lifecycle.booking_set_pending,
}


def host_property(host, property_or_id) -> Property:
    """The host's own property; another host's (or a missing) one is a validation error on `property`."""
    property_id = property_or_id.pk if isinstance(property_or_id, Property) else property_or_id
    prop = Property.objects.of_host(host).filter(pk=property_id).first()
    if prop is None:
        raise ValidationError({"property": _("No such property.")})
    return prop


def _apply(booking: Booking, host, data: dict) -> None:
    unknown = set(data) - set(BOOKING_FIELDS)
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in sorted(unknown)})
    for name, value in data.items():
        if name == "property":
            value = host_property(host, value)
        setattr(booking, name, value)
    booking.full_clean()


def booking_create(*, host, data: dict) -> Booking:
    """A new booking for one of the host's properties; a confirmed one gets its code planned."""
    booking = Booking()
    _apply(booking, host, data)
    with transaction.atomic():
        booking.save()
        lifecycle.booking_created(booking=booking)
    return booking


def booking_update(*, booking: Booking, data: dict) -> Booking:
    """Change a booking; the code follows (window moved, moved to another lock, revoked, created)."""
    host = booking.property.host
    with transaction.atomic():
        locked = Booking.objects.select_for_update().select_related("property").get(pk=booking.pk)
        status_before, values_before = locked.status, _values(locked)
        _apply(locked, host, data)
        if _values(locked) == values_before:
            return locked  # a repeated push: nothing to save, nothing for the code to do
        locked.save()
        event = _STATUS_EVENTS[locked.status] if locked.status != status_before else lifecycle.booking_changed
        event(booking=locked)
    return locked


def _values(booking: Booking) -> dict:
    return {name: getattr(booking, "property_id" if name == "property" else name) for name in BOOKING_FIELDS}


def booking_set_status(*, booking: Booking, status: str) -> Booking:
    return booking_update(booking=booking, data={"status": status})


class ActionRefused(Exception):
    """An action that does not apply to the booking in its present state; nothing was changed."""


def booking_end_access(*, booking: Booking):
    """Early departure: revoke the guest's code now; returns the retired code, if any."""
    return lifecycle.booking_end_access(booking=booking)


def booking_restore_access(*, booking: Booking):
    """Undo "End access now": the booking may have a code again (a new one, if it is confirmed)."""
    return lifecycle.booking_restore_access(booking=booking)


def booking_end_access_checked(*, booking: Booking):
    """End access, or raise ActionRefused: only a confirmed booking whose access was not ended yet."""
    if booking.access_ended_at is not None:
        raise ActionRefused(_("The guest's access was already ended."))
    if booking.status != BookingStatus.CONFIRMED:
        raise ActionRefused(_("The booking is not confirmed: its guest has no access to end."))
    return booking_end_access(booking=booking)


def booking_restore_access_checked(*, booking: Booking):
    """Restore access, or raise ActionRefused when it was not ended."""
    if booking.access_ended_at is None:
        raise ActionRefused(_("The guest's access was not ended: there is nothing to restore."))
    return booking_restore_access(booking=booking)


def booking_retry_code(*, booking: Booking) -> str:
    """ "Retry now" on the booking's code on show (as on the dashboard); returns the sentence, or
    raises ActionRefused (a cool-down, nothing to retry, no code)."""
    code = code_to_show(booking.access_codes.order_by("-id"))
    if code is None:
        raise ActionRefused(_("The booking has no code to retry."))
    retried, sentence = lifecycle.code_retry_now_outcome(code_id=code.pk)
    if not retried:
        raise ActionRefused(sentence)
    return sentence


def booking_rotate_code(*, booking: Booking, via: str):
    """Rotate the guest's code (a PIN that leaked): a new PIN on the lock, the old code revoked,
    the guest sent the new one. Returns the `CodeRotation`; raises `RotationRefused` (nothing
    changed) when the code cannot be rotated now."""
    return lifecycle.code_rotate(booking=booking, via=via)


def booking_upsert_external(*, host, ref: str, data: dict) -> tuple[Booking, bool]:
    """Create or update the booking the PMS knows as `ref`; a repeated push changes nothing twice.

    Two concurrent first pushes of one reference: the second insert of the reference fails on the
    unique constraint, its transaction rolls back whole (booking, planned code and queued work),
    and it runs again as an update of the booking the first one made.
    """
    ref = ref.strip()
    if not ref:
        raise ValidationError({"external_ref": _("This field is required.")})
    for attempt in range(2):
        try:
            with transaction.atomic():
                link = (
                    ExternalBookingRef.objects.select_for_update().select_related("booking__property__host")
                    .filter(host=host, ref=ref).first()
                )
                if link is not None:
                    return booking_update(booking=link.booking, data=data), False
                booking = booking_create(host=host, data=data)
                ExternalBookingRef.objects.create(host=host, ref=ref, booking=booking)
                return booking, True
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")
