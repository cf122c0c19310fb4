"""The shared rate limiter every vendor request passes before it leaves (`VendorHttp.request`, and
the fake cloud standing in for one in tests): per vendor, one limit for our developer app (every
request, whatever the account: TTLock counts an app's calls) and one per connected account (Tedee
counts a user's), both configured in `settings.LOCKS_VENDOR_RATE_LIMITS` as `limits` strings.

The counts live in Redis (`settings.REDIS_URL`) so the web server and every worker process share
them, in the `limits` library's moving window (a request is refused while the last `amount`
requests all fall within the window: the configured maximum is never exceeded, at any instant).

A request over a limit raises `RateLimitedLocally` before anything is sent, with `retry_after`
the seconds until the window frees; the lifecycle reschedules the step then (never a failure).
Reads (read-backs: code listings, access logs, lock health) yield to writes: they may only use a
share of each window (`settings.LOCKS_RATE_LIMIT_READ_SHARE`), so creates, changes, deletes and
token requests always find room. The vendor, account and priority of the request come from the
call context the services set (`calls_for`); the HTTP seam itself knows only its vendor.

A limiter that cannot reach Redis lets requests through (and logs a warning): a broken counter must
not stop every code of every host; the vendor's own 429 answers remain the backstop.
"""

import contextvars
import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from locks.providers.exceptions import RateLimitedLocally

logger = logging.getLogger(__name__)

WRITE = "write"
READ = "read"

# A limiter's answer never waits on an unreachable Redis for longer than this (seconds).
REDIS_TIMEOUT_SECONDS = 0.5
# After Redis failed, requests go through unchecked this long before it is asked again: each ask
# of an unreachable server may cost a timeout, and each would log the same warning.
UNAVAILABLE_PAUSE_SECONDS = 5.0
# Added to the wait a refusal asks for: at its window's very end a request is still refused (the
# oldest one counted is exactly a window old), and a reset in the past (clock skew) still waits a little.
WAIT_MARGIN_SECONDS = 0.01


@dataclass(frozen=True)
class CallContext:
    vendor: str  # the provider's slug
    account_id: int | None
    priority: str  # WRITE or READ


_context: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar("nowistay_vendor_call", default=None)


@contextmanager
def calls_for(*, vendor: str, account_id: int | None, priority: str = WRITE) -> Iterator[CallContext]:
    """The requests sent inside this block are made for this account, with this priority."""
    context = CallContext(vendor=vendor.lower(), account_id=account_id, priority=priority)
    reset = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(reset)


def current_call() -> CallContext | None:
    return _context.get()


def admit(vendor: str | None = None) -> None:
    """Count one request to `vendor` (the call context's when None) against its limits, or raise
    RateLimitedLocally (nothing sent) when a limit has no room for it now. A request the app limit
    refuses after its account's limit counted it leaves that count spent: it errs on the side of
    sending less, never more."""
    if not settings.LOCKS_RATE_LIMITS_ENABLED:
        return
    context = current_call()
    vendor = (vendor or (context.vendor if context else "")).lower()
    if not vendor:
        return
    ours = context is not None and context.vendor == vendor
    checks = _checks(vendor, context.account_id if ours else None)
    if not checks:
        return
    reading = ours and context.priority == READ
    if time.monotonic() < _unavailable_until[0]:
        return
    try:
        limiter = _limiter()
        if reading:
            for item, identifiers in checks:
                _refuse_reads_beyond_share(limiter, item, identifiers, vendor)
        for item, identifiers in checks:
            if not limiter.hit(item, *identifiers):
                raise _refusal(limiter, item, identifiers, vendor, "its rate limit")
    except RateLimitedLocally:
        raise
    except Exception as error:  # Redis down or unreachable: let requests through rather than stop all work
        _unavailable_until[0] = time.monotonic() + UNAVAILABLE_PAUSE_SECONDS
        logger.warning(
            "the vendor rate limiter is unavailable (%s: %s); requests go through unchecked for %g s",
            type(error).__name__, error, UNAVAILABLE_PAUSE_SECONDS,
        )


def _checks(vendor: str, account_id: int | None) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    """(limit, identifiers) to count a request against: the account's first (the narrower one)."""
    configured = settings.LOCKS_VENDOR_RATE_LIMITS.get(vendor, {})
    checks = []
    if account_id is not None:
        checks += [(item, (vendor, "account", str(account_id))) for item in _parsed(configured.get("account", ""))]
    checks += [(item, (vendor, "app")) for item in _parsed(configured.get("app", ""))]
    return checks


@lru_cache(maxsize=64)
def _parsed(value: str) -> tuple[RateLimitItem, ...]:
    """'650/hour' or '20/second;600/minute' (several limits, each honoured); '' is no limit."""
    return tuple(parse_many(value)) if value.strip() else ()


def read_allowance(item: RateLimitItem) -> int:
    """How many requests of a window reads may use: the read share of it, at least one."""
    return max(1, math.floor(item.amount * settings.LOCKS_RATE_LIMIT_READ_SHARE))


def _refuse_reads_beyond_share(limiter: MovingWindowRateLimiter, item: RateLimitItem, identifiers: tuple, vendor: str) -> None:
    # A look, then the hit: two reads racing may both pass the look, so the share is approximate;
    # the limit itself is not (the hit is atomic).
    stats = limiter.get_window_stats(item, *identifiers)
    if item.amount - stats.remaining >= read_allowance(item):
        raise _refusal(limiter, item, identifiers, vendor, "the share of its rate limit left to reads", stats=stats)


def _refusal(limiter, item: RateLimitItem, identifiers: tuple, vendor: str, what: str, *, stats=None) -> RateLimitedLocally:
    stats = stats or limiter.get_window_stats(item, *identifiers)
    wait = max(0.0, stats.reset_time - time.time()) + WAIT_MARGIN_SECONDS
    scope = "this account" if "account" in identifiers else "Nowistay"
    return RateLimitedLocally(
        f"Held back: {scope} reached {what} with {vendor} ({item}); sent once the window frees.",
        retry_after=wait,
    )


# --- the storage ----------------------------------------------------------------------------------
_built: dict[str, MovingWindowRateLimiter] = {}
_building = threading.Lock()
_unavailable_until = [0.0]  # time.monotonic() until which the storage is not asked (it just failed)


def _limiter() -> MovingWindowRateLimiter:
    """The process's limiter, on Redis when REDIS_URL is set. Without it (the embedded SQLite set-up
    of `make run` and most tests) the counts are kept in this process's memory only: each process
    then honours the limits on its own, and several processes together may exceed them."""
    url = settings.REDIS_URL
    limiter = _built.get(url)
    if limiter is None:
        with _building:
            limiter = _built.get(url)
            if limiter is None:
                limiter = _built[url] = MovingWindowRateLimiter(_storage(url))
    return limiter


def _storage(url: str) -> Storage:
    if not url:
        return MemoryStorage()
    return storage_from_string(
        url,
        key_prefix="nowistay-vendor-limits",
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )


def forget_counts() -> None:
    """Drop every count this process's limiters hold in memory, and the limiters (tests)."""
    with _building:
        for limiter in _built.values():
            if isinstance(limiter.storage, MemoryStorage):
                limiter.storage.reset()
        _built.clear()
        _unavailable_until[0] = 0.0
