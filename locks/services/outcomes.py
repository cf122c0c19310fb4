"""Recording a step's outcome on the code: what the vendor issued, a failure and when it is retried,
when a code is given up on, and the host's alerts. Merges run inside `claims.finish`'s short
transaction, on the row as it is now.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from locks import notifications, windows
from locks.models import ACCESS_LINK_MAX_LENGTH, AccessCode, CodeState
from locks.providers.base import CodeSpec, IssuedCode
from locks.providers.exceptions import (
    OutcomeUnknown,
    ProviderAuthError,
    ProviderError,
    RateLimitedLocally,
    TransientProviderError,
    VendorUnavailable,
)
from locks.services.claims import finish
from locks.services.codes import (
    capabilities_of,
    code_record_finished,
    code_record_unrevocable,
    enqueue_code,
    retry_period,
)
from locks.services.vendor_accounts import account_mark_needs_reconnect

# After its window, a code the vendor keeps refusing to delete is given up on (it no longer opens).
EXPIRY_CLEANUP_GIVE_UP = timedelta(days=7)


@dataclass(frozen=True)
class StepResult:
    code_id: int
    action: str  # created, updated, revoked, expired, superseded, retrying, held_back, failed, skipped
    detail: str = ""


# --- issued codes ---------------------------------------------------------------------------------
def link_of(issued: IssuedCode) -> str | None:
    """The link that opens the door with this code, if its vendor gives one."""
    return issued.access_link[:ACCESS_LINK_MAX_LENGTH] or None


def issued_fields(issued: IssuedCode, code: AccessCode) -> dict:
    return {
        "vendor_code_id": issued.vendor_code_id,
        "pin": issued.pin,
        "access_link": link_of(issued),
        "usage_note": issued.usage_note,
        "warning": " ".join(part for part in (code.warning, issued.warning) if part)[:500],
        "lock_starts_at": issued.starts_at,
        "lock_ends_at": issued.ends_at,
        "variance": issued.variance,
        "create_outcome_unknown": False,
        "awaiting_lock_since": None,
        "awaiting_reason": "",
        "unconfirmed_write_at": None,
        "last_error": "",
        "last_error_kind": "",
        "vendor_wait_until": None,
        "confirmed_on_lock_at": None,  # a new write: confirmed once a listing shows it (services.reconcile)
    }


def complete_creation(code: AccessCode, token: str, issued: IssuedCode, sent: CodeSpec, now: datetime) -> AccessCode:
    """The common case in one conditional UPDATE; a row that changed meanwhile is merged under a lock."""
    unchanged = AccessCode.objects.filter(
        pk=code.pk, claim_token=token, state=CodeState.CREATING, starts_at=sent.starts_at, ends_at=sent.ends_at
    )
    if unchanged.update(
        **_changed(issued_fields(issued, code), code),
        state=CodeState.ACTIVE,
        next_attempt_at=issued.ends_at,
        attempts=F("attempts") + 1,
        activated_at=code.activated_at or now,  # only a creation sets it, and this one holds the claim
        claim_token="",
        claimed_until=None,
        updated_at=now,
    ):
        code.state = CodeState.ACTIVE
        return code
    return finish(code, token, lambda row: _record_issued(row, issued, sent, now))


def _changed(fields: dict, code: AccessCode) -> dict:
    """The fields whose value differs from the claimed row's (each field an UPDATE sets costs the
    worker its compilation; a PIN unchanged is not encrypted again). A field another writer changed
    since the batch was loaded keeps their value."""
    return {name: value for name, value in fields.items() if getattr(code, name) != value}


def _record_issued(row: AccessCode, issued: IssuedCode, sent: CodeSpec, now: datetime) -> None:
    for field, value in issued_fields(issued, row).items():
        setattr(row, field, value)
    row.attempts += 1
    row.activated_at = row.activated_at or now
    if row.state == CodeState.CREATING:
        if (row.starts_at, row.ends_at) == (sent.starts_at, sent.ends_at):
            row.state, row.next_attempt_at = CodeState.ACTIVE, issued.ends_at
        else:  # the booking changed while the request was out
            row.state, row.next_attempt_at = CodeState.UPDATING, now
    elif row.state == CodeState.REVOKING:  # cancelled while the request was out
        row.next_attempt_at = now


def record_updated(row: AccessCode, issued: IssuedCode, sent: CodeSpec, now: datetime) -> None:
    row.vendor_code_id = issued.vendor_code_id
    row.access_link = link_of(issued)
    row.lock_starts_at, row.lock_ends_at = issued.starts_at, issued.ends_at
    row.create_outcome_unknown = False
    row.last_error = row.last_error_kind = ""
    row.vendor_wait_until = None
    row.confirmed_on_lock_at = None  # a new write: confirmed once a listing shows it (services.reconcile)
    if row.state in (CodeState.UPDATING, CodeState.CREATING):
        if (row.starts_at, row.ends_at) == (sent.starts_at, sent.ends_at):
            row.state, row.next_attempt_at = CodeState.ACTIVE, issued.ends_at
        else:
            row.state, row.next_attempt_at = CodeState.UPDATING, now


def forget_vendor_code(row: AccessCode, now: datetime) -> None:
    """The code is not on the lock any more: create it again (same PIN, where we choose PINs) if it
    is still wanted. What the vendor made for it went with it: its link, and a PIN it generated."""
    row.vendor_code_id = ""
    row.access_link = None
    if not capabilities_of(row.lock).chosen_pins:  # homeit picks another PIN for the new key
        row.pin = None
    row.lock_starts_at = row.lock_ends_at = None
    if row.state in (CodeState.UPDATING, CodeState.ACTIVE):
        row.state, row.next_attempt_at = CodeState.CREATING, now


def adopt_found(row: AccessCode, found: IssuedCode, now: datetime) -> None:
    if row.state != CodeState.FAILED:
        return
    for field, value in issued_fields(found, row).items():
        setattr(row, field, value)
    row.state, row.next_attempt_at = CodeState.ACTIVE, found.ends_at
    row.activated_at = row.activated_at or now
    if (found.starts_at, found.ends_at) != (row.starts_at, row.ends_at):
        row.state, row.next_attempt_at = CodeState.UPDATING, now


# --- creation failures and their retries ----------------------------------------------------------
def creation_failed(
    code: AccessCode, token: str, now: datetime, error: ProviderError, *, looked_before: bool = False, request_sent: bool = True
) -> StepResult:
    if isinstance(error, RateLimitedLocally):  # nothing was sent: a lost create is as unresolved as before
        return held_back(code, token, now, error, outcome_unknown=looked_before)
    if isinstance(error, ProviderAuthError):
        account_mark_needs_reconnect(account=code.lock.account, error=error)
    retryable = isinstance(error, (TransientProviderError, ProviderAuthError))
    # An earlier lost create stays unresolved until a search or a create succeeds (a failed search
    # proves nothing); a create that failed after it was sent (5xx, garbage, timeout) may have acted.
    # A vendor whose codes cannot be listed says itself (OutcomeUnknown) when a failure may hide a
    # code: looking is impossible there, so a mere 5xx must not leave a warning of a phantom code.
    wrote = False
    if request_sent:
        may_have_acted = (OutcomeUnknown, VendorUnavailable) if capabilities_of(code.lock).find_codes else OutcomeUnknown
        wrote = getattr(code, "create_sent", False) and isinstance(error, may_have_acted)
        unknown = looked_before or wrote
    else:
        unknown = code.create_outcome_unknown
    fresh = finish(code, token, lambda row: _record_failure(row, error, now, retryable=retryable, unknown=unknown, wrote=wrote))
    notify_after_failure(fresh)
    return StepResult(code.pk, "failed" if fresh.state == CodeState.FAILED else "retrying", error.message)


def pin_rejected(row: AccessCode, error: ProviderError) -> None:
    row.pin = None
    row.pin_rejections += 1
    row.create_outcome_unknown = False
    row.awaiting_lock_since, row.awaiting_reason, row.unconfirmed_write_at = None, "", None
    row.last_error, row.last_error_kind = error.message[:500], error.kind


def _record_failure(row: AccessCode, error: ProviderError, now: datetime, *, retryable: bool, unknown: bool, wrote: bool = False) -> None:
    row.attempts += 1
    if wrote:  # the create may have acted: a revoke or another create waits for it to show
        row.unconfirmed_write_at = now
    row.awaiting_lock_since, row.awaiting_reason = None, ""  # a failure takes over; an unknown outcome is still looked for
    row.first_failure_at = row.first_failure_at or now
    row.last_error, row.last_error_kind = error.message[:500], error.kind
    row.vendor_wait_until = vendor_wait_until(error, now)
    row.create_outcome_unknown = unknown
    if row.state == CodeState.SCHEDULED:  # failed before a request left (e.g. account unusable)
        row.state = CodeState.CREATING
    if row.state != CodeState.CREATING:  # retired meanwhile: its own step follows now
        if row.state != CodeState.SUPERSEDED:  # (a superseded code is only closed at its end)
            row.next_attempt_at = now
        return
    if not retryable or now >= row.retry_deadline:
        row.state = CodeState.FAILED
        # A create that may have acted leaves a code we must not lose track of: look for it and remove it.
        row.next_attempt_at = next_retry_after(error, now) if row.create_outcome_unknown else None
        return
    row.next_attempt_at = _next_retry(row, error, now)


# A Retry-After beyond this is not believed: a garbled answer must not hold a revocation for weeks.
MAX_VENDOR_WAIT = timedelta(days=1)


def vendor_wait_until(error: ProviderError, now: datetime) -> datetime | None:
    """Until when the vendor asked for nothing more to be sent for this code (Retry-After), if it did."""
    retry_after = getattr(error, "retry_after", None)
    return now + min(timedelta(seconds=retry_after), MAX_VENDOR_WAIT) if retry_after else None


def next_retry_after(error: ProviderError, now: datetime) -> datetime:
    wait = max(settings.LOCKS_RETRY_INTERVAL_SECONDS, getattr(error, "retry_after", None) or 0)
    return now + timedelta(seconds=wait)


def _next_retry(row: AccessCode, error: ProviderError, now: datetime) -> datetime:
    return windows.next_retry_at(
        anchor=row.generate_at,
        now=now,
        period=retry_period(),
        deadline=row.retry_deadline,
        alert_at=row.alert_at if row.alert_sent_at is None else None,
        not_before=vendor_wait_until(error, now),
    )


def notify_after_failure(code: AccessCode) -> None:
    """Alert once at the alert moment (or at once if the first failure comes later); report the end."""
    now = timezone.now()
    if code.state == CodeState.FAILED and code.failure_notified_at is None:
        if notifications.code_failed(code):
            AccessCode.objects.filter(pk=code.pk).update(failure_notified_at=now, alert_sent_at=code.alert_sent_at or now)
        return
    alert_due = code.state == CodeState.CREATING and code.alert_sent_at is None and now >= code.alert_at
    if alert_due and notifications.code_still_failing(code):
        AccessCode.objects.filter(pk=code.pk).update(alert_sent_at=now)


# --- requests our own rate limit held back --------------------------------------------------------
# Steps whose request a rate limit held back are taken again when the window frees.
_HELD_BACK_STATES = frozenset({CodeState.CREATING, CodeState.UPDATING, CodeState.REVOKING, CodeState.EXPIRING})


def held_back(code: AccessCode, token: str, now: datetime, error: RateLimitedLocally, *, outcome_unknown: bool | None = None) -> StepResult:
    """Our own rate limit (locks.providers.rate_limits) held the step's request back before it left.
    Not an attempt: no retry counted, no error shown, no alert, no deadline: the step is taken again
    as soon as the window frees (the task is sent for then; the scheduler pass is the backstop).
    `outcome_unknown`: a create's, as it was before this step (nothing of this one was sent)."""
    at = held_back_until(error, now)
    fresh = finish(code, token, partial(_record_held_back, at=at, outcome_unknown=outcome_unknown))
    if fresh.next_attempt_at == at:
        enqueue_code(fresh.pk, eta=at)
    return StepResult(code.pk, "held_back", error.message)


