"""Fault injection shared by the four virtual clouds. Each vendor module answers in its own
format; these helpers decide *whether* to misbehave, consuming one-shot faults atomically."""

import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.http import HttpResponse, JsonResponse
from django.utils import timezone

from sandbox.models import VirtualAccount, VirtualLock

# Past every client timeout this project configures for the sandbox (VENDOR_HTTP_TIMEOUT_SECONDS);
# a run that compresses time (benchmarks/chaos.py) shortens both.
HANG_SECONDS = float(os.environ.get("SANDBOX_HANG_SECONDS", 30))
# The dice of the probabilistic switches (failure_rate, loss_rate, slow_rate); replaceable in tests.
dice = random.Random()
# What the switches did since the process started, per vendor (GET /_control/tally/): slow writes
# with their waits, asynchronous applies. In memory: the sandbox is one process; a restart forgets.
_TALLY_LOCK = threading.Lock()
_slow_waits: dict[str, list[float]] = {}
_async_applies: Counter = Counter()


@dataclass
class Verdict:
    """What the fault switches say about one request."""

    response: HttpResponse | None = None  # answer this instead of acting
    offline: bool = False  # the vendor-specific "lock unreachable" answer is due
    lose_response: bool = False  # act, then break the answer


def _take(model, pk: int, field: str) -> bool:
    """Consume one unit of a one-shot fault; True when there was one."""
    return bool(model.objects.filter(pk=pk, **{f"{field}__gt": 0}).update(**{field: F(field) - 1}))


def _server_error() -> JsonResponse:
    return JsonResponse({"message": "Sandbox: injected server error"}, status=503)


def _too_many_requests(holder) -> JsonResponse:
    response = JsonResponse({"message": "Sandbox: too many requests"}, status=429)
    response["Retry-After"] = str(holder.retry_after_seconds)
    return response


def _rolled(holders, field: str):
    """The first holder whose probabilistic switch `field` fires on this request, if any."""
    for _, holder in holders:
        rate = getattr(holder, field)
        if rate > 0 and dice.random() < rate:
            return holder
    return None


def judge(account: VirtualAccount, lock: VirtualLock | None = None, *, write: bool = False) -> Verdict:
    """One-shot switches first (consumed in order: timeouts, 5xx, 429), then the probabilistic
    failure_rate (half 5xx, half 429, nothing done), then offline, then lost answers on writes
    (one-shot lose_responses, else the probabilistic loss_rate), then slow writes (slow_rate: the
    wait happens here, before the vendor acts)."""
    holders = [(VirtualAccount, account)] + ([(VirtualLock, lock)] if lock else [])
    if lock is not None:
        settle_applies(lock)
    delay = sum(holder.latency_ms for _, holder in holders)
    if delay:
        time.sleep(delay / 1000)
    hang = False
    with transaction.atomic():
        for model, holder in holders:
            if _take(model, holder.pk, "timeouts"):
                hang = True
                break
            if _take(model, holder.pk, "server_errors"):
                return Verdict(response=_server_error())
            if _take(model, holder.pk, "rate_limited"):
                return Verdict(response=_too_many_requests(holder))
        else:
            failing = _rolled(holders, "failure_rate")
            if failing is not None:
                return Verdict(response=_server_error() if dice.random() < 0.5 else _too_many_requests(failing))
            if any(holder.offline for _, holder in holders):
                return Verdict(offline=True)
            lose = write and (
                any(_take(model, holder.pk, "lose_responses") for model, holder in holders)
                or _rolled(holders, "loss_rate") is not None
            )
    if hang:  # outside the transaction: a hanging request must not hold the database's write lock
        time.sleep(HANG_SECONDS)
        return Verdict(response=HttpResponse(status=504))
    if write:
        _answer_late(account, holders)
    return Verdict(lose_response=lose)


def _answer_late(account: VirtualAccount, holders) -> None:
    """A slow write (slow_rate): the vendor takes a while before it acts and answers, up to the
    holder's slow_seconds; a wait past the client's timeout leaves the client not knowing whether
    the write was made, and it may land after the client has given up."""
    slow = _rolled(holders, "slow_rate")
    if slow is None or slow.slow_seconds <= 0:
        return
    wait = dice.uniform(0, slow.slow_seconds)
    with _TALLY_LOCK:
        _slow_waits.setdefault(account.vendor, []).append(round(wait, 3))
    time.sleep(wait)


def applies_at(lock: VirtualLock, write: str) -> datetime | None:
    """When a `write` ("create", "update", "delete") accepted now reaches the lock under asynchronous
    applies (the longer of the lock's and its account's apply_delay_seconds); None: at once.
    Counted in the tally."""
    delay = max(lock.apply_delay_seconds, lock.account.apply_delay_seconds)
    if delay <= 0:
        return None
    with _TALLY_LOCK:
        _async_applies[(lock.account.vendor, write)] += 1
    return timezone.now() + timedelta(seconds=delay)


def settle_applies(lock: VirtualLock) -> None:
    """Carry out the lock's asynchronous applies that are due: windows changed, codes removed (a
    created code needs nothing: `VirtualCode.objects.applied()` shows it once due). Called before
    the lock is read or written (judge, /_control, the door page, the keypad). Reads first: a
    delete opens a transaction, which takes SQLite's write lock (IMMEDIATE), so only when due."""
    now = timezone.now()
    removed = list(lock.codes.filter(removes_at__lte=now).values_list("pk", flat=True))
    if removed:
        lock.codes.filter(pk__in=removed).delete()
    for code in lock.codes.filter(window_changes_at__lte=now):
        lock.codes.filter(pk=code.pk, window_changes_at=code.window_changes_at).update(
            starts_at=code.next_starts_at, ends_at=code.next_ends_at, window_changes_at=None, next_starts_at=None, next_ends_at=None
        )


def tally() -> dict:
    """What the slow-write and asynchronous-apply switches did, per vendor, since the process started."""
    with _TALLY_LOCK:
        applies: dict[str, dict[str, int]] = {}
        for (vendor, write), n in _async_applies.items():
            applies.setdefault(vendor, {})[write] = n
        return {"slow_writes": {vendor: list(waits) for vendor, waits in _slow_waits.items()}, "async_applies": applies}


def broken(response: HttpResponse) -> HttpResponse:
    """The vendor acted, but its answer never arrives in time: the client gives up waiting.

    (Cutting the connection short is not possible from a WSGI app behind runserver, which refuses
    hop-by-hop headers; holding the answer past the client's timeout loses it just as surely.)
    """
    time.sleep(HANG_SECONDS)
    return response
