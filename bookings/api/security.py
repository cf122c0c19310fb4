"""Bearer-token authentication and the per-token rate limit of the PMS API."""

import re
import time
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from bookings.api.models import ApiToken
from bookings.api.services import api_token_authenticate

DEFAULT_RATE_LIMIT = "120/minute"


class TokenAuth(HttpBearer):
    """`Authorization: Bearer nwk_…` → the active ApiToken (request.auth), else 401."""

    def __call__(self, request: HttpRequest) -> ApiToken | None:
        # ninja's own HttpBearer logs an unexpected header under DEBUG: it may hold a secret.
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.authenticate(request, credentials.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return api_token_authenticate(token)


_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+?)s?\s*$")


@lru_cache(maxsize=8)
def parse_rate(rate: str) -> tuple[int, int]:
    """"120/minute" → (120, 60). Units: s/sec/second, m/min/minute, h/hour, d/day (plural too),
    optionally with a count: "1000/5m"."""
    match = _RATE_RE.match(rate.lower())
    if not match or match.group(3) not in _PERIODS or int(match.group(1)) < 1:
        raise ImproperlyConfigured(f"API_RATE_LIMIT must look like 120/minute, not {rate!r}.")
    multiple = int(match.group(2) or 1)
    if multiple < 1:
        raise ImproperlyConfigured(f"API_RATE_LIMIT must look like 120/minute, not {rate!r}.")
    return int(match.group(1)), multiple * _PERIODS[match.group(3)]


def configured_rate() -> tuple[int, int]:
    return parse_rate(getattr(settings, "API_RATE_LIMIT", DEFAULT_RATE_LIMIT) or DEFAULT_RATE_LIMIT)


class TokenRateThrottle(BaseThrottle):
    """At most N requests per token in each fixed window (API_RATE_LIMIT, e.g. 120/minute).

    A counter per token and window in Django's cache, raised with the cache's atomic `incr`, so
    threads and processes sharing the cache agree (ninja's SimpleRateThrottle keeps per-request
    state on the shared throttle object, which threads would trample). A fixed window lets a
    client reach at most twice the rate across a window boundary; that is fine for a guard rail.
    The limit is per cache: with the default per-process cache, per process.
    """

    cache = cache

    def allow_request(self, request: HttpRequest) -> bool:
        token = getattr(request, "auth", None)
        if token is None:
            return True
        limit, period = configured_rate()
        now = time.time()
        window = int(now // period)
        key = f"api-throttle:{token.pk}:{period}:{window}"
        self.cache.add(key, 0, timeout=period + 1)
        try:
            count = self.cache.incr(key)
        except ValueError:  # expired between add and incr
            self.cache.set(key, 1, timeout=period + 1)
            count = 1
        if count <= limit:
            return True
        request._api_retry_after = max(1, int((window + 1) * period - now + 0.999))
        return False

    def wait(self) -> float | None:
        return None  # Retry-After is set by the 429 handler, from the request (thread-safe)
