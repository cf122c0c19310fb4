"""Validators shared by models, forms, the API and the request checks, so bad input gets one message."""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy as _

from locks.windows import is_valid_time_zone
from nowistay.countries import is_country_code
from nowistay.guest_languages import LanguageRefused, normalise_language
from nowistay.phones import DIGITS_ONLY, EXTENSION_PATTERN, NO_EXTENSION, PHONE_PATTERN, PhoneRefused, to_e164

# --- plain text ------------------------------------------------------------------------------------
# What text may hold, defined once. PostgreSQL cannot store NUL (a NUL in a filter was a 500), and
# no name, subject or search needs a control character: a CR/LF in a guest's name reaches email
# subjects (header injection), ESC and BEL reach terminals and logs. Unpaired surrogates are not text
# at all (they cannot be encoded). Printable text of any script is welcome.
_C0_C1_DEL_SURROGATES = "\x00-\x1f\x7f-\x9f\ud800-\udfff"
# One line: every control character, including CR, LF, TAB and NEL (U+0085), and the Unicode line
# and paragraph separators.
SINGLE_LINE_FORBIDDEN = re.compile(f"[{_C0_C1_DEL_SURROGATES}\u2028\u2029]")
# Several lines (message bodies): line breaks (LF, CRLF) and tabs are text; a CR on its own is not.
MULTILINE_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]|\r(?!\n)")

LINE_BREAKS = frozenset("\n\r\x85\u2028\u2029")
CONTROL_CHARACTER_CODE = "control_character"


@dataclass(frozen=True)
class ForbiddenCharacter:
    character: str
    position: int  # from 1, as a person counts

    @property
    def is_line_break(self) -> bool:
        return self.character in LINE_BREAKS

    @property
    def code_point(self) -> str:
        return f"U+{ord(self.character):04X}"

    @property
    def kind(self) -> str:
        """Which character it is, for the message that names it (never the text around it: it may
        be a password or a token): "line_break", "tab", "nul", "surrogate" or "control"."""
        if self.is_line_break:
            return "line_break"
        if self.character == "\t":
            return "tab"
        if self.character == "\x00":
            return "nul"
        if "\ud800" <= self.character <= "\udfff":
            return "surrogate"
        return "control"

    def message(self, messages: dict[str, str]) -> str:
        """The one of `messages` (by `kind`, each a whole sentence) for this character."""
        return messages[self.kind] % {"position": self.position, "code_point": self.code_point}


# Each message a whole sentence per kind of character, so that it translates.
SINGLE_LINE_MESSAGES = {
    "line_break": _("Keep this on one line: remove the line break (character %(position)s)."),
    "tab": _("Remove a tab (character %(position)s): only printable text is allowed."),
    "nul": _("Remove the NUL character U+0000 (character %(position)s): only printable text is allowed."),
    "surrogate": _("Remove the unpaired surrogate %(code_point)s (character %(position)s): only printable text is allowed."),
    "control": _("Remove the control character %(code_point)s (character %(position)s): only printable text is allowed."),
}
MULTILINE_MESSAGES = {
    "line_break": _("Remove a line break (character %(position)s): only printable text and line breaks are allowed."),
    "tab": _("Remove a tab (character %(position)s): only printable text and line breaks are allowed."),
    "nul": _("Remove the NUL character U+0000 (character %(position)s): only printable text and line breaks are allowed."),
    "surrogate": _(
        "Remove the unpaired surrogate %(code_point)s (character %(position)s): only printable text and line breaks are allowed."
    ),
    "control": _(
        "Remove the control character %(code_point)s (character %(position)s): only printable text and line breaks are allowed."
    ),
}


def forbidden_character(value: str, *, multiline: bool = False) -> ForbiddenCharacter | None:
    """The first character `value` may not hold, or None when it is plain text."""
    match = (MULTILINE_FORBIDDEN if multiline else SINGLE_LINE_FORBIDDEN).search(value)
    if match is None:
        return None
    return ForbiddenCharacter(character=match.group(), position=match.start() + 1)


def single_line_message(found: ForbiddenCharacter) -> str:
    return found.message(SINGLE_LINE_MESSAGES)


