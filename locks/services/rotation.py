"""“Rotate code” (the host's booking page, the PMS API): the booking's code replaced in one action.

The lock's part is `codes.code_regenerate`, the engine staff use from the admin: the current code
is retired (revoked, or on record as unrevocable) and the lifecycle makes a new one with a newly
chosen PIN. This module adds the host's rules around it (what may be rotated, and never twice at
once) and the `CodeRotation` record linking the two codes. The guest is sent the new code by
messaging when it is on the lock (`messaging.delivery.booking_code_change_check`), with the host's
door code change message or Nowistay's default one.

Safe to repeat: the booking row is locked while the rotation is decided; a rotation whose lock part
is still under way refuses another, and so does one made less than ROTATION_COOLDOWN ago (a
retried request, its first answer lost, must not rotate the new code at once); and a code is
rotated away at most once (a unique constraint), whatever reaches the database.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_noop

from bookings.models import Booking, BookingStatus
from locks.code_words import at_text
from locks.models import AccessCode, CodeRotation, CodeState
from locks.rotation_status import new_pin_step, old_code_step, rotation_in_progress
from locks.services.codes import code_regenerate, current_code, usable_assignment
from locks.services.planning import code_plan

# A rotation is not repeated within this time, even once done (a retried request whose answer was lost).
ROTATION_COOLDOWN = timedelta(minutes=2)

NO_NEW_CODE = gettext_noop(
    "No new code can be made for this booking: no lock is assigned to the property, or its account is disconnected."
)
ALREADY_ROTATING = gettext_noop("This code is already being rotated: nothing was changed.")


class RotationRefused(Exception):
    """The rotation cannot be made now; the message says why, for the person who asked."""


def code_rotate(*, booking: Booking, via: str, now: datetime | None = None) -> CodeRotation:
    """Rotate the booking's current code: a new code with a new PIN, the old one revoked (or on
    record as unrevocable), the guest sent the new one once it is on the lock. Raises
    RotationRefused, changing nothing, when the booking's code cannot be rotated now."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            locked = Booking.objects.select_for_update(of=("self",)).select_related("property").get(pk=booking.pk)
            code = current_code(locked)
            refusal = rotation_refusal(locked, code, now=now)
            if refusal:
                raise RotationRefused(refusal)
            code_regenerate(code_id=code.pk, now=now)
            fresh = current_code(locked)
            if fresh is None or fresh.pk == code.pk:  # checked before; the whole rotation is undone
                raise RotationRefused(_(NO_NEW_CODE))
            return CodeRotation.objects.create(booking=locked, old_code=code, new_code=fresh, requested_via=via, created_at=now)
    except IntegrityError:  # the same code rotated by a request that committed first
        raise RotationRefused(_(ALREADY_ROTATING)) from None


def latest_rotation(booking_id: int) -> CodeRotation | None:
    rotations = CodeRotation.objects.filter(booking_id=booking_id).select_related(
        "booking__property", "old_code__lock__account", "new_code__lock__account"
    )
    return rotations.first()


def booking_rotation_refusal(booking: Booking, *, now: datetime) -> str:
    """`rotation_refusal` for a page: the booking's current code read without a row lock."""
    code = AccessCode.objects.filter(booking_id=booking.pk, is_current=True).select_related("lock__account").first()
    return rotation_refusal(booking, code, now=now)


def rotation_refusal(booking: Booking, code: AccessCode | None, *, now: datetime) -> str:
    """Why the booking's code cannot be rotated now, or "" when it can. Pure reading: the booking
    page's preview asks it too, so the preview never offers what the rotation would refuse."""
    if booking.status == BookingStatus.CANCELLED:
        return _("The booking is cancelled: it has no door code to rotate.")
    if booking.status != BookingStatus.CONFIRMED:
        return _("The booking is not confirmed: it has no door code to rotate.")
    if booking.access_ended_at is not None:
        return _("The guest's access was ended early: there is no door code to rotate.")
    if code is None:
        return _("The booking has no door code to rotate.")
    assignment = usable_assignment(booking)
    plan = code_plan(booking, assignment) if assignment else None
    if code.ends_at <= now or (plan is not None and plan.ends_at <= now):
        return _("The stay is over: there is no door code to rotate.")
    latest = latest_rotation(booking.pk)
    if latest is not None:
        refusal = _recent_rotation_refusal(latest, now)
        if refusal:
            return refusal
    if code.state not in (CodeState.ACTIVE, CodeState.UPDATING):
        return _not_on_the_lock(code)
    if plan is None:
        return _(NO_NEW_CODE)
    return ""


def _recent_rotation_refusal(rotation: CodeRotation, now: datetime) -> str:
    zone = ZoneInfo(rotation.booking.property.time_zone)
    started = at_text(rotation.created_at, rotation.created_at, zone)  # "11:30", its time only
    if rotation_in_progress(rotation, now=now):
        values = {"started": started, "new": new_pin_step(rotation, now=now).text, "old": old_code_step(rotation, now=now).text}
        return _(
            "A rotation of this code is already in progress (started at %(started)s): new PIN on the lock: %(new)s; "
            "old code: %(old)s. Nothing was changed."
        ) % values
    left = rotation.created_at + ROTATION_COOLDOWN - now
    if left > timedelta(0):
        seconds = max(1, int(left.total_seconds()))
        return _(
            "The code was rotated at %(started)s, a moment ago: you can rotate it again in %(seconds)d seconds. Nothing was changed."
        ) % {"started": started, "seconds": seconds}
    return ""


def _not_on_the_lock(code: AccessCode) -> str:
    if code.state == CodeState.SCHEDULED:
        return _("The code is not on the lock yet: it gets its PIN when it is created, so there is nothing to rotate.")
    if code.state == CodeState.CREATING:
        return _("The code is still being created: rotate it once it is on the lock.")
    if code.state == CodeState.FAILED:
        return _("The code could not be created: use “Retry now” rather than rotating it.")
    return _("The code is not working on the lock: there is nothing to rotate.")
