"""The vendor side of the lifecycle: claim due codes, make one vendor step, record the outcome.

Each step reads the claimed code, calls the vendor outside any transaction, then merges the
result into the row as it is *now* (a booking may have changed meanwhile) in a short
transaction that also releases the claim.
"""

import logging
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from locks import notifications, pins, signals, windows
from locks.models import (
    LIVE_CODE_STATES,
    AccessCode,
    AccountStatus,
    CodeState,
    ProviderAccount,
)
from locks.providers.base import CodeSpec, IssuedCode, LockProvider
from locks.providers.exceptions import (
    CodeNotFound,
    CodePending,
    CodeRejected,
    OutcomeUnknown,
    PinTaken,
    ProviderAuthError,
    ProviderError,
    TransientProviderError,
    VendorUnavailable,
)
from locks.services.codes import (
    capabilities_of,
    code_record_unrevocable,
    enqueue_code,
    last_possible_write,
    listing_delay_of,
    retry_period,
)
from locks.services.vendor_accounts import account_mark_needs_reconnect, account_unusable, audited_call, provider_for_account
from nowistay.logs import log_fields

logger = logging.getLogger(__name__)

MAX_PIN_REJECTIONS = 5
# After its window, a code the vendor keeps refusing to delete is given up on (it no longer opens).
EXPIRY_CLEANUP_GIVE_UP = timedelta(days=7)
_system_random = random.SystemRandom()


@dataclass(frozen=True)
class StepResult:
    code_id: int
    action: str  # created, updated, revoked, expired, superseded, retrying, failed, skipped
    detail: str = ""


# --- claims ---------------------------------------------------------------------------------

def _claimable(now: datetime) -> Q:
    """Due, free, and not during a wait the vendor asked for (whatever set the next attempt)."""
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return Q(next_attempt_at__lte=now) & free & (Q(vendor_wait_until__isnull=True) | Q(vendor_wait_until__lte=now))


def claim_due_codes(*, now: datetime, limit: int) -> tuple[str, list[int]]:
    """Claim up to `limit` due codes for one lease, whatever the table's size."""
    token = secrets.token_hex(8)
    lease_end = now + timedelta(seconds=settings.LOCKS_CLAIM_LEASE_SECONDS)
    if connection.vendor == "postgresql":
        return token, _claim_skip_locked(now, lease_end, token, limit)
    return token, _claim_conditionally(now, lease_end, token, limit)


# The queue-claim idiom: rows another pass holds are skipped, not waited for; one statement.
_CLAIM_SQL = """
UPDATE {table} SET claim_token = %s, claimed_until = %s
WHERE id IN (
    SELECT id FROM {table}
    WHERE next_attempt_at <= %s AND (claimed_until IS NULL OR claimed_until < %s)
      AND (vendor_wait_until IS NULL OR vendor_wait_until <= %s)
    ORDER BY next_attempt_at
    LIMIT %s
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""


def _claim_skip_locked(now: datetime, lease_end: datetime, token: str, limit: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL.format(table=AccessCode._meta.db_table), [token, lease_end, now, now, now, limit])
        return [row[0] for row in cursor.fetchall()]


def _claim_conditionally(now: datetime, lease_end: datetime, token: str, limit: int) -> list[int]:
    """Without SKIP LOCKED (SQLite): the UPDATE repeats the due condition, and one writer runs at a time."""
    due = AccessCode.objects.filter(_claimable(now)).order_by("next_attempt_at")
    ids = list(due.values_list("id", flat=True)[:limit])
    if not ids:
        return []
    claimed = AccessCode.objects.filter(_claimable(now), id__in=ids).update(claim_token=token, claimed_until=lease_end)
    if claimed < len(ids):
        ids = list(AccessCode.objects.filter(id__in=ids, claim_token=token).values_list("id", flat=True))
    return ids


def claim_code(*, code_id: int, now: datetime) -> str | None:
    """Claim one code if it is due and nobody holds it (used by event-driven tasks)."""
    token = secrets.token_hex(8)
    lease_end = now + timedelta(seconds=settings.LOCKS_CLAIM_LEASE_SECONDS)
    claimed = AccessCode.objects.filter(_claimable(now), pk=code_id).update(claim_token=token, claimed_until=lease_end)
    return token if claimed else None


def _load_claimed(code_ids: list[int], token: str, now: datetime) -> dict[int, AccessCode]:
    """The codes of a batch still claimed under `token`, with what their steps need, in one query."""
    claimed = AccessCode.objects.select_related("booking__property", "lock__account", "lock__assignment").filter(
        pk__in=code_ids, claim_token=token, claimed_until__gt=now
    )
    codes = {code.pk: code for code in claimed.order_by()}
    # One account object per account, so a failure or a token refresh seen by one code counts for all.
    accounts: dict[int, ProviderAccount] = {}
    for code in codes.values():
        code.lock.account = accounts.setdefault(code.lock.account_id, code.lock.account)
    _load_pins_in_use(codes.values())
    return codes


def _load_pins_in_use(codes) -> None:
    """PINs already on (or headed for) each lock that a code of the batch needs a PIN for: one query."""
    lock_ids = {code.lock_id for code in codes if not code.pin and code.state in (CodeState.SCHEDULED, CodeState.CREATING)}
    if not lock_ids:
        return
    in_use: dict[int, set[str]] = {lock_id: set() for lock_id in lock_ids}
    rows = AccessCode.objects.filter(lock_id__in=lock_ids, state__in=LIVE_CODE_STATES, pin__isnull=False)
    for lock_id, pin in rows.values_list("lock_id", "pin"):
        in_use[lock_id].add(pin)
    for code in codes:
        if code.lock_id in in_use:
            code.lock.batch_pins_in_use = in_use[code.lock_id]


def _finish(code: AccessCode, token: str, merge: Callable[[AccessCode], None], *, release: bool = True) -> AccessCode:
    """Merge a step's outcome into the row as it is now, and (by default) release our claim."""
    with transaction.atomic():
        fresh = _locked_row(code)
        merge(fresh)
        released = release and fresh.claim_token == token
        if released:
            fresh.claim_token, fresh.claimed_until = "", None
        fresh.save()
        if released and fresh.next_attempt_at is not None and fresh.next_attempt_at <= timezone.now():
            # Changed while we held it (e.g. cancelled mid-update): its next step need not wait for the pass.
            enqueue_code(fresh.pk)
    return fresh


