"""Guests' languages: ISO 639-1 codes ("fr"), read from what a PMS, a host or a phone number gives,
and dates and times written in them with Babel (CLDR's formats). Pure functions over plain values.

English keeps the formats messages were written with before languages existed ("Thursday 12 March
2026", "15:00", "15:00 on Thursday 12 March 2026"), so English messages do not change. Every other
language uses CLDR: the locale's full date ("jeudi 12 mars 2026"), its short time (24-hour where the
locale writes it so) and its own pattern combining the two ("jeudi 12 mars 2026, 15:00").
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time

import phonenumbers
from babel import Locale, localedata
from babel.dates import format_date, format_time
from babel.languages import get_official_languages

ENGLISH = "en"
# Longer than any language tag a PMS sends ("zh-Hant-HK", "sr_Latn_BA"): more is refused unread.
MAX_INPUT_LENGTH = 35
INVALID_LANGUAGE = "Enter a language as its two-letter ISO 639-1 code, e.g. fr or pt (a region, as in pt-BR, is ignored)."

LEGACY_DATE_FORMAT = "%A %-d %B %Y"
LEGACY_TIME_FORMAT = "%H:%M"
LEGACY_MOMENT_FORMAT = "%H:%M on %A %-d %B %Y"


class LanguageRefused(ValueError):
    """Not a language code we know; `message` says what to write instead."""

    @property
    def message(self) -> str:
        return self.args[0]


@functools.cache
def known_languages() -> frozenset[str]:
    """The ISO 639-1 codes Babel has locale data for."""
    return frozenset(code for code in localedata.locale_identifiers() if len(code) == 2 and code.isascii() and code.isalpha())


def normalise_language(value: str) -> str:
    """`value` as a lowercase ISO 639-1 code: "FR", "fr-FR" and "fr_FR" give "fr"; "" stays "".
    Raises LanguageRefused for anything else (control characters, a three-letter code, a code
    Babel does not know, an overlong text)."""
    if not isinstance(value, str):
        raise LanguageRefused(INVALID_LANGUAGE)
    if len(value) > MAX_INPUT_LENGTH:
        raise LanguageRefused(INVALID_LANGUAGE)
    text = value.strip(" ")
    if not text:
        return ""
    if not all(character.isascii() and (character.isalnum() or character in "-_") for character in text):
        raise LanguageRefused(INVALID_LANGUAGE)
    code = text.replace("_", "-").split("-", 1)[0].lower()
    if code not in known_languages():
        raise LanguageRefused(INVALID_LANGUAGE)
    return code


def language_or_empty(value: str) -> str:
    """`value` normalised, or "" when it is not a language we know."""
    try:
        return normalise_language(value)
    except LanguageRefused:
        return ""


@functools.cache
def language_name(code: str, display_language: str = ENGLISH) -> str:
    """The language's name in `display_language`, e.g. ("fr", "en") → "French", ("fr", "fr") → "français"."""
    display = language_or_empty(display_language) or ENGLISH
    name = Locale.parse(display).languages.get(code)
    return name[:1].upper() + name[1:] if name else code


def guest_language_choices(display_language: str = ENGLISH) -> list[tuple[str, str]]:
    """(code, name in the host's language) of every language a guest may have, sorted by name."""
    display = language_or_empty(display_language) or ENGLISH
    return sorted(((code, language_name(code, display)) for code in known_languages()), key=lambda pair: pair[1].casefold())


def language_from_phone(e164: str) -> str:
    """The first official language of the country of a number stored in E.164 (+33… → "fr",
    +41… → "de"); "" when the number or its country gives none."""
    if not e164 or not e164.startswith("+") or len(e164) > 32:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ""
    # A number of no known range still has its country code's main country (+44 → GB).
    region = phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(number.country_code)
    if not region or region == "001":
        return ""
    for code in get_official_languages(region, de_facto=True):
        if code in known_languages():
            return code
    return ""


def _locale(language: str) -> str | None:
    """The Babel locale for `language`, None for English (kept to the legacy formats)."""
    code = language_or_empty(language)
    return None if code in ("", ENGLISH) else code


def format_day(day: date, language: str) -> str:
    """e.g. en "Thursday 12 March 2026", fr "jeudi 12 mars 2026"."""
    locale = _locale(language)
    return day.strftime(LEGACY_DATE_FORMAT) if locale is None else format_date(day, "full", locale=locale)


def format_time_of_day(moment: time | datetime, language: str) -> str:
    """e.g. "15:00" (the locale's short time: 24-hour where it writes it so)."""
    locale = _locale(language)
    return moment.strftime(LEGACY_TIME_FORMAT) if locale is None else format_time(moment, "short", locale=locale)


def format_moment(moment: datetime, language: str) -> str:
    """A local (already converted) moment, e.g. en "15:00 on Thursday 12 March 2026",
    fr "jeudi 12 mars 2026, 15:00" (the locale's own pattern combining date and time)."""
    locale = _locale(language)
    if locale is None:
        return moment.strftime(LEGACY_MOMENT_FORMAT)
    pattern = Locale.parse(locale).datetime_formats["full"]
    pattern = getattr(pattern, "pattern", pattern)
    day = format_date(moment.date(), "full", locale=locale)
    at = format_time(moment.replace(tzinfo=None).time(), "short", locale=locale)
    return pattern.replace("{1}", day).replace("{0}", at).replace("'", "")
