"""Connecting a host's TTLock account: the service the dashboard calls, its form and a minimal page.

The host signs in with the TTLock *app* account (not a TTLock developer account): the password
goes to TTLock once, as its MD5, and only the tokens are kept [T-TOK; sources in docs/vendors.md].
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from locks.connect import sign_in_waits
from locks.dashboard.views import panel_url, render_panel
from locks.models import Provider, ProviderAccount
from locks.providers.exceptions import ProviderAuthError, ProviderError, RateLimited, TransientProviderError
from locks.providers.ttlock import ANSWER_MALFORMED, WRONG_REGION, TTLockProvider
from locks.services.accounts import DisconnectReport, account_disconnect
from locks.services.connections import account_connect
from nowistay.fields import PastedCredentialField

# TTLock errcodes meaning Nowistay's own application credentials were refused [T-ERR].
_APPLICATION_REFUSED = {"10000", "10001"}


class TTLockConnectError(Exception):
    """A sign-in that did not connect; `message` is meant for the host, `reason` for code."""

    WRONG_CREDENTIALS = "wrong_credentials"
    WRONG_REGION = "wrong_region"
    UNREACHABLE = "unreachable"
    MALFORMED_ANSWER = "malformed_answer"
    APPLICATION_REFUSED = "application_refused"
    RATE_LIMITED = "rate_limited"

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.message = message
        self.reason = reason


def ttlock_connect(*, host, username: str, password: str, request: HttpRequest | None = None) -> ProviderAccount:
    """Sign in to TTLock as `host` and store the account (a first connection or a reconnection).

    Raises TTLockConnectError with a message for the host when TTLock says no, cannot be reached
    or answers something unreadable, and while TTLock asked this host's sign-ins to wait.
    `request`: where the connection came from, for the security log.
    """
    try:
        result = sign_in_waits.sign_in(
            host=host, provider=Provider.TTLOCK, attempt=lambda: TTLockProvider.sign_in(username, password)
        )
    except ProviderError as error:
        raise _connect_error(error) from None
    try:
        return account_connect(host=host, provider=Provider.TTLOCK, result=result, request=request)
    except ProviderError as error:  # e.g. a disconnection of this account still under way
        raise TTLockConnectError(error.message, reason=TTLockConnectError.UNREACHABLE) from None


def ttlock_disconnect(*, account: ProviderAccount) -> DisconnectReport:
    """Revoke upcoming codes and forget the tokens (TTLock documents no token revocation)."""
    return account_disconnect(account=account)


def _connect_error(error: ProviderError) -> TTLockConnectError:
    if isinstance(error, RateLimited):  # its message says when to try again
        return TTLockConnectError(error.message, reason=TTLockConnectError.RATE_LIMITED)
    if error.vendor_code == str(WRONG_REGION):
        return TTLockConnectError(
            "This TTLock account is registered with TTLock's mainland-China service, which Nowistay "
            "cannot connect to. Use a TTLock account created outside mainland China.",
            reason=TTLockConnectError.WRONG_REGION,
        )
    if error.vendor_code in _APPLICATION_REFUSED:
        return TTLockConnectError(
            "TTLock refused Nowistay's application. Please contact Nowistay support.",
            reason=TTLockConnectError.APPLICATION_REFUSED,
        )
    if isinstance(error, ProviderAuthError):
        return TTLockConnectError(
            "TTLock did not accept this username and password. Use the account you sign in to the "
            "TTLock app with (not a TTLock developer account).",
            reason=TTLockConnectError.WRONG_CREDENTIALS,
        )
    if error.vendor_code == ANSWER_MALFORMED:
        return TTLockConnectError(
            "TTLock sent an answer Nowistay could not read. Please try again later.",
            reason=TTLockConnectError.MALFORMED_ANSWER,
        )
    if isinstance(error, TransientProviderError):
        return TTLockConnectError(
            "TTLock could not be reached. Please try again in a few minutes.",
            reason=TTLockConnectError.UNREACHABLE,
        )
    return TTLockConnectError(f"TTLock refused the connection: {error.message}", reason=TTLockConnectError.UNREACHABLE)


class TTLockConnectForm(forms.Form):
    username = PastedCredentialField(
        label="TTLock app username",
        max_length=254,
        help_text="The phone number or e-mail address you sign in to the TTLock app with.",
    )
    # render_value=False (the default): a password is never sent back to the browser.
    password = PastedCredentialField(label="TTLock app password", max_length=128, strip=False, widget=forms.PasswordInput)


@sensitive_post_parameters("password")
@login_required
@require_http_methods(["GET", "POST"])
def ttlock_connect_view(request: HttpRequest) -> HttpResponse:
    """The form lives in the TTLock panel; a failed sign-in shows it again there, minus the password."""
    if request.method == "GET":
        return redirect(panel_url(Provider.TTLOCK))
    form = TTLockConnectForm(request.POST)
    if form.is_valid():
        try:
            account = ttlock_connect(
                host=request.user, username=form.cleaned_data["username"], password=form.cleaned_data["password"], request=request
            )
        except TTLockConnectError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Your TTLock account “{account.display_name}” is connected.")
            return redirect(panel_url(Provider.TTLOCK))
    return render_panel(request, Provider.TTLOCK, connect_form=form, status=400)
