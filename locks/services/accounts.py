"""Account-level events: refresh the lock list, disconnect, reconnect."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from locks.models import AccessCode, AccountStatus, CodeState, Lock, LockAssignment, ProviderAccount
from locks.notifications import local_time
from locks.providers.exceptions import ProviderAuthError, ProviderError, VendorUnavailable
from locks.services.claims import claim_code
from locks.services.codes import code_retire, enqueue_code
from locks.services.serialise import ACCOUNT_TOKEN_SCOPE, one_at_a_time
from locks.services.steps import process_code
from locks.services.vendor_accounts import account_mark_needs_reconnect, audited_call, provider_for_account

logger = logging.getLogger(__name__)

PENDING_WORK_STATES = [CodeState.CREATING, CodeState.UPDATING, CodeState.REVOKING, CodeState.EXPIRING]


def account_refresh_locks(*, account: ProviderAccount) -> list[Lock]:
    """Read the account's locks from the vendor and store them; locks it no longer has stay, unavailable.

    A vendor refusing the account's credentials marks it for reconnection (the host is asked to
    sign in again), as code work does.
    """
    provider = provider_for_account(account)
    try:
        remote_locks = audited_call(account=account, operation="list_locks", call=provider.list_locks)
    except ProviderAuthError as error:
        account_mark_needs_reconnect(account=account, error=error)
        raise
    now = timezone.now()
    seen = []
    with transaction.atomic():
        for remote in remote_locks:
            lock, _ = Lock.objects.update_or_create(
                account=account,
                vendor_lock_id=remote.vendor_lock_id,
                defaults={
                    "name": remote.name,
                    "supports_remote_codes": remote.supports_remote_codes,
                    "unavailable_reason": "" if remote.supports_remote_codes else (remote.unavailable_reason or "Not supported."),
                    "is_online": remote.is_online,
                    "vendor_time_zone": remote.time_zone,
                    "vendor_utc_offset_minutes": remote.utc_offset_minutes,
                    "last_refreshed_at": now,
                },
            )
            seen.append(lock)
        account.locks.exclude(pk__in=[lock.pk for lock in seen]).update(
            supports_remote_codes=False, unavailable_reason="No longer in this account.", is_online=None, last_refreshed_at=now
        )
    return seen


# --- disconnecting ---------------------------------------------------------------------------------
#
# docs/product.md, "Connecting a lock account" (disconnecting), in this order: revoke the codes of bookings not started yet on the
# provider's locks, remove its lock assignments, delete its credentials and tokens. Revoking is one
# vendor request per code (each up to the vendor's timeout), too long for a web request, so the
# request only *starts* it: in one transaction the account becomes DISCONNECTING (no code is created
# for its locks any more), the upcoming codes are retired and the assignments removed. A task then
# *finishes* it: one revocation attempt per code with the credentials still stored, the codes that
# could not be revoked recorded as working until their end, and only then the credentials deleted.

DISCONNECT_NOTE = "Could not be removed before disconnecting; it works until its end."
# A disconnection still running this long after it began lost its task: the keep-alive run starts it again.
DISCONNECT_STALLED_AFTER = timedelta(hours=1)
_AUTH_ERROR_KIND = ProviderAuthError("").kind


@dataclass(frozen=True)
class DisconnectReport:
    revoked: int
    left_valid: list[AccessCode]  # could not be revoked: they work until their end
    staying_untouched: int


@dataclass(frozen=True)
class DisconnectPlan:
    """What starting a disconnection did at once, and what its background part is left to do."""

    started: bool  # False: it was already disconnecting (or disconnected); nothing changed
    to_revoke: int = 0  # upcoming codes on the locks: one vendor request each, in the background
    revoked_at_once: int = 0  # upcoming codes that never reached a lock: nothing to ask the vendor
    left_valid: list[AccessCode] = field(default_factory=list)  # cannot be revoked: work until their end
    assignments_removed: int = 0
    staying_untouched: int = 0
    # Some code on the account's locks is to be revoked at the vendor. When none is, finishing makes
    # no vendor request and can be done at once.
    awaits_vendor: bool = False

    @property
    def upcoming_revoked(self) -> int:
        return self.to_revoke + self.revoked_at_once


def account_disconnect(*, account: ProviderAccount, now: datetime | None = None) -> DisconnectReport:
    """Start and finish a disconnection in one call (tests, the demo, scripts). The dashboard starts
    it only and leaves the vendor requests to `tasks.finish_account_disconnect`."""
    account_disconnect_start(account=account, now=now)
    report = account_disconnect_finish(account_id=account.pk, now=now)
    account.refresh_from_db()
    if report is None:  # it was already disconnected: nothing was left to do
        report = DisconnectReport(revoked=0, left_valid=[], staying_untouched=_staying_count(account))
    return report


def account_disconnect_start(*, account: ProviderAccount, now: datetime | None = None) -> DisconnectPlan:
    """The part of disconnecting a web request can afford, in one transaction: the account becomes
    DISCONNECTING, the codes of stays not started yet are retired (kept for the finishing task to
    revoke) and every lock assignment of the account is removed. No vendor request is made.

    An account already disconnecting (a second press) or disconnected is left as it is.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = ProviderAccount.objects.select_for_update().get(pk=account.pk)
        if locked.status in (AccountStatus.DISCONNECTING, AccountStatus.DISCONNECTED):
            account.status = locked.status
            return DisconnectPlan(started=False)
        # Refused credentials (needs reconnecting) cannot revoke anything: nothing is attempted.
        can_revoke = locked.status == AccountStatus.CONNECTED
        upcoming = list(
            AccessCode.objects.select_for_update(of=("self",))
            .select_related("lock__account", "booking__property")
            .filter(lock__account=locked, is_current=True, starts_at__gt=now)
            .exclude(state__in=[CodeState.REVOKED, CodeState.EXPIRED, CodeState.FAILED])
            .order_by("starts_at", "id")
        )
        to_revoke, revoked_at_once, left_valid = [], 0, []
        for code in upcoming:
            code_retire(code=code, now=now, enqueue=False)
            if code.state == CodeState.REVOKED:
                revoked_at_once += 1
            elif code.state == CodeState.REVOKING and can_revoke:
                to_revoke.append(code.pk)
            else:  # the vendor cannot revoke it (e.g. igloohome's algoPINs), or the account is refused
                left_valid.append(code)
        if not can_revoke:
            _record_left_valid(AccessCode.objects.filter(lock__account=locked, state=CodeState.REVOKING))
        # Kept out of the scheduler's way (it would find the account unusable and put the revocation
        # off by an hour): the finishing task takes every code being revoked on these locks.
        AccessCode.objects.filter(pk__in=to_revoke).update(next_attempt_at=None)
        assignments = LockAssignment.objects.filter(lock__account=locked)
        assignments_removed = assignments.count()
        assignments.delete()
        awaits_vendor = AccessCode.objects.filter(lock__account=locked, state=CodeState.REVOKING).exists()
        locked.status = AccountStatus.DISCONNECTING
        locked.disconnect_started_at = now
        locked.disconnect_summary = ""
        locked.save(update_fields=["status", "disconnect_started_at", "disconnect_summary", "updated_at"])
        staying = _staying_count(locked)
    account.status, account.disconnect_started_at, account.disconnect_summary = locked.status, now, ""
    return DisconnectPlan(
        started=True,
        to_revoke=len(to_revoke),
        revoked_at_once=revoked_at_once,
        left_valid=left_valid,
        assignments_removed=assignments_removed,
        staying_untouched=staying,
        awaits_vendor=awaits_vendor,
    )


