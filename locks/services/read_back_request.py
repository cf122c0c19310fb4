"""“Check this lock now” (host dashboard): a read-back of one lock that its host asks for, handed to
a worker through the same seam as the schedule's (READ_BACK_LOCKS), or the reason it is not.

The request spends nothing: the worker's claim (`read_back.claim_read_back`) takes the lease and
one of the lock's daily read-backs. The request only looks at the same conditions first, so the
host is told plainly that the lock is being read or that today's read-backs are spent, rather
than a task being queued that would skip the lock.

Near the account's vendor API budget (locks.services.api_budget) the read-back is still done, and
the answer carries the account's usage so the host is told it spends calls; past the budget it is
refused until the budget resets: the calls left are kept for creating and removing guests' codes.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from django.db.models import Max

from locks.models import AccessCode, AccountStatus, Lock, ProviderAccount
from locks.providers import registry
from locks.services.api_budget import Usage, account_usage
from locks.services.read_back import READ_BACK_LOCKS, read_back_lease, read_back_under_way, read_backs_spent, reads_back
from nowistay import dispatch


class Refusal(StrEnum):
    NOT_CONNECTED = "not_connected"  # the account needs a new sign-in (or is going away)
    CANNOT_READ_BACK = "cannot_read_back"  # the vendor lists no code, no log, no health
    UNDER_WAY = "under_way"  # claimed within the lease: being read, or only just read
    SPENT = "spent"  # today's read-backs are all spent
    VENDOR_WAIT = "vendor_wait"  # the vendor asked to wait: the account's creates and deletes go first
    OVER_BUDGET = "over_budget"  # the account's vendor API budget is used up until it resets


@dataclass(frozen=True)
class ReadBackRequest:
    refusal: Refusal | None = None  # None: a worker reads the lock back
    again_at: datetime | None = None  # when asking again can succeed (a refusal that passes)
    usage: Usage | None = None  # the account's API use, when it is near (or past) its budget

    @property
    def queued(self) -> bool:
        return self.refusal is None


def read_back_possible(account: ProviderAccount) -> bool:
    """Whether the account's locks can be read back at all: connected, and a vendor that tells."""
    return account.status == AccountStatus.CONNECTED and _vendor_reads_back(account)


def _vendor_reads_back(account: ProviderAccount) -> bool:
    return reads_back(registry.provider_class(account.provider).capabilities)


def lock_read_back_request(*, lock: Lock, now: datetime) -> ReadBackRequest:
    """Hand a read-back of this lock to a worker once the transaction commits, unless it would be
    refused or skipped: then say why, and when asking again can succeed."""
    refused = _refusal(lock, now)
    if refused is not None:
        return refused
    usage = account_usage(lock.account, now)
    if usage.over:
        return ReadBackRequest(Refusal.OVER_BUDGET, usage.resets_at, usage)
    dispatch.enqueue_on_commit(READ_BACK_LOCKS, lock.account_id, [lock.pk], robust=True, vendor=lock.account.provider)
    return ReadBackRequest(usage=usage if usage.near else None)


def _refusal(lock: Lock, now: datetime) -> ReadBackRequest | None:
    account = lock.account
    if account.status != AccountStatus.CONNECTED:
        return ReadBackRequest(Refusal.NOT_CONNECTED)
    if not _vendor_reads_back(account):
        return ReadBackRequest(Refusal.CANNOT_READ_BACK)
    row = Lock.objects.filter(pk=lock.pk)
    if row.filter(read_back_under_way(now)).exists():
        reconciled_at = row.values_list("reconciled_at", flat=True).get()
        return ReadBackRequest(Refusal.UNDER_WAY, reconciled_at + read_back_lease())
    if row.filter(read_backs_spent(now)).exists():
        return ReadBackRequest(Refusal.SPENT, _next_budget_day(now))
    wait_end = _vendor_wait_end(account, now)
    if wait_end is not None:
        return ReadBackRequest(Refusal.VENDOR_WAIT, wait_end)
    return None


def _next_budget_day(now: datetime) -> datetime:
    """When the daily read-backs start again: the next day of `now.date()`, as the claim counts days."""
    return datetime.combine(now.date() + timedelta(days=1), time.min, tzinfo=now.tzinfo)


def _vendor_wait_end(account: ProviderAccount, now: datetime) -> datetime | None:
    """The end of the wait the vendor asked of the account (the schedule reads none of its locks meanwhile)."""
    waiting = AccessCode.objects.filter(lock__account=account, vendor_wait_until__gt=now)
    return waiting.aggregate(end=Max("vendor_wait_until"))["end"]
