"""The language of the host's pages: the profile's, else the browser's; and of their emails."""

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import HostPreferences
from nowistay import languages

pytestmark = pytest.mark.django_db


def page_language(response) -> str:
    return response.headers["Content-Language"]


def test_a_visitor_gets_the_browsers_language(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9,en;q=0.5")
    assert page_language(response) == "es"
    assert b'<html lang="es">' in response.content
    assert "Accept-Language" in response.headers["Vary"]


def test_a_browser_language_the_product_does_not_speak_gives_english(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="nl-NL,nl;q=0.9,ja;q=0.5")
    assert page_language(response) == "en"


def test_a_visitor_chooses_a_language_before_signing_in(client):
    response = client.post(reverse("choose_language"), {"language": "it", "next": reverse("login")})
    assert response.status_code == 302 and response.url == reverse("login")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "it"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME]["httponly"]
    assert page_language(client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="fr")) == "it"


def test_a_signed_in_hosts_choice_is_kept_in_their_profile_and_wins_over_the_browser(client, host):
    client.force_login(host)
    client.post(reverse("choose_language"), {"language": "de", "next": "/"})
    assert HostPreferences.objects.get(user=host).language == "de"
    assert page_language(client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="fr")) == "de"


def test_the_profile_language_follows_the_host_to_a_new_session(client, host):
    HostPreferences.objects.create(user=host, language="pt")
    client.force_login(host)
    assert page_language(client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="es")) == "pt"


def test_choosing_the_browsers_language_again(client, host):
    HostPreferences.objects.create(user=host, language="pt")
    client.force_login(host)
    client.post(reverse("choose_language"), {"language": "", "next": "/"})
    assert HostPreferences.objects.get(user=host).language == ""
    assert page_language(client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="es")) == "es"


@pytest.mark.parametrize("language", ["nl", "xx", "fr\x00", "f" * 10_000, "<script>"])
def test_a_language_the_product_does_not_speak_is_refused(client, host, language):
    client.force_login(host)
    response = client.post(reverse("choose_language"), {"language": language, "next": "/"})
    assert response.status_code == 400
    assert not HostPreferences.objects.filter(user=host).exclude(language="").exists()


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", ""])
def test_the_switch_never_sends_anyone_elsewhere(client, next_url):
    response = client.post(reverse("choose_language"), {"language": "fr", "next": next_url})
    assert response.url == "/"


def test_the_switch_only_takes_a_post(client):
    assert client.get(reverse("choose_language"), {"language": "fr"}).status_code == 405


def test_the_hosts_emails_speak_their_profile_language_else_their_browsers_at_sign_in(rf, host):
    from django.contrib.sessions.backends.db import SessionStore

    assert languages.language_of(host) == "en"
    request = rf.get("/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    request.session = SessionStore()
    languages.language_at_sign_in(sender=None, request=request, user=host)
    assert languages.language_of(host) == "fr"
    assert request.session[languages.SESSION_KEY] == ""  # the profile names none: the browser's, page by page
    HostPreferences.objects.filter(user=host).update(language="es")
    assert languages.language_of(host) == "es"


def test_speaking_to_a_host_translates_in_their_language(host):
    from django.utils.translation import get_language

    HostPreferences.objects.create(user=host, language="it")
    with languages.speaking_to(host):
        assert get_language() == "it"


@pytest.mark.parametrize(("code", "expected"), [("fr-CA", "fr"), ("pt_BR", "pt"), ("DE", "de"), ("nl", ""), ("", ""), (None, "")])
def test_shipped(code, expected):
    assert languages.shipped(code) == expected


@pytest.mark.parametrize(("language", "germany"), [("en", "Germany"), ("fr", "Allemagne"), ("es", "Alemania"), ("de", "Deutschland")])
def test_country_names_follow_the_language(language, germany):
    from django.utils import translation

    from nowistay.countries import country_name

    with translation.override(language):
        assert country_name("DE") == germany
    assert country_name("GB") == "Britain (UK)"  # English keeps the tz database's own names


def test_a_request_leaves_no_language_behind(client):
    from django.utils import translation

    client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="de")
    assert translation.get_language() == settings.LANGUAGE_CODE


@pytest.mark.parametrize(("language", "grouped"), [("en", "3,210"), ("fr", "3\xa0210"), ("de", "3.210"), ("es", "3\xa0210")])
def test_numbers_are_grouped_the_languages_way(language, grouped):
    from django.utils import translation

    from locks.services.api_budget import _grouped

    with translation.override(language):
        assert _grouped(3210) == grouped
