"""Sign-in throttling with django-axes 8.3.1 (settings AXES_* and SIGN_IN_*).

Failed sign-ins are counted by axes per account (the username typed, whether or not an account has
it, so a lock-out never tells which usernames exist) and, separately, per client address
(accounts.client). Each key has its own limit (SIGN_IN_FAILURES_PER_ACCOUNT, _PER_ADDRESS) within
AXES_COOLOFF_TIME; wrong second-factor codes count as failed sign-ins of the account too.

Why the growth is not a callable AXES_COOLOFF_TIME: axes deletes every attempt older than the
cool-off of the request at hand (clean_expired_user_attempts filters the whole table), so a cool-off
that differed between requests would let one request with a short cool-off wipe the failures behind
another account's longer lock-out. The cool-off stays one constant (the counting window and the
shortest lock-out); each lock-out is written down with its end (accounts.lockouts, which doubles
it for repeat offenders), and `failure_limit` keeps axes refusing until then.
"""

import math

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.lockouts import active_lockouts, lockout_end

ACCOUNT, ADDRESS = "username", "ip_address"


def limits() -> dict[str, int]:
    return {ACCOUNT: settings.SIGN_IN_FAILURES_PER_ACCOUNT, ADDRESS: settings.SIGN_IN_FAILURES_PER_ADDRESS}


class SignInThrottleHandler(AxesDatabaseHandler):
    """axes' database handler with a limit per key: it counts how many keys (account, address)
    reached their own limit, and `failure_limit` makes one such key enough to lock out."""

    def keys_at_limit(self, request: HttpRequest, credentials: dict | None = None) -> list[str]:
        reached = []
        for key, attempts in zip(settings.AXES_LOCKOUT_PARAMETERS, self.get_user_attempts(request, credentials), strict=True):
            failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            if failures >= limits()[key]:
                reached.append(key)
        return reached

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        reached = self.keys_at_limit(request, credentials)
        request.accounts_keys_at_limit = reached  # read when the lock-out is recorded (accounts.signals)
        return len(reached)


def failure_limit(request: HttpRequest, credentials: dict | None = None) -> int:
    """AXES_FAILURE_LIMIT: one key at its limit locks out; while a recorded lock-out of this account
    or address lasts, nothing more is needed (0), whatever axes still counts."""
    locked = active_lockouts(username=get_client_username(request, credentials), ip_address=request.axes_ip_address, now=timezone.now())
    return 0 if locked.exists() else 1


def sign_in_allowed(request: HttpRequest, username: str) -> bool:
    """Whether the throttle lets `username` try to sign in from this request's address now (for the
    steps axes does not see: second-factor codes)."""
    return AxesProxyHandler.is_allowed(request, {settings.AXES_USERNAME_FORM_FIELD: username})


def count_failed_sign_in(request: HttpRequest, username: str) -> None:
    """A failure axes does not see by itself (a wrong second-factor code) counts like a wrong password;
    if it locks out, request.axes_locked_out is set and AxesMiddleware answers with `lockout_response`."""
    AxesProxyHandler.user_login_failed(sender=__name__, credentials={settings.AXES_USERNAME_FORM_FIELD: username}, request=request)


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the same page and status (429) for every username, existing or not,
    naming the moment the lock-out ends."""
    if not hasattr(request, "axes_ip_address"):
        AxesProxyHandler.update_request(request)
    now = timezone.now()
    ends_at = lockout_end(username=get_client_username(request, credentials), ip_address=request.axes_ip_address, now=now)
    ends_at = ends_at or now + settings.AXES_COOLOFF_TIME  # axes counted a limit but nothing recorded yet: its window
    minutes = max(1, math.ceil((ends_at - now).total_seconds() / 60))
    return render(request, "accounts/locked_out.html", {"ends_at": ends_at, "minutes": minutes}, status=429)
