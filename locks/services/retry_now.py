"""“Retry now” (host dashboard, staff admin): make a waiting or failed code due at once, or say why not."""

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookings.models import BookingStatus
from locks import notifications
from locks.models import AccessCode, CodeState
from locks.services.codes import (
    PROCESS_CODE,
    capabilities_of,
    enqueue_code,
    last_possible_write,
    listing_delay_of,
    usable_assignment,
)
from nowistay import dispatch

RETRYING_NOW = "Retrying now."

# A restarted creation is retried at least this long, so "Retry now" always makes an attempt.
RETRY_NOW_MIN_WINDOW = timedelta(hours=1)


def code_retry_now_outcome(*, code_id: int, now: datetime | None = None) -> tuple[bool, str]:
    """ "Retry now" (host dashboard, staff admin): make a waiting or failed code due at once.

    Returns whether a retry was made (or planned) and a short sentence for the person who pressed
    the button. Nothing changes when there is nothing to retry, a worker holds the code right now,
    or it was retried less than LOCKS_RETRY_NOW_COOLDOWN_SECONDS ago. While the vendor asked us to wait (Retry-After), the
    retry is made when the wait ends instead of now. The row lock makes concurrent presses take
    turns, so however many arrive together, one retry (one vendor request) comes of them.
    """
    now = now or timezone.now()
    with transaction.atomic():
        code = (
            AccessCode.objects.select_for_update(of=("self",))
            .select_related("booking__property", "lock__account")
            .filter(pk=code_id)
            .first()
        )
        if code is None:
            return False, "This code no longer exists."
        if code.claimed_until is not None and code.claimed_until > now:
            return False, "This code is already being worked on."
        refusal = _retry_refusal(code, now) or _cool_down_refusal(code, now)
        if refusal:
            return False, refusal
        due = max(now, code.vendor_wait_until or now)
        _make_due(code, due)
        code.manual_retry_at = now
        code.save()
        _enqueue_when_due(code.pk, due, now)
    if due > now:
        return True, f"{code.lock.account.provider_name} asked us to wait until {_wait_end_words(code, now)}; Nowistay retries then."
    return True, RETRYING_NOW


def code_retry_now(*, code_id: int, now: datetime | None = None) -> str:
    """ "Retry now" for a person: the sentence of `code_retry_now_outcome`."""
    return code_retry_now_outcome(code_id=code_id, now=now)[1]


def _retry_refusal(code: AccessCode, now: datetime) -> str:
    """Why this code has nothing to retry, or "" when it has."""
    if code.state == CodeState.SCHEDULED and code.next_attempt_at is not None and code.next_attempt_at <= now:
        return ""  # due already (waiting for a worker, or for the vendor's wait to end)
    if code.state in (CodeState.CREATING, CodeState.UPDATING, CodeState.REVOKING, CodeState.EXPIRING):
        # Not expected: these states always have a next step.
        return "" if code.next_attempt_at is not None else "Nothing is waiting to be retried on this code."
    if code.state == CodeState.FAILED:
        return _failed_retry_refusal(code, now)
    return _NOTHING_TO_RETRY.get(code.state, "There is nothing to retry on this code.")


def _cool_down_refusal(code: AccessCode, now: datetime) -> str:
    """A retry pressed a moment ago is not repeated: its vendor request has just been made (or is
    about to be), and pressing again would only send the same request again."""
    if code.manual_retry_at is None:
        return ""
    left = code.manual_retry_at + timedelta(seconds=settings.LOCKS_RETRY_NOW_COOLDOWN_SECONDS) - now
    if left <= timedelta(0):
        return ""
    seconds = math.ceil(left.total_seconds())
    return f"Retried a moment ago; you can retry again in {seconds} second{'' if seconds == 1 else 's'}."


def _make_due(code: AccessCode, due: datetime) -> None:
    """A pending step is taken at `due`; a failed code starts again (an update, or creation afresh)."""
    if code.state == CodeState.FAILED:
        if code.vendor_code_id:  # a failed update: the code is on the lock, move it again
            code.state = CodeState.UPDATING
        else:  # creation starts again; a possibly created code is looked for first
            if retry_chooses_a_new_pin(code, due):
                code.pin = None  # chosen afresh: the lock refused this one
            code.state = CodeState.CREATING
            code.attempts = 0
            code.pin_rejections = 0
            code.first_failure_at = code.alert_sent_at = code.failure_notified_at = None
            code.last_error = code.last_error_kind = ""
            code.retry_deadline = max(code.retry_deadline, due + RETRY_NOW_MIN_WINDOW)
    code.next_attempt_at = due


def retry_chooses_a_new_pin(code: AccessCode, now: datetime) -> bool:
    """Whether "Retry now" on this code draws a new PIN (its PIN was refused by the lock)."""
    # Kept while a create with it may still appear on the lock unlisted; past that, the code is
    # looked for under its name before anything is sent, whatever its PIN.
    refused = code.last_error_kind in ("code_rejected", "pin_taken")
    settled = not code.create_outcome_unknown or now >= last_possible_write(code) + listing_delay_of(code.lock)
    return refused and settled and capabilities_of(code.lock).chosen_pins


def _enqueue_when_due(code_id: int, due: datetime, now: datetime) -> None:
    """Hand the code to a worker now, or when the vendor's wait ends if that is within a scheduler
    period (a longer wait is left to the scheduler pass: no task is held for hours)."""
    wait = (due - now).total_seconds()
    if wait <= 0:
        enqueue_code(code_id)
    elif wait <= settings.LOCKS_SWEEP_PERIOD_SECONDS:
        # A second late rather than early: a task arriving before the wait's end finds nothing to claim.
        dispatch.enqueue_on_commit(PROCESS_CODE, code_id, countdown=wait + 1)


def _wait_end_words(code: AccessCode, now: datetime) -> str:
    """The end of the vendor's wait in property time, to the minute (rounded up, never too early):
    "14:10", or "00:30 on 2 June 2026" on another day."""
    zone = ZoneInfo(code.booking.property.time_zone)
    end = code.vendor_wait_until.astimezone(zone)
    if end.second or end.microsecond:
        end = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if end.date() == now.astimezone(zone).date():
        return f"{end:%H:%M}"
    return notifications.local_time(end, code.booking.property.time_zone)


_NOTHING_TO_RETRY = {
    CodeState.SCHEDULED: "The code is not due yet: it will be created on its date.",
    CodeState.ACTIVE: "The code is active: there is nothing to retry.",
    CodeState.SUPERSEDED: "This code cannot be revoked remotely and works until its end: there is nothing to retry.",
    CodeState.REVOKED: "The code was revoked: there is nothing to retry.",
    CodeState.EXPIRED: "The code has expired: there is nothing to retry.",
}


def _failed_retry_refusal(code: AccessCode, now: datetime) -> str:
    """Why a failed code may not be retried, or "" when it may."""
    booking = code.booking
    if not code.is_current:
        return "This code was replaced by a newer one: there is nothing to retry."
    if booking.status == BookingStatus.CANCELLED:
        return "The booking is cancelled: there is nothing to retry."
    if booking.status != BookingStatus.CONFIRMED:
        return "The booking is not confirmed: there is nothing to retry."
    if code.ends_at <= now:
        return "The stay is over: there is nothing to retry."
    assignment = usable_assignment(booking)
    if assignment is None or assignment.lock_id != code.lock_id:
        return "This lock is no longer assigned to the property (or its account is disconnected): there is nothing to retry."
    return ""
