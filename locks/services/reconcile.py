"""Reconciling a lock: its listing compared with the codes that should be on it, then repaired.

- our code missing: created again with the same PIN (the guest may have it), MISSING_ON_LOCK;
- our code with another window or PIN (edited in the vendor's app): ours restored (an update, or a
  delete and a create with our PIN), MODIFIED_EXTERNALLY;
- a code named as ours (`INSTANCE_ID` prefix) that no code on record explains (a write that landed
  twice, a lost write): removed, ORPHAN_REMOVED;
- anything else is someone else's: listed (`unmanaged`), never touched.

A write is judged only once the vendor's listing delay has passed since it (Nuki applies writes
asynchronously, a TTLock gateway takes a while), and a code a worker holds is left to its step.
The comparison is pure (`compare`); the repairs go through the normal step machine, and the
vendor is called outside any transaction.
"""

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from locks.models import LIVE_CODE_STATES, AccessCode, CodeState, FallbackKind, FindingKind, Lock
from locks.providers.base import ListedCode, LockProvider
from locks.providers.exceptions import CodeNotFound
from locks.services import findings
from locks.services.codes import enqueue_code, listing_delay_of
from locks.services.leases import free
from locks.services.outcomes import forget_vendor_code
from locks.services.unmanaged import sync_unmanaged
from locks.services.vendor_accounts import audited_call
from locks.signals import CodeEvent, send_code_events

# Vendors keep windows to the minute (or round them): closer than this is the same window.
WINDOW_TOLERANCE = timedelta(minutes=1)
CAPACITY_WARNING_SHARE = 0.9
# A code in these states is on the lock as we want it; its only step to come is its end.
SETTLED_STATES = (CodeState.ACTIVE, CodeState.SUPERSEDED)


@dataclass
class Comparison:
    confirmed: list[tuple[AccessCode, ListedCode]] = field(default_factory=list)
    missing: list[AccessCode] = field(default_factory=list)
    modified: list[tuple[AccessCode, ListedCode, str]] = field(default_factory=list)  # (ours, listed, what differs)
    orphans: list[ListedCode] = field(default_factory=list)
    unmanaged: list[ListedCode] = field(default_factory=list)


def our_code_pk(name: str) -> int | None:
    """The id of our code a vendor name stands for ("nw-42" → 42), None for anyone else's name."""
    prefix = f"{settings.INSTANCE_ID}-"
    rest = name[len(prefix) :] if name.startswith(prefix) else ""
    return int(rest) if rest.isdigit() else None


def our_backup_pk(name: str) -> int | None:
    """The id of our backup code a vendor name stands for ("nw-b7" → 7), None otherwise."""
    prefix = f"{settings.INSTANCE_ID}-b"
    rest = name[len(prefix) :] if name.startswith(prefix) else ""
    return int(rest) if rest.isdigit() else None


def codes_on_record(lock: Lock, now: datetime) -> list[AccessCode]:
    """The lock's codes that may be on it, or may have left it too recently to be gone from its listing."""
    recently_finished = Q(finished_at__gte=now - listing_delay_of(lock))
    cleaning_up = Q(state=CodeState.FAILED, create_outcome_unknown=True)
    rows = AccessCode.objects.filter(lock=lock).filter(Q(state__in=LIVE_CODE_STATES) | cleaning_up | recently_finished)
    return list(rows.select_related("booking__property", "lock__account"))


def compare(
    listed: list[ListedCode], codes: list[AccessCode], *, now: datetime, delay: timedelta, pool: frozenset[str] = frozenset()
) -> Comparison:
    """What the listing says of each code on record, and of each listed code. Pure. `pool`: the
    vendor ids of the lock's unassigned backup codes (locks.services.backup_pool), left alone."""
    result = Comparison()
    settled = {code.vendor_code_id: code for code in codes if _settled(code, now, delay)}
    # A code with a step under way, or written too recently, explains a listed code under its name.
    explaining_names = {code.vendor_name for code in codes if code.vendor_code_id not in settled}
    ids_on_record = {code.vendor_code_id for code in codes if code.vendor_code_id}
    seen = set()
    for item in listed:
        ours = settled.get(item.vendor_code_id)
        if item.vendor_code_id in pool:
            continue
        if ours is not None:
            seen.add(item.vendor_code_id)
            _judge(ours, item, result)
        elif our_code_pk(item.name) is not None or our_backup_pk(item.name) is not None:
            if item.name not in explaining_names and item.vendor_code_id not in ids_on_record:
                result.orphans.append(item)
        else:
            result.unmanaged.append(item)
    for vendor_code_id, code in settled.items():
        if vendor_code_id not in seen and _can_be_missing(code, now):
            result.missing.append(code)
    return result


def _can_be_missing(code: AccessCode, now: datetime) -> bool:
    """Active and not over, and not an offline code (only its vendor computes one: it cannot be put back)."""
    return code.state == CodeState.ACTIVE and (code.lock_ends_at or code.ends_at) > now and code.fallback != FallbackKind.OFFLINE


def _settled(code: AccessCode, now: datetime, delay: timedelta) -> bool:
    """On the lock as we want it, unclaimed, and written long enough ago to show in the listing."""
    if code.state not in SETTLED_STATES or not code.vendor_code_id:
        return False
    if code.claimed_until is not None and code.claimed_until > now:
        return False
    return code.updated_at + delay <= now