def _locked_row(code: AccessCode) -> AccessCode:
    """The code's row as it is now, locked; related objects reused from what the step loaded."""
    fresh = AccessCode.objects.select_for_update().get(pk=code.pk)
    if fresh.booking_id == code.booking_id:
        fresh.booking = code.booking
    if fresh.lock_id == code.lock_id:
        fresh.lock = code.lock
    return fresh


# --- the vendor request a step sends ------------------------------------------------------------

def _spec(code: AccessCode, pin: str | None) -> CodeSpec:
    limited = capabilities_of(code.lock).limited_codes_per_slot
    return CodeSpec(
        name=code.vendor_name,
        pin=pin,
        starts_at=code.starts_at,
        ends_at=code.ends_at,
        time_zone=code.booking.property.time_zone,
        used_slots=used_slots_on_lock(lock_id=code.lock_id, now=timezone.now()) if limited else frozenset(),
    )


# A new code never starts before the current hour, so its start slot (an hour, or a local day)
# cannot be one that a code which started more than two days ago used.
USED_SLOTS_LOOKBACK = timedelta(days=2)


def used_slots_on_lock(*, lock_id: int, now: datetime) -> frozenset[tuple[datetime, datetime, int]]:
    """(start, end, variance) of the codes this system issued on the lock that a new code's start
    slot may meet, whatever became of them since: an issued algoPIN keeps its slot. One query."""
    issued = AccessCode.objects.filter(
        lock_id=lock_id, variance__isnull=False, lock_starts_at__gte=now - USED_SLOTS_LOOKBACK, lock_ends_at__isnull=False
    )
    return frozenset(issued.values_list("lock_starts_at", "lock_ends_at", "variance"))


# --- the entry point ----------------------------------------------------------------------------

def process_codes(*, code_ids: list[int], claim_token: str) -> list[StepResult]:
    """Take the one vendor step each claimed code needs now; one query loads the whole batch."""
    loaded = _load_claimed(code_ids, claim_token, timezone.now())
    results = []
    for code_id in code_ids:
        code = loaded.get(code_id)
        if code is None:
            results.append(StepResult(code_id, "skipped", "not claimed by this worker"))
            continue
        if code.claimed_until <= timezone.now():  # the lease ran out mid-batch: the pass may have given it away
            results.append(StepResult(code_id, "skipped", "the claim's lease ran out"))
            continue
        try:
            results.append(_take_step(code, claim_token, timezone.now()))
        except Exception:  # one broken row must not hold back the batch; its lease expires, it is retried
            logger.exception("processing access code %s failed", code_id, extra={"code_id": code_id})
            results.append(StepResult(code_id, "error", "unexpected error; retried after the lease"))
    return results