def multiline_message(found: ForbiddenCharacter) -> str:
    if found.character == "\r":
        return _(
            "Remove the carriage return on its own (character %(position)s): end lines with a normal line break."
        ) % {"position": found.position}
    return found.message(MULTILINE_MESSAGES)


def validate_single_line_text(value: str) -> None:
    """Names, subjects, references, credentials, search terms: printable text on one line."""
    found = forbidden_character(value) if isinstance(value, str) else None
    if found is not None:
        raise ValidationError(single_line_message(found), code=CONTROL_CHARACTER_CODE)


def validate_multiline_text(value: str) -> None:
    """Message bodies and notes: printable text, line breaks and tabs."""
    found = forbidden_character(value, multiline=True) if isinstance(value, str) else None
    if found is not None:
        raise ValidationError(multiline_message(found), code=CONTROL_CHARACTER_CODE)


def printable(value: str) -> str:
    """`value` with each forbidden character written as its code point, to name a bad parameter."""
    return SINGLE_LINE_FORBIDDEN.sub(lambda match: f"U+{ord(match.group()):04X}", value)


def without_control_characters(value: str, *, multiline: bool = False) -> str:
    """`value` made plain text: line breaks and tabs become spaces on one line (kept in several),
    other control characters go. For text stored before these rules existed."""
    if multiline:
        return MULTILINE_FORBIDDEN.sub("", re.sub("\r(?!\n)", "\n", value))
    value = value.replace("\r\n", " ")
    spaced = "".join(" " if character in LINE_BREAKS or character == "\t" else character for character in value)
    return SINGLE_LINE_FORBIDDEN.sub("", spaced).strip()


def rewrite_stored_text(model, name: str, *, multiline: bool = False) -> None:
    """Make plain text of `model.name` values stored before these rules (the host booking form
    stored CR/LF and ESC/BEL): for data migrations, which pass their historical model."""
    field = model._meta.get_field(name)
    stored = model.objects.values_list("pk", name).iterator(chunk_size=2000)
    bad = [(pk, value) for pk, value in stored if value and forbidden_character(value, multiline=multiline)]
    for pk, value in bad:
        cleaned = without_control_characters(value, multiline=multiline) or ("" if field.blank else "(unnamed)")
        model.objects.filter(pk=pk).update(**{name: cleaned})


# --- other values ----------------------------------------------------------------------------------

def is_whole_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes "²" and "①", which int() refuses."""
    return text.isascii() and text.isdigit()



def validate_time_zone(value: str) -> None:
    if not is_valid_time_zone(value):
        raise ValidationError(
            _("“%(value)s” is not a known time zone; use an IANA name such as Europe/Paris."),
            code="invalid_time_zone",
            params={"value": printable(value)},
        )


def validate_country(value: str) -> None:
    if value and not is_country_code(value):
        raise ValidationError(
            _("“%(value)s” is not a country code; use the two capital letters of ISO 3166-1, such as FR or GB."),
            code="invalid_country",
            params={"value": printable(value)},
        )


def validate_phone(value: str) -> None:
    """What a phone number may be made of, whatever its country (a field validator: it knows no
    property). `phone_in_e164` reads the number itself, once the property's country is known."""
    value = value.strip(" ") if value else value
    if value and not PHONE_PATTERN.fullmatch(value):
        message = NO_EXTENSION if EXTENSION_PATTERN.fullmatch(value) else DIGITS_ONLY
        raise ValidationError(gettext(message), code="invalid_phone")


def phone_in_e164(value: str, *, region: str | None) -> str:
    """`value` as an E.164 number ("+33612345678"), a number without a country code read as one
    of `region`; "" stays "". The one rule of the model, and so of the host form, the admin and the
    API. Raises ValidationError with the reason in words."""
    try:
        return to_e164(value, region=region)
    except PhoneRefused as refused:
        raise ValidationError(refused.message, code=refused.code) from None


def validate_guest_language(value: str) -> None:
    """A guest's language: an ISO 639-1 code Babel knows ("fr"; "fr-FR" is read as "fr"). A
    control character is left to the single-line validator, which names it."""
    if value and forbidden_character(value) is not None:
        return
    try:
        normalise_language(value)
    except LanguageRefused as refused:
        raise ValidationError(refused.message, code="invalid_language") from None
