"""Signing in with two factors. After the right password of an account with two-factor
authentication, nobody is signed in yet: the session holds a pending sign-in (the user's id, the
backend, a fingerprint of the password, when it began) for SIGN_IN_CODE_TIMEOUT_SECONDS. Only a
right code from the authenticator app or a recovery code signs the person in (accounts.views)."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_noop
from django_otp import login as otp_login

from accounts.events import record_security_event
from accounts.models import SecurityEventKind
from accounts.reauth import mark_recently_authenticated
from accounts.signals import SIGN_IN_DETAIL
from accounts.throttle import count_failed_sign_in
from accounts.two_factor import CodeCheck, recovery_codes_left

PENDING = "accounts_pending_sign_in"


@dataclass(frozen=True)
class PendingSignIn:
    user: object
    next_url: str
    backend: str | None  # None: the session is signed in already and only needs its second factor


def pending_start(request: HttpRequest, *, user, next_url: str) -> None:
    request.session.cycle_key()  # a session id known before the password never carries the sign-in on
    request.session[PENDING] = {
        "user_id": user.pk,
        "backend": user.backend,
        "password_fingerprint": user.get_session_auth_hash(),
        "started_at": timezone.now().timestamp(),
        "next": next_url,
    }


def pending(request: HttpRequest) -> PendingSignIn | None:
    """The sign-in waiting for its second factor, if it is still valid (in time, same account, same
    password, active); an expired or invalid one is dropped."""
    data = request.session.get(PENDING)
    if not isinstance(data, dict):
        return None
    user = _still_valid(data)
    if user is None:
        del request.session[PENDING]
        return None
    return PendingSignIn(user=user, next_url=data["next"], backend=data["backend"])


def _still_valid(data: dict):
    started_at = data.get("started_at")
    if not isinstance(started_at, (int, float)):
        return None
    age = timezone.now().timestamp() - started_at
    if not 0 <= age <= settings.SIGN_IN_CODE_TIMEOUT_SECONDS or data.get("backend") not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = get_user_model()._default_manager.filter(pk=data.get("user_id")).first()
    if user is None or not user.is_active:
        return None
    if not constant_time_compare(user.get_session_auth_hash(), str(data.get("password_fingerprint"))):
        return None  # the password changed since (a reset): start again
    return user


def pending_of_signed_in(request: HttpRequest, next_url: str) -> PendingSignIn:
    """A signed-in session without its second factor (signed in before turning it on elsewhere)."""
    return PendingSignIn(user=request.user, next_url=next_url, backend=None)


def finish(request: HttpRequest, sign_in: PendingSignIn, check: CodeCheck) -> None:
    """The right code: sign in (or, signed in already, mark the session verified)."""
    request.session.pop(PENDING, None)
    detail = gettext_noop("with a recovery code") if check.recovery_code else gettext_noop("with the authenticator app")
    setattr(request, SIGN_IN_DETAIL, detail)
    if sign_in.backend is not None:
        login(request, sign_in.user, backend=sign_in.backend)
    else:
        mark_recently_authenticated(request)
    otp_login(request, check.device)
    if check.recovery_code:
        left = recovery_codes_left(sign_in.user)
        record_security_event(
            kind=SecurityEventKind.RECOVERY_CODE_USED, user=sign_in.user, request=request, detail=f"{left} recovery codes left."
        )


def code_refused(request: HttpRequest, user, *, detail: str = "") -> None:
    """A wrong code: logged, and counted as a failed sign-in of the account (accounts.throttle)."""
    record_security_event(kind=SecurityEventKind.TWO_FACTOR_FAILED, user=user, request=request, detail=detail)
    count_failed_sign_in(request, user.get_username())
