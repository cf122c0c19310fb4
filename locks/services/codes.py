"""What each booking's code should be, decided in the database. No vendor call happens here:
work that is due is handed to a task on commit, and the scheduler pass is the backstop."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from locks import notifications, windows
from locks.models import AccessCode, AccountStatus, CodeState, FallbackKind, Lock, LockAssignment
from locks.providers import registry
from locks.providers.base import Capabilities
from locks.services.planning import CodePlan, code_plan
from locks.signals import CodeEvent, send_code_events
from nowistay import dispatch

PROCESS_CODE = "locks.process_code"  # the work of taking a code's step (locks.tasks sends it)


def enqueue_code(code_id: int, *, eta: datetime | None = None) -> None:
    """Hand a code to a worker once the surrounding transaction has committed: now, or at `eta`
    (minutes away at most; the scheduler pass is the backstop if the message is lost)."""
    if eta is None:
        dispatch.enqueue_on_commit(PROCESS_CODE, code_id)
    else:
        dispatch.enqueue_on_commit(PROCESS_CODE, code_id, eta=eta)


def capabilities_of(lock: Lock) -> Capabilities:
    return registry.provider_class(lock.account.provider).capabilities


def can_revoke(code: AccessCode) -> bool:
    """Whether the code can be deleted from its lock remotely: not an igloohome algoPIN, not an
    offline code (TTLock refuses to delete one never used on the lock, −3008)."""
    return capabilities_of(code.lock).remote_revoke and code.fallback != FallbackKind.OFFLINE


def can_update(code: AccessCode) -> bool:
    """Whether the code's window can be changed in place (an offline code cannot be)."""
    return capabilities_of(code.lock).update_in_place and code.fallback != FallbackKind.OFFLINE


def pin_kept_on(lock: Lock, pin: str | None) -> bool:
    """Whether a code moved to `lock` keeps the guest's `pin`: the lock takes chosen PINs and its
    vendor's rules accept this one (an igloohome PIN starting with 0 cannot go to TTLock)."""
    provider = registry.provider_class(lock.account.provider)
    return bool(pin) and provider.capabilities.chosen_pins and provider.pin_problem(pin) is None


def current_code(booking: Booking) -> AccessCode | None:
    """The booking's current code, row-locked: a worker finishing a step on it waits for us, so
    neither write overwrites the other."""
    codes = AccessCode.objects.filter(booking=booking, is_current=True).select_for_update(of=("self",))
    return codes.select_related("lock__account").first()


def usable_assignment(booking: Booking) -> LockAssignment | None:
    """The assignment that should hold this booking's code, if the property may have one now."""
    prop = booking.property
    if not prop.is_eligible_for_smart_lock:
        return None
    assignment = LockAssignment.objects.select_related("lock__account").filter(property=prop).first()
    # Disconnecting (in the background) already counts as gone: no new code while codes are revoked.
    if assignment is None or assignment.lock.account.status in (AccountStatus.DISCONNECTING, AccountStatus.DISCONNECTED):
        return None
    return assignment


def maybe_on_lock(code: AccessCode, now: datetime) -> bool:
    """Could this code exist on the lock? (A worker may hold it mid-request.)"""
    if code.vendor_code_id or code.create_outcome_unknown:
        return True
    return code.claimed_until is not None and code.claimed_until > now