def process_code(*, code_id: int, claim_token: str, now: datetime | None = None) -> StepResult:
    """Take the one vendor step a claimed code needs now."""
    now = now or timezone.now()
    code = _load_claimed([code_id], claim_token, now).get(code_id)
    if code is None:
        return StepResult(code_id, "skipped", "not claimed by this worker")
    return _take_step(code, claim_token, now)


def _take_step(code: AccessCode, claim_token: str, now: datetime) -> StepResult:
    code_id = code.pk
    step = _STEPS.get(code.state)
    if step is None:
        _finish(code, claim_token, lambda fresh: None)
        return StepResult(code_id, "skipped", f"nothing to do in state {code.state}")
    # Every line logged during the step (the vendor requests too) names the code, booking and account.
    with log_fields(code_id=code_id, booking_id=code.booking_id, account_id=code.lock.account_id):
        result = step(code, claim_token, now)
    if result.action in _READY_ACTIONS:
        booking_id = code.booking_id
        transaction.on_commit(lambda: signals.code_ready.send(sender=AccessCode, code_id=code_id, booking_id=booking_id))
    return result


# Step outcomes after which a code may be on its lock with the window wanted (messages wait for this).
_READY_ACTIONS = frozenset({"created", "updated"})


# --- create -------------------------------------------------------------------------------------

def _create(code: AccessCode, token: str, now: datetime) -> StepResult:
    account = code.lock.account
    if account.status != AccountStatus.CONNECTED:
        return _creation_failed(code, token, now, account_unusable(account), request_sent=False)
    provider = provider_for_account(account)
    while True:
        prepared = _prepare_create(code, provider)
        if prepared is None:  # retired or changed since it was claimed: take the step it needs now
            return process_code(code_id=code.pk, claim_token=token, now=now)
        code, looked_before = prepared
        spec = _spec(code, code.pin if provider.capabilities.chosen_pins else None)
        try:
            issued, found = _find_or_create(provider, code, spec, looked_before, now)
        except _StillAwaited:
            return _await_lock(code, token, now, provider, code.awaiting_reason or AWAITING_PENDING)
        except CodePending as error:
            return _await_lock(code, token, now, provider, AWAITING_PENDING, news=error)
        except PinTaken as error:
            if looked_before:  # the PIN on the lock may be ours, from a write whose answer was lost
                return _await_lock(code, token, now, provider, AWAITING_PIN_TAKEN, news=error)
            if not _may_choose_again(code, provider):
                return _creation_failed(code, token, now, error, looked_before=looked_before)
            code = _finish(code, token, lambda row: _pin_rejected(row, error), release=False)
        except CodeRejected as error:
            if not _may_choose_again(code, provider):
                return _creation_failed(code, token, now, error, looked_before=looked_before)
            code = _finish(code, token, lambda row: _pin_rejected(row, error), release=False)
        except ProviderError as error:
            return _creation_failed(code, token, now, error, looked_before=looked_before)
        else:
            if found:  # created by an earlier request, with the window wanted then: move it if it changed
                spec = replace(spec, starts_at=issued.starts_at, ends_at=issued.ends_at)
            fresh = _complete_creation(code, token, issued, spec, now)
            return StepResult(code.pk, "created", f"state {fresh.state}")
        # the PIN was refused: a new one, straight away


def _may_choose_again(code: AccessCode, provider: LockProvider) -> bool:
    return provider.capabilities.chosen_pins and code.pin_rejections + 1 < MAX_PIN_REJECTIONS


# --- writes that may be on the lock but are not listed yet ----------------------------------------

AWAITING_PENDING = "pending"  # the vendor accepted the write and applies it to the lock later
AWAITING_PIN_TAKEN = "pin_taken"  # the vendor said the PIN is on the lock: maybe ours, landed late
PIN_HELD_ELSEWHERE = "The lock already holds this PIN in a code that is not this booking's."


class _StillAwaited(Exception):
    """Not listed yet, but a write of ours may still appear within the vendor's listing delay."""


