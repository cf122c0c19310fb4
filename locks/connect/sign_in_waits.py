"""A vendor that answers a host's sign-in with "too many requests" (429, RateLimited) is not asked
again on that host's behalf before the time it gave (Retry-After, else a minute).

The wait is kept server-side in Django's cache (shared by every web process when CACHE_URL is
Redis), so a reload, a second tab or a double click cannot send a new sign-in meanwhile. Each
connect flow runs its sign-in request through `sign_in` and shows the RateLimited's message,
which says when to try again.
"""

import math
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import ngettext

from locks.models import provider_name
from locks.providers.exceptions import RateLimited

# A vendor that says "too many requests" without saying for how long is left alone this long.
DEFAULT_WAIT_SECONDS = 60

T = TypeVar("T")


def sign_in(*, host, provider: str, attempt: Callable[[], T]) -> T:
    """Make one sign-in request to `provider` for `host`, unless the vendor asked to wait.

    Raises RateLimited, with a message for the host saying when to try again, while a wait is on
    (nothing is sent) or when the vendor answers with one (the wait is then remembered).
    """
    refuse_while_waiting(host=host, provider=provider)
    try:
        return attempt()
    except RateLimited as error:
        seconds = error.retry_after or DEFAULT_WAIT_SECONDS
        until = timezone.now().timestamp() + seconds
        cache.set(_key(host, provider), until, timeout=math.ceil(seconds) + 1)
        raise _wait_error(provider, until, vendor_code=error.vendor_code) from None


def refuse_while_waiting(*, host, provider: str) -> None:
    """Raise RateLimited (a message for the host) if `provider` asked this host's sign-ins to wait."""
    until = cache.get(_key(host, provider))
    if until is not None and until > timezone.now().timestamp():
        raise _wait_error(provider, until)


def _key(host, provider: str) -> str:
    return f"locks:sign-in-wait:{provider}:{host.pk}"


def _wait_error(provider: str, until: float, vendor_code: str | None = None) -> RateLimited:
    seconds = max(1, math.ceil(until - timezone.now().timestamp()))
    return RateLimited(
        _wait_words(seconds, provider_name(provider)),
        retry_after=seconds,
        vendor_code=vendor_code,
    )


def _wait_words(seconds: int, brand: str) -> str:
    """The whole message, its wait rounded up so the host never comes back too early: "45 seconds",
    "2 minutes", "9 hours"."""
    if seconds < 60:
        count = seconds
        text = ngettext(
            "%(brand)s asked Nowistay to wait before signing in again: please try again in %(count)d second. Nothing was connected.",
            "%(brand)s asked Nowistay to wait before signing in again: please try again in %(count)d seconds. Nothing was connected.",
            count,
        )
    elif seconds <= 2 * 3600:
        count = math.ceil(seconds / 60)
        text = ngettext(
            "%(brand)s asked Nowistay to wait before signing in again: please try again in %(count)d minute. Nothing was connected.",
            "%(brand)s asked Nowistay to wait before signing in again: please try again in %(count)d minutes. Nothing was connected.",
            count,
        )
    else:
        count = math.ceil(seconds / 3600)
        text = ngettext(
            "%(brand)s asked Nowistay to wait before signing in again: please try again in %(count)d hour. Nothing was connected.",
            "%(brand)s asked Nowistay to wait before signing in again: please try again in %(count)d hours. Nothing was connected.",
            count,
        )
    return text % {"brand": brand, "count": count}