def booking_reconcile(*, booking: Booking, now: datetime | None = None) -> AccessCode | None:
    """Bring the booking's current code in line with the booking, its property and assignment.

    Every booking and settings event ends here; it is idempotent and returns the current code.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # Lock the booking itself: with no code yet there is no code row to lock, and two
        # reconciliations (a pass and an event) must not both create one.
        Booking.objects.select_for_update().filter(pk=booking.pk).exists()
        code = current_code(booking)
        decision = decide(booking, code, now)
        if decision.action == Decision.NOTHING:
            return None
        if decision.action == Decision.KEEP:
            return code
        if decision.action == Decision.RETIRE:
            code_retire(code=code, now=now)
            return None
        if decision.action == Decision.CREATE:
            return _new_code(booking, decision.assignment.lock, decision.plan, now)
        if decision.action == Decision.MOVE:
            return _move(booking, code, decision.assignment.lock, decision.plan, now)
        _apply_plan(code, decision.plan, now)
        return code


def may_have_access(booking: Booking) -> bool:
    return booking.status == BookingStatus.CONFIRMED and booking.access_ended_at is None


@dataclass(frozen=True)
class Decision:
    """What reconciling a booking does to its current code; `codes.booking_reconcile` acts on it
    and `preview.code_outlook` words it, so the preview can never say something else."""

    NOTHING = "nothing"  # no code, none wanted
    KEEP = "keep"  # no code wanted any more, but a staying guest's code runs to its end
    RETIRE = "retire"  # revoke (or record as unrevocable) the current code
    CREATE = "create"  # a new code on the assignment's lock
    MOVE = "move"  # the code goes to the assignment's (new) lock
    REPLAN = "replan"  # same lock: the window or moments may change

    action: str
    assignment: LockAssignment | None = None
    plan: CodePlan | None = None


def decide(booking: Booking, code: AccessCode | None, now: datetime) -> Decision:
    """Pure reading: the assignment and plan the booking should have, against its current code."""
    assignment = usable_assignment(booking) if may_have_access(booking) else None
    plan = code_plan(booking, assignment) if assignment else None
    if plan is None or plan.ends_at <= now:
        if code is None:
            return Decision(Decision.NOTHING, assignment, plan)
        staying = may_have_access(booking) and code.starts_at <= now
        if plan is not None and code.ends_at > now:
            staying = False  # the stay was shortened into the past: the code must not outlive it
        # Lock removed or stay over: a staying guest's code runs to its end and then expires.
        return Decision(Decision.KEEP if staying else Decision.RETIRE, assignment, plan)
    if code is None:
        return Decision(Decision.CREATE, assignment, plan)
    if code.lock_id != assignment.lock_id:
        return Decision(Decision.MOVE, assignment, plan)
    return Decision(Decision.REPLAN, assignment, plan)


def _new_code(booking: Booking, lock: Lock, plan: CodePlan, now: datetime, pin: str | None = None) -> AccessCode:
    code = AccessCode(booking=booking, lock=lock, state=CodeState.SCHEDULED, pin=pin)
    set_plan(code, plan)
    code.next_attempt_at = plan.generate_at
    code.save()
    send_code_events([CodeEvent("scheduled", code.pk, booking.pk, now, {"generate_at": plan.generate_at.isoformat()})])
    if plan.generate_at <= now:
        enqueue_code(code.pk)
    return code


def _move(booking: Booking, code: AccessCode, lock: Lock, plan: CodePlan, now: datetime) -> AccessCode:
    """The booking's lock changed: re-target a code not yet on a lock, else revoke and re-create."""
    if code.state in (CodeState.SCHEDULED, CodeState.CREATING, CodeState.FAILED) and not maybe_on_lock(code, now):
        code.lock = lock
        code.pin = None  # chosen again against the new lock's codes
        code.vendor_wait_until = None  # the old lock's vendor asked to wait, not the new one's
        _restart(code, plan, now)
        return code
    keep_pin = code.pin if pin_kept_on(lock, code.pin) else None
    code_retire(code=code, now=now)
    return _new_code(booking, lock, plan, now, pin=keep_pin)


def set_plan(code: AccessCode, plan: CodePlan) -> None:
    """Write a plan's window and moments on a code (the one mapping of plan to fields)."""
    code.starts_at, code.ends_at = plan.starts_at, plan.ends_at
    code.generate_at, code.retry_deadline, code.alert_at = plan.generate_at, plan.retry_deadline, plan.alert_at


def _plan_differs(code: AccessCode, plan: CodePlan) -> bool:
    return (code.starts_at, code.ends_at, code.generate_at) != (plan.starts_at, plan.ends_at, plan.generate_at)