def _judge(code: AccessCode, item: ListedCode, result: Comparison) -> None:
    differences = _differences(code, item)
    if not differences:
        result.confirmed.append((code, item))
    elif code.state == CodeState.ACTIVE:  # a superseded code is no longer the guest's: nothing to restore
        result.modified.append((code, item, differences))


def _differences(code: AccessCode, item: ListedCode) -> str:
    wanted = (code.lock_starts_at or code.starts_at, code.lock_ends_at or code.ends_at)
    window_differs = any(
        listed is None or abs(listed - ours) > WINDOW_TOLERANCE for listed, ours in zip((item.starts_at, item.ends_at), wanted, strict=True)
    )
    pin_differs = item.pin is not None and bool(code.pin) and item.pin != code.pin
    return " and ".join(what for what, differs in (("its times", window_differs), ("its PIN", pin_differs)) if differs)


# --- repairs -------------------------------------------------------------------------------------
def repair(lock: Lock, provider: LockProvider, listed: list[ListedCode], comparison: Comparison, now: datetime) -> None:
    """Record what the listing showed and put our codes back; database first, vendor deletions last."""
    events = _record_confirmed(comparison.confirmed, now)
    sync_unmanaged(lock, comparison.unmanaged, now)
    for code in comparison.missing:
        if _put_back(code, now):
            findings.record_finding(lock, FindingKind.MISSING_ON_LOCK, findings.missing_detail(code), code=code)
            events.append(_repaired(code, "missing from the lock", now))
    pins_changed = []
    for code, item, what in comparison.modified:
        if "PIN" in what:
            pins_changed.append((code, item, what))
        elif _restore_window(code, now):
            findings.record_finding(
                lock, FindingKind.MODIFIED_EXTERNALLY, findings.modified_detail(code, what), code=code, vendor_code_id=item.vendor_code_id
            )
            events.append(_repaired(code, f"{what} changed on the lock", now))
    _note_capacity(lock, held=len(listed), now=now)
    for code, item, what in pins_changed:
        _delete(lock, provider, item.vendor_code_id, code=code)
        if _put_back(code, now):
            findings.record_finding(
                lock, FindingKind.MODIFIED_EXTERNALLY, findings.modified_detail(code, what), code=code, vendor_code_id=item.vendor_code_id
            )
            events.append(_repaired(code, f"{what} changed on the lock", now))
    send_code_events(events)
    if provider.capabilities.remote_revoke:
        for item in comparison.orphans:
            _delete(lock, provider, item.vendor_code_id)
            findings.record_finding(
                lock, FindingKind.ORPHAN_REMOVED, findings.orphan_detail(lock, item.name), vendor_code_id=item.vendor_code_id
            )


def _record_confirmed(confirmed: list[tuple[AccessCode, ListedCode]], now: datetime) -> list[CodeEvent]:
    """Note each code the listing shows as we want it; the first sight since a write is an event."""
    events = []
    for code, item in confirmed:
        updated = AccessCode.objects.filter(pk=code.pk, vendor_code_id=item.vendor_code_id).update(confirmed_on_lock_at=now)
        if updated and code.confirmed_on_lock_at is None:
            events.append(CodeEvent("confirmed_on_lock", code.pk, code.booking_id, now, {"lock_id": code.lock_id}))
    return events


def _repaired(code: AccessCode, what: str, now: datetime) -> CodeEvent:
    return CodeEvent("drift_repaired", code.pk, code.booking_id, now, {"lock_id": code.lock_id, "drift": what})


def _put_back(code: AccessCode, now: datetime) -> bool:
    """Create the code again with its PIN, through the normal creation step (False: it changed meanwhile)."""

    def create_again(row: AccessCode) -> None:
        forget_vendor_code(row, now)
        # Retried until the stay ends: the guest is on their way or inside.
        row.retry_deadline = max(row.retry_deadline, row.ends_at)

    return _change_if_untouched(code, now, create_again)


def _restore_window(code: AccessCode, now: datetime) -> bool:
    """Send our window again through the normal update step (False: it changed meanwhile)."""

    def update_again(row: AccessCode) -> None:
        row.state, row.next_attempt_at = CodeState.UPDATING, now

    return _change_if_untouched(code, now, update_again)


def _change_if_untouched(code: AccessCode, now: datetime, change) -> bool:
    with transaction.atomic():
        row = (
            AccessCode.objects.select_for_update()
            .filter(free(now), pk=code.pk, state=CodeState.ACTIVE, vendor_code_id=code.vendor_code_id)
            .first()
        )
        if row is None:
            return False
        change(row)
        row.confirmed_on_lock_at = None
        row.save()
        enqueue_code(row.pk)
    return True


def _delete(lock: Lock, provider: LockProvider, vendor_code_id: str, *, code: AccessCode | None = None) -> None:
    with suppress(CodeNotFound):  # gone already: that is what we wanted
        audited_call(
            account=lock.account,
            operation="delete_code",
            lock=lock,
            code=code,
            call=lambda: provider.delete_code(lock.vendor_lock_id, vendor_code_id),
        )


def _note_capacity(lock: Lock, *, held: int, now: datetime) -> None:
    Lock.objects.filter(pk=lock.pk).update(codes_held=held)
    lock.codes_held = held
    capacity = lock.code_capacity
    if capacity and held >= CAPACITY_WARNING_SHARE * capacity:
        findings.record_once_a_day(lock, FindingKind.CAPACITY_LOW, findings.capacity_detail(lock, held, capacity), now)
