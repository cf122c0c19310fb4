"""Reading a lock back (issue 19): its health, its codes compared with ours and repaired, its
access log read into each code's uses. Trust the lock, not the database.

One read-back of a lock at a time: it is claimed by one conditional UPDATE of `Lock.reconciled_at`
that also spends one of the lock's daily read-backs (`LOCKS_READ_BACKS_PER_LOCK_PER_DAY`); a
second claim within a claim lease finds the lock taken. The vendor is called through the gateway
(`audited_call`: every listing and log read is in the vendor-call audit), outside any transaction.
A vendor that answers "too many requests" ends the account's batch: creates and deletes go first.
An account near its vendor's API budget (locks.services.api_budget) is read without its access log.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from locks.models import AccountStatus, Lock, ProviderAccount
from locks.providers.base import Capabilities, ListedCode, Listing, LockProvider
from locks.providers.exceptions import ProviderAuthError, ProviderError, RateLimited
from locks.services.api_budget import accounts_near_limit
from locks.services.backup_pool import pool_vendor_ids
from locks.services.code_uses import read_uses
from locks.services.codes import listing_delay_of
from locks.services.findings import tell_host
from locks.services.lock_health import read_health
from locks.services.reconcile import codes_on_record, compare, repair
from locks.services.vendor_accounts import account_mark_needs_reconnect, audited_call, provider_for_account
from nowistay.logs import log_fields

logger = logging.getLogger(__name__)

READ_BACK_LOCKS = "locks.read_back_locks"  # the work of reading an account's locks back (locks.tasks sends it)


def reads_back(capabilities: Capabilities) -> bool:
    return capabilities.lists_codes or capabilities.access_log or capabilities.reports_health


@dataclass(frozen=True)
class ReadBackResult:
    lock_id: int
    action: str  # read, skipped, backed_off, failed
    detail: str = ""


def read_back_locks(*, account_id: int, lock_ids: list[int]) -> list[ReadBackResult]:
    """Read back these locks of one account, one after the other (one vendor session)."""
    account = ProviderAccount.objects.filter(pk=account_id).first()
    if account is None or account.status != AccountStatus.CONNECTED:
        return [ReadBackResult(lock_id, "skipped", "account not connected") for lock_id in lock_ids]
    provider = provider_for_account(account)
    if not reads_back(provider.capabilities):
        return [ReadBackResult(lock_id, "skipped", "the vendor cannot be read back") for lock_id in lock_ids]
    access_log = account.pk not in accounts_near_limit([account], timezone.now())  # near the budget: deferred
    results, stop = [], ""
    # Least recently read first: a batch a rate limit ends early must not starve the same locks each time.
    locks = Lock.objects.filter(account=account, pk__in=lock_ids).order_by(F("reconciled_at").asc(nulls_first=True), "pk")
    for lock in locks:
        lock.account = account
        if stop:
            results.append(ReadBackResult(lock.pk, "backed_off", stop))
            continue
        if not claim_read_back(lock, timezone.now()):
            results.append(ReadBackResult(lock.pk, "skipped", "read back already, or its daily read-backs are spent"))
            continue
        with log_fields(lock_id=lock.pk, account_id=account.pk):
            result, stop = _read_back_claimed(lock, provider, access_log=access_log)
        results.append(result)
    return results


def _read_back_claimed(lock: Lock, provider: LockProvider, *, access_log: bool = True) -> tuple[ReadBackResult, str]:
    """The lock's result, and why the rest of the batch must wait ("" when it need not)."""
    try:
        read_back_lock(lock, provider, access_log=access_log)
    except RateLimited as error:
        return ReadBackResult(lock.pk, "backed_off", error.message), "the vendor asked to slow down"
    except ProviderAuthError as error:
        account_mark_needs_reconnect(account=lock.account, error=error)
        return ReadBackResult(lock.pk, "failed", error.message), "the account needs reconnecting"
    except ProviderError as error:
        return ReadBackResult(lock.pk, "failed", error.message), ""
    except Exception:  # one broken lock must not hold back the account's others; its next slot tries again
        logger.exception("reading lock %s back failed", lock.pk)
        return ReadBackResult(lock.pk, "failed", "unexpected error"), ""
    return ReadBackResult(lock.pk, "read"), ""


