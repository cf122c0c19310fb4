"""Lock assignments and property settings: each change moves the codes docs/product.md ("Locks and assignments") says it moves."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.models import Booking, BookingStatus, Property
from locks.clock_notes import lock_clock_warning
from locks.models import AccessCode, CodeSource, CodeState, Lock, LockAssignment
from locks.services.codes import booking_reconcile, capabilities_of, code_retire


def bookings_to_reconcile(prop: Property, now: datetime):
    """Bookings of a property whose code may need to change: not over, confirmed or holding a code."""
    has_code = Q(access_codes__is_current=True)
    return (
        Booking.objects.filter(property=prop, departure_date__gte=now.date() - timedelta(days=1))
        .filter(Q(status=BookingStatus.CONFIRMED) | has_code)
        .select_related("property")
        .distinct()
    )


def property_reconcile(*, prop: Property, now: datetime | None = None) -> int:
    now = now or timezone.now()
    count = 0
    for booking in bookings_to_reconcile(prop, now):
        booking_reconcile(booking=booking, now=now)
        count += 1
    return count


NOTIFY_CHOICES = ("notify_first_entry", "notify_unused_code")
LADDER_CHOICES = ("warn_host_hours_before", "send_fallback", "fallback_hours_before", "remind_host_at_check_in", "backup_codes")


def lock_assignment_set(
    *,
    prop: Property,
    lock: Lock,
    lead_days: int | None = None,
    margin_minutes: int | None = None,
    code_source: str | None = None,
    notify: dict[str, bool] | None = None,
    ladder: dict | None = None,
) -> LockAssignment:
    """Assign (or re-assign) a property's lock and its settings, then move codes as needed.
    `notify`: the host's email choices (notify_first_entry, notify_unused_code); they move no code.
    `ladder`: what happens while a code is late (LADDER_CHOICES, locks.services.ladder); no code moves.

    Raises ValidationError with a host-readable message when the assignment is not allowed.
    """
    with transaction.atomic():
        assignment = LockAssignment.objects.select_for_update(of=("self",)).filter(property=prop).first()
        _refuse_other_brand(assignment, lock)
        _refuse_lock_in_use(prop, lock)
        if assignment is None:
            assignment = LockAssignment(property=prop)
        assignment.lock = lock
        if lead_days is not None:
            assignment.lead_days = lead_days
        if margin_minutes is not None:
            assignment.margin_minutes = margin_minutes
        if code_source is not None:
            assignment.code_source = code_source
        for name, chosen in (notify or {}).items():
            if name not in NOTIFY_CHOICES:
                raise ValueError(f"not an email choice: {name}")
            setattr(assignment, name, chosen)
        for name, chosen in (ladder or {}).items():
            if name not in LADDER_CHOICES:
                raise ValueError(f"not a ladder setting: {name}")
            setattr(assignment, name, chosen)
        if assignment.code_source != CodeSource.RANDOM and not _takes_chosen_pins(lock):
            assignment.code_source = CodeSource.RANDOM  # the vendor makes the PIN itself
        assignment.full_clean()
        assignment.save()
        prop.lock_assignment = assignment
        property_reconcile(prop=prop)
    return assignment


def _takes_chosen_pins(lock: Lock) -> bool:
    try:
        return capabilities_of(lock).chosen_pins
    except Exception:  # no adapter installed: keep the host's choice
        return True


def _refuse_other_brand(assignment: LockAssignment | None, lock: Lock) -> None:
    if assignment is None:
        return
    current_provider = assignment.lock.account.provider
    if current_provider != lock.account.provider:
        brand = assignment.lock.account.provider_name
        raise ValidationError(
            _("This property already has a %(brand)s lock (%(lock)s). Remove the %(brand)s lock first, then assign this one.")
            % {"brand": brand, "lock": assignment.lock.name}
        )


def _refuse_lock_in_use(prop: Property, lock: Lock) -> None:
    other = LockAssignment.objects.filter(lock=lock).exclude(property=prop).select_related("property").first()
    if other is not None:
        raise ValidationError(
            _("%(lock)s is already assigned to %(property)s. Remove it there first.") % {"lock": lock.name, "property": other.property.name}
        )


def lock_assignment_remove(*, prop: Property, now: datetime | None = None) -> int:
    """Remove the property's lock: revoke codes of stays not started, leave staying guests' codes."""
    now = now or timezone.now()
    with transaction.atomic():
        LockAssignment.objects.filter(property=prop).delete()
        upcoming = AccessCode.objects.select_related("lock__account").filter(
            booking__property=prop, is_current=True, starts_at__gt=now
        ).exclude(state__in=[CodeState.REVOKED, CodeState.EXPIRED, CodeState.FAILED])
        count = 0
        for code in upcoming:
            code_retire(code=code, now=now)
            count += 1
    return count


def assignment_warnings(assignment: LockAssignment, *, on=None) -> list[str]:
    """What the host should know about an assignment that nothing blocks (e.g. a lock clock set to
    another zone than its property's)."""
    warning = lock_clock_warning(assignment.lock, assignment.property.time_zone, on=on or timezone.localdate())
    return [warning] if warning else []
