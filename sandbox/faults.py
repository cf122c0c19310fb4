"""Fault injection shared by the four virtual clouds. Each vendor module answers in its own
format; these helpers decide *whether* to misbehave, consuming one-shot faults atomically."""

import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.http import HttpResponse, JsonResponse

from sandbox.models import VirtualAccount, VirtualLock

# Past every client timeout this project configures for the sandbox (VENDOR_HTTP_TIMEOUT_SECONDS).
HANG_SECONDS = 30


@dataclass
class Verdict:
    """What the fault switches say about one request."""

    response: HttpResponse | None = None  # answer this instead of acting
    offline: bool = False  # the vendor-specific "lock unreachable" answer is due
    lose_response: bool = False  # act, then break the answer


def _take(model, pk: int, field: str) -> bool:
    """Consume one unit of a one-shot fault; True when there was one."""
    return bool(model.objects.filter(pk=pk, **{f"{field}__gt": 0}).update(**{field: F(field) - 1}))


def judge(account: VirtualAccount, lock: VirtualLock | None = None, *, write: bool = False) -> Verdict:
    holders = [(VirtualAccount, account)] + ([(VirtualLock, lock)] if lock else [])
    delay = sum(holder.latency_ms for _, holder in holders)
    if delay:
        time.sleep(delay / 1000)
    with transaction.atomic():
        for model, holder in holders:
            if _take(model, holder.pk, "timeouts"):
                time.sleep(HANG_SECONDS)
                return Verdict(response=HttpResponse(status=504))
            if _take(model, holder.pk, "server_errors"):
                return Verdict(response=JsonResponse({"message": "Sandbox: injected server error"}, status=503))
            if _take(model, holder.pk, "rate_limited"):
                response = JsonResponse({"message": "Sandbox: too many requests"}, status=429)
                response["Retry-After"] = str(holder.retry_after_seconds)
                return Verdict(response=response)
        if any(holder.offline for _, holder in holders):
            return Verdict(offline=True)
        lose = write and any(_take(model, holder.pk, "lose_responses") for model, holder in holders)
    return Verdict(lose_response=lose)


def broken(response: HttpResponse) -> HttpResponse:
    """The vendor acted, but its answer never arrives in time: the client gives up waiting.

    (Cutting the connection short is not possible from a WSGI app behind runserver, which refuses
    hop-by-hop headers; holding the answer past the client's timeout loses it just as surely.)
    """
    time.sleep(HANG_SECONDS)
    return response
