"""The language of a host's pages and emails: the one their profile names, else their browser's.

A signed-in host's choice is kept in their session (copied there at sign-in and when they change
it), so choosing the language of a page costs no query. Emails, written by workers with no request,
use the profile's language, else the browser's language seen at the host's last sign-in.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import translation
from django.utils.cache import patch_vary_headers

SESSION_KEY = "host_language"
SHIPPED = frozenset(code for code, _name in settings.LANGUAGES)


def shipped(code: str | None) -> str:
    """`code` if the product speaks it (a regional variant counts: "fr-CA" is "fr"), else ""."""
    base = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return base if base in SHIPPED else ""


def browser_language(request) -> str:
    """The language cookie (chosen before signing in), else the Accept-Language header's best match."""
    return shipped(translation.get_language_from_request(request)) or settings.LANGUAGE_CODE


def page_language(request) -> str:
    session = getattr(request, "session", None)
    chosen = shipped(session.get(SESSION_KEY)) if session is not None else ""
    return chosen or browser_language(request)


class HostLanguageMiddleware:
    """After authentication: every request speaks the host's language (Django's LocaleMiddleware
    knows only the browser's)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = page_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        if not response.streaming:  # a streamed body is written after this returns, in this language
            translation.deactivate()  # whatever the thread runs next starts in the default language
        return response


def language_of(user) -> str:
    """The language of `user`'s emails: their profile's, else their browser's at their last sign-in."""
    from accounts.models import HostPreferences

    preferences = HostPreferences.objects.filter(user_id=user.pk).values_list("language", "browser_language").first()
    if preferences:
        return shipped(preferences[0]) or shipped(preferences[1]) or settings.LANGUAGE_CODE
    return settings.LANGUAGE_CODE


@contextmanager
def speaking_to(user):
    """Translations active in `user`'s language, e.g. while an email to them is written."""
    with translation.override(language_of(user)):
        yield


def remember_choice(request, language: str) -> None:
    """A host chose `language` ("" for the browser's): kept in the profile and this session."""
    from accounts.models import HostPreferences

    HostPreferences.objects.update_or_create(user=request.user, defaults={"language": language})
    request.session[SESSION_KEY] = language


@receiver(user_logged_in)
def language_at_sign_in(sender, request, user, **kwargs):
    """The profile's language into the new session; the browser's remembered for emails."""
    from accounts.models import HostPreferences

    if request is None or not hasattr(request, "session"):
        return
    preferences, _created = HostPreferences.objects.get_or_create(user=user)
    seen = browser_language(request)
    if preferences.browser_language != seen:
        HostPreferences.objects.filter(pk=preferences.pk).update(browser_language=seen)
    request.session[SESSION_KEY] = shipped(preferences.language)
