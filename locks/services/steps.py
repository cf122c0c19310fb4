"""The vendor side of the lifecycle: take the one vendor step each claimed code needs, by its state.

Each step reads the claimed code, calls the vendor outside any transaction, then merges the
result into the row as it is *now* (a booking may have changed meanwhile) in a short
transaction that also releases the claim (`claims.finish`). Creation is in `creation`, the
recording of outcomes in `outcomes`.
"""

import logging
import time
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.utils import timezone

from locks import notifications, signals
from locks.models import AccessCode, AccountStatus, CodeState
from locks.providers.exceptions import (
    CodeNotFound,
    ProviderError,
)
from locks.services.claims import finish, load_claimed, renew_claims
from locks.services.codes import (
    can_revoke,
    can_update,
    code_record_finished,
    enqueue_code,
    last_possible_write,
    listing_delay_of,
)
from locks.services.creation import create_step, spec_for, warn_of_unlistable_code
from locks.services.outcomes import (
    EXPIRY_CLEANUP_GIVE_UP,
    StepResult,
    adopt_found,
    forget_vendor_code,
    later_failed,
    record_deleted,
    record_unrevocable,
    record_updated,
    retry_cleaning,
    stop_cleaning,
)
from locks.services.vendor_accounts import account_unusable, audit_rows_together, audited_call, provider_for_account
from nowistay.logs import log_fields

logger = logging.getLogger(__name__)


# --- the entry point ------------------------------------------------------------------------------
def process_codes(*, code_ids: list[int], claim_token: str) -> list[StepResult]:
    """Take the one vendor step each claimed code needs now; one query loads the whole batch.

    Taking the batch starts its lease (the pass only queued it), and the lease is renewed while
    the batch is worked through, so a long batch is never given away under the worker."""
    lease = _BatchLease(code_ids, claim_token)
    loaded = load_claimed(code_ids, claim_token, timezone.now())
    results, ready = [], _ReadyCodes()
    with audit_rows_together():
        try:
            for index, code_id in enumerate(code_ids):
                code = loaded.get(code_id)
                if code is None:
                    results.append(StepResult(code_id, "skipped", "not claimed by this worker"))
                    continue
                if not lease.keep(code_ids[index:]):  # a step outlasted the lease: the pass may have given it away
                    results.append(StepResult(code_id, "skipped", "the claim's lease ran out"))
                    continue
                try:
                    results.append(ready.add(code, _take_step(code, claim_token, timezone.now())))
                except Exception:  # one broken row must not hold back the batch; its lease expires, it is retried
                    logger.exception("processing access code %s failed", code_id, extra={"code_id": code_id})
                    results.append(StepResult(code_id, "error", "unexpected error; retried after the lease"))
                ready.announce_if_waited()
        finally:
            ready.announce()
    return results


# Codes of a batch that are ready wait at most this long to be announced together.
READY_ANNOUNCE_SECONDS = 2.0


class _ReadyCodes:
    """The codes of a batch that reached their locks, announced together after commit
    (`signals.codes_ready`): once the first has waited READY_ANNOUNCE_SECONDS, and at the batch's
    end, so a receiver answers for many codes in one query and no guest waits on a long batch."""

    def __init__(self):
        self._codes: list[signals.ReadyCode] = []
        self._events: list[signals.CodeEvent] = []
        self._since: float | None = None

    def add(self, code: AccessCode, result: StepResult) -> StepResult:
        if result.action in _READY_ACTIONS:
            self._codes.append(signals.ReadyCode(code.pk, code.booking_id, code.fallback))
        kind = _event_kind(code.state, result.action)
        if kind:
            data = {"step": str(result.action), "detail": result.detail[:200]}
            if kind == "retrying":  # the host was alerted at alert_at: integrations may escalate from then
                data["past_alert"] = code.alert_at is not None and code.alert_at <= timezone.now()
            self._events.append(signals.CodeEvent(kind, code.pk, code.booking_id, timezone.now(), data))
        if self._codes or self._events:
            self._since = self._since if self._since is not None else time.monotonic()
        return result

    def announce_if_waited(self) -> None:
        if self._since is not None and time.monotonic() - self._since >= READY_ANNOUNCE_SECONDS:
            self.announce()

    def announce(self) -> None:
        codes, events, self._codes, self._events, self._since = self._codes, self._events, [], [], None
        if codes or events:
            transaction.on_commit(lambda: _announce(codes, events))