class WorkerHoldsCode(Exception):
    """A worker is mid-request on one of the account's codes being revoked, or the vendor asked us
    to wait before sending its revocation: finish a little later, rather than record as still
    working a code that could have been revoked."""


def account_disconnect_finish(*, account_id: int, now: datetime | None = None, wait_for_workers: bool = False) -> DisconnectReport | None:
    """The vendor side of disconnecting: one revocation attempt per code being revoked on the
    account's locks while the credentials are still stored; the codes that could not be revoked are
    recorded as working until their end; then the credentials and tokens are deleted, the account is
    DISCONNECTED and a summary kept for the host.

    Idempotent: None when the account is not disconnecting (finished already, or never started).
    `now` pins the clock for every step (tests); by default each step reads it afresh.
    """
    account = ProviderAccount.objects.filter(pk=account_id, status=AccountStatus.DISCONNECTING).first()
    if account is None:
        return None
    _revoke_while_disconnecting(account, now)
    now = now or timezone.now()
    held_back = Q(claimed_until__gt=now) | Q(vendor_wait_until__gt=now)  # a worker holds it, or the vendor asked to wait
    if wait_for_workers and AccessCode.objects.filter(held_back, lock__account=account, state=CodeState.REVOKING).exists():
        raise WorkerHoldsCode(account_id)
    # The token lock: a refresh still in flight must not write its tokens back after this.
    with one_at_a_time(ACCOUNT_TOKEN_SCOPE, str(account_id)), transaction.atomic():
        account = ProviderAccount.objects.select_for_update().filter(pk=account_id, status=AccountStatus.DISCONNECTING).first()
        if account is None:  # another run finished it meanwhile
            return None
        _record_left_valid(AccessCode.objects.filter(lock__account=account, state=CodeState.REVOKING))
        report = _disconnect_report(account, now)
        account.credentials = {}
        account.token_expires_at = None
        account.status = AccountStatus.DISCONNECTED
        account.disconnect_summary = disconnect_summary_text(account, report)
        account.save()
    return report


