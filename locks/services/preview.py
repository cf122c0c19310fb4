"""What a proposed booking change will do to the booking's door code, in one plain sentence.

Shown to the host before they confirm a change, so it words the very decision
`codes.booking_reconcile` acts on (`codes.decide`). Pure reading: no write, no vendor call, no row lock. Times
read in the property's time zone.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _, gettext_noop

from bookings.models import Booking, BookingStatus
from locks.code_words import day_text, moment_text
from locks.models import AccessCode, CodeState, Lock, LockAssignment
from locks.providers import registry
from locks.providers.base import CodeSpec
from locks.services.codes import Decision, can_revoke, capabilities_of, decide, maybe_on_lock, pin_kept_on
from locks.services.creation import used_slots_on_lock
from locks.services.planning import CodePlan

# Each outlook is one clause, or clauses joined by "; ", each clause one translated message.
NOTHING_CHANGES = gettext_noop("nothing changes for the code")
# A current code in these states does nothing any more: retiring it changes nothing on a lock.
_OVER = (CodeState.REVOKED, CodeState.EXPIRED)


def code_outlook(before: Booking | None, after: Booking, *, now: datetime) -> str:
    """What saving `after` (an unsaved booking with the proposed values) will do to the code.

    `before` is the booking as saved, or None when `after` is a new booking.
    """
    code = _current_code(before)
    decision = decide(after, code, now)
    assignment, plan = decision.assignment, decision.plan
    zone = ZoneInfo(after.property.time_zone)
    if decision.action == Decision.NOTHING:
        return _no_code_reason(after, plan)
    if decision.action == Decision.KEEP:
        return _keeps_working(code, plan, now, zone)
    if decision.action == Decision.RETIRE:
        return _retired(code, now, zone)
    if decision.action == Decision.CREATE:
        return _with_start_slot_note(_creation(plan, now, zone), assignment.lock, plan, after, now)
    if decision.action == Decision.MOVE:
        return _with_start_slot_note(_moved(code, after, assignment, plan, now, zone), assignment.lock, plan, after, now)
    outlook = _replanned(code, plan, now, zone)
    return outlook if outlook == _(NOTHING_CHANGES) else _with_start_slot_note(outlook, code.lock, plan, after, now)


def end_access_outlook(booking: Booking, *, now: datetime) -> str:
    """What "End access now" (early departure) will do: the code is revoked at once, none made."""
    code = _current_code(booking)
    zone = ZoneInfo(booking.property.time_zone)
    if code is None or code.state in _OVER or (code.state == CodeState.FAILED and not maybe_on_lock(code, now)):
        return _("the booking has no working code; no new code will be created for this booking")
    if not maybe_on_lock(code, now):
        return _("the code will be revoked at once (it is not on the lock yet); no new code will be created for this booking")
    if not capabilities_of(code.lock).remote_revoke:
        return _("this %(brand)s code cannot be revoked and works until %(until)s; no new code will be created for this booking") % (
            _unrevocable_values(code, zone)
        )
    return _("the code will be revoked at once; no new code will be created for this booking")


def rotate_outlook(booking: Booking, *, now: datetime) -> str:
    """What "Rotate code" (`rotation.code_rotate`) will do on the lock: the current code retired as
    `codes.code_retire` does, and a new one with a new PIN planned as for a booking with no code.
    The guest's part is messaging's to say; why a rotation is refused, `rotation.rotation_refusal`'s."""
    code = _current_code(booking)
    decision = decide(booking, None, now)  # once the current code is retired, the booking has none
    if code is None or decision.action != Decision.CREATE:
        return _("the code cannot be rotated")
    zone = ZoneInfo(booking.property.time_zone)
    plan = decision.plan
    new = _when(
        plan, now, zone, _("a new code with a new PIN will be created now"), _("a new code with a new PIN will be created on %(day)s")
    )
    unrevocable = maybe_on_lock(code, now) and not can_revoke(code)  # an igloohome algoPIN, an offline code
    old = _old_unrevocable(code, zone) if unrevocable else _("the old code will be revoked at once")
    return _with_start_slot_note(f"{new}; {old}", decision.assignment.lock, plan, booking, now)


# --- the branches of booking_reconcile ----------------------------------------------------------

def _current_code(booking: Booking | None) -> AccessCode | None:
    if booking is None or booking.pk is None:
        return None
    codes = AccessCode.objects.filter(booking_id=booking.pk, is_current=True).select_related("lock__account")
    return codes.first()


def _no_code_reason(booking: Booking, plan: CodePlan | None) -> str:
    prop = booking.property
    if booking.status == BookingStatus.PENDING:
        return _("no code: the booking is not confirmed")
    if booking.status == BookingStatus.CANCELLED:
        return _("no code: the booking is cancelled")
    if booking.access_ended_at is not None:
        return _("no code: the guest's access was ended early")
    values = {"property": prop.name}
    if not prop.is_eligible_for_smart_lock:
        return _(
            "no code: %(property)s cannot have a smart lock (needs the Nowistay PMS and an active AI Assistant subscription)"
        ) % values
    if plan is None:
        assignment = LockAssignment.objects.select_related("lock__account").filter(property=prop).first()
        if assignment is not None:  # assigned, but unusable: its account is disconnected
            values["brand"] = assignment.lock.account.provider_name
            return _("no code: the %(brand)s account of %(property)s's lock is disconnected") % values
        return _("no code: no lock is assigned to %(property)s") % values
    return _("no code: the stay is over")


