"""Guest-message variables: validation when a template is saved, substitution when it is sent.

Pure functions over plain values. Host text is never given to Django's template engine: a regular
expression finds `{{name}}` and `<<name>>` placeholders (inner spaces allowed) and each known name
is looked up in a dict, in one pass, so a value that itself looks like a placeholder (a guest
called "{{smartlock_code}}") is inserted as written and never expanded. Anything else written in
placeholder syntax — a misspelling, `{{ settings.SECRET_KEY }}`, `{{guest_name|upper}}`,
`{% load %}` — is refused when the template is saved, naming what was written.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

# name -> what it becomes, shown to hosts next to the editor. Order is the order they are listed in.
VARIABLES: dict[str, str] = {
    "guest_name": "the guest's name",
    "property_name": "the property's name",
    "arrival_date": "the arrival date, e.g. Sunday 29 March 2026",
    "departure_date": "the departure date",
    "check_in_time": "the check-in time (the booking's own, else the property's, else 15:00)",
    "check_out_time": "the check-out time (the booking's own, else the property's, else 11:00)",
    "smartlock_code": "the guest's door code (the message waits until the code is active on the lock)",
    "nuki_code": "the same door code (legacy name)",
    "code_valid_from": "when the door code starts working, property time",
    "code_valid_until": "when the door code stops working, property time",
    "code_usage_note": "how to use the code, when the lock needs it (igloohome: use it within 24 hours of its start)",
}
ALIASES = {"nuki_code": "smartlock_code"}
# Variables whose value comes from the door code: a message using one waits for an active code.
CODE_VARIABLES = frozenset({"smartlock_code", "nuki_code", "code_valid_from", "code_valid_until", "code_usage_note"})

# One placeholder in either spelling; its inner text is reported as written when it is not known.
_PLACEHOLDER = re.compile(r"\{\{\s*(?P<curly>[^{}]*?)\s*\}\}|<<\s*(?P<angle>[^<>\n]*?)\s*>>")
# What is left of template syntax once the placeholders are taken out.
_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_STRAY = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}|<<\s*\w|\w\s*>>")
_SINGLE_BRACES = re.compile(r"(?<!\{)\{\s*(?P<name>[a-z_]+)\s*\}(?!\})")

DATE_FORMAT = "%A %-d %B %Y"
TIME_FORMAT = "%H:%M"
MOMENT_FORMAT = "%H:%M on %A %-d %B %Y"


class RenderError(ValueError):
    """A message cannot be rendered completely; it must not be sent."""


class UnknownVariable(RenderError):
    """A placeholder that is not a known variable (the text was never validated)."""


class MissingValue(RenderError):
    """A known variable with no value here (e.g. the door code before it is active)."""


def known_list() -> str:
    return ", ".join(f"{{{{{name}}}}}" for name in VARIABLES)


def placeholders(text: str) -> list[str]:
    """The inner text of every placeholder in `text`, as written (stripped of spaces)."""
    return [match.group("curly") if match.group("curly") is not None else match.group("angle") for match in _PLACEHOLDER.finditer(text or "")]


def problems(text: str) -> list[str]:
    """What is wrong with a host's text, one sentence each; empty when it can be saved."""
    found: list[str] = []
    for written in placeholders(text):
        if written not in VARIABLES:
            found.append(_unknown_message(written))
    rest = _PLACEHOLDER.sub("", text or "")
    for tag in _TAG.findall(rest):
        found.append(f"“{_short(tag)}” is template code, which messages cannot contain. Known variables: {known_list()}.")
    rest = _TAG.sub("", rest)
    if _STRAY.search(rest):
        found.append(
            "A variable is not closed (or is opened twice): write it as {{name}} or <<name>>, "
            f"with two braces on each side. Known variables: {known_list()}."
        )
    for match in _SINGLE_BRACES.finditer(rest):
        if match.group("name") in VARIABLES:
            name = match.group("name")
            found.append(f"“{match.group(0)}” has single braces: write {{{{{name}}}}} for the variable.")
    return list(dict.fromkeys(found))


def _unknown_message(written: str) -> str:
    shown = _short(written) or "(empty)"
    guess = difflib.get_close_matches(written.strip().lower(), VARIABLES, n=1, cutoff=0.75)
    hint = f" Did you mean {{{{{guess[0]}}}}}?" if guess else ""
    return f"Unknown variable “{shown}”.{hint} Known variables: {known_list()}."


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validate_text(text: str) -> None:
    """Raise ValidationError listing every problem of `text` (see `problems`)."""
    found = problems(text)
    if found:
        raise ValidationError([ValidationError(message, code="unknown_variable") for message in found])


def variables_used(*texts: str) -> set[str]:
    """Known variable names used in `texts`, aliases included as written."""
    return {name for text in texts for name in placeholders(text) if name in VARIABLES}


def uses_code(*texts: str) -> bool:
    """Whether the message carries the door code (or anything read from it)."""
    return bool(variables_used(*texts) & CODE_VARIABLES)


def render(text: str, values: Mapping[str, str]) -> str:
    """`text` with each placeholder replaced by its value, in one pass (values are not re-read).

    Raises UnknownVariable for a placeholder that is not a known variable, and MissingValue for a
    known one without a value, so nothing is ever sent with a blank where a value should be.
    """

    def substitute(match: re.Match) -> str:
        name = match.group("curly") if match.group("curly") is not None else match.group("angle")
        if name not in VARIABLES:
            raise UnknownVariable(name)
        key = ALIASES.get(name, name)
        if key not in values:
            raise MissingValue(name)
        return values[key]

    return _PLACEHOLDER.sub(substitute, text or "")


@dataclass(frozen=True)
class CodeValues:
    """What a message may say about a door code. `pin` is never empty."""

    pin: str
    valid_from: datetime
    valid_until: datetime
    usage_note: str = ""

    def __post_init__(self):
        if not self.pin:
            raise ValueError("a door code without a PIN cannot go into a message")


def values_for(
    *,
    guest_name: str,
    property_name: str,
    arrival: date,
    departure: date,
    check_in: time,
    check_out: time,
    tz_name: str,
    code: CodeValues | None,
) -> dict[str, str]:
    """The value of every variable for one booking; code variables only when `code` is given."""
    values = {
        "guest_name": guest_name,
        "property_name": property_name,
        "arrival_date": arrival.strftime(DATE_FORMAT),
        "departure_date": departure.strftime(DATE_FORMAT),
        "check_in_time": check_in.strftime(TIME_FORMAT),
        "check_out_time": check_out.strftime(TIME_FORMAT),
    }
    if code is not None:
        zone = ZoneInfo(tz_name)
        values.update(
            smartlock_code=code.pin,
            code_valid_from=code.valid_from.astimezone(zone).strftime(MOMENT_FORMAT),
            code_valid_until=code.valid_until.astimezone(zone).strftime(MOMENT_FORMAT),
            code_usage_note=code.usage_note,
        )
    return values


def one_line(text: str) -> str:
    """An email subject cannot hold a line break (a guest's name could bring one)."""
    return " ".join(text.split())


def describe_variables(names: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(placeholder, description) pairs for the editor's help."""
    return [(f"{{{{{name}}}}}", VARIABLES[name]) for name in (names or VARIABLES)]
