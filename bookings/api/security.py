"""Bearer-token authentication and the limits of the PMS API.

- API_RATE_LIMIT counts the requests of a HOST, all its tokens together: minting more tokens does
  not buy more requests.
- API_AUTH_FAILURE_LIMIT counts failed bearer authentications (an unknown, revoked or expired
  token: one answer for all three) per client address. Past it, every bearer request from that
  address answers 429 until the window ends, a correct token too, and no token is looked up: were
  a correct token still let through, guessing would go on at full speed and a hit would show.
  The price: a PMS sharing an address with someone guessing waits for the window to end.

Both count in fixed windows in Django's cache, raised with the cache's atomic `incr`, so threads
and processes sharing the cache agree (ninja's SimpleRateThrottle keeps per-request state on the
shared throttle object, which threads would trample). A fixed window lets a client reach at most
twice the rate across a window boundary; that is fine for a guard rail. The limits are per cache:
with the default per-process cache, per process (use Redis in production).
"""

import logging
import time
from dataclasses import dataclass
from ipaddress import IPv6Network, ip_address

from django.core.cache import cache
from django.http import HttpRequest
from ninja.errors import Throttled
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from accounts.client import client_ip_address
from bookings.api.limits import configured_auth_failure_limit, configured_rate
from bookings.api.models import ApiToken
from bookings.api.services import api_token_authenticate

logger = logging.getLogger(__name__)

# One IPv6 subscriber usually holds a whole /64: counted per address, it could guess from 2**64.
IPV6_PREFIX_LENGTH = 64


# --- fixed-window counters -------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    key: str
    period: int
    retry_after: int  # whole seconds until the window ends (at least 1)


def _window(name: str, period: int) -> Window:
    now = time.time()
    index = int(now // period)
    return Window(key=f"{name}:{period}:{index}", period=period, retry_after=max(1, int((index + 1) * period - now + 0.999)))


def _count(window: Window) -> int:
    """Add one to the window's counter; its new value."""
    cache.add(window.key, 0, timeout=window.period + 1)
    try:
        return cache.incr(window.key)
    except ValueError:  # expired between add and incr
        cache.set(window.key, 1, timeout=window.period + 1)
        return 1


def _peek(window: Window) -> int:
    return cache.get(window.key, 0)


def _too_many(request: HttpRequest, retry_after: int) -> Throttled:
    request._api_retry_after = retry_after  # read by the 429 handler (thread-safe: on the request)
    return Throttled(wait=retry_after)


# --- failed authentication, per client address ---------------------------------------------------


def address_key(request: HttpRequest) -> str:
    """Whom failed authentications are counted against: the client's address (IPv6: its /64)."""
    address = client_ip_address(request)
    if address is None:
        return "unknown"
    parsed = ip_address(address)
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is that IPv4 client
        return str(parsed.ipv4_mapped)
    return str(IPv6Network((parsed, IPV6_PREFIX_LENGTH), strict=False))


def _failure_window(request: HttpRequest) -> tuple[Window, int]:
    limit, period = configured_auth_failure_limit()
    return _window(f"api-auth-failures:{address_key(request)}", period), limit


class TokenAuth(HttpBearer):
    """`Authorization: Bearer nwk_…` → the active ApiToken (request.auth), else 401; 429 for an
    address with too many failed attempts (module docstring)."""

    def __call__(self, request: HttpRequest) -> ApiToken | None:
        # ninja's own HttpBearer logs an unexpected header under DEBUG: it may hold a secret.
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.authenticate(request, credentials.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        window, limit = _failure_window(request)
        if _peek(window) >= limit:
            raise _too_many(request, window.retry_after)
        found = api_token_authenticate(token)
        if found is None and _count(window) == limit:
            logger.warning(
                "API: %s failed token authentications from %s; its bearer requests are refused for %s s.",
                limit, address_key(request), window.retry_after,
            )
        return found


# --- requests, per host ----------------------------------------------------------------------------


class HostRateThrottle(BaseThrottle):
    """At most N requests per host in each fixed window (API_RATE_LIMIT, e.g. 120/minute), whichever
    of its tokens they carry."""

    def allow_request(self, request: HttpRequest) -> bool:
        token = getattr(request, "auth", None)
        if token is None:
            return True
        limit, period = configured_rate()
        window = _window(f"api-throttle:host:{token.host_id}", period)
        if _count(window) <= limit:
            return True
        request._api_retry_after = window.retry_after
        return False

    def wait(self) -> float | None:
        return None  # Retry-After is set by the 429 handler, from the request (thread-safe)