def _find_or_create(
    provider: LockProvider, code: AccessCode, spec: CodeSpec, looked_before: bool, now: datetime
) -> tuple[IssuedCode, bool]:
    """The code on the lock, and whether it was found (left there by an earlier request) rather than created.

    After a write whose outcome is unknown, nothing is created until that write is found or proven
    absent: not listed under its name once the vendor's listing delay has passed since it was last
    possibly made. A PIN the vendor said was on the lock and that, a listing delay later, no code
    of ours holds is another code's: a new PIN is chosen.
    """
    account, vendor_lock_id = code.lock.account, code.lock.vendor_lock_id
    if looked_before and not provider.capabilities.find_codes:
        _warn_of_unlistable_code(code, provider)
    elif looked_before:  # an earlier request's answer was lost: it may have created the code
        found = audited_call(
            account=account, operation="find_code", lock=code.lock, code=code,
            call=lambda: provider.find_code(vendor_lock_id, spec.name),
        )
        if found is not None:
            return found, True
        if now < last_possible_write(code) + listing_delay_of(code.lock):
            raise _StillAwaited
        if code.awaiting_reason == AWAITING_PIN_TAKEN:
            raise CodeRejected(PIN_HELD_ELSEWHERE, vendor_code="pin_taken")
    code.create_sent = True  # from here a failure may hide a code on the lock (see _creation_failed)
    created = audited_call(
        account=account, operation="create_code", lock=code.lock, code=code,
        call=lambda: provider.create_code(vendor_lock_id, spec),
    )
    return created, False


def _await_lock(
    code: AccessCode, token: str, now: datetime, provider: LockProvider, reason: str, *, news: ProviderError | None = None
) -> StepResult:
    """A write of ours may be on the lock without being listed yet: look again shortly, never send
    it twice meanwhile. Not a failure (no retry counted, no alert) for one listing delay; a write
    accepted again after that, and still not shown, is a failure retried hourly like any other.
    `news`: the vendor just answered the write (accepted it, or said the PIN is already there)."""
    delay = listing_delay_of(code.lock)
    again = news is not None and code.awaiting_reason == reason and code.awaiting_lock_since is not None
    if again and now >= code.awaiting_lock_since + delay:
        stuck = CodePending(
            f"{provider.display_name} accepted the code but has not shown it on the lock for "
            f"{int(delay.total_seconds() // 60)} minutes; it is looked for before anything else is sent.",
            retry_after=getattr(news, "retry_after", None),
        )
        return _creation_failed(code, token, now, stuck, looked_before=True)
    fresh = _finish(code, token, lambda row: _record_awaiting(row, reason, now, delay, news=news))
    if fresh.state == CodeState.CREATING and fresh.next_attempt_at is not None:
        enqueue_code(fresh.pk, eta=fresh.next_attempt_at)
    return StepResult(code.pk, "awaiting", f"{reason}: looked for again at {fresh.next_attempt_at}")


def _record_awaiting(row: AccessCode, reason: str, now: datetime, delay: timedelta, *, news: ProviderError | None) -> None:
    row.create_outcome_unknown = True
    if news is not None:
        row.unconfirmed_write_at = now  # a revoke that follows waits for it too
        row.vendor_wait_until = _vendor_wait_until(news, now)
    if row.state != CodeState.CREATING:  # retired meanwhile: its own step follows now (it looks first)
        if row.state != CodeState.SUPERSEDED:  # (a superseded code is only closed at its end)
            row.next_attempt_at = now
        return
    if row.awaiting_lock_since is None or row.awaiting_reason != reason:
        row.awaiting_lock_since = now
    row.awaiting_reason = reason
    look_again = now + timedelta(seconds=settings.LOCKS_LOOK_AGAIN_SECONDS)
    last_look = max(last_possible_write(row), row.awaiting_lock_since) + delay
    row.next_attempt_at = max(min(look_again, last_look), row.vendor_wait_until or now, now + MINIMUM_LOOK_GAP)


# A look is never due at once: a look that finds nothing must not run again in the same breath.
MINIMUM_LOOK_GAP = timedelta(seconds=1)


def _warn_of_unlistable_code(code: AccessCode, provider: LockProvider) -> None:
    """The vendor cannot list codes, so a lost create cannot be looked for: say so, do not pretend."""
    zone = code.booking.property.time_zone
    spec = CodeSpec(name=code.vendor_name, pin=None, starts_at=code.starts_at, ends_at=code.ends_at, time_zone=zone)
    until = notifications.local_time(provider.ends_on_lock(spec, now=timezone.now()), zone)
    code.warning = (
        f"An earlier request to {provider.display_name} got no answer and may have created a code "
        f"that cannot be listed; if so, it works until about {until}."
    )
    AccessCode.objects.filter(pk=code.pk).update(warning=code.warning)


def _prepare_create(code: AccessCode, provider: LockProvider) -> tuple[AccessCode, bool] | None:
    """Choose the PIN and note that a create is in flight, before the request leaves.

    None when the code was retired or re-claimed since it was loaded.
    """
    looked_before = code.create_outcome_unknown
    pin = code.pin
    if provider.capabilities.chosen_pins and not pin:
        pin = _choose_pin(code, provider)
    started = AccessCode.objects.filter(
        pk=code.pk, claim_token=code.claim_token, state__in=[CodeState.SCHEDULED, CodeState.CREATING]
    ).update(pin=pin, state=CodeState.CREATING, create_outcome_unknown=True, updated_at=timezone.now())
    if not started:
        return None
    code.pin, code.state, code.create_outcome_unknown = pin, CodeState.CREATING, True
    return code, looked_before


