"""Claims on access codes: which codes are due, claiming them for one lease, loading a claimed batch,
and merging a step's outcome into the row as it is now while releasing the claim.

The claim itself is the shared lease engine (`locks.services.leases`); here is what is due for a
code: its next attempt has come and the vendor did not ask us to wait (Retry-After).
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from locks.models import LIVE_CODE_STATES, AccessCode, CodeState, ProviderAccount
from locks.services.codes import (
    enqueue_code,
)
from locks.services.leases import Leases
from locks.services.unmanaged import unmanaged_pins


def _due(now: datetime) -> Q:
    """Due, and not during a wait the vendor asked for (whatever set the next attempt)."""
    return Q(next_attempt_at__lte=now) & (Q(vendor_wait_until__isnull=True) | Q(vendor_wait_until__lte=now))


CODE_LEASES = Leases(
    model=AccessCode,
    due=_due,
    lease=lambda: timedelta(seconds=settings.LOCKS_CLAIM_LEASE_SECONDS),
    order_by=("next_attempt_at",),
    queue_lease=lambda: timedelta(seconds=settings.LOCKS_QUEUE_LEASE_SECONDS),
)


def claim_due_codes(*, now: datetime, limit: int) -> tuple[str, list[int]]:
    """Claim up to `limit` due codes for a queued batch, whatever the table's size."""
    return CODE_LEASES.claim_due(now=now, limit=limit)


def claim_due_codes_by_vendor(*, now: datetime, limit: int) -> tuple[str, dict[str, list[int]]]:
    """As `claim_due_codes`, grouped by the lock's vendor (each vendor's work has its own queue)."""
    return CODE_LEASES.claim_due_by(now=now, limit=limit, label="lock__account__provider")


def claim_code(*, code_id: int, now: datetime) -> str | None:
    """Claim one code if it is due and nobody holds it (used by event-driven tasks)."""
    return CODE_LEASES.claim_one(pk=code_id, now=now)


def renew_claims(code_ids: list[int], token: str, now: datetime) -> datetime:
    """Hold the batch's codes still claimed under `token` for one more lease; its end."""
    CODE_LEASES.renew(pks=code_ids, token=token, now=now)
    return now + CODE_LEASES.lease()


def load_claimed(code_ids: list[int], token: str, now: datetime) -> dict[int, AccessCode]:
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
    for lock_id, pins in unmanaged_pins(lock_ids).items():  # never a PIN of someone else's code on the lock
        in_use[lock_id] |= pins
    for code in codes:
        if code.lock_id in in_use:
            code.lock.batch_pins_in_use = in_use[code.lock_id]


def finish(code: AccessCode, token: str, merge: Callable[[AccessCode], None], *, release: bool = True) -> AccessCode:
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
