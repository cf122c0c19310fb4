"""Connecting a host's Nuki account, two ways:

- OAuth 2 authorization code ("Sign in with Nuki"), for installations with a Nuki integrator app
  (settings.NUKI_CLIENT_ID and NUKI_CLIENT_SECRET). The state lives in locks.connect.oauth: random,
  bound to the host's session, single use, 10 minutes, compared in constant time. Nuki documents
  no PKCE parameter, so only the state is sent (see locks.providers.nuki, "Decisions").
- A Nuki Web API token pasted into a form (Nuki Web > Menu > API), for hosts without one. The
  token is checked with `GET /account`, stored encrypted, never rendered back and never logged.

Services hold the rules and raise NukiConnectError with a message written for the host; the views
only call them. A cancelled or failed sign-in stores nothing. Success ends in
locks.services.connections.account_connect, which also reads the locks.
"""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from locks.connect import oauth, sign_in_waits
from locks.dashboard.views import panel_url, render_panel
from locks.models import Provider, ProviderAccount
from locks.providers import nuki
from locks.providers.base import ConnectResult
from locks.providers.exceptions import ProviderAuthError, ProviderError, RateLimited, VendorUnavailable
from locks.services.connections import account_connect
from nowistay.fields import PastedCredentialField

logger = logging.getLogger(__name__)


class NukiConnectError(Exception):
    """A connection attempt that connected nothing; `message` is written for the host."""

    WRONG_TOKEN = (
        "Nuki did not accept this API token. Copy it again from Nuki Web (Menu > API); a token stops "
        "working when it is deleted or when the Nuki Web password changes."
    )
    REFUSED = "Nuki did not accept the sign-in, so nothing was connected. Please start connecting Nuki again."
    CANCELLED = "You cancelled the Nuki sign-in, so nothing was connected."
    FAILED = "The Nuki sign-in did not complete, so nothing was connected. Please try again."
    UNREACHABLE = "Nuki could not be reached, so nothing was connected. Please try again in a few minutes."
    MALFORMED = (
        "Nuki answered with something we could not understand, so nothing was connected. Please try "
        "again, and contact support if it keeps happening."
    )
    NOT_CONFIGURED = "Signing in with Nuki is not set up on this server; you can paste a Nuki Web API token instead."

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- services -----------------------------------------------------------------------------------------

def nuki_redirect_uri(request: HttpRequest) -> str:
    """The callback URL registered with Nuki (settings.NUKI_REDIRECT_URI when set: behind a proxy,
    the URL Nuki knows may differ from the one this request arrived on)."""
    return getattr(settings, "NUKI_REDIRECT_URI", "") or request.build_absolute_uri(reverse("locks:nuki_callback"))


def nuki_oauth_start(*, host, session, redirect_uri: str) -> str:
    """Remember a fresh state in the host's session; the Nuki sign-in URL to send the host to.
    Not while Nuki asked this host's sign-ins to wait: the sign-in would end in the same refusal."""
    if not (settings.NUKI_CLIENT_ID and settings.NUKI_CLIENT_SECRET):
        raise NukiConnectError(NukiConnectError.NOT_CONFIGURED)
    try:
        sign_in_waits.refuse_while_waiting(host=host, provider=Provider.NUKI)
    except RateLimited as error:
        raise NukiConnectError(error.message) from None
    pending = oauth.begin(session, Provider.NUKI)
    return nuki.authorize_url(state=pending.state, redirect_uri=redirect_uri, code_challenge=pending.code_challenge)


@sensitive_variables("code", "result")
def nuki_oauth_complete(*, host, session, params, redirect_uri: str, request: HttpRequest | None = None) -> ProviderAccount:
    """Finish the sign-in Nuki redirected back with: check the state (always first, which also uses
    it up), then the answer, exchange the code and store the account. `request`: where it came
    from, for the security log."""
    try:
        pending = oauth.complete(session, Provider.NUKI, params.get("state"))
    except oauth.OAuthStateError as error:
        raise NukiConnectError(str(error)) from None
    if params.get("error"):
        raise NukiConnectError(NukiConnectError.CANCELLED if params["error"] == "access_denied" else NukiConnectError.FAILED)
    code = params.get("code")
    if not code:
        raise NukiConnectError(NukiConnectError.FAILED)
    result = _vendor_step(
        host, lambda: nuki.exchange_code(code=code, redirect_uri=redirect_uri, code_verifier=pending.code_verifier),
        refused=NukiConnectError.REFUSED,
    )
    return _store(host, result, request)