def _revoke_while_disconnecting(account: ProviderAccount, now: datetime | None) -> None:
    """Claim each code being revoked on the account's locks and take its vendor step, in turn
    (the revoke step still uses a DISCONNECTING account's credentials; nothing else does)."""
    code_ids = list(
        AccessCode.objects.filter(lock__account=account, state=CodeState.REVOKING).order_by("starts_at", "id").values_list("id", flat=True)
    )
    for code_id in code_ids:
        step_now = now or timezone.now()
        token = _claim_for_disconnect(code_id, step_now)
        if token is None:  # changed meanwhile, or a worker holds it: recorded by the final step
            continue
        try:
            process_code(code_id=code_id, claim_token=token, now=step_now)
        except Exception:  # one broken row must not hold back the disconnection; it is recorded as left valid
            logger.exception("revoking access code %s while disconnecting account %s failed", code_id, account.pk)
            continue
        refused = AccessCode.objects.filter(pk=code_id, state=CodeState.REVOKING, last_error_kind=_AUTH_ERROR_KIND)
        if refused.exists():  # the vendor refuses the credentials: no other code can be revoked either
            break


def _claim_for_disconnect(code_id: int, now: datetime) -> str | None:
    """Claim a code being revoked, whether it waits for this task or for a retry an hour away."""
    with transaction.atomic():
        code = AccessCode.objects.select_for_update().filter(pk=code_id, state=CodeState.REVOKING).first()
        if code is None or (code.claimed_until is not None and code.claimed_until >= now):
            return None
        AccessCode.objects.filter(pk=code_id).update(next_attempt_at=now)
        return claim_code(code_id=code_id, now=now)


def _record_left_valid(codes) -> None:
    """Codes that could not be revoked before the credentials go: on record as working until their end."""
    for code in codes.select_for_update(of=("self",)):
        code.state, code.retired_at = CodeState.SUPERSEDED, timezone.now()
        code.next_attempt_at = code.lock_ends_at or code.ends_at
        code.last_error = DISCONNECT_NOTE
        code.save()


def _staying_count(account: ProviderAccount) -> int:
    return AccessCode.objects.filter(lock__account=account, is_current=True, state=CodeState.ACTIVE).count()


def _disconnect_report(account: ProviderAccount, now: datetime) -> DisconnectReport:
    """What this disconnection did: codes of stays not started when it began that it revoked, and
    every code it retired that still works (whatever its stay: the host must know what still opens)."""
    since = account.disconnect_started_at or now
    retired = AccessCode.objects.filter(lock__account=account, is_current=False)
    revoked = retired.filter(state=CodeState.REVOKED, starts_at__gt=since, finished_at__gte=since).count()
    left_valid = list(
        retired.filter(state=CodeState.SUPERSEDED, updated_at__gte=since)
        .select_related("booking__property", "lock__account")
        .order_by("starts_at", "id")
    )
    return DisconnectReport(revoked=revoked, left_valid=left_valid, staying_untouched=_staying_count(account))


SUMMARY_MAX_LENGTH = 500


