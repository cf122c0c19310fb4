"""Account-level events: refresh the lock list, disconnect, reconnect."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from locks.models import AccessCode, AccountStatus, CodeState, Lock, LockAssignment, ProviderAccount
from locks.services.codes import code_retire, enqueue_code
from locks.services.work import audited_call, claim_code, process_code, provider_for_account

PENDING_WORK_STATES = [CodeState.CREATING, CodeState.UPDATING, CodeState.REVOKING, CodeState.EXPIRING]


def account_refresh_locks(*, account: ProviderAccount) -> list[Lock]:
    """Read the account's locks from the vendor and store them; locks it no longer has stay, unavailable.

    A vendor refusing the account's credentials marks it for reconnection (the host is asked to
    sign in again), as code work does.
    """
    from locks.providers.exceptions import ProviderAuthError
    from locks.services.work import account_mark_needs_reconnect

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


@dataclass(frozen=True)
class DisconnectReport:
    revoked: int
    left_valid: list[AccessCode]  # could not be revoked: they work until their end
    staying_untouched: int


def account_disconnect(*, account: ProviderAccount, now: datetime | None = None) -> DisconnectReport:
    """Revoke codes of stays not started yet, remove the assignments, then forget the credentials."""
    now = now or timezone.now()
    upcoming = list(
        AccessCode.objects.select_related("lock__account", "booking")
        .filter(lock__account=account, is_current=True, starts_at__gt=now)
        .exclude(state__in=[CodeState.REVOKED, CodeState.EXPIRED, CodeState.FAILED])
    )
    with transaction.atomic():
        for code in upcoming:
            code_retire(code=code, now=now, enqueue=False)
    revoked, left_valid = 0, []
    for code in upcoming:
        token = claim_code(code_id=code.pk, now=now)
        if token:
            process_code(code_id=code.pk, claim_token=token, now=now)
        code.refresh_from_db()
        if code.state == CodeState.REVOKED:
            revoked += 1
        else:  # the vendor cannot revoke it (already superseded), or failed to now
            left_valid.append(code)
    with transaction.atomic():
        for code in left_valid:
            if code.state == CodeState.SUPERSEDED:
                continue
            code.state = CodeState.SUPERSEDED
            code.next_attempt_at = code.lock_ends_at or code.ends_at
            code.last_error = "Could not be removed before disconnecting; it works until its end."
            code.save()
        LockAssignment.objects.filter(lock__account=account).delete()
        staying = AccessCode.objects.filter(lock__account=account, is_current=True, state=CodeState.ACTIVE).count()
        account.credentials = {}
        account.token_expires_at = None
        account.status = AccountStatus.DISCONNECTED
        account.save()
    return DisconnectReport(revoked=revoked, left_valid=left_valid, staying_untouched=staying)


def account_reconnected(*, account: ProviderAccount, credentials: dict, expires_at: datetime | None, display_name: str = "") -> int:
    """Store fresh credentials and resume at once every piece of work that came due meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        account.credentials = credentials
        account.token_expires_at = expires_at
        account.status = AccountStatus.CONNECTED
        account.last_error = ""
        if display_name:
            account.display_name = display_name
        account.save()
        waiting = AccessCode.objects.filter(lock__account=account).filter(
            Q(state__in=PENDING_WORK_STATES, next_attempt_at__gt=now)
            | Q(state=CodeState.SCHEDULED, generate_at__lte=now, next_attempt_at__gt=now)
        )
        ids = list(waiting.values_list("id", flat=True))
        AccessCode.objects.filter(id__in=ids).update(next_attempt_at=now)
        for code_id in ids:
            enqueue_code(code_id)
    return len(ids)


def accounts_keep_alive() -> dict[str, int]:
    """Refresh credentials of idle connected accounts before they lapse (Tedee's refresh tokens
    live 14 days). A vendor that refuses marks the account for reconnection and tells the host."""
    from locks.providers.exceptions import ProviderAuthError, ProviderError
    from locks.services.work import account_mark_needs_reconnect

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