def read_back_lock(lock: Lock, provider: LockProvider, *, access_log: bool = True) -> None:
    """Its health first (it says the lock's capacity), then its codes, then its access log (unless
    `access_log` is False). A part that fails does not keep the others from being read (its error
    is raised once they have been), but a rate limit or a refused connection ends the read-back at once."""
    failures = []
    for part in _parts(provider.capabilities, access_log=access_log):
        try:
            part(lock, provider)
        except (RateLimited, ProviderAuthError):
            raise
        except ProviderError as error:
            failures.append(error)
    if failures:
        raise failures[0]


def _parts(capabilities: Capabilities, *, access_log: bool = True) -> list:
    parts = [
        (capabilities.reports_health, _read_health),
        (capabilities.lists_codes, read_codes),
        (capabilities.access_log and access_log, _read_uses),
    ]
    return [part for wanted, part in parts if wanted]


def read_codes(lock: Lock, provider: LockProvider) -> None:
    """List the lock's codes (one call while a versioned list is unchanged), compare, repair."""
    previous = previous_listing(lock)
    listing = audited_call(
        account=lock.account, operation="list_codes", lock=lock, call=lambda: provider.list_codes(lock.vendor_lock_id, previous)
    )
    remember_listing(lock, listing)
    listed = list(listing.codes)
    now = timezone.now()
    pool = frozenset(pool_vendor_ids(lock.pk))
    comparison = compare(listed, codes_on_record(lock, now), now=now, delay=listing_delay_of(lock), pool=pool)
    repair(lock, provider, listed, comparison, now)
    tell_host(lock, timezone.now())


def _read_health(lock: Lock, provider: LockProvider) -> None:
    read_health(lock, provider, timezone.now())


def _read_uses(lock: Lock, provider: LockProvider) -> None:
    read_uses(lock, provider, timezone.now())


def previous_listing(lock: Lock) -> Listing | None:
    """The lock's last versioned listing, or None (never listed, unversioned, or unreadable)."""
    memo = lock.listing_memo
    if not lock.listing_version or not isinstance(memo, list):
        return None
    try:
        codes = tuple(_listed_from_memo(item) for item in memo)
    except (KeyError, TypeError, ValueError):
        return None  # a memo we cannot read costs one full listing, nothing more
    return Listing(codes, lock.listing_version)


def remember_listing(lock: Lock, listing: Listing) -> None:
    """Keep a versioned listing for the next read-back (an unchanged one is kept already)."""
    if listing.unchanged or (not listing.version and not lock.listing_version):
        return
    memo = [_memo_of(item) for item in listing.codes] if listing.version else None
    Lock.objects.filter(pk=lock.pk).update(listing_version=listing.version, listing_memo=memo)
    lock.listing_version, lock.listing_memo = listing.version, memo


def _memo_of(item: ListedCode) -> dict:
    return {"id": item.vendor_code_id, "name": item.name, "pin": item.pin, "from": _iso(item.starts_at), "until": _iso(item.ends_at)}


def _listed_from_memo(item: dict) -> ListedCode:
    return ListedCode(str(item["id"]), str(item["name"]), item["pin"], _moment(item["from"]), _moment(item["until"]))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso is not None else None


def read_back_under_way(now: datetime) -> Q:
    """Locks whose read-back was claimed within the claim lease: being read, or only just read."""
    return Q(reconciled_at__gt=now - read_back_lease())


def read_back_lease() -> timedelta:
    """How long a claimed read-back holds the lock (`LOCKS_CLAIM_LEASE_SECONDS`)."""
    return timedelta(seconds=settings.LOCKS_CLAIM_LEASE_SECONDS)


def read_backs_spent(now: datetime) -> Q:
    """Locks that have had all of today's read-backs (`LOCKS_READ_BACKS_PER_LOCK_PER_DAY`)."""
    return Q(read_back_day=now.date(), read_backs_today__gte=settings.LOCKS_READ_BACKS_PER_LOCK_PER_DAY)


def claim_read_back(lock: Lock, now: datetime) -> bool:
    """Take the lock's read-back and spend one of its daily read-backs, if both are free: one UPDATE."""
    today = now.date()
    rows = Lock.objects.filter(pk=lock.pk).exclude(read_back_under_way(now)).exclude(read_backs_spent(now))
    spent = Case(When(read_back_day=today, then=F("read_backs_today") + 1), default=Value(1))
    if not rows.update(reconciled_at=now, read_back_day=today, read_backs_today=spent):
        return False
    lock.reconciled_at, lock.read_back_day = now, today
    return True
