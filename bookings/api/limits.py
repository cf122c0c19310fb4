"""The API's limit settings, read and validated: the request rate per host, the failed-authentication
limit per client address, the number of active tokens per host.

Plain readers over Django settings, imported by the system checks (a bad value stops
`manage.py check`), the bearer authentication and throttle (bookings/api/security.py) and the token
services; they import nothing from the API, so none of those depends on another through them.
"""

import re
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_RATE_LIMIT = "120/minute"
DEFAULT_AUTH_FAILURE_LIMIT = "20/10minutes"
DEFAULT_MAX_TOKENS_PER_HOST = 10

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+?)s?\s*$")


@lru_cache(maxsize=16)
def parse_rate(rate: str, setting: str = "API_RATE_LIMIT") -> tuple[int, int]:
    """A rate setting as (count, seconds): "120/minute" → (120, 60). Units: s/sec/second,
    m/min/minute, h/hour, d/day (plural too), optionally with a count: "1000/5m"."""
    match = _RATE_RE.match(rate.lower())
    if not match or match.group(3) not in _PERIODS or int(match.group(1)) < 1:
        raise ImproperlyConfigured(f"{setting} must look like 120/minute, not {rate!r}.")
    multiple = int(match.group(2) or 1)
    if multiple < 1:
        raise ImproperlyConfigured(f"{setting} must look like 120/minute, not {rate!r}.")
    return int(match.group(1)), multiple * _PERIODS[match.group(3)]


def configured_rate() -> tuple[int, int]:
    return parse_rate(getattr(settings, "API_RATE_LIMIT", DEFAULT_RATE_LIMIT) or DEFAULT_RATE_LIMIT)


def configured_auth_failure_limit() -> tuple[int, int]:
    rate = getattr(settings, "API_AUTH_FAILURE_LIMIT", DEFAULT_AUTH_FAILURE_LIMIT) or DEFAULT_AUTH_FAILURE_LIMIT
    return parse_rate(rate, "API_AUTH_FAILURE_LIMIT")


def max_tokens_per_host() -> int:
    return getattr(settings, "API_MAX_TOKENS_PER_HOST", DEFAULT_MAX_TOKENS_PER_HOST)
