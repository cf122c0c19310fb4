"""The Security page's Language section, and the account and webhook pages in another language."""

from datetime import UTC, datetime
from unittest import mock

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.translation.trans_real import DjangoTranslation

from accounts.events import record_security_event
from accounts.forms import SignInCodeForm
from accounts.models import HostPreferences, SecurityEventKind
from accounts.two_factor import CodeCheck
from accounts.views import WRONG_SIGN_IN_CODE, _add_code_error
from events import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, host):
    client.force_login(host)
    return client


def selected_language(content: str) -> str:
    section = content.split('id="profile-language"', 1)[1].split("</select>", 1)[0]
    return section.split(" selected", 1)[0].rsplit('value="', 1)[1].split('"', 1)[0]


def test_the_security_page_shows_the_browsers_language_when_the_profile_names_none(signed_in):
    content = signed_in.get(reverse("security:index")).content.decode()
    assert '<h2 id="language">Language</h2>' in content
    assert f'action="{reverse("choose_language")}"' in content
    assert f'name="next" value="{reverse("security:index")}#language"' in content
    assert selected_language(content) == ""
    for code, name in settings.LANGUAGES:
        assert f'<option value="{code}" lang="{code}" >{name}</option>' in content
    assert "Your pages follow your browser" in content


def test_choosing_a_language_there_keeps_it_and_comes_back_to_the_page(signed_in, host):
    back = f'{reverse("security:index")}#language'
    response = signed_in.post(reverse("choose_language"), {"language": "pt", "next": back})
    assert response.status_code == 302 and response.url == back
    assert HostPreferences.objects.get(user=host).language == "pt"
    response = signed_in.get(reverse("security:index"))
    assert response.headers["Content-Language"] == "pt"
    content = response.content.decode()
    assert selected_language(content) == "pt"
    assert '<span lang="pt">Português</span>' in content
    signed_in.post(reverse("choose_language"), {"language": "", "next": back})
    assert HostPreferences.objects.get(user=host).language == ""
    assert selected_language(signed_in.get(reverse("security:index")).content.decode()) == ""


@pytest.mark.parametrize("name", ["login", "password_reset", "password_reset_done"])
def test_sign_in_pages_render_in_french(client, name):
    response = client.get(reverse(name), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert b'<html lang="fr">' in response.content


def test_security_and_webhook_pages_render_in_french(signed_in, host, settings):
    signed_in.post(reverse("choose_language"), {"language": "fr", "next": "/"})
    with mock.patch("events.queue.enqueue_deliveries"):
        endpoint = services.endpoint_create(host=host, url="https://pms.example/hooks", kinds=[], read_pins=False)
    services.endpoint_disable_by_host(endpoint=endpoint)
    for url in [reverse("security:index"), reverse("webhooks:list"), reverse("webhooks:detail", args=[endpoint.pk])]:
        response = signed_in.get(url)
        assert response.status_code == 200, url
        assert b'<html lang="fr">' in response.content


def shouting(message: str) -> str:
    """A stand-in catalogue: the stored sentences named here "translate" to upper case."""
    return message.upper() if message in {"Every other session was signed out.", "Disabled by you."} else message


def test_stored_fixed_sentences_are_translated_when_shown(signed_in, host):
    record_security_event(kind=SecurityEventKind.PASSWORD_CHANGED, user=host, detail="Every other session was signed out.")
    record_security_event(kind=SecurityEventKind.SIGNED_IN, user=host, detail="API token “PMS” with read_pins")
    with mock.patch("events.queue.enqueue_deliveries"):
        endpoint = services.endpoint_create(host=host, url="https://pms.example/hooks", kinds=[], read_pins=False)
    services.endpoint_disable_by_host(endpoint=endpoint)
    with mock.patch.object(DjangoTranslation, "gettext", lambda self, message: shouting(message)):
        security = signed_in.get(reverse("security:index")).content.decode()
        webhooks = signed_in.get(reverse("webhooks:list")).content.decode()
    assert "EVERY OTHER SESSION WAS SIGNED OUT." in security
    assert "API token “PMS” with read_pins" in security  # unknown text passes through
    assert "DISABLED BY YOU." in webhooks


def test_the_english_of_the_restructured_messages_is_unchanged():
    form = SignInCodeForm()
    assert form.fields["code"].help_text == (
        "Six digits from the app; or, without your phone, one of the 10 recovery codes (each works once)."
    )
    form = SignInCodeForm({"code": "123456"})
    form.is_valid()
    _add_code_error(form, CodeCheck(throttled_until=datetime(2026, 3, 4, 9, 5, 7, tzinfo=UTC)), WRONG_SIGN_IN_CODE)
    assert form.errors["code"] == ["Too many wrong codes: try again after 09:05:07 UTC."]
    _add_code_error(form, CodeCheck(), WRONG_SIGN_IN_CODE)
    assert form.errors["code"][-1] == "That code is not right. Type the six digits your app shows now, or an unused recovery code."
