"""Guest phone numbers: read with Google's libphonenumber (the `phonenumbers` package), stored in
E.164 (+33612345678). Pure functions over plain values; nowistay.validators turns a refusal into
the ValidationError that forms, the admin and the API show.

A number written without its country code is read as a number of `region`, the property's
country, and must then be a valid number there (libphonenumber's is_valid_number): a French
guest's "06 12 34 56 78" typed at a London property has a possible UK length, and would otherwise
be stored as someone else's UK number. A number written with its country code (+44…, 0044…)
needs only a possible length for that country (is_possible_number): its country is certain, and
allocations change every month, so a real guest's number in a range newer than the installed
metadata is not refused (that would refuse the whole booking a PMS pushes, and the guest's code).
"""

from __future__ import annotations

import re

import phonenumbers
from django.utils.translation import get_language, gettext as _, gettext_noop
from phonenumbers import CountryCodeSource, NumberParseException, PhoneNumberFormat, ValidationResult

from nowistay.countries import country_names_in

# What may be typed: digits, one leading +, and the usual separators. No letters: libphonenumber
# would read "1-800-FLOWERS" as a keypad word and "x12" as an extension.
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()./-]*$")
# An extension written after the number ("ext. 12", "x12", "#12", ";ext=12"): a text or a
# WhatsApp message cannot reach one.
EXTENSION_PATTERN = re.compile(r"\+?[0-9 ()./-]*[0-9][ ,]*(?:;\s*ext=|ext(?:ension|n)?\.?|x|#|~)\s*[0-9]+#?\s*", re.IGNORECASE)

DIGITS_ONLY = gettext_noop("Enter a phone number with digits only (spaces, +, -, ( ) and . are allowed).")
NO_EXTENSION = gettext_noop("Remove the extension: enter the guest's own number (a text message cannot reach an extension).")
NO_DIGITS = gettext_noop("Enter a phone number: this one has no digits.")
NO_COUNTRY = gettext_noop(
    "Start the number with + and its country code (e.g. +33 6 12 34 56 78): "
    "the property has no country to read it in (set one in the property's settings)."
)
UNKNOWN_COUNTRY_CODE = gettext_noop("Check the country code after +: no country has it.")
# The country code was written (+44…, or 0044… from the property's country).
WRITTEN_CODE = (CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN, CountryCodeSource.FROM_NUMBER_WITH_IDD)


class PhoneRefused(ValueError):
    """Why a text is not a phone number we can store, in words for the person who typed it (the
    number itself is never repeated: it is a guest's personal data)."""

    code = "invalid_phone"

    @property
    def message(self) -> str:
        return self.args[0]


_LENGTH_PROBLEMS = {
    ValidationResult.TOO_SHORT: gettext_noop("This phone number is too short for %(where)s: check it."),
    ValidationResult.TOO_LONG: gettext_noop("This phone number is too long for %(where)s: check it."),
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: gettext_noop("Add the area code: this is a local number in %(where)s."),
    ValidationResult.INVALID_LENGTH: gettext_noop("No phone number in %(where)s has this many digits: check it."),
}


def _where(number: phonenumbers.PhoneNumber, *, with_code: bool) -> str:
    country = country_names_in(get_language() or "en").get(phonenumbers.region_code_for_country_code(number.country_code))
    if country is None:  # a non-geographic code, such as +800
        return f"+{number.country_code}"
    return f"{country} (+{number.country_code})" if with_code else country


def _problem(number: phonenumbers.PhoneNumber) -> str | None:
    with_code = number.country_code_source in WRITTEN_CODE
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != ValidationResult.IS_POSSIBLE:
        message = _(_LENGTH_PROBLEMS.get(reason, _LENGTH_PROBLEMS[ValidationResult.INVALID_LENGTH]))
    elif not with_code and not phonenumbers.is_valid_number(number):
        message = _("This is not a phone number in %(where)s: check it.")
    else:
        return None
    message = message % {"where": _where(number, with_code=with_code)}
    if not with_code:
        message = f"{message} {_('A number from another country starts with + and its country code.')}"
    return message


def parse_phone(text: str, *, region: str | None) -> phonenumbers.PhoneNumber:
    """`text` read as a phone number, numbers without a country code as numbers of `region` (ISO
    3166-1 alpha-2; None: only numbers with their country code are read). Raises PhoneRefused."""
    text = text.strip(" ")  # only spaces: a trailing line break is refused, not trimmed away
    if not PHONE_PATTERN.fullmatch(text):
        raise PhoneRefused(_(NO_EXTENSION if EXTENSION_PATTERN.fullmatch(text) else DIGITS_ONLY))
    if not any(character.isdigit() for character in text):
        raise PhoneRefused(_(NO_DIGITS))
    region = region if region in phonenumbers.SUPPORTED_REGIONS else None
    try:
        number = phonenumbers.parse(text, region, keep_raw_input=True)  # keeps how the country code was given
    except NumberParseException as error:
        raise PhoneRefused(_parse_problem(error, international=text.startswith("+"), region=region)) from None
    problem = _problem(number)
    if problem:
        raise PhoneRefused(problem)
    return number


def _parse_problem(error: NumberParseException, *, international: bool, region: str | None) -> str:
    if error.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return _(UNKNOWN_COUNTRY_CODE if international or region else NO_COUNTRY)
    if error.error_type == NumberParseException.TOO_LONG:
        return _("This phone number is too long: check it.")
    # Digits and separators only, yet no number: too few digits to be one ("1", "+33 1").
    return _("This phone number is too short: check it.")


def to_e164(text: str, *, region: str | None) -> str:
    """`text` as E.164 ("+33612345678"); "" stays "". Raises PhoneRefused."""
    if not text.strip(" "):
        return ""
    return phonenumbers.format_number(parse_phone(text, region=region), PhoneNumberFormat.E164)


def national_digits(stored: str | None) -> str | None:
    """The digits of a stored number's national significant number, without the country code
    ("+447700900123" → "7700900123"), or None when `stored` is not an international number
    (a value kept as written because it could not be read)."""
    if not stored or not stored.strip(" ").startswith("+"):
        return None
    try:
        number = parse_phone(stored, region=None)
    except PhoneRefused:
        return None
    return phonenumbers.national_significant_number(number)
