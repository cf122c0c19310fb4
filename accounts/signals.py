"""What the security log records on its own, from Django's and django-axes' signals: sign-ins, failed
sign-ins, sign-outs and lock-outs. A sign-in, however it happens, is also a fresh confirmation of
who someone is (accounts.reauth) and the start of the session's clock (accounts.sessions)."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from accounts import sessions
from accounts.events import record_security_event
from accounts.lockouts import lockout_start, user_named
from accounts.models import SecurityEventKind
from accounts.reauth import mark_recently_authenticated
from accounts.throttle import ACCOUNT, ADDRESS

# Set on the request by a view that knows more about the sign-in (e.g. "with a recovery code").
SIGN_IN_DETAIL = "accounts_sign_in_detail"


@receiver(user_logged_in)
def signed_in_is_recently_confirmed(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        mark_recently_authenticated(request)
        sessions.session_started(request, now=timezone.now())


@receiver(user_logged_in)
def record_sign_in(sender, request, user, **kwargs):
    record_security_event(kind=SecurityEventKind.SIGNED_IN, user=user, request=request, detail=getattr(request, SIGN_IN_DETAIL, ""))


def refused_while_locked_out(request) -> bool:
    """axes refused this attempt before checking it (the account or address was already locked out):
    no new failure, and not one log row per try of someone hammering the form."""
    return bool(getattr(request, "axes_locked_out", False)) and getattr(request, "axes_failures_since_start", None) is None


@receiver(user_login_failed)
def record_failed_sign_in(sender, credentials, request=None, **kwargs):
    if request is None or refused_while_locked_out(request):
        return
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        return  # a signed-in person re-typing their password: the confirming view records it
    username = (credentials or {}).get("username") or ""
    record_security_event(kind=SecurityEventKind.SIGN_IN_FAILED, user=user_named(username), request=request, username=username)


@receiver(user_logged_out)
def record_sign_out(sender, request, user, **kwargs):
    if user is not None:
        record_security_event(kind=SecurityEventKind.SIGNED_OUT, user=user, request=request)


@receiver(user_locked_out)
def record_lockout(sender, request, username, ip_address, **kwargs):
    if refused_while_locked_out(request):
        return  # axes repeats the signal for every refused try: the lock-out was recorded when it began
    reached = getattr(request, "accounts_keys_at_limit", [ACCOUNT, ADDRESS])
    now = timezone.now()
    lockout = lockout_start(
        username=username if ACCOUNT in reached else None, ip_address=ip_address if ADDRESS in reached else None, now=now
    )
    what = " and ".join(filter(None, [lockout.username and "this account", lockout.ip_address and "this address"]))
    record_security_event(
        kind=SecurityEventKind.LOCKED_OUT, user=user_named(username), request=request, username=username or "",
        detail=f"Too many failed sign-ins: {what} locked out until {lockout.ends_at:%Y-%m-%d %H:%M} UTC.",
    )
