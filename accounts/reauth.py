"""Sensitive actions ask again: disconnecting a lock account, creating an API token that can read
PINs, turning two-factor authentication off and downloading door codes need the account's password
(or a second-factor code) confirmed within the last REAUTHENTICATION_MAX_AGE_SECONDS.

A sign-in counts as a confirmation. A view wrapped in `recent_authentication_required` sends an
unconfirmed person to the confirmation page and back to the same page; a POST is not replayed
(its data is gone): the page comes back and the person presses again, now confirmed.
"""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

SESSION_KEY = "accounts_confirmed_at"


def mark_recently_authenticated(request: HttpRequest) -> None:
    request.session[SESSION_KEY] = timezone.now().timestamp()


def is_recently_authenticated(request: HttpRequest) -> bool:
    confirmed_at = request.session.get(SESSION_KEY)
    if not isinstance(confirmed_at, (int, float)):
        return False
    age = timezone.now().timestamp() - confirmed_at
    return 0 <= age <= max_age().total_seconds()


def max_age() -> timedelta:
    return timedelta(seconds=settings.REAUTHENTICATION_MAX_AGE_SECONDS)


def confirmation_url(back_to: str) -> str:
    return f"{reverse('accounts:confirm')}?{urlencode({'next': back_to})}"


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    """`candidate` when it is a path of this site, else `default` (no open redirect)."""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return default


def recent_authentication_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run `view` only for someone signed in who confirmed who they are recently (see module)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if is_recently_authenticated(request):
            return view(request, *args, **kwargs)
        back_to = request.get_full_path() if request.method == "GET" else request.path
        target = confirmation_url(back_to)
        if getattr(request, "htmx", False):  # htmx follows a redirect in place; this must be a page load
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return HttpResponseRedirect(target)

    return guarded
