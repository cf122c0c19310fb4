"""The one connect shape: each provider's declared sign-in methods make its panel's forms and buttons,
secrets are never echoed, the OAuth state is single use, expires and cannot be forged (for every
OAuth provider), and a refused sign-in shows the provider's own words."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from locks.connect import oauth
from locks.connect.services import OAUTH_STATE
from locks.models import ProviderAccount
from locks.providers import registry
from locks.providers.base import CredentialsSignIn, OAuthSignIn
from locks.providers.exceptions import PermanentProviderError, ProviderAuthError

pytestmark = pytest.mark.django_db

CREDENTIALS = [
    (slug, method)
    for slug, cls in registry.PROVIDER_CLASSES.items()
    for method in cls.sign_in_methods
    if isinstance(method, CredentialsSignIn)
]
OAUTH = [slug for slug, cls in registry.PROVIDER_CLASSES.items() if any(isinstance(m, OAuthSignIn) for m in cls.sign_in_methods)]


@pytest.fixture
def oauth_configured(settings):
    for cls in registry.PROVIDER_CLASSES.values():
        for method in cls.sign_in_methods:
            for name in getattr(method, "required_settings", ()):
                setattr(settings, name, f"test-{name.lower()}")
    return settings


def panel(client, slug: str) -> str:
    return client.get(reverse("integrations:panel", args=[slug])).content.decode()


def values_for(method: CredentialsSignIn) -> dict[str, str]:
    return {field.name: f"typed-{field.name}-s3cret" for field in method.fields}


@pytest.mark.parametrize("slug, method", CREDENTIALS, ids=[f"{s}-{m.key}" for s, m in CREDENTIALS])
def test_each_declared_credentials_form_renders_its_declared_fields(client, host, slug, method):
    client.force_login(host)
    content = panel(client, slug)
    for field in method.fields:
        assert f'name="{field.name}"' in content and field.label in content
        if field.secret:
            assert f'type="password" name="{field.name}"' in content


@pytest.mark.parametrize("slug, method", CREDENTIALS, ids=[f"{s}-{m.key}" for s, m in CREDENTIALS])
def test_a_refused_sign_in_shows_the_providers_message_and_never_echoes_a_secret(client, host, monkeypatch, slug, method):
    cls = registry.provider_class(slug)

    def refuse(method_key, values):
        raise ProviderAuthError("refused by the vendor", vendor_code="refused")

    monkeypatch.setattr(cls, "sign_in_with", staticmethod(refuse))
    client.force_login(host)
    values = values_for(method)
    response = client.post(reverse("locks:credentials", args=[slug, method.key]), values)
    content = response.content.decode()
    expected = cls.sign_in_refusal(ProviderAuthError("refused by the vendor", vendor_code="refused"))
    assert response.status_code == 400 and expected.replace("'", "&#x27;").replace(">", "&gt;") in content
    for field in method.fields:
        assert (values[field.name] in content) is not field.secret
    assert not ProviderAccount.objects.exists()


def test_an_unknown_provider_or_method_is_a_404(client, host):
    client.force_login(host)
    assert client.post(reverse("locks:connect", args=["august"]), {}).status_code == 404
    slug, _ = CREDENTIALS[0]
    assert client.post(reverse("locks:credentials", args=[slug, "no-such-method"]), {}).status_code == 404


def start(client, slug: str) -> dict:
    response = client.get(reverse("locks:oauth_start", args=[slug]))
    assert response.status_code == 302, response.content.decode()
    return {key: values[0] for key, values in parse_qs(urlsplit(response["Location"]).query).items()}


def callback(client, slug: str, **params):
    return client.get(reverse("locks:oauth_callback", args=[slug]), params)


def refused_state_message(slug: str, error: str) -> str:
    cls = registry.provider_class(slug)
    return cls.sign_in_refusal(PermanentProviderError(error, vendor_code=OAUTH_STATE))


@pytest.mark.parametrize("slug", OAUTH)
class TestOAuthState:
    def test_each_oauth_provider_offers_its_button_when_configured(self, client, host, oauth_configured, slug):
        client.force_login(host)
        method = next(m for m in registry.provider_class(slug).sign_in_methods if isinstance(m, OAuthSignIn))
        assert f">{method.title}</a>" in panel(client, slug)

    def test_the_state_is_bound_to_the_host_and_single_use(self, client, host, oauth_configured, monkeypatch, slug):
        exchanged = []
        cls = registry.provider_class(slug)
        monkeypatch.setattr(cls, "exchange_code", staticmethod(lambda **kwargs: exchanged.append(kwargs) or 1 / 0))
        client.force_login(host)
        state = start(client, slug)["state"]
        assert client.session[oauth.SESSION_KEY]["user_id"] == host.pk
        callback(client, slug, state="forged", code="c")
        replay = callback(client, slug, state=state, code="c")  # the forged answer used it up
        assert replay.status_code == 400 and exchanged == [] and not ProviderAccount.objects.exists()

    def test_a_forged_state_is_refused_in_the_providers_words(self, client, host, oauth_configured, slug):
        client.force_login(host)
        start(client, slug)
        response = callback(client, slug, state="forged", code="c")
        expected = refused_state_message(slug, "The sign-in answer did not match the request we sent. Please start again from Connect.")
        assert response.status_code == 400 and expected.replace("'", "&#x27;") in response.content.decode()

    def test_an_expired_state_is_refused(self, client, host, oauth_configured, slug):
        client.force_login(host)
        with freeze_time("2026-06-01 10:00:00") as frozen:
            state = start(client, slug)["state"]
            frozen.tick(oauth.STATE_LIFETIME_SECONDS + 1)
            response = callback(client, slug, state=state, code="c")
        expected = refused_state_message(slug, "The sign-in took too long and expired. Please start again from Connect.")
        assert response.status_code == 400 and expected.replace("'", "&#x27;") in response.content.decode()
        assert oauth.SESSION_KEY not in client.session

    def test_another_hosts_state_is_refused(self, client, host, other_host, oauth_configured, slug):
        client.force_login(host)
        state = start(client, slug)["state"]
        intruder = Client()
        intruder.force_login(other_host)
        assert callback(intruder, slug, state=state, code="c").status_code == 400
        assert not ProviderAccount.objects.exists()
