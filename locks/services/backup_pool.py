"""Backup codes (issue 20): for locks whose vendor cannot issue a code without reaching the lock,
the host's `backup_codes` (default 2) are kept on the lock while it is online, each valid for
BACKUP_WINDOW, their PINs encrypted and never shown until one is given to a guest.

- tending (`tend_pools`, a beat task): missing backups are programmed, a backup near its end is
  replaced (rotation) and removed, backups over the host's number are removed, and a backup whose
  guest's code has finished no longer counts, so a new one takes its place;
- giving (`assign_backup`, the escalation ladder): a ready backup whose window covers the stay
  becomes the booking's code; where the vendor changes codes in place it is narrowed to the stay
  (an update the normal step machine retries until the lock is reachable).

Vendors are called outside any transaction; a backup's vendor calls are claimed by moving its
`next_attempt_at` (one worker at a time).
"""

import logging
import random
from contextlib import suppress
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from locks import pins
from locks.models import (
    FINAL_CODE_STATES,
    LIVE_CODE_STATES,
    POOL_STATES,
    AccessCode,
    AccountStatus,
    BackupCode,
    BackupState,
    CodeState,
    FallbackKind,
    Lock,
)
from locks.providers import registry
from locks.providers.base import CodeSpec, LockProvider
from locks.providers.exceptions import CodeNotFound, ProviderError, RateLimitedLocally
from locks.services.codes import capabilities_of, code_retire, current_code, retry_period
from locks.services.unmanaged import unmanaged_pins
from locks.services.vendor_accounts import audited_call, provider_for_account

logger = logging.getLogger(__name__)

BACKUP_WINDOW = timedelta(days=30)
ROTATE_BEFORE = timedelta(days=7)  # a backup this close to its end is replaced
CALL_LEASE = timedelta(minutes=5)  # a worker's hold on a backup while it calls the vendor
_system_random = random.SystemRandom()


def keeps_backups(provider_class: type[LockProvider]) -> bool:
    """Whether locks of this vendor keep a backup pool: chosen PINs that can be removed later,
    and no offline codes (those come from the vendor's cloud when needed)."""
    capabilities = provider_class.capabilities
    return (
        capabilities.chosen_pins
        and capabilities.remote_revoke
        and not capabilities.offline_codes
        and not capabilities.offline_fallback
    )


def pool_slugs() -> list[str]:
    return [slug for slug, provider_class in registry.PROVIDER_CLASSES.items() if keeps_backups(provider_class)]


def backup_pins(lock_id: int) -> set[str]:
    """The PINs the lock's unassigned backups hold (a guest's code must never take one)."""
    rows = BackupCode.objects.filter(lock_id=lock_id, state__in=POOL_STATES, pin__isnull=False)
    return {pin for pin in rows.values_list("pin", flat=True) if pin}


def pool_vendor_ids(lock_id: int) -> set[str]:
    """Vendor ids of the lock's unassigned backups: neither orphans nor someone else's codes."""
    rows = BackupCode.objects.filter(lock_id=lock_id, state__in=POOL_STATES).exclude(vendor_code_id="")
    return set(rows.values_list("vendor_code_id", flat=True))


# --- giving one to a guest ------------------------------------------------------------------------
def assign_backup(code: AccessCode, now: datetime) -> AccessCode | None:
    """Make a ready backup covering the stay the booking's code, in place of the stuck `code`."""
    with transaction.atomic():
        stuck = current_code(code.booking)
        if stuck is None or stuck.pk != code.pk or stuck.state not in (CodeState.SCHEDULED, CodeState.CREATING, CodeState.FAILED):
            return None
        backup = (
            BackupCode.objects.select_for_update(skip_locked=True)
            .filter(lock_id=code.lock_id, state=BackupState.READY, starts_at__lte=code.starts_at, ends_at__gte=code.ends_at)
            .order_by("ends_at", "pk")
            .first()
        )
        if backup is None:
            return None
        code_retire(code=stuck, now=now)
        given = _code_from_backup(stuck, backup, now)
        backup.state, backup.access_code, backup.next_attempt_at = BackupState.ASSIGNED, given, None
        backup.save()
    return given


def _code_from_backup(stuck: AccessCode, backup: BackupCode, now: datetime) -> AccessCode:
    narrow = capabilities_of(stuck.lock).update_in_place
    return AccessCode.objects.create(
        booking=stuck.booking,
        lock=stuck.lock,
        state=CodeState.UPDATING if narrow else CodeState.ACTIVE,
        is_current=True,
        fallback=FallbackKind.BACKUP,
        pin=backup.pin,
        vendor_code_id=backup.vendor_code_id,
        starts_at=stuck.starts_at,
        ends_at=stuck.ends_at,
        lock_starts_at=backup.starts_at,
        lock_ends_at=backup.ends_at,
        generate_at=stuck.generate_at,
        retry_deadline=max(stuck.retry_deadline, stuck.ends_at),
        alert_at=stuck.alert_at,
        activated_at=now,
        next_attempt_at=now if narrow else None,
    )


# --- tending the pools ----------------------------------------------------------------------------
def tend_pools(now: datetime) -> int:
    """Top up, rotate and trim every pool, then make the vendor calls due; the number made."""
    _release_used(now)
    pools = _pools(now)
    for lock in _pool_locks():
        _plan_pool(lock, pools.get(lock.pk, []), now)
    calls = 0
    due = BackupCode.objects.filter(state__in=[BackupState.PROGRAMMING, BackupState.RETIRING], next_attempt_at__lte=now)
    for backup in due.select_related("lock__account").order_by("next_attempt_at", "pk")[:200]:
        if _claim(backup, now):
            calls += 1
            _call_vendor(backup, now)
    return calls