def _choose_pin(code: AccessCode, provider: LockProvider) -> str:
    taken = getattr(code.lock, "batch_pins_in_use", None)
    if taken is None:
        taken = code.lock.batch_pins_in_use = set(
            AccessCode.objects.filter(lock_id=code.lock_id, state__in=LIVE_CODE_STATES, pin__isnull=False)
            .exclude(pk=code.pk)
            .values_list("pin", flat=True)
        )
    assignment = getattr(code.lock, "assignment", None)
    source = assignment.code_source if assignment and code.pin_rejections == 0 else "random"
    pin = pins.choose_pin(
        source=source, phone=code.booking.guest_phone, taken=taken, rule=provider.pin_problem, rng=_system_random
    )
    taken.add(pin)  # another code of the batch on this lock must not draw it too
    return pin


def _issued_fields(issued: IssuedCode, code: AccessCode) -> dict:
    return {
        "vendor_code_id": issued.vendor_code_id,
        "pin": issued.pin,
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
    }


def _complete_creation(code: AccessCode, token: str, issued: IssuedCode, sent: CodeSpec, now: datetime) -> AccessCode:
    """The common case in one conditional UPDATE; a row that changed meanwhile is merged under a lock."""
    unchanged = AccessCode.objects.filter(
        pk=code.pk, claim_token=token, state=CodeState.CREATING, starts_at=sent.starts_at, ends_at=sent.ends_at
    )
    if unchanged.update(
        **_issued_fields(issued, code),
        state=CodeState.ACTIVE,
        next_attempt_at=issued.ends_at,
        attempts=F("attempts") + 1,
        activated_at=Coalesce(F("activated_at"), Value(now)),
        claim_token="",
        claimed_until=None,
        updated_at=now,
    ):
        code.state = CodeState.ACTIVE
        return code
    return _finish(code, token, lambda row: _record_issued(row, issued, sent, now))


def _record_issued(row: AccessCode, issued: IssuedCode, sent: CodeSpec, now: datetime) -> None:
    for field, value in _issued_fields(issued, row).items():
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


def _creation_failed(
    code: AccessCode, token: str, now: datetime, error: ProviderError, *, looked_before: bool = False, request_sent: bool = True
) -> StepResult:
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
    fresh = _finish(code, token, lambda row: _record_failure(row, error, now, retryable=retryable, unknown=unknown, wrote=wrote))
    _notify_after_failure(fresh)
    return StepResult(code.pk, "failed" if fresh.state == CodeState.FAILED else "retrying", error.message)


def _pin_rejected(row: AccessCode, error: ProviderError) -> None:
    row.pin = None
    row.pin_rejections += 1
    row.create_outcome_unknown = False
    row.awaiting_lock_since, row.awaiting_reason, row.unconfirmed_write_at = None, "", None
    row.last_error, row.last_error_kind = error.message[:500], error.kind


def _record_failure(
    row: AccessCode, error: ProviderError, now: datetime, *, retryable: bool, unknown: bool, wrote: bool = False
) -> None:
    row.attempts += 1
    if wrote:  # the create may have acted: a revoke or another create waits for it to show
        row.unconfirmed_write_at = now
    row.awaiting_lock_since, row.awaiting_reason = None, ""  # a failure takes over; an unknown outcome is still looked for
    row.first_failure_at = row.first_failure_at or now
    row.last_error, row.last_error_kind = error.message[:500], error.kind
    row.vendor_wait_until = _vendor_wait_until(error, now)
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
        row.next_attempt_at = _next_retry_after(error, now) if row.create_outcome_unknown else None
        return
    row.next_attempt_at = _next_retry(row, error, now)


# A Retry-After beyond this is not believed: a garbled answer must not hold a revocation for weeks.
MAX_VENDOR_WAIT = timedelta(days=1)


def _vendor_wait_until(error: ProviderError, now: datetime) -> datetime | None:
    """Until when the vendor asked for nothing more to be sent for this code (Retry-After), if it did."""
    retry_after = getattr(error, "retry_after", None)
    return now + min(timedelta(seconds=retry_after), MAX_VENDOR_WAIT) if retry_after else None


def _next_retry_after(error: ProviderError, now: datetime) -> datetime:
    wait = max(settings.LOCKS_RETRY_INTERVAL_SECONDS, getattr(error, "retry_after", None) or 0)
    return now + timedelta(seconds=wait)