def _announce(codes: list[signals.ReadyCode], events: list[signals.CodeEvent]) -> None:
    if codes:
        signals.codes_ready.send(sender=AccessCode, codes=codes)
    if events:
        signals.code_events.send(sender=signals.CodeEvent, events=events)


class _BatchLease:
    """A worker's hold on its batch: started when the batch is taken, renewed (one UPDATE for the
    codes still to do) once a third of the lease has gone by."""

    def __init__(self, code_ids: list[int], token: str):
        self.token = token
        self._renew(code_ids)

    def keep(self, remaining: list[int]) -> bool:
        """Whether the batch is still held; renewed first when due."""
        now = timezone.now()
        if now >= self.renewed_at + (self.held_until - self.renewed_at) / 3 and now < self.held_until:
            self._renew(remaining)
        return timezone.now() < self.held_until

    def _renew(self, code_ids: list[int]) -> None:
        self.renewed_at = timezone.now()
        self.held_until = renew_claims(code_ids, self.token, self.renewed_at)


def process_code(*, code_id: int, claim_token: str, now: datetime | None = None) -> StepResult:
    """Take the one vendor step a claimed code needs now."""
    now = now or timezone.now()
    code = load_claimed([code_id], claim_token, now).get(code_id)
    if code is None:
        return StepResult(code_id, "skipped", "not claimed by this worker")
    ready = _ReadyCodes()
    result = ready.add(code, _take_step(code, claim_token, now))
    ready.announce()
    return result


def _take_step(code: AccessCode, claim_token: str, now: datetime) -> StepResult:
    code_id = code.pk
    step = _STEPS.get(code.state)
    if step is None:
        finish(code, claim_token, lambda fresh: None)
        return StepResult(code_id, "skipped", f"nothing to do in state {code.state}")
    # Every line logged during the step (the vendor requests too) names the code, booking and account.
    with log_fields(code_id=code_id, booking_id=code.booking_id, account_id=code.lock.account_id):
        result = step(code, claim_token, now)
        if result is None:  # the code changed since it was claimed: take the step it needs now
            fresh = load_claimed([code_id], claim_token, now).get(code_id)
            result = _take_step(fresh, claim_token, now) if fresh else StepResult(code_id, "skipped", "not claimed by this worker")
    return result


# Step outcomes after which a code may be on its lock with the window wanted (messages wait for this).
_READY_ACTIONS = frozenset({"created", "updated"})
# Step outcomes integrations hear of (signals.code_events), by the event's kind.
_EVENT_KINDS = {
    "created": "created", "updated": "changed", "revoked": "removed", "expired": "removed", "failed": "failed", "retrying": "retrying",
}


def _event_kind(state_before: str, action: str) -> str | None:
    if state_before == CodeState.FAILED:  # cleaning up after a failure already announced
        return None
    if action == "superseded":  # a revoke the vendor cannot do (an update it cannot do issues a new code)
        return "unrevocable" if state_before == CodeState.REVOKING else None
    return _EVENT_KINDS.get(action)