def _release_used(now: datetime) -> None:
    """A backup given to a guest whose code has finished is gone with it (the code's removal took it)."""
    finished = Q(access_code__isnull=True) | Q(access_code__state__in=FINAL_CODE_STATES)
    BackupCode.objects.filter(finished, state=BackupState.ASSIGNED).update(state=BackupState.GONE, updated_at=now)


def _pool_locks():
    return Lock.objects.filter(
        account__provider__in=pool_slugs(), account__status=AccountStatus.CONNECTED, assignment__isnull=False
    ).select_related("account", "assignment__property")


def _pools(now: datetime) -> dict[int, list[BackupCode]]:
    """Every pool lock's backups being programmed or ready, newest end first: one query for all locks."""
    rows = BackupCode.objects.filter(
        lock__account__provider__in=pool_slugs(),
        lock__account__status=AccountStatus.CONNECTED,
        lock__assignment__isnull=False,
        state__in=[BackupState.PROGRAMMING, BackupState.READY],
    ).order_by("lock_id", "-ends_at", "pk")
    pools: dict[int, list[BackupCode]] = {}
    for backup in rows:
        pools.setdefault(backup.lock_id, []).append(backup)
    return pools


def _plan_pool(lock: Lock, pool: list[BackupCode], now: datetime) -> None:
    """Rows for the backups to program, and the ones to remove (near their end, or too many)."""
    ageing = [backup for backup in pool if backup.state == BackupState.READY and backup.ends_at - now <= ROTATE_BEFORE]
    keep = [backup for backup in pool if backup not in ageing]
    wanted = lock.assignment.backup_codes
    for backup in ageing + keep[wanted:]:
        _retire(backup, now)
    taken = None
    for _ in range(max(0, wanted - len(keep))):
        taken = taken if taken is not None else pins_in_use(lock)
        pin = pins.random_pin(rng=_system_random, rule=registry.provider_class(lock.account.provider).pin_problem, taken=taken)
        taken.add(pin)
        BackupCode.objects.create(
            lock=lock, pin=pin, starts_at=now, ends_at=now + BACKUP_WINDOW, state=BackupState.PROGRAMMING, next_attempt_at=now
        )


def pins_in_use(lock: Lock) -> set[str]:
    codes = AccessCode.objects.filter(lock=lock, state__in=LIVE_CODE_STATES, pin__isnull=False).values_list("pin", flat=True)
    return set(codes) | unmanaged_pins([lock.pk])[lock.pk] | backup_pins(lock.pk)


def _retire(backup: BackupCode, now: datetime) -> None:
    BackupCode.objects.filter(pk=backup.pk, state=backup.state).update(state=BackupState.RETIRING, next_attempt_at=now, updated_at=now)


def _claim(backup: BackupCode, now: datetime) -> bool:
    held = BackupCode.objects.filter(pk=backup.pk, state=backup.state, next_attempt_at=backup.next_attempt_at)
    return bool(held.update(next_attempt_at=now + CALL_LEASE))


def _call_vendor(backup: BackupCode, now: datetime) -> None:
    provider = provider_for_account(backup.lock.account)
    try:
        if backup.state == BackupState.PROGRAMMING:
            _program(backup, provider)
        else:
            _remove(backup, provider)
    except RateLimitedLocally as error:
        # Held back by our own rate limit, nothing sent: not an attempt; due again once the window frees.
        BackupCode.objects.filter(pk=backup.pk).update(next_attempt_at=now + timedelta(seconds=error.retry_after or 1), updated_at=now)
    except ProviderError as error:
        BackupCode.objects.filter(pk=backup.pk).update(
            attempts=backup.attempts + 1, last_error=error.message[:500], next_attempt_at=now + retry_period(), updated_at=now
        )
        logger.info("backup code %s: %s", backup.pk, error.message)


def _program(backup: BackupCode, provider: LockProvider) -> None:
    lock = backup.lock
    spec = CodeSpec(
        name=backup.vendor_name,
        pin=backup.pin,
        starts_at=backup.starts_at,
        ends_at=backup.ends_at,
        time_zone=lock.assignment.property.time_zone,
    )
    found = _look_for(backup, provider) if backup.attempts else None  # an earlier create may have landed
    issued = found or audited_call(
        account=lock.account, operation="create_code", lock=lock, call=lambda: provider.create_code(lock.vendor_lock_id, spec)
    )
    BackupCode.objects.filter(pk=backup.pk, state=BackupState.PROGRAMMING).update(
        state=BackupState.READY, vendor_code_id=issued.vendor_code_id, next_attempt_at=None, last_error=""
    )


def _look_for(backup: BackupCode, provider: LockProvider):
    lock = backup.lock
    return audited_call(
        account=lock.account, operation="find_code", lock=lock, call=lambda: provider.find_code(lock.vendor_lock_id, backup.vendor_name)
    )


def _remove(backup: BackupCode, provider: LockProvider) -> None:
    lock = backup.lock
    vendor_code_id = backup.vendor_code_id
    if not vendor_code_id and backup.attempts:
        found = _look_for(backup, provider)
        vendor_code_id = found.vendor_code_id if found else ""
    if vendor_code_id:
        with suppress(CodeNotFound):  # gone already: what we wanted
            audited_call(
                account=lock.account,
                operation="delete_code",
                lock=lock,
                call=lambda: provider.delete_code(lock.vendor_lock_id, vendor_code_id),
            )
    BackupCode.objects.filter(pk=backup.pk, state=BackupState.RETIRING).update(state=BackupState.GONE, next_attempt_at=None, pin=None)