def _next_retry(row: AccessCode, error: ProviderError, now: datetime) -> datetime:
    return windows.next_retry_at(
        anchor=row.generate_at,
        now=now,
        period=retry_period(),
        deadline=row.retry_deadline,
        alert_at=row.alert_at if row.alert_sent_at is None else None,
        not_before=_vendor_wait_until(error, now),
    )


def _notify_after_failure(code: AccessCode) -> None:
    """Alert once at the alert moment (or at once if the first failure comes later); report the end."""
    now = timezone.now()
    if code.state == CodeState.FAILED and code.failure_notified_at is None:
        if notifications.code_failed(code):
            AccessCode.objects.filter(pk=code.pk).update(failure_notified_at=now, alert_sent_at=code.alert_sent_at or now)
    elif code.state == CodeState.CREATING and code.alert_sent_at is None and now >= code.alert_at:
        if notifications.code_still_failing(code):
            AccessCode.objects.filter(pk=code.pk).update(alert_sent_at=now)


# --- update ---------------------------------------------------------------------------------------

def _update(code: AccessCode, token: str, now: datetime) -> StepResult:
    account = code.lock.account
    if account.status != AccountStatus.CONNECTED:
        return _later_failed(code, token, now, account_unusable(account))
    provider = provider_for_account(account)
    capabilities = provider.capabilities
    if not capabilities.update_in_place and not capabilities.remote_revoke:
        _finish(code, token, lambda row: _supersede(row, now))
        return StepResult(code.pk, "superseded", "the vendor cannot change this code: a new one is issued")
    spec = _spec(code, code.pin)
    vendor_lock_id = code.lock.vendor_lock_id
    try:
        if capabilities.update_in_place:
            issued = audited_call(
                account=account, operation="update_code", lock=code.lock, code=code,
                call=lambda: provider.update_code(vendor_lock_id, code.vendor_code_id, spec),
            )
        else:  # delete and create again with the same PIN, so the guest's code does not change
            audited_call(
                account=account, operation="delete_code", lock=code.lock, code=code,
                call=lambda: provider.delete_code(vendor_lock_id, code.vendor_code_id),
            )
            _finish(code, token, lambda row: _forget_vendor_code(row, now), release=False)
            issued = audited_call(
                account=account, operation="create_code", lock=code.lock, code=code,
                call=lambda: provider.create_code(vendor_lock_id, spec),
            )
    except CodeNotFound:
        _finish(code, token, lambda row: _forget_vendor_code(row, now))
        return StepResult(code.pk, "retrying", "the code had vanished from the lock; it is created again")
    except ProviderError as error:
        return _later_failed(code, token, now, error)
    fresh = _finish(code, token, lambda row: _record_updated(row, issued, spec, now))
    return StepResult(code.pk, "updated", f"state {fresh.state}")


def _record_updated(row: AccessCode, issued: IssuedCode, sent: CodeSpec, now: datetime) -> None:
    row.vendor_code_id = issued.vendor_code_id
    row.lock_starts_at, row.lock_ends_at = issued.starts_at, issued.ends_at
    row.create_outcome_unknown = False
    row.last_error = row.last_error_kind = ""
    row.vendor_wait_until = None
    if row.state in (CodeState.UPDATING, CodeState.CREATING):
        if (row.starts_at, row.ends_at) == (sent.starts_at, sent.ends_at):
            row.state, row.next_attempt_at = CodeState.ACTIVE, issued.ends_at
        else:
            row.state, row.next_attempt_at = CodeState.UPDATING, now


def _forget_vendor_code(row: AccessCode, now: datetime) -> None:
    """The code is not on the lock any more: create it again (same PIN) if it is still wanted."""
    row.vendor_code_id = ""
    row.lock_starts_at = row.lock_ends_at = None
    if row.state in (CodeState.UPDATING, CodeState.ACTIVE):
        row.state, row.next_attempt_at = CodeState.CREATING, now


def _supersede(row: AccessCode, now: datetime) -> None:
    """A vendor that can neither change nor revoke: keep the old code on record, issue a new one."""
    if row.state != CodeState.UPDATING or not row.is_current:
        return
    row.state, row.is_current = CodeState.SUPERSEDED, False
    row.next_attempt_at = row.lock_ends_at or row.ends_at
    until = notifications.local_time(row.next_attempt_at, row.booking.property.time_zone)
    row.warning = f"Replaced by a new code after the booking changed; this one still works until {until}."
    row.save()
    replacement = AccessCode(
        booking=row.booking, lock=row.lock, state=CodeState.CREATING, next_attempt_at=now,
        starts_at=row.starts_at, ends_at=row.ends_at, generate_at=row.generate_at,
        retry_deadline=max(row.retry_deadline, now + timedelta(hours=1)), alert_at=row.alert_at,
    )
    replacement.save()
    enqueue_code(replacement.pk)