def _restart(code: AccessCode, plan: CodePlan, now: datetime) -> None:
    """Start creation afresh (new lock, or a failed code whose booking changed)."""
    set_plan(code, plan)
    code.state = CodeState.SCHEDULED
    code.attempts = 0
    code.pin_rejections = 0
    code.first_failure_at = code.alert_sent_at = code.failure_notified_at = None
    code.last_error = code.last_error_kind = ""
    code.awaiting_lock_since, code.awaiting_reason = None, ""
    code.next_attempt_at = plan.generate_at
    code.save()
    if plan.generate_at <= now:
        enqueue_code(code.pk)


def _apply_plan(code: AccessCode, plan: CodePlan, now: datetime) -> None:
    if code.state == CodeState.FAILED:
        if _plan_differs(code, plan):
            if code.vendor_code_id:
                set_plan(code, plan)
                _mark_for_update(code, now)
            else:
                _restart(code, plan, now)
        return
    if not _plan_differs(code, plan) and (code.retry_deadline, code.alert_at) == (plan.retry_deadline, plan.alert_at):
        return
    # Compared with the window we wanted before, not with the lock's: vendors round (igloohome
    # to the hour), and a code must not be re-issued for a change the lock cannot see.
    window_moved = (code.starts_at, code.ends_at) != (plan.starts_at, plan.ends_at)
    set_plan(code, plan)
    if code.state == CodeState.SCHEDULED:
        code.next_attempt_at = plan.generate_at
        code.save()
        if plan.generate_at <= now:
            enqueue_code(code.pk)
    elif code.state in (CodeState.ACTIVE, CodeState.UPDATING) and window_moved:
        _mark_for_update(code, now)
    else:  # creating: the next attempt sends the new window; otherwise only deadlines moved
        _follow_retry_schedule(code, now)
        code.save()


def retry_period() -> timedelta:
    return timedelta(seconds=settings.LOCKS_RETRY_INTERVAL_SECONDS)


def _follow_retry_schedule(code: AccessCode, now: datetime) -> None:
    """A retrying creation keeps to its plan's moments after they move (a time-zone change): the
    hour grid of the new generation moment, the new alert moment, the new deadline."""
    waiting_for_a_retry = code.next_attempt_at is not None and code.next_attempt_at > now
    if code.state != CodeState.CREATING or code.first_failure_at is None or not waiting_for_a_retry:
        return
    if code.awaiting_lock_since is not None:  # a write is being looked for on its own schedule
        return
    if code.alert_sent_at is None and code.alert_at <= now:
        code.next_attempt_at = now  # the alert moment moved into the past: try, and alert if it fails
        return
    code.next_attempt_at = max(
        code.generate_at,
        windows.next_retry_at(
            anchor=code.generate_at,
            now=now - timedelta(microseconds=1),  # a grid instant that is now is due now
            period=retry_period(),
            deadline=code.retry_deadline,
            alert_at=code.alert_at if code.alert_sent_at is None else None,
            not_before=code.vendor_wait_until,
        ),
    )


def _mark_for_update(code: AccessCode, now: datetime) -> None:
    code.state = CodeState.UPDATING
    code.next_attempt_at = now
    code.save()
    enqueue_code(code.pk)


def code_record_finished(code: AccessCode, state: str, now: datetime) -> None:
    """The code ends in `state` (revoked or expired): nothing more is done for it, and its link,
    which opens the door as the PIN does, is no longer kept for anyone to be given."""
    code.state, code.next_attempt_at, code.finished_at = state, None, now
    code.access_link = None


def code_record_unrevocable(code: AccessCode, *, refusal: str = "") -> None:
    """Retired, but the vendor cannot revoke it (or refused to, saying `refusal`): on record as
    valid until its end, and the host told."""
    code.state, code.retired_at = CodeState.SUPERSEDED, timezone.now()
    code.next_attempt_at = code.lock_ends_at or code.ends_at
    until = notifications.local_time(code.next_attempt_at, code.booking.property.time_zone)
    brand = code.lock.account.provider_name
    if refusal:
        code.warning = f"{brand} refused to revoke this code ({refusal.rstrip('.')}): it keeps working until {until}."[:500]
    else:
        code.warning = f"{brand} cannot revoke this code: it keeps working until {until}."
    transaction.on_commit(lambda: notifications.code_cannot_be_revoked(code, refusal=refusal))