def _keeps_working(code: AccessCode, plan: CodePlan | None, now: datetime, zone: ZoneInfo) -> str:
    until = code.lock_ends_at or code.ends_at
    unchanged = plan is not None and (code.starts_at, code.ends_at) == (plan.starts_at, plan.ends_at)
    if code.state in _OVER or unchanged or until <= now:
        return _(NOTHING_CHANGES)
    return _("the code keeps working until %(until)s") % {"until": moment_text(until, zone)}


def _retired(code: AccessCode, now: datetime, zone: ZoneInfo) -> str:
    """code_retire: dropped if not on the lock, else revoked, else (igloohome) left running."""
    if code.state in _OVER:
        return _(NOTHING_CHANGES)
    if maybe_on_lock(code, now) and not capabilities_of(code.lock).remote_revoke:
        return _("this %(brand)s code cannot be revoked and works until %(until)s") % _unrevocable_values(code, zone)
    return _("the code will be revoked")


def _unrevocable_values(code: AccessCode, zone: ZoneInfo) -> dict:
    return {"brand": code.lock.account.provider_name, "until": moment_text(code.lock_ends_at or code.ends_at, zone)}


def _old_unrevocable(code: AccessCode, zone: ZoneInfo) -> str:
    return _("the old %(brand)s code cannot be revoked and works until %(until)s") % _unrevocable_values(code, zone)


def _when(plan: CodePlan, now: datetime, zone: ZoneInfo, at_once: str, on_day: str, **values) -> str:
    """`at_once` when the code is due now, else `on_day` with its %(day)s: two whole messages."""
    if plan.generate_at <= now:
        return at_once % values if values else at_once
    return on_day % {**values, "day": _day(plan.generate_at, now, zone)}


def _creation(plan: CodePlan, now: datetime, zone: ZoneInfo) -> str:
    return _when(plan, now, zone, _("the code will be created now"), _("a code will be created on %(day)s"))


def _moved(code: AccessCode, booking: Booking, assignment: LockAssignment, plan: CodePlan, now: datetime, zone: ZoneInfo) -> str:
    """codes._move: a code not on a lock yet is re-targeted (PIN chosen again); one on a lock is
    retired and re-created on the new lock, keeping the PIN when that lock takes chosen PINs."""
    lock = assignment.lock
    values = {"lock": lock.name, "property": booking.property.name}
    retarget = code.state in (CodeState.SCHEDULED, CodeState.CREATING, CodeState.FAILED) and not maybe_on_lock(code, now)
    if retarget:
        moves = _("the code moves to %(lock)s at %(property)s") % values
    elif pin_kept_on(lock, code.pin):
        moves = _("the code moves to %(lock)s at %(property)s, keeping the guest's PIN") % values
    else:
        moves = _("the code moves to %(lock)s at %(property)s, with a new PIN") % values
    clauses = [moves]
    if not retarget and not capabilities_of(code.lock).remote_revoke:
        clauses.append(_old_unrevocable(code, zone))
    clauses.append(_when(plan, now, zone, _("it will be created there now"), _("it will be created there on %(day)s")))
    return "; ".join(clauses)


def _replanned(code: AccessCode, plan: CodePlan, now: datetime, zone: ZoneInfo) -> str:
    """codes._apply_plan: same lock; the window (and, for a code not made yet, its date) moves."""
    window_moved = (code.starts_at, code.ends_at) != (plan.starts_at, plan.ends_at)
    date_moved = code.generate_at != plan.generate_at
    if not (window_moved or date_moved):
        return _(NOTHING_CHANGES)
    window_values = {"start": moment_text(plan.starts_at, zone), "end": moment_text(plan.ends_at, zone)}
    window = _("the code's window moves to %(start)s → %(end)s") % window_values
    if code.state == CodeState.FAILED and not code.vendor_code_id:
        return _creation(plan, now, zone)  # creation starts afresh with the new plan
    if code.state == CodeState.SCHEDULED:
        if not date_moved:
            return window
        if not window_moved:
            return _when(plan, now, zone, _("the code will be created now"), _("the code will be created on %(day)s"))
        return f"{window}; " + _when(plan, now, zone, _("it will be created now"), _("it will be created on %(day)s"))
    if not window_moved:
        return _(NOTHING_CHANGES)  # only deadlines of a code already made moved
    if code.state in (CodeState.ACTIVE, CodeState.UPDATING):
        capabilities = capabilities_of(code.lock)
        if not capabilities.update_in_place and not capabilities.remote_revoke:
            return _(
                "the code's window moves to %(start)s → %(end)s: %(brand)s cannot change a code, so a new code will be issued "
                "and the current one works until %(until)s"
            ) % {**window_values, **_unrevocable_values(code, zone)}
    return window


def _with_start_slot_note(outlook: str, lock: Lock, plan: CodePlan, booking: Booking, now: datetime) -> str:
    """A code to be issued on a lock that takes few codes per start slot (igloohome): whether its
    start moves because this lock's codes already used that slot (read from our rows, no vendor call)."""
    provider = registry.provider_class(lock.account.provider)
    if not provider.capabilities.limited_codes_per_slot:
        return outlook
    spec = CodeSpec(
        name="", pin=None, starts_at=plan.starts_at, ends_at=plan.ends_at, time_zone=booking.property.time_zone,
        used_slots=used_slots_on_lock(lock_id=lock.pk, now=now),
    )
    note = provider.start_slot_note(spec, now=max(now, plan.generate_at))
    return f"{outlook}; {note}" if note else outlook


def _day(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    return day_text(moment.astimezone(zone).date(), now, zone)
