"""A message template's texts, one per language: which one a guest gets, and the rules every text
shares with the main one. Pure functions over plain values (the model and the editor call them).

The door code rule holds in every language: a message carries the code in all its texts or in none
(the message waits for the code when any text needs it, and a guest's text without it would go out
without the code), and an after-check-out message carries it in none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy as _

from messaging import rendering
from nowistay.guest_languages import language_name, language_or_empty


class Text(NamedTuple):
    subject: str
    body: str


class ChosenText(NamedTuple):
    subject: str
    body: str
    language: str  # the language of the text chosen (not necessarily the guest's)


def default_template_language() -> str:
    """A new template's main language: the site's (settings.LANGUAGE_CODE). Meant to become the
    host's own language once host profiles have one."""
    return language_or_empty(settings.LANGUAGE_CODE) or "en"


def choose_text(texts: Mapping[str, Text], *, wanted: str, main: str, fallback: str) -> ChosenText:
    """The text in `wanted` if there is one, else the fallback language's, else the main one."""
    for language in (wanted, fallback, main):
        if language and language in texts:
            subject, body = texts[language]
            return ChosenText(subject, body, language)
    subject, body = texts[main]
    return ChosenText(subject, body, main)


def text_problems(language: str, text: Text) -> dict[str, list[ValidationError]]:
    """The main text's own rules (known variables only, length limits), per field."""
    errors: dict[str, list[ValidationError]] = {}
    for field, value in (("subject", text.subject), ("body", text.body)):
        try:
            rendering.validate_text(value)
        except ValidationError as error:
            errors.setdefault(field, []).extend(error.error_list)
    return errors


def code_rule_problem(language: str, text: Text, *, main_uses_code: bool, after_check_out: bool) -> ValidationError | None:
    """Why this language's text breaks the door code rule, naming the language; None when it keeps it."""
    uses_code = rendering.uses_code(text.subject, text.body)
    name = language_name(language)
    if after_check_out and uses_code:
        return ValidationError(
            _("The door code no longer works after check-out: remove the code variables from the %(language)s text."),
            code="code_after_check_out", params={"language": name},
        )
    if main_uses_code and not uses_code:
        return ValidationError(
            _("The main text carries the door code, so the %(language)s text must too: add {{smartlock_code}}."),
            code="code_missing", params={"language": name},
        )
    if uses_code and not main_uses_code:
        return ValidationError(
            _(
                "The %(language)s text uses the door code but the main text does not: "
                "a message carries the code in every language or in none."
            ),
            code="code_only_here", params={"language": name},
        )
    return None


def fallback_problem(fallback: str, languages: Iterable[str]) -> ValidationError | None:
    if fallback and fallback not in set(languages):
        return ValidationError(
            _("Choose one of this message's languages (%(languages)s) as the fallback, or add a %(language)s text."),
            code="fallback_without_text",
            params={"languages": ", ".join(language_name(code) for code in languages), "language": language_name(fallback)},
        )
    return None


def used_language_note(*, wanted: str, used: str) -> str:
    """For the preview: what a guest of `wanted` would get when it is not their language."""
    if not wanted or wanted == used:
        return ""
    return gettext("No %(wanted)s text: a guest in %(wanted)s gets the %(used)s text (the fallback).") % {
        "wanted": language_name(wanted), "used": language_name(used),
    }