def _later_failed(code: AccessCode, token: str, now: datetime, error: ProviderError) -> StepResult:
    """A failed update or delete: retried hourly until the code's window is over."""
    if isinstance(error, ProviderAuthError):
        account_mark_needs_reconnect(account=code.lock.account, error=error)
    fresh = _finish(code, token, lambda row: _record_later_failure(row, error, now))
    return StepResult(code.pk, "retrying" if fresh.next_attempt_at else "failed", error.message)


def _record_later_failure(row: AccessCode, error: ProviderError, now: datetime) -> None:
    row.attempts += 1
    row.last_error, row.last_error_kind = error.message[:500], error.kind
    row.vendor_wait_until = _vendor_wait_until(error, now)
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
        row.state, row.next_attempt_at, row.finished_at = _gave_up_state(row), None, now
    else:
        # On the hour grid of the attempt that failed, like creation retries (see windows.next_retry_at).
        row.next_attempt_at = windows.next_retry_at(
            anchor=row.next_attempt_at or now, now=now, period=retry_period(), deadline=give_up_at,
            not_before=_vendor_wait_until(error, now),
        )


def _gave_up_state(row: AccessCode) -> str:
    return CodeState.REVOKED if row.state == CodeState.REVOKING else CodeState.EXPIRED


# --- revoke and expire --------------------------------------------------------------------------

def _delete(code: AccessCode, token: str, now: datetime) -> StepResult:
    account = code.lock.account
    done_state = CodeState.REVOKED if code.state == CodeState.REVOKING else CodeState.EXPIRED
    if account.status == AccountStatus.DISCONNECTED:
        _finish(code, token, lambda row: _record_deleted(row, now, note="The account was disconnected; the code ends on its own."))
        return StepResult(code.pk, done_state, "account disconnected")
    # A disconnecting account keeps its credentials until its codes' removals were attempted.
    if account.status not in (AccountStatus.CONNECTED, AccountStatus.DISCONNECTING):
        return _later_failed(code, token, now, account_unusable(account))
    provider = provider_for_account(account)
    if not provider.capabilities.remote_revoke:
        _finish(code, token, lambda row: _record_unrevocable(row, now))
        return StepResult(code.pk, "superseded" if code.state == CodeState.REVOKING else "expired")
    vendor_lock_id = code.lock.vendor_lock_id
    try:
        vendor_code_id = code.vendor_code_id
        if not vendor_code_id and code.create_outcome_unknown:
            found = audited_call(
                account=account, operation="find_code", lock=code.lock, code=code,
                call=lambda: provider.find_code(vendor_lock_id, code.vendor_name),
            )
            vendor_code_id = found.vendor_code_id if found else ""
            look_again_at = last_possible_write(code) + listing_delay_of(code.lock)
            if not found and now < look_again_at:  # a late write could still appear and open the door
                _finish(code, token, lambda row: _look_again_before_removing(row, look_again_at))
                return StepResult(code.pk, "awaiting", "a create may still appear on the lock: looked for again")
        if vendor_code_id:
            audited_call(
                account=account, operation="delete_code", lock=code.lock, code=code,
                call=lambda: provider.delete_code(vendor_lock_id, vendor_code_id),
            )
    except CodeNotFound:
        pass  # already gone: that is what we wanted
    except ProviderError as error:
        return _later_failed(code, token, now, error)
    _finish(code, token, lambda row: _record_deleted(row, now))
    return StepResult(code.pk, done_state)


def _look_again_before_removing(row: AccessCode, at: datetime) -> None:
    if row.state in (CodeState.REVOKING, CodeState.EXPIRING) and not row.vendor_code_id:
        row.next_attempt_at = at


def _record_deleted(row: AccessCode, now: datetime, note: str = "") -> None:
    if row.state == CodeState.REVOKING:
        row.state = CodeState.REVOKED
    elif row.state == CodeState.EXPIRING:
        row.state = CodeState.EXPIRED
    else:
        return  # reconsidered meanwhile
    row.vendor_code_id = ""
    row.create_outcome_unknown = False
    row.next_attempt_at, row.finished_at = None, now
    row.last_error, row.vendor_wait_until = note, None


def _record_unrevocable(row: AccessCode, now: datetime) -> None:
    if row.state == CodeState.REVOKING:
        code_record_unrevocable(row)
    elif row.state == CodeState.EXPIRING:
        row.state, row.next_attempt_at, row.finished_at = CodeState.EXPIRED, None, now


