"""The connect views, one shape for every vendor: a credentials form (POST), and an OAuth start and
callback. They only call `locks.connect.services`; the forms live in the provider's panel, which a
refused sign-in renders again (a secret never rendered back)."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from locks.connect import services
from locks.connect.forms import credentials_form
from locks.dashboard.panels import provider_label, provider_or_404
from locks.dashboard.views import panel_url, render_panel
from locks.models import ProviderAccount

logger = logging.getLogger(__name__)


@sensitive_post_parameters()  # every declared field may be a secret
@login_required
@require_http_methods(["GET", "POST"])
def connect(request: HttpRequest, provider: str) -> HttpResponse:
    """The provider's default sign-in: POST its first credentials form; GET starts its OAuth sign-in
    when that is its only way in, and otherwise shows the panel, where the forms are."""
    provider = provider_or_404(provider)
    if request.method == "POST":
        return _credentials(request, provider, services.credentials_method(provider))
    method = services.oauth_method(provider)
    if method is not None and services.is_only_way_in(provider, method):
        return _oauth_start(request, provider)
    return redirect(panel_url(provider))


@sensitive_post_parameters()
@login_required
@require_http_methods(["GET", "POST"])
def credentials(request: HttpRequest, provider: str, method: str) -> HttpResponse:
    provider = provider_or_404(provider)
    sign_in = services.credentials_method(provider, method)
    if request.method == "GET" and sign_in is not None:
        return redirect(panel_url(provider))
    return _credentials(request, provider, sign_in)


def _credentials(request: HttpRequest, provider: str, method) -> HttpResponse:
    if method is None:
        raise Http404("This lock provider has no such sign-in.")
    form = credentials_form(method, request.POST)
    if form.is_valid():
        try:
            account = services.connect_with_credentials(
                host=request.user, provider=provider, method=method.key, values=form.cleaned_data, request=request
            )
        except services.ConnectError as error:
            form.add_error(None, error.message)
        else:
            return _connected(request, account)
    return render_panel(request, provider, connect_form=form, connect_method=method.key, status=400)


@login_required
@require_GET
def oauth_start(request: HttpRequest, provider: str) -> HttpResponse:
    return _oauth_start(request, panel_provider_or_404(provider))


def _oauth_start(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        return redirect(
            services.oauth_start(
                host=request.user, session=request.session, provider=provider, redirect_uri=_callback_uri(request, provider)
            )
        )
    except services.ConnectError as error:
        if services.is_only_way_in(provider, services.oauth_method(provider)):
            # No other way in to offer: connecting this provider is unavailable for now.
            return render_panel(request, provider, connect_error=error.message, status=503)
        messages.error(request, error.message)  # the panel offers the other ways in
        return redirect(panel_url(provider))


@login_required
@require_GET
def oauth_callback(request: HttpRequest, provider: str) -> HttpResponse:
    """Where the vendor sends the host back, with a code or an error."""
    provider = panel_provider_or_404(provider)
    try:
        account = services.oauth_complete(
            host=request.user, session=request.session, provider=provider, params=request.GET, request=request
        )
    except services.ConnectError as error:
        logger.info("%s sign-in for host %s not completed: %s", provider_label(provider), request.user.pk, error.message)
        return render_panel(request, provider, connect_error=error.message, status=400)
    return _connected(request, account)


def panel_provider_or_404(provider: str) -> str:
    provider = provider_or_404(provider)
    if services.oauth_method(provider) is None:
        raise Http404("This lock provider has no OAuth sign-in.")
    return provider


def _callback_uri(request: HttpRequest, provider: str) -> str:
    return services.callback_uri(provider, request.build_absolute_uri, reverse("locks:oauth_callback", args=[provider]))


def _connected(request: HttpRequest, account: ProviderAccount) -> HttpResponse:
    messages.success(
        request,
        _("Your %(brand)s account “%(account)s” is connected.")
        % {"brand": provider_label(account.provider), "account": account.display_name},
    )
    account.refresh_from_db(fields=["last_error"])  # a lock list the vendor failed to give
    if account.last_error:
        messages.warning(request, account.last_error)
    return redirect(panel_url(account.provider))
