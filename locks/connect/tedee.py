"""Connecting a host's Tedee account: OAuth 2 authorization code + PKCE through Tedee's Azure AD
B2C sign-in. The services hold the rules; the two views only call them.

The `state` is random, kept in the host's own session with the PKCE verifier and its creation
time, used once (taken out of the session whatever happens), valid for 10 minutes, and compared in
constant time. A cancelled or failed sign-in stores nothing. Only tokens are kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from locks.connect import sign_in_waits
from locks.dashboard.views import panel_url, render_panel
from locks.models import Provider, ProviderAccount
from locks.providers import tedee
from locks.providers.exceptions import ProviderAuthError, ProviderError, RateLimited, VendorUnavailable
from locks.services.connections import account_connect

logger = logging.getLogger(__name__)

SESSION_KEY = "tedee_oauth"
STATE_LIFETIME = timedelta(minutes=10)


class TedeeConnectError(Exception):
    """A sign-in that did not connect the account; `message` is written for the host."""

    CANCELLED = "You cancelled the Tedee sign-in, so nothing was connected."
    BAD_STATE = (
        "This Tedee sign-in could not be matched to one you started here, or it took longer than "
        "10 minutes. Nothing was connected; please start connecting Tedee again."
    )
    REFUSED = "Tedee did not accept the sign-in. Nothing was connected; please start connecting Tedee again."
    FAILED = "Tedee could not complete the sign-in. Nothing was connected; please try again."
    UNREACHABLE = "Tedee could not be reached. Nothing was connected; please try again in a few minutes."
    MALFORMED = (
        "Tedee answered the sign-in with something we could not understand. Nothing was connected; "
        "please try again, and contact support if it keeps happening."
    )
    NOT_CONFIGURED = "Connecting Tedee is not set up on this server yet."

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- services -----------------------------------------------------------------------------------

def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def tedee_authorization_redirect(request: HttpRequest) -> str:
    """Start a sign-in for the logged-in host: remember state and verifier, return Tedee's URL.
    Not while Tedee asked this host's sign-ins to wait: the sign-in would end in the same refusal."""
    if not settings.TEDEE_CLIENT_ID:
        raise TedeeConnectError(TedeeConnectError.NOT_CONFIGURED)
    try:
        sign_in_waits.refuse_while_waiting(host=request.user, provider=Provider.TEDEE)
    except RateLimited as error:
        raise TedeeConnectError(error.message) from None
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(32)  # exactly 43 characters, as Tedee asks for S256
    redirect_uri = request.build_absolute_uri(reverse("locks:tedee_callback"))
    request.session[SESSION_KEY] = {
        "state": state,
        "verifier": verifier,
        "redirect_uri": redirect_uri,
        "user_id": request.user.pk,
        "created_at": time.time(),
    }
    return tedee.authorize_url(state=state, code_challenge=pkce_challenge(verifier), redirect_uri=redirect_uri)


def tedee_complete(request: HttpRequest) -> ProviderAccount:
    """Finish the sign-in Tedee redirected back with: check the state, exchange the code, store the tokens."""
    pending = request.session.pop(SESSION_KEY, None)  # single use, whatever happens next
    params = request.GET
    if params.get("error"):
        # B2C answers a cancelled sign-in with error=access_denied (AADB2C90091).
        raise TedeeConnectError(TedeeConnectError.CANCELLED if params["error"] == "access_denied" else TedeeConnectError.FAILED)
    _check_state(pending, params.get("state", ""), request.user.pk)
    code = params.get("code", "")
    if not code:
        raise TedeeConnectError(TedeeConnectError.MALFORMED)
    try:
        result = sign_in_waits.sign_in(
            host=request.user,
            provider=Provider.TEDEE,
            attempt=lambda: tedee.exchange_code(code=code, code_verifier=pending["verifier"], redirect_uri=pending["redirect_uri"]),
        )
    except ProviderAuthError:
        raise TedeeConnectError(TedeeConnectError.REFUSED) from None
    except RateLimited as error:  # its message says when to try again
        raise TedeeConnectError(error.message) from None
    except VendorUnavailable as error:
        raise TedeeConnectError(TedeeConnectError.MALFORMED if error.vendor_code == "malformed" else TedeeConnectError.UNREACHABLE) from None
    except ProviderError:
        raise TedeeConnectError(TedeeConnectError.UNREACHABLE) from None
    try:
        # locks.demo completes the sign-in with a stand-in request: no address to log then.
        origin = request if isinstance(request, HttpRequest) else None
        return account_connect(host=request.user, provider=Provider.TEDEE, result=result, request=origin)
    except ProviderError as error:  # e.g. a disconnection of this account still under way
        raise TedeeConnectError(error.message) from None


def _check_state(pending: dict | None, state: str, user_id: int) -> None:
    if not isinstance(pending, dict) or not state:
        raise TedeeConnectError(TedeeConnectError.BAD_STATE)
    expected = str(pending.get("state", ""))
    if not hmac.compare_digest(expected.encode(), state.encode()):
        raise TedeeConnectError(TedeeConnectError.BAD_STATE)
    if pending.get("user_id") != user_id:
        raise TedeeConnectError(TedeeConnectError.BAD_STATE)
    if time.time() - float(pending.get("created_at", 0)) > STATE_LIFETIME.total_seconds():
        raise TedeeConnectError(TedeeConnectError.BAD_STATE)


# --- views --------------------------------------------------------------------------------------

@login_required
@require_GET
def tedee_connect(request: HttpRequest) -> HttpResponse:
    try:
        return redirect(tedee_authorization_redirect(request))
    except TedeeConnectError as error:
        return render_panel(request, Provider.TEDEE, connect_error=error.message, status=503)


@login_required
@require_GET
def tedee_callback(request: HttpRequest) -> HttpResponse:
    try:
        account = tedee_complete(request)
    except TedeeConnectError as error:
        logger.info("Tedee sign-in for host %s not completed: %s", request.user.pk, error.message)
        return render_panel(request, Provider.TEDEE, connect_error=error.message, status=400)
    messages.success(request, f"Your Tedee account “{account.display_name}” is connected.")
    return redirect(panel_url(Provider.TEDEE))
