"""Session hygiene: a session ends after SESSION_IDLE_TIMEOUT_SECONDS without a request, and every
session of an account that began before its SessionCutoff is over ("Sign out everywhere", turning
on two-factor authentication). Works with any session backend: nothing needs to find a user's
sessions, each one is judged when it is next used (accounts.middleware)."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import SessionCutoff

SIGNED_IN_AT = "accounts_signed_in_at"
LAST_ACTIVITY = "accounts_last_activity"
# The cutoff this session was exempted from, when it was the one that set it.
KEPT_THROUGH = "accounts_kept_through_cutoff"
# Last activity is written at most this often, so a busy page does not save its session on every request.
ACTIVITY_RESOLUTION_SECONDS = 60
NOT_READ = object()


def session_started(request: HttpRequest, *, now: datetime) -> None:
    request.session[SIGNED_IN_AT] = now.timestamp()
    request.session[LAST_ACTIVITY] = now.timestamp()


def idle_too_long(session, *, now: datetime) -> bool:
    last = session.get(LAST_ACTIVITY)
    return isinstance(last, (int, float)) and now.timestamp() - last > settings.SESSION_IDLE_TIMEOUT_SECONDS


def note_activity(session, *, now: datetime) -> None:
    last = session.get(LAST_ACTIVITY)
    if not isinstance(last, (int, float)) or now.timestamp() - last >= ACTIVITY_RESOLUTION_SECONDS:
        session[LAST_ACTIVITY] = now.timestamp()


def cutoff_of(user) -> datetime | None:
    """The user's cutoff, as accounts.backends.AccountBackend read it with the user (else one query)."""
    cutoff = getattr(user, "sessions_cutoff", NOT_READ)
    if cutoff is NOT_READ:
        cutoff = SessionCutoff.objects.filter(user_id=user.pk).values_list("cutoff", flat=True).first()
    return cutoff


def ended_elsewhere(request: HttpRequest) -> bool:
    """Whether this session began before (or at) the account's cutoff, unless it set the cutoff while
    keeping itself. A session from before sign-in times were kept counts as older than any cutoff."""
    cutoff = cutoff_of(request.user)
    if cutoff is None or request.session.get(KEPT_THROUGH) == cutoff.timestamp():
        return False
    signed_in_at = request.session.get(SIGNED_IN_AT)
    return not isinstance(signed_in_at, (int, float)) or signed_in_at <= cutoff.timestamp()


def sessions_end_everywhere(user, *, now: datetime) -> None:
    """Every session of `user` that exists now is over, in every browser."""
    SessionCutoff.objects.update_or_create(user=user, defaults={"cutoff": now})


def sessions_end_others(request: HttpRequest, *, now: datetime) -> None:
    """Every other session of the signed-in user is over; this one goes on."""
    sessions_end_everywhere(request.user, now=now)
    request.session[KEPT_THROUGH] = now.timestamp()


def session_end(request: HttpRequest) -> None:
    """End this session without the signed-out signal (the caller records why it ended)."""
    request.session.flush()
    request.user = AnonymousUser()


def idle_minutes() -> int:
    return max(1, settings.SESSION_IDLE_TIMEOUT_SECONDS // 60)


def now() -> datetime:
    return timezone.now()
