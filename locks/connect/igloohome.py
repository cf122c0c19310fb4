"""Connecting an igloohome account: the host pastes the client ID and secret of an API client made
in the iglooaccess portal. A token is fetched to prove them before anything is stored."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from locks.connect import sign_in_waits
from locks.dashboard.views import panel_url, render_panel
from locks.models import Provider, ProviderAccount
from locks.providers.exceptions import PermanentProviderError, ProviderError, RateLimited
from locks.providers.igloohome import IgloohomeProvider
from locks.services.connections import account_connect
from nowistay.fields import PastedCredentialField


def igloohome_connect(*, host, client_id: str, client_secret: str, request: HttpRequest | None = None) -> ProviderAccount:
    """Sign in with the host's igloohome API client and store the account (a first connection or a
    reconnection). Raises ProviderError, with a message a host can read, when it cannot (RateLimited
    while igloohome asked this host's sign-ins to wait). `request`: where it came from, for the security log."""
    result = sign_in_waits.sign_in(
        host=host,
        provider=Provider.IGLOOHOME,
        attempt=lambda: IgloohomeProvider.sign_in(client_id=client_id.strip(), client_secret=client_secret.strip()),
    )
    return account_connect(host=host, provider=Provider.IGLOOHOME, result=result, request=request)


class IgloohomeConnectForm(forms.Form):
    client_id = PastedCredentialField(
        label="API client ID", max_length=200, help_text="In the iglooaccess portal, under API access."
    )
    # render_value=False: a secret typed in is never sent back in the page, even when the form fails.
    client_secret = PastedCredentialField(
        label="API client secret", max_length=500, strip=True, widget=forms.PasswordInput(render_value=False)
    )


@login_required
@require_http_methods(["GET", "POST"])
def igloohome_connect_view(request: HttpRequest) -> HttpResponse:
    """The form lives in the igloohome panel; a failed sign-in shows it again there, minus the secret."""
    if request.method == "GET":
        return redirect(panel_url(Provider.IGLOOHOME))
    form = IgloohomeConnectForm(request.POST)
    if form.is_valid():
        try:
            account = igloohome_connect(
                host=request.user,
                client_id=form.cleaned_data["client_id"],
                client_secret=form.cleaned_data["client_secret"],
                request=request,
            )
        except ProviderError as error:
            form.add_error(None, _connect_failure(error))
        else:
            messages.success(request, f"Your igloohome account “{account.display_name}” is connected.")
            account.refresh_from_db(fields=["last_error"])  # a lock list igloohome failed to give
            if account.last_error:
                messages.warning(request, account.last_error)
            return redirect(panel_url(Provider.IGLOOHOME))
    return render_panel(request, Provider.IGLOOHOME, connect_form=form, status=400)


def _connect_failure(error: ProviderError) -> str:
    if isinstance(error, RateLimited):  # its message says when to try again
        return error.message
    if isinstance(error, PermanentProviderError):
        return f"{error.message} Nothing was saved; check the API client in the iglooaccess portal and try again."
    return f"{error.message} Nothing was saved; please try again in a few minutes."
