"""Fault injection shared by the four virtual clouds. Each vendor module answers in its own
format; these helpers decide *whether* to misbehave, consuming one-shot faults atomically."""

import os
import random
import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.http import HttpResponse, JsonResponse

from sandbox.models import VirtualAccount, VirtualLock

# Past every client timeout this project configures for the sandbox (VENDOR_HTTP_TIMEOUT_SECONDS);
# a run that compresses time (benchmarks/chaos.py) shortens both.
HANG_SECONDS = float(os.environ.get("SANDBOX_HANG_SECONDS", 30))
# The dice of the probabilistic switches (failure_rate, loss_rate); replaceable in tests.
dice = random.Random()


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
    (one-shot lose_responses, else the probabilistic loss_rate)."""
    holders = [(VirtualAccount, account)] + ([(VirtualLock, lock)] if lock else [])
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
    return Verdict(lose_response=lose)


def broken(response: HttpResponse) -> HttpResponse:
    """The vendor acted, but its answer never arrives in time: the client gives up waiting.

    (Cutting the connection short is not possible from a WSGI app behind runserver, which refuses
    hop-by-hop headers; holding the answer past the client's timeout loses it just as surely.)
    """
    time.sleep(HANG_SECONDS)
    return response
