"""Each provider declares how a host signs in and words its own refusals (no caller reads vendor codes)."""

import pytest

from locks.providers.base import CredentialsSignIn, OAuthSignIn
from locks.providers.exceptions import OperationNotSupported, ProviderAuthError, RateLimited, VendorUnavailable
from locks.providers.igloohome import IgloohomeProvider
from locks.providers.nuki import NukiProvider, provider as nuki_provider
from locks.providers.tedee import TedeeProvider
from locks.providers.ttlock import TTLockProvider


def fields_of(method):
    return [(field.name, field.secret) for field in method.fields]


def test_ttlock_signs_in_with_the_app_username_and_password():
    (method,) = TTLockProvider.sign_in_methods
    assert isinstance(method, CredentialsSignIn) and method.key == "password"
    assert fields_of(method) == [("username", False), ("password", True)]
    assert TTLockProvider.connect_hint == "Sign in with your TTLock app username and password."


def test_tedee_signs_in_with_oauth_and_pkce_when_its_client_id_is_set():
    (method,) = TedeeProvider.sign_in_methods
    assert isinstance(method, OAuthSignIn) and method.pkce
    assert method.required_settings == ("TEDEE_CLIENT_ID",)


def test_nuki_offers_oauth_then_a_pasted_api_token():
    oauth, token = NukiProvider.sign_in_methods
    assert isinstance(oauth, OAuthSignIn) and not oauth.pkce
    assert oauth.required_settings == ("NUKI_CLIENT_ID", "NUKI_CLIENT_SECRET")
    assert isinstance(token, CredentialsSignIn) and token.key == "api-token"
    assert fields_of(token) == [("token", True)]


def test_igloohome_signs_in_with_an_api_client():
    (method,) = IgloohomeProvider.sign_in_methods
    assert isinstance(method, CredentialsSignIn) and method.key == "api-client"
    assert fields_of(method) == [("client_id", False), ("client_secret", True)]
    assert IgloohomeProvider.eligibility_hint == "The lock supports algoPINs (remotely generated PINs)."


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ProviderAuthError("x", vendor_code="30008"), "mainland-China service"),
        (ProviderAuthError("x", vendor_code="10001"), "TTLock refused Nowistay's application. Please contact Nowistay support."),
        (ProviderAuthError("x", vendor_code="10007"), "TTLock did not accept this username and password."),
        (VendorUnavailable("x", vendor_code="malformed"), "TTLock sent an answer Nowistay could not read."),
        (VendorUnavailable("x"), "TTLock could not be reached. Please try again in a few minutes."),
        (RateLimited("Wait 5 minutes."), "Wait 5 minutes."),
        (OperationNotSupported("No."), "TTLock refused the connection: No."),
    ],
)
def test_ttlock_words_its_refusals_from_its_error_codes(error, message):
    assert message in TTLockProvider.sign_in_refusal(error)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ProviderAuthError("x", vendor_code="400"), "Tedee did not accept the sign-in."),
        (VendorUnavailable("x", vendor_code="malformed"), "Tedee answered the sign-in with something we could not understand."),
        (VendorUnavailable("x", vendor_code="503"), "Tedee could not be reached."),
    ],
)
def test_tedee_words_its_refusals(error, message):
    assert TedeeProvider.sign_in_refusal(error).startswith(message)


def test_a_refused_nuki_api_token_reads_as_a_wrong_token_and_an_oauth_refusal_as_a_refused_sign_in(monkeypatch):
    def refuse(*, token, http=None):
        raise ProviderAuthError("Nuki no longer accepts this connection.", vendor_code="401")

    monkeypatch.setattr(nuki_provider, "nuki_connect_with_api_token", refuse)
    with pytest.raises(ProviderAuthError) as refused:
        NukiProvider.sign_in_with("api-token", {"token": "t0k3n"})
    assert NukiProvider.sign_in_refusal(refused.value).startswith("Nuki did not accept this API token.")
    assert NukiProvider.sign_in_refusal(ProviderAuthError("x", vendor_code="400")).startswith("Nuki did not accept the sign-in")
    assert NukiProvider.sign_in_refusal(VendorUnavailable("x", vendor_code="malformed")).startswith("Nuki answered with something")


def test_igloohome_words_its_refusals():
    assert IgloohomeProvider.sign_in_refusal(ProviderAuthError("Bad secret.")) == (
        "Bad secret. Nothing was saved; check the API client in the iglooaccess portal and try again."
    )
    assert IgloohomeProvider.sign_in_refusal(VendorUnavailable("Down.")) == "Down. Nothing was saved; please try again in a few minutes."


def test_an_unknown_sign_in_method_is_refused():
    with pytest.raises(OperationNotSupported):
        TTLockProvider.sign_in_with("api-token", {})