# --- update ---------------------------------------------------------------------------------------
def _update(code: AccessCode, token: str, now: datetime) -> StepResult:
    account = code.lock.account
    if account.status != AccountStatus.CONNECTED:
        return later_failed(code, token, now, account_unusable(account))
    provider = provider_for_account(account)
    capabilities = provider.capabilities
    if not can_update(code) and not can_revoke(code):
        finish(code, token, lambda row: _supersede(row, now))
        return StepResult(code.pk, "superseded", "the vendor cannot change this code: a new one is issued")
    spec = spec_for(code, code.pin)
    vendor_lock_id = code.lock.vendor_lock_id
    try:
        if not capabilities.update_in_place:
            audited_call(
                account=account,
                operation="delete_code",
                lock=code.lock,
                code=code,
                call=lambda: provider.delete_code(vendor_lock_id, code.vendor_code_id),
            )
            # Created again by the creation step, with the same PIN: a refusal there is a failed
            # code the host hears of, and a lost answer is looked for before anything is resent.
            finish(code, token, lambda row: forget_vendor_code(row, now))
            return StepResult(code.pk, "retrying", "removed from the lock; it is created again with the new times")
        issued = audited_call(
            account=account,
            operation="update_code",
            lock=code.lock,
            code=code,
            call=lambda: provider.update_code(vendor_lock_id, code.vendor_code_id, spec),
        )
    except CodeNotFound:
        finish(code, token, lambda row: forget_vendor_code(row, now))
        return StepResult(code.pk, "retrying", "the code had vanished from the lock; it is created again")
    except ProviderError as error:
        return later_failed(code, token, now, error)
    fresh = finish(code, token, lambda row: record_updated(row, issued, spec, now))
    return StepResult(code.pk, "updated", f"state {fresh.state}")


def _supersede(row: AccessCode, now: datetime) -> None:
    """A vendor that can neither change nor revoke: keep the old code on record, issue a new one."""
    if row.state != CodeState.UPDATING or not row.is_current:
        return
    row.state, row.is_current, row.retired_at = CodeState.SUPERSEDED, False, now
    row.next_attempt_at = row.lock_ends_at or row.ends_at
    until = notifications.local_time(row.next_attempt_at, row.booking.property.time_zone)
    row.warning = f"Replaced by a new code after the booking changed; this one still works until {until}."
    row.save()
    replacement = AccessCode(
        booking=row.booking,
        lock=row.lock,
        state=CodeState.CREATING,
        next_attempt_at=now,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        generate_at=row.generate_at,
        retry_deadline=max(row.retry_deadline, now + timedelta(hours=1)),
        alert_at=row.alert_at,
    )
    replacement.save()
    enqueue_code(replacement.pk)


# --- revoke and expire ----------------------------------------------------------------------------
def _delete(code: AccessCode, token: str, now: datetime) -> StepResult:
    account = code.lock.account
    done_state = CodeState.REVOKED if code.state == CodeState.REVOKING else CodeState.EXPIRED
    if account.status == AccountStatus.DISCONNECTED:
        finish(code, token, lambda row: record_deleted(row, now, note="The account was disconnected; the code ends on its own."))
        return StepResult(code.pk, done_state, "account disconnected")
    # A disconnecting account keeps its credentials until its codes' removals were attempted.
    if account.status not in (AccountStatus.CONNECTED, AccountStatus.DISCONNECTING):
        return later_failed(code, token, now, account_unusable(account))
    provider = provider_for_account(account)
    if not can_revoke(code):
        finish(code, token, lambda row: record_unrevocable(row, now))
        return StepResult(code.pk, "superseded" if code.state == CodeState.REVOKING else "expired")
    vendor_lock_id = code.lock.vendor_lock_id
    try:
        vendor_code_id = code.vendor_code_id
        if not vendor_code_id and code.create_outcome_unknown:
            found = audited_call(
                account=account,
                operation="find_code",
                lock=code.lock,
                code=code,
                call=lambda: provider.find_code(vendor_lock_id, code.vendor_name),
            )
            vendor_code_id = found.vendor_code_id if found else ""
            look_again_at = last_possible_write(code) + listing_delay_of(code.lock)
            if not found and now < look_again_at:  # a late write could still appear and open the door
                finish(code, token, lambda row: _look_again_before_removing(row, look_again_at))
                return StepResult(code.pk, "awaiting", "a create may still appear on the lock: looked for again")
        if vendor_code_id:
            audited_call(
                account=account,
                operation="delete_code",
                lock=code.lock,
                code=code,
                call=lambda: provider.delete_code(vendor_lock_id, vendor_code_id),
            )
    except CodeNotFound:
        pass  # already gone: that is what we wanted
    except ProviderError as error:
        return later_failed(code, token, now, error)
    finish(code, token, lambda row: record_deleted(row, now))
    return StepResult(code.pk, done_state)