def disconnect_summary_text(account: ProviderAccount, report: DisconnectReport) -> str:
    """The outcome in a few sentences for the host (kept on the account, at most 500 characters):
    each code that still works is named while there is room."""
    head = [f"{account.provider_name} is disconnected and its stored credentials are deleted."]
    if report.revoked:
        head.append(f"{report.revoked} code(s) of upcoming bookings were revoked.")
    named = []
    for code in report.left_valid:
        until = local_time(code.lock_ends_at or code.ends_at, code.booking.property.time_zone)
        named.append(f"{code.booking.guest_name}'s code at {code.booking.property.name} could not be removed and works until {until}.")
    tail = []
    if report.staying_untouched:
        tail.append(f"{report.staying_untouched} guest(s) staying now keep their code until check-out.")
    for shown in range(len(named), -1, -1):
        more = len(named) - shown
        rest = [f"{more} more code(s) could not be removed and work until their end (see Bookings and codes)."] if more else []
        text = " ".join(head + named[:shown] + rest + tail)
        if len(text) <= SUMMARY_MAX_LENGTH:
            return text
    return text[: SUMMARY_MAX_LENGTH - 1] + "…"


def disconnects_stalled(*, now: datetime | None = None) -> list[int]:
    """Accounts still disconnecting long after it began: their finishing task was lost."""
    now = now or timezone.now()
    stalled = ProviderAccount.objects.filter(status=AccountStatus.DISCONNECTING).filter(
        Q(disconnect_started_at__lt=now - DISCONNECT_STALLED_AFTER) | Q(disconnect_started_at__isnull=True)
    )
    return list(stalled.order_by("id").values_list("id", flat=True))


def disconnecting_refusal(account: ProviderAccount) -> VendorUnavailable:
    """Signing in again while the codes are still being revoked: the finishing task would delete the
    new credentials. Connect views show a VendorUnavailable's message to the host."""
    return VendorUnavailable(
        f"{account.provider_name} is still being disconnected (the codes of upcoming bookings are being revoked); "
        "connect it again in a minute, once that is done."
    )


def account_reconnected(*, account: ProviderAccount, credentials: dict, expires_at: datetime | None, display_name: str = "") -> int:
    """Store fresh credentials and resume at once every piece of work that came due meanwhile
    (a code the vendor asked to wait for resumes when that wait ends). Returns how many resumed now.

    Refused (VendorUnavailable, nothing changed) while the account is still disconnecting.
    """
    now = timezone.now()
    with one_at_a_time(ACCOUNT_TOKEN_SCOPE, str(account.pk)), transaction.atomic():
        status = ProviderAccount.objects.select_for_update().filter(pk=account.pk).values_list("status", flat=True).first()
        if status == AccountStatus.DISCONNECTING:
            raise disconnecting_refusal(account)
        account.credentials = credentials
        account.token_expires_at = expires_at
        account.status = AccountStatus.CONNECTED
        account.last_error = ""
        account.disconnect_started_at = None
        account.disconnect_summary = ""
        if display_name:
            account.display_name = display_name
        account.save()
        waiting = AccessCode.objects.filter(lock__account=account).filter(
            Q(state__in=PENDING_WORK_STATES, next_attempt_at__gt=now)
            | Q(state=CodeState.SCHEDULED, generate_at__lte=now, next_attempt_at__gt=now)
        )
        # Codes the vendor asked to hear nothing of yet (Retry-After) resume when that wait ends.
        asked_to_wait = Q(vendor_wait_until__gt=now)
        waiting.filter(asked_to_wait, next_attempt_at__gt=F("vendor_wait_until")).update(next_attempt_at=F("vendor_wait_until"))
        ids = list(waiting.exclude(asked_to_wait).values_list("id", flat=True))
        AccessCode.objects.filter(id__in=ids).update(next_attempt_at=now)
        for code_id in ids:
            enqueue_code(code_id)
    return len(ids)


def accounts_keep_alive() -> dict[str, int]:
    """Refresh credentials of idle connected accounts before they lapse (Tedee's refresh tokens
    live 14 days). A vendor that refuses marks the account for reconnection and tells the host."""
    outcome = {"refreshed": 0, "needs_reconnect": 0, "failed": 0}
    for account in ProviderAccount.objects.filter(status=AccountStatus.CONNECTED).select_related("host"):
        try:
            provider = provider_for_account(account)
            audited_call(account=account, operation="keep_alive", call=provider.keep_alive)
            outcome["refreshed"] += 1
        except ProviderAuthError as error:
            account_mark_needs_reconnect(account=account, error=error)
            outcome["needs_reconnect"] += 1
        except ProviderError:
            outcome["failed"] += 1  # a passing failure: the next run tries again
    return outcome