@sensitive_variables("token", "result")
def nuki_connect_with_api_token(*, host, token: str, request: HttpRequest | None = None) -> ProviderAccount:
    """Check a pasted Nuki Web API token against Nuki and store the account."""
    result = _vendor_step(host, lambda: nuki.connect_with_api_token(token=token), refused=NukiConnectError.WRONG_TOKEN)
    return _store(host, result, request)


def _store(host, result: ConnectResult, request: HttpRequest | None) -> ProviderAccount:
    try:
        return account_connect(host=host, provider=Provider.NUKI, result=result, request=request)
    except ProviderError as error:  # e.g. a disconnection of this account still under way
        raise NukiConnectError(error.message) from None


def _vendor_step(host, call, *, refused: str) -> ConnectResult:
    try:
        return sign_in_waits.sign_in(host=host, provider=Provider.NUKI, attempt=call)
    except ProviderAuthError:
        raise NukiConnectError(refused) from None
    except RateLimited as error:  # its message says when to try again
        raise NukiConnectError(error.message) from None
    except VendorUnavailable as error:
        raise NukiConnectError(NukiConnectError.MALFORMED if error.vendor_code == nuki.MALFORMED else NukiConnectError.UNREACHABLE) from None
    except ProviderError as error:
        # 403 (a token without the rights) reads as a refusal; anything else as Nuki failing.
        raise NukiConnectError(refused if error.vendor_code == "403" else NukiConnectError.UNREACHABLE) from None


# --- forms -------------------------------------------------------------------------------------------

class NukiApiTokenForm(forms.Form):
    token = PastedCredentialField(
        label="Nuki Web API token",
        max_length=512,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="In Nuki Web, open Menu > API and create an API token; paste it here. It is stored encrypted.",
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        if any(character.isspace() for character in token):
            raise forms.ValidationError("An API token has no spaces or line breaks; please paste it again.")
        return token


# --- views -------------------------------------------------------------------------------------------

@sensitive_post_parameters("token")
@login_required
@require_http_methods(["GET", "POST"])
def nuki_connect(request: HttpRequest) -> HttpResponse:
    """Paste an API token. The form lives in the Nuki panel; a failure shows it again there, empty."""
    if request.method == "GET":
        return redirect(panel_url(Provider.NUKI))
    form = NukiApiTokenForm(request.POST)
    if form.is_valid():
        try:
            account = nuki_connect_with_api_token(host=request.user, token=form.cleaned_data["token"], request=request)
        except NukiConnectError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Your Nuki account “{account.display_name}” is connected.")
            return redirect(panel_url(Provider.NUKI))
    return render_panel(request, Provider.NUKI, connect_form=form, status=400)


@login_required
@require_GET
def nuki_connect_oauth(request: HttpRequest) -> HttpResponse:
    """Start "Sign in with Nuki"."""
    try:
        return redirect(nuki_oauth_start(host=request.user, session=request.session, redirect_uri=nuki_redirect_uri(request)))
    except NukiConnectError as error:
        messages.error(request, error.message)
        return redirect(panel_url(Provider.NUKI))


@login_required
@require_GET
def nuki_callback(request: HttpRequest) -> HttpResponse:
    """Where Nuki sends the host back, with a code or an error."""
    try:
        account = nuki_oauth_complete(
            host=request.user, session=request.session, params=request.GET, redirect_uri=nuki_redirect_uri(request), request=request
        )
    except NukiConnectError as error:
        logger.info("Nuki sign-in for host %s not completed: %s", request.user.pk, error.message)
        return render_panel(request, Provider.NUKI, connect_error=error.message, status=400)
    messages.success(request, f"Your Nuki account “{account.display_name}” is connected.")
    return redirect(panel_url(Provider.NUKI))