def code_retire(*, code: AccessCode, now: datetime, enqueue: bool = True) -> None:
    """The code is no longer the booking's: revoke it, or record until when it still works."""
    code.is_current = False
    if not maybe_on_lock(code, now):
        code_record_finished(code, CodeState.REVOKED, now)
    elif not can_revoke(code):
        # e.g. igloohome algoPINs: nothing can revoke them, so they stay valid until their end.
        code_record_unrevocable(code)
    else:
        code.state, code.next_attempt_at = CodeState.REVOKING, now
        if enqueue:
            enqueue_code(code.pk)
    code.save()


def last_possible_write(code: AccessCode) -> datetime:
    """When a write of this code that may be on the lock unlisted was last made: a landed write
    shows in the vendor's listing within its listing delay of that moment."""
    return code.unconfirmed_write_at or datetime.min.replace(tzinfo=UTC)


def listing_delay_of(lock: Lock) -> timedelta:
    """The lock's vendor's listing delay, or LOCKS_LISTING_DELAY_SECONDS where time is compressed
    (the chaos benchmark)."""
    override = settings.LOCKS_LISTING_DELAY_SECONDS
    return timedelta(seconds=override) if override is not None else capabilities_of(lock).listing_delay


def booking_end_access(*, booking: Booking, now: datetime | None = None) -> AccessCode | None:
    """End the guest's access now (early departure, or staff revoking a code): the current code is
    revoked at once, even mid-stay, and no new one is made. Returns the retired code, if any."""
    now = now or timezone.now()
    with transaction.atomic():
        Booking.objects.select_for_update().filter(pk=booking.pk).update(access_ended_at=now)
        booking.access_ended_at = now
        code = current_code(booking)
        booking_reconcile(booking=booking, now=now)
    if code is not None:
        code.refresh_from_db()
    return code


def booking_restore_access(*, booking: Booking, now: datetime | None = None) -> AccessCode | None:
    """Undo an early end of access (a mistaken click, a guest who comes back): the lifecycle plans
    a code again if the booking is confirmed and not over. Returns the booking's current code."""
    now = now or timezone.now()
    with transaction.atomic():
        Booking.objects.select_for_update().filter(pk=booking.pk).update(access_ended_at=None)
        booking.access_ended_at = None
        return booking_reconcile(booking=booking, now=now)


def code_regenerate(*, code_id: int, now: datetime | None = None) -> str:
    """Give the booking a new PIN (e.g. the old one leaked): retire the current code and let the
    lifecycle make a fresh one with a newly chosen PIN. Returns a sentence for the person asking."""
    now = now or timezone.now()
    with transaction.atomic():
        code = AccessCode.objects.select_related("booking__property", "lock__account").filter(pk=code_id).first()
        if code is None:
            return "This code no longer exists."
        booking = code.booking
        Booking.objects.select_for_update().filter(pk=booking.pk).exists()
        code = current_code(booking)
        if code is None or code.pk != code_id:
            return "This is not the booking's current code: there is nothing to regenerate."
        if not may_have_access(booking) or code.ends_at <= now:
            return "The booking has no access to regenerate (not confirmed, access ended, or the stay is over)."
        code_retire(code=code, now=now)
        fresh = booking_reconcile(booking=booking, now=now)
    if code.state == CodeState.SUPERSEDED:
        old = "The old code keeps working until its end: this brand cannot revoke it."
    else:
        old = "The old code is being revoked."
    if fresh is None:
        return f"{old} No new code could be planned (is a lock still assigned?)."
    when = "now" if fresh.generate_at <= now else "on its date"
    return f"{old} A new code with a new PIN is being created {when}."