def _look_again_before_removing(row: AccessCode, at: datetime) -> None:
    if row.state in (CodeState.REVOKING, CodeState.EXPIRING) and not row.vendor_code_id:
        row.next_attempt_at = at


def _expire(code: AccessCode, token: str, now: datetime) -> StepResult:
    """An active code whose window is over is removed from the lock, freeing its memory."""
    if code.lock_ends_at and code.lock_ends_at > now:  # due early (clock skew, stale row): wait
        finish(code, token, _wait_for_its_end)
        return StepResult(code.pk, "skipped", "not over yet")
    fresh = finish(code, token, _start_expiring, release=False)
    if fresh.state != CodeState.EXPIRING:
        return process_code(code_id=code.pk, claim_token=token, now=now)
    code.state = CodeState.EXPIRING
    return _delete(code, token, now)


def _wait_for_its_end(row: AccessCode) -> None:
    """Still active: its removal waits for the lock's end. A row that changed meanwhile (cancelled:
    revoking, due now) keeps the step it needs now."""
    if row.state == CodeState.ACTIVE:
        row.next_attempt_at = row.lock_ends_at


def _start_expiring(row: AccessCode) -> None:
    if row.state == CodeState.ACTIVE:
        row.state = CodeState.EXPIRING


def _end_superseded(code: AccessCode, token: str, now: datetime) -> StepResult:
    finish(code, token, lambda row: _close_superseded(row, now))
    return StepResult(code.pk, "expired", "superseded code reached its end")


def _close_superseded(row: AccessCode, now: datetime) -> None:
    if row.state == CodeState.SUPERSEDED and (row.next_attempt_at is None or row.next_attempt_at <= now):
        code_record_finished(row, CodeState.EXPIRED, now)


def _clean_up_failed(code: AccessCode, token: str, now: datetime) -> StepResult:
    """A failed code whose last create went unanswered: if the create did act, adopt the code
    while its window lasts (the guest's PIN is the one we stored), else remove it from the lock."""
    account = code.lock.account
    if account.status != AccountStatus.CONNECTED or now >= code.ends_at + EXPIRY_CLEANUP_GIVE_UP:
        finish(code, token, stop_cleaning)
        return StepResult(code.pk, "failed", "clean-up given up")
    provider = provider_for_account(account)
    if not provider.capabilities.find_codes:
        warn_of_unlistable_code(code, provider)  # it cannot be looked for: say so on the code
        finish(code, token, stop_cleaning)
        return StepResult(code.pk, "failed", "the vendor cannot list codes")
    vendor_lock_id = code.lock.vendor_lock_id
    try:
        found = audited_call(
            account=account,
            operation="find_code",
            lock=code.lock,
            code=code,
            call=lambda: provider.find_code(vendor_lock_id, code.vendor_name),
        )
        if found is not None and found.ends_at > now:
            finish(code, token, lambda row: adopt_found(row, found, now))
            return StepResult(code.pk, "created", "found on the lock after all")
        if found is not None and provider.capabilities.remote_revoke:
            audited_call(
                account=account,
                operation="delete_code",
                lock=code.lock,
                code=code,
                call=lambda: provider.delete_code(vendor_lock_id, found.vendor_code_id),
            )
    except ProviderError as error:
        finish(code, token, partial(retry_cleaning, error=error, now=now))
        return StepResult(code.pk, "retrying", f"clean-up: {error.message}")
    finish(code, token, stop_cleaning)
    return StepResult(code.pk, "failed", "clean-up done")


_STEPS = {
    CodeState.FAILED: _clean_up_failed,
    CodeState.SCHEDULED: create_step,
    CodeState.CREATING: create_step,
    CodeState.UPDATING: _update,
    CodeState.REVOKING: _delete,
    CodeState.EXPIRING: _delete,
    CodeState.ACTIVE: _expire,
    CodeState.SUPERSEDED: _end_superseded,
}
