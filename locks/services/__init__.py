"""The code lifecycle's entry points: one per event. Views, admin, tasks and commands call these."""

from bookings.models import Booking, Property
from locks.services.accounts import (
    account_disconnect,
    account_disconnect_finish,
    account_disconnect_start,
    account_reconnected,
    account_refresh_locks,
)
from locks.services.assignments import lock_assignment_remove, lock_assignment_set, property_reconcile
from locks.services.codes import booking_end_access, booking_reconcile, booking_restore_access, code_regenerate
from locks.services.retry_now import code_retry_now, code_retry_now_outcome
from locks.services.rotation import RotationRefused, code_rotate


def booking_created(*, booking: Booking):
    return booking_reconcile(booking=booking)


def booking_confirmed(*, booking: Booking):
    return booking_reconcile(booking=booking)


def booking_changed(*, booking: Booking):
    """Dates, times or property changed: the window moves, or the code moves to the new lock."""
    return booking_reconcile(booking=booking)


def booking_cancelled(*, booking: Booking):
    return booking_reconcile(booking=booking)


def booking_set_pending(*, booking: Booking):
    return booking_reconcile(booking=booking)


def property_times_changed(*, prop: Property):
    """Time zone or default check-in/out changed: windows of created codes move."""
    return property_reconcile(prop=prop)


def assignment_settings_changed(*, prop: Property, **settings):
    """Margin moves windows; lead days reschedule codes not yet created; code source applies to new codes."""
    return lock_assignment_set(prop=prop, lock=prop.lock_assignment.lock, **settings)


__all__ = [
    "RotationRefused",
    "account_disconnect",
    "account_disconnect_finish",
    "account_disconnect_start",
    "account_reconnected",
    "account_refresh_locks",
    "assignment_settings_changed",
    "booking_cancelled",
    "booking_changed",
    "booking_confirmed",
    "booking_created",
    "booking_end_access",
    "booking_restore_access",
    "code_regenerate",
    "booking_reconcile",
    "booking_set_pending",
    "code_retry_now",
    "code_retry_now_outcome",
    "code_rotate",
    "lock_assignment_remove",
    "lock_assignment_set",
    "property_times_changed",
]
