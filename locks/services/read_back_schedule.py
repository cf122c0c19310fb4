"""When each lock is read back: spread over the day, and again before each check-in.

Half of a lock's daily read-backs (`LOCKS_READ_BACKS_PER_LOCK_PER_DAY`) are spread evenly over the
day, each lock at its own offset (so an account's locks are not all read at once); the rest are
kept for the moments that matter: T-24 h and T-2 h before each check-in and the end of check-in
day (property time), a listing delay after a write (to confirm it) or a removal (to see it gone).
An account the vendor asked to wait (Retry-After on one of its codes) is not read: its creates and
deletes go first. An account near its vendor's API budget (locks.services.api_budget) is read only
before check-ins and after writes: its regular and end-of-check-in-day read-backs are deferred.
The scheduler pass enqueues the due locks, one task per account.
"""

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from locks import windows
from locks.models import LIVE_CODE_STATES, AccessCode, AccountStatus, CodeState, Lock
from locks.providers import registry
from locks.services.api_budget import accounts_near_limit
from locks.services.code_uses import end_of_check_in_day
from locks.services.codes import listing_delay_of
from locks.services.read_back import READ_BACK_LOCKS, read_back_under_way, read_backs_spent, reads_back
from nowistay import dispatch

BEFORE_CHECK_IN = (timedelta(hours=24), timedelta(hours=2))
# Removed codes are looked for (as orphans) this long after their removal.
FINISHED_LOOKBACK = timedelta(days=1)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_GOLDEN = (math.sqrt(5) - 1) / 2  # consecutive lock ids land far apart in the day


def enqueue_due_read_backs(now: datetime) -> int:
    """Hand every due read-back to a worker, one task per account; the number of locks."""
    due, vendors = _due_read_backs(now)
    for account_id, lock_ids in due.items():  # each on its vendor's read-back queue (locks.tasks.vendor_queue)
        dispatch.enqueue_on_commit(READ_BACK_LOCKS, account_id, lock_ids, robust=True, vendor=vendors[account_id])
    return sum(len(lock_ids) for lock_ids in due.values())


def due_read_backs(now: datetime) -> dict[int, list[int]]:
    """The locks whose read-back is due, by account."""
    return _due_read_backs(now)[0]


def _due_read_backs(now: datetime) -> tuple[dict[int, list[int]], dict[int, str]]:
    """The locks whose read-back is due, by account; and each account's vendor."""
    locks = list(_candidates(now))
    if not locks:
        return {}, {}
    codes = defaultdict(list)
    for code in _codes_of(locks, now):
        codes[code.lock_id].append(code)
    near_limit = accounts_near_limit({lock.account_id: lock.account for lock in locks}.values(), now)
    due: dict[int, list[int]] = defaultdict(list)
    for lock in locks:
        moment = last_due_moment(lock, codes[lock.pk], now, urgent_only=lock.account_id in near_limit)
        if moment is not None and (lock.reconciled_at is None or lock.reconciled_at < moment):
            due[lock.account_id].append(lock.pk)
    return dict(due), {lock.account_id: lock.account.provider for lock in locks}


def _candidates(now: datetime):
    slugs = [slug for slug, provider in registry.PROVIDER_CLASSES.items() if reads_back(provider.capabilities)]
    has_codes = AccessCode.objects.filter(lock=OuterRef("pk")).filter(
        Q(state__in=LIVE_CODE_STATES) | Q(finished_at__gte=now - FINISHED_LOOKBACK)
    )
    waiting = AccessCode.objects.filter(lock__account=OuterRef("account_id"), vendor_wait_until__gt=now)
    return (
        Lock.objects.filter(account__provider__in=slugs, account__status=AccountStatus.CONNECTED)
        .filter(Exists(has_codes))
        .exclude(Exists(waiting))
        .exclude(read_back_under_way(now))
        .exclude(read_backs_spent(now))
        .select_related("account")
    )


def _codes_of(locks: list[Lock], now: datetime):
    rows = AccessCode.objects.filter(lock__in=locks).filter(Q(state__in=LIVE_CODE_STATES) | Q(finished_at__gte=now - FINISHED_LOOKBACK))
    return rows.select_related("booking__property")


def last_due_moment(lock: Lock, codes: list[AccessCode], now: datetime, *, urgent_only: bool = False) -> datetime | None:
    """The latest moment up to `now` at which the lock should have been read back. `urgent_only`
    (an account near its API budget): only the moments before check-ins and after writes; None
    when no such moment has come yet."""
    delay = listing_delay_of(lock)
    moments = [] if urgent_only else [regular_slot(lock.pk, now)]
    for code in codes:
        moments += _moments_of(code, delay, urgent_only=urgent_only)
    return max((moment for moment in moments if moment <= now), default=None)


def _moments_of(code: AccessCode, delay: timedelta, *, urgent_only: bool = False) -> list[datetime]:
    moments = []
    if code.is_current and code.state in LIVE_CODE_STATES:
        check_in = check_in_of(code)
        moments += [check_in - before for before in BEFORE_CHECK_IN]
        if not urgent_only:  # the end of check-in day reads the access log for unused codes: deferred near the budget
            moments.append(end_of_check_in_day(code))
    if code.state == CodeState.ACTIVE and code.vendor_code_id and code.confirmed_on_lock_at is None:
        moments.append(code.updated_at + delay)  # a write to confirm
    if code.finished_at is not None:
        moments.append(code.finished_at + delay)  # a removal to see gone
    return moments


def check_in_of(code: AccessCode) -> datetime:
    booking, prop = code.booking, code.booking.property
    at = windows.check_in_time_of(booking.check_in_time, prop.default_check_in_time)
    return windows.local_to_utc(booking.arrival_date, at, prop.time_zone, prefer_later=False)


def regular_slot(lock_id: int, now: datetime) -> datetime:
    """The lock's latest regular read-back moment up to `now`."""
    per_day = max(1, settings.LOCKS_READ_BACKS_PER_LOCK_PER_DAY // 2)
    interval = timedelta(days=1) / per_day
    offset = interval * ((lock_id * _GOLDEN) % 1)
    return _EPOCH + offset + ((now - _EPOCH - offset) // interval) * interval