def _expire(code: AccessCode, token: str, now: datetime) -> StepResult:
    """An active code whose window is over is removed from the lock, freeing its memory."""
    if code.lock_ends_at and code.lock_ends_at > now:  # due early (clock skew, stale row): wait
        _finish(code, token, lambda row: setattr(row, "next_attempt_at", row.lock_ends_at))
        return StepResult(code.pk, "skipped", "not over yet")
    fresh = _finish(code, token, _start_expiring, release=False)
    if fresh.state != CodeState.EXPIRING:
        return process_code(code_id=code.pk, claim_token=token, now=now)
    code.state = CodeState.EXPIRING
    return _delete(code, token, now)


def _start_expiring(row: AccessCode) -> None:
    if row.state == CodeState.ACTIVE:
        row.state = CodeState.EXPIRING


def _end_superseded(code: AccessCode, token: str, now: datetime) -> StepResult:
    _finish(code, token, lambda row: _close_superseded(row, now))
    return StepResult(code.pk, "expired", "superseded code reached its end")


def _close_superseded(row: AccessCode, now: datetime) -> None:
    if row.state == CodeState.SUPERSEDED and (row.next_attempt_at is None or row.next_attempt_at <= now):
        row.state, row.next_attempt_at, row.finished_at = CodeState.EXPIRED, None, now


def _clean_up_failed(code: AccessCode, token: str, now: datetime) -> StepResult:
    """A failed code whose last create went unanswered: if the create did act, adopt the code
    while its window lasts (the guest's PIN is the one we stored), else remove it from the lock."""
    account = code.lock.account
    if account.status != AccountStatus.CONNECTED or now >= code.ends_at + EXPIRY_CLEANUP_GIVE_UP:
        _finish(code, token, _stop_cleaning)
        return StepResult(code.pk, "failed", "clean-up given up")
    provider = provider_for_account(account)
    if not provider.capabilities.find_codes:
        _warn_of_unlistable_code(code, provider)  # it cannot be looked for: say so on the code
        _finish(code, token, _stop_cleaning)
        return StepResult(code.pk, "failed", "the vendor cannot list codes")
    vendor_lock_id = code.lock.vendor_lock_id
    try:
        found = audited_call(
            account=account, operation="find_code", lock=code.lock, code=code,
            call=lambda: provider.find_code(vendor_lock_id, code.vendor_name),
        )
        if found is not None and found.ends_at > now:
            _finish(code, token, lambda row: _adopt(row, found, now))
            return StepResult(code.pk, "created", "found on the lock after all")
        if found is not None and provider.capabilities.remote_revoke:
            audited_call(
                account=account, operation="delete_code", lock=code.lock, code=code,
                call=lambda: provider.delete_code(vendor_lock_id, found.vendor_code_id),
            )
    except ProviderError as error:
        _finish(code, token, lambda row: _retry_cleaning(row, error, now))
        return StepResult(code.pk, "retrying", f"clean-up: {error.message}")
    _finish(code, token, _stop_cleaning)
    return StepResult(code.pk, "failed", "clean-up done")


def _adopt(row: AccessCode, found: IssuedCode, now: datetime) -> None:
    if row.state != CodeState.FAILED:
        return
    for field, value in _issued_fields(found, row).items():
        setattr(row, field, value)
    row.state, row.next_attempt_at = CodeState.ACTIVE, found.ends_at
    row.activated_at = row.activated_at or now
    if (found.starts_at, found.ends_at) != (row.starts_at, row.ends_at):
        row.state, row.next_attempt_at = CodeState.UPDATING, now


def _retry_cleaning(row: AccessCode, error: ProviderError, now: datetime) -> None:
    row.vendor_wait_until = _vendor_wait_until(error, now)
    # Only while the clean-up is still wanted: a worker that took over an expired claim may have done it.
    if row.state == CodeState.FAILED and row.create_outcome_unknown:
        row.next_attempt_at = _next_retry_after(error, now)


def _stop_cleaning(row: AccessCode) -> None:
    if row.state == CodeState.FAILED:
        row.create_outcome_unknown, row.next_attempt_at = False, None


_STEPS = {
    CodeState.FAILED: _clean_up_failed,
    CodeState.SCHEDULED: _create,
    CodeState.CREATING: _create,
    CodeState.UPDATING: _update,
    CodeState.REVOKING: _delete,
    CodeState.EXPIRING: _delete,
    CodeState.ACTIVE: _expire,
    CodeState.SUPERSEDED: _end_superseded,
}