def held_back_until(error: RateLimitedLocally, now: datetime) -> datetime:
    return now + timedelta(seconds=error.retry_after or 1)


def _record_held_back(row: AccessCode, *, at: datetime, outcome_unknown: bool | None) -> None:
    if row.state == CodeState.SCHEDULED:
        row.state = CodeState.CREATING
    if outcome_unknown is not None and row.state == CodeState.CREATING:
        row.create_outcome_unknown = outcome_unknown
    if row.state in _HELD_BACK_STATES:
        row.next_attempt_at = at


# --- updates and removals that fail ---------------------------------------------------------------
def later_failed(code: AccessCode, token: str, now: datetime, error: ProviderError) -> StepResult:
    """A failed update or delete: retried hourly until the code's window is over."""
    if isinstance(error, RateLimitedLocally):
        return held_back(code, token, now, error)
    if isinstance(error, ProviderAuthError):
        account_mark_needs_reconnect(account=code.lock.account, error=error)
    fresh = finish(code, token, lambda row: record_later_failure(row, error, now))
    return StepResult(code.pk, "retrying" if fresh.next_attempt_at else "failed", error.message)


def record_later_failure(row: AccessCode, error: ProviderError, now: datetime) -> None:
    row.attempts += 1
    row.last_error, row.last_error_kind = error.message[:500], error.kind
    row.vendor_wait_until = vendor_wait_until(error, now)
    give_up_at = row.ends_at + EXPIRY_CLEANUP_GIVE_UP
    retryable = isinstance(error, (TransientProviderError, ProviderAuthError))
    if row.state == CodeState.REVOKING and now >= row.ends_at:
        row.state = CodeState.EXPIRING  # the window ended anyway; only the lock's memory is at stake
    if row.state == CodeState.UPDATING and (not retryable or now >= row.ends_at):
        row.state, row.next_attempt_at = CodeState.FAILED, None
    elif row.state == CodeState.REVOKING and not retryable:
        # Refused for good (no subscription, lock gone from the account): the code is still on the
        # lock and opens the door until its end. Said so, never recorded as revoked.
        code_record_unrevocable(row, refusal=error.message)
    elif not retryable or now >= give_up_at:
        code_record_finished(row, _gave_up_state(row), now)
    else:
        # On the hour grid of the attempt that failed, like creation retries (see windows.next_retry_at).
        row.next_attempt_at = windows.next_retry_at(
            anchor=row.next_attempt_at or now,
            now=now,
            period=retry_period(),
            deadline=give_up_at,
            not_before=vendor_wait_until(error, now),
        )


