"""What a provider's panel offers to connect it, from the sign-in methods the provider declares:
a form per credentials sign-in, a button per OAuth sign-in that is set up on this server (or that is
the provider's only way in: its start then says it is not set up)."""

from dataclasses import dataclass

from django import forms
from django.urls import reverse
from django.utils.translation import gettext as _

from locks.connect import services
from locks.connect.forms import credentials_form
from locks.providers.base import CredentialsSignIn, OAuthSignIn


@dataclass
class SignInOffer:
    title: str
    url: str  # where the button leads, or where the form posts
    form: forms.Form | None = None  # None: a button to the vendor's own sign-in page


def default_connect_url(provider: str) -> str:
    """The provider's default sign-in: its first credentials form posts here, and a GET starts its
    OAuth sign-in when that is its only way in."""
    return reverse("locks:connect", args=[provider])


def credentials_url(provider: str, method: CredentialsSignIn) -> str:
    if method == services.credentials_method(provider):
        return default_connect_url(provider)
    return reverse("locks:credentials", args=[provider, method.key])


def oauth_url(provider: str, method: OAuthSignIn) -> str:
    if services.is_only_way_in(provider, method):
        return default_connect_url(provider)
    return reverse("locks:oauth_start", args=[provider])


def sign_in_offers(provider: str, *, bound_form: forms.Form | None = None, bound_method: str = "") -> list[SignInOffer]:
    """The panel's ways in, in the provider's order; `bound_form`: a refused form shown again."""
    offers = []
    for method in services.provider_class(provider).sign_in_methods:
        if isinstance(method, CredentialsSignIn):
            form = bound_form if bound_form is not None and bound_method == method.key else credentials_form(method)
            offers.append(SignInOffer(_(method.title), credentials_url(provider, method), form))
        elif services.is_configured(method) or services.is_only_way_in(provider, method):
            offers.append(SignInOffer(_(method.title), oauth_url(provider, method)))
    return offers