def _gave_up_state(row: AccessCode) -> str:
    """How a revoking or expiring code ends, whether or not its removal was done."""
    return CodeState.REVOKED if row.state == CodeState.REVOKING else CodeState.EXPIRED


def record_deleted(row: AccessCode, now: datetime, note: str = "") -> None:
    if row.state not in (CodeState.REVOKING, CodeState.EXPIRING):
        return  # reconsidered meanwhile
    code_record_finished(row, _gave_up_state(row), now)
    row.vendor_code_id = ""
    row.create_outcome_unknown = False
    row.last_error, row.vendor_wait_until = note, None


def record_unrevocable(row: AccessCode, now: datetime) -> None:
    if row.state == CodeState.REVOKING:
        code_record_unrevocable(row)
    elif row.state == CodeState.EXPIRING:
        code_record_finished(row, CodeState.EXPIRED, now)


def retry_cleaning(row: AccessCode, error: ProviderError, now: datetime) -> None:
    held = isinstance(error, RateLimitedLocally)  # held back by our own rate limit: again once the window frees
    if not held:
        row.vendor_wait_until = vendor_wait_until(error, now)
    # Only while the clean-up is still wanted: a worker that took over an expired claim may have done it.
    if row.state == CodeState.FAILED and row.create_outcome_unknown:
        row.next_attempt_at = held_back_until(error, now) if held else next_retry_after(error, now)


def stop_cleaning(row: AccessCode) -> None:
    if row.state == CodeState.FAILED:
        row.create_outcome_unknown, row.next_attempt_at = False, None
