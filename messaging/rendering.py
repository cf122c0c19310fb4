"""Guest-message variables: validation when a template is saved, substitution when it is sent.

Pure functions over plain values. Host text is never given to Django's template engine: a scanner
finds `{{name}}` and `<<name>>` placeholders (inner spaces allowed) and each known name is looked
up in a dict, in one pass, so a value that itself looks like a placeholder (a guest called
"{{smartlock_code}}") is inserted as written and never expanded. Anything else written in
placeholder syntax — a misspelling, `{{ settings.SECRET_KEY }}`, `{{guest_name|upper}}`,
`{% load %}` — is refused when the template is saved, naming what was written.

The scanner is linear in the length of the text, whatever the text: it uses no backtracking
regular expression (the pattern it replaces needed cubic time on "{{" followed by spaces, and
stalled a worker). Each search for a marker resumes where the previous search for that marker
stopped, each run of spaces, letters or brackets is read once, and an opening that cannot be
closed is never tried again. `Steps` counts the characters read, so tests show that the work
grows with the length of the text and no faster (tests/messaging/test_rendering_linear.py);
benchmarks/rendering.py times it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from django.core.exceptions import ValidationError

from messaging.variables import (  # noqa: F401  (the names callers use through this module)
    ALIASES,
    CODE_VARIABLES,
    VARIABLES,
    CodeValues,
    describe_variables,
    one_line,
    values_for,
)

# How long a host's text may be. A guest message is a greeting, the door code and how to arrive:
# a few hundred to a few thousand characters (the default message is about 400). 10,000 (some
# 1,500 words, several screens on a phone) leaves room for long arrival instructions while
# bounding what the editor's live preview (a request on every pause in typing) and every send
# work through. The subject is the width of its column.
MAX_SUBJECT_LENGTH = 300
MAX_BODY_LENGTH = 10_000
TOO_LONG = {
    "subject": "A subject can have at most %(limit_value)d characters; this one has %(show_value)d.",
    "body": "A message can have at most %(limit_value)d characters; this one has %(show_value)d. Shorten it: guests read it on a phone.",
}

# No known name is longer than this, and difflib's first test (the ratio of the lengths) rejects
# any text over 5/3 of a name's length at our cutoff: longer text gets no suggestion either way,
# without difflib indexing it.
_SUGGESTION_MAX_LENGTH = 2 * max(len(name) for name in VARIABLES)
_NAME_LETTERS = "abcdefghijklmnopqrstuvwxyz_"


class RenderError(ValueError):
    """A message cannot be rendered completely; it must not be sent."""


class UnknownVariable(RenderError):
    """A placeholder that is not a known variable (the text was never validated)."""


class MissingValue(RenderError):
    """A known variable with no value here (e.g. the door code before it is active)."""


def known_list() -> str:
    return ", ".join(f"{{{{{name}}}}}" for name in VARIABLES)


# --- the scanner ----------------------------------------------------------------------------------

class Steps:
    """The number of characters a scan read (string searches, runs, copies), counted so tests
    can show the scan is linear without timing it."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class Placeholder(NamedTuple):
    """One `{{name}}` or `<<name>>`: where it is, its text as written, and its inner text
    stripped of spaces (the name, when it is a known one)."""

    start: int
    end: int
    written: str
    name: str


class _Next:
    """The next occurrence of `needle` at or after a position (the text's length when there is
    none), asked for positions that never go back: a search resumes where the last one stopped,
    so each character is searched once however often it is asked."""

    __slots__ = ("text", "needle", "steps", "end", "asked", "found")

    def __init__(self, text: str, needle: str, steps: Steps) -> None:
        self.text, self.needle, self.steps, self.end = text, needle, steps, len(text)
        self.asked, self.found = 0, -1

    def at_or_after(self, position: int) -> int:
        found = self.found
        if self.asked <= position and (position <= found or found == self.end):
            return found
        found = self.text.find(self.needle, position)
        if found == -1:
            found = self.end
        self.steps.count += max(0, found - position) + len(self.needle)
        self.asked, self.found = position, found
        return found


def _run_end(text: str, start: int, steps: Steps, chars: str | None = None) -> int:
    """End of the run of `chars` (whitespace, as regular expressions' \\s, when None) that starts
    at `start`. Read in growing windows, so a run costs about its own length."""
    position, window = start, 16
    while position < len(text):
        segment = text[position : position + window]
        steps.count += len(segment)
        rest = segment.lstrip(chars)
        if rest:
            return position + len(segment) - len(rest)
        position, window = position + len(segment), window * 2
    return len(text)


def _is_word(character: str) -> bool:
    """A regular expression's \\w: a Unicode letter or digit, or the underscore."""
    return character.isalnum() or character == "_"


class _Spelling:
    """One placeholder spelling: `opening`, anything but its two bracket characters, `closing`."""

    def __init__(self, text: str, opening: str, closing: str, steps: Steps, *, line_breaks: bool) -> None:
        self.text, self.steps, self.line_breaks = text, steps, line_breaks
        self.bracket, self.closing = opening[0], closing
        self.openings = _Next(text, opening, steps)
        self.opening_brackets, self.closing_brackets = _Next(text, opening[0], steps), _Next(text, closing[0], steps)
        self.resume = 0  # no opening before this can start a placeholder any more

    def next_start(self, position: int) -> int:
        return self.openings.at_or_after(max(position, self.resume))

    def at(self, start: int) -> Placeholder | None:
        """The placeholder opened at `start`: closed before any other bracket of its kind."""
        text = self.text
        stop = min(self.opening_brackets.at_or_after(start + 2), self.closing_brackets.at_or_after(start + 2))
        if stop == len(text):
            self.resume = stop  # nothing closes any more
            return None
        if text.startswith(self.closing, stop):
            self.steps.count += stop - start
            name = text[start + 2 : stop].strip()
            if self.line_breaks or "\n" not in name:
                return Placeholder(start, stop + 2, text[start : stop + 2], name)
        # An opening before `stop` - 1 would meet the same bracket and fail alike; in a run of
        # opening brackets only the last two can open a placeholder.
        resume = stop - 1
        if text.startswith(self.bracket * 3, stop):
            resume = _run_end(text, stop, self.steps, self.bracket) - 2
        elif text.startswith(self.bracket * 2, stop):
            resume = stop
        self.resume = max(start + 1, resume)
        return None


def _scan_placeholders(text: str, steps: Steps) -> list[Placeholder]:
    """Every placeholder, leftmost first and not overlapping. `{{` then anything but braces then
    `}}`; `<<` then anything but angle brackets then `>>`, with no line break in its name."""
    curly = _Spelling(text, "{{", "}}", steps, line_breaks=True)
    angle = _Spelling(text, "<<", ">>", steps, line_breaks=False)
    found: list[Placeholder] = []
    position = 0
    while True:
        curly_start, angle_start = curly.next_start(position), angle.next_start(position)
        if curly_start < angle_start:
            start, placeholder = curly_start, curly.at(curly_start)
        elif angle_start < len(text):
            start, placeholder = angle_start, angle.at(angle_start)
        else:
            return found
        if placeholder is None:
            position = start + 1
        else:
            found.append(placeholder)
            position = placeholder.end


def _scan_tags(text: str, steps: Steps) -> list[tuple[int, int]]:
    """Spans of `{% ... %}` and `{# ... #}`, leftmost first (the first closing ends each one)."""
    openings = {"%": _Next(text, "{%", steps), "#": _Next(text, "{#", steps)}
    closings = {"%": _Next(text, "%}", steps), "#": _Next(text, "#}", steps)}
    spans: list[tuple[int, int]] = []
    position = 0
    while openings:
        start = min(opening.at_or_after(position) for opening in openings.values())
        if start == len(text):
            break
        kind = text[start + 1]
        close = closings[kind].at_or_after(start + 2)
        if close == len(text):
            del openings[kind]  # no later opening of this kind is closed either
        else:
            spans.append((start, close + 2))
            position = close + 2
    return spans


def _without(text: str, spans: Iterable[tuple[int, int]], steps: Steps) -> str:
    steps.count += len(text)
    pieces, last = [], 0
    for start, end in spans:
        pieces.append(text[last:start])
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


_STRAY_MARKERS = ("{{", "}}", "{%", "%}", "{#", "#}")


def _has_stray_marker(text: str, steps: Steps) -> bool:
    """Whether what is left once placeholders and tags are out still holds placeholder syntax:
    a double brace, a tag marker, `<<` before a word or `>>` after one (spaces between allowed)."""
    steps.count += len(text) * len(_STRAY_MARKERS)
    if any(marker in text for marker in _STRAY_MARKERS):
        return True
    return _word_after_opening(text, steps) or _word_before_closing(text, steps)


def _word_after_opening(text: str, steps: Steps) -> bool:
    openings = _Next(text, "<<", steps)
    opening = openings.at_or_after(0)
    while opening < len(text):
        if text.startswith("<", opening + 2):
            # In a run of "<", only the last two can be followed by a word.
            opening = openings.at_or_after(_run_end(text, opening, steps, "<") - 2)
            continue
        after = _run_end(text, opening + 2, steps)
        if after < len(text) and _is_word(text[after]):
            return True
        opening = openings.at_or_after(opening + 1)
    return False


def _word_before_closing(text: str, steps: Steps) -> bool:
    closings = _Next(text, ">>", steps)
    floor, closing = 0, closings.at_or_after(0)
    while closing < len(text):
        # Read back no further than the previous ">>" (a ">" is no space and no word character).
        segment = text[floor:closing].rstrip()
        steps.count += closing - floor + 1
        if segment and _is_word(segment[-1]):
            return True
        floor, closing = closing + 1, closings.at_or_after(closing + 1)
    return False


def _single_braces(text: str, steps: Steps) -> list[tuple[str, str]]:
    """(as written, name) of each `{name}` (spaces allowed inside, lowercase letters and "_" in the
    name) that is not part of a double brace."""
    openings = _Next(text, "{", steps)
    found: list[tuple[str, str]] = []
    position = 0
    while (start := openings.at_or_after(position)) < len(text):
        position = start + 1
        following = text[start + 1 : start + 2]
        if following == "{" or start > 0 and text[start - 1] == "{":
            position = _run_end(text, start, steps, "{")  # no brace of a run opens a single one
            continue
        if not following or following not in _NAME_LETTERS and not following.isspace():
            continue
        name_start = _run_end(text, start + 1, steps)
        name_end = _run_end(text, name_start, steps, _NAME_LETTERS)
        close = _run_end(text, name_end, steps)
        if name_end > name_start and text.startswith("}", close) and not text.startswith("}}", close):
            found.append((text[start : close + 1], text[name_start:name_end]))
            position = close + 1
    return found


# --- validation -----------------------------------------------------------------------------------

def placeholders(text: str) -> list[str]:
    """The inner text of every placeholder in `text`, as written (stripped of spaces)."""
    return [placeholder.name for placeholder in _scan_placeholders(text or "", Steps())]


def too_long(text: str, *, field: str, limit: int) -> str | None:
    """The sentence refusing `text` when it is longer than `limit` (`field`: "subject" or "body")."""
    if len(text or "") <= limit:
        return None
    return TOO_LONG[field] % {"limit_value": limit, "show_value": len(text)}


def length_problems(*, subject: str, body: str) -> list[str]:
    """Refusals of a subject or body too long to be saved (and so to be previewed)."""
    found = [too_long(subject, field="subject", limit=MAX_SUBJECT_LENGTH), too_long(body, field="body", limit=MAX_BODY_LENGTH)]
    return [problem for problem in found if problem]


def problems(text: str, *, max_length: int | None = MAX_BODY_LENGTH, steps: Steps | None = None) -> list[str]:
    """What is wrong with a host's text, one sentence each; empty when it can be saved.

    Text longer than `max_length` is refused for that alone, unread (None reads any length:
    the benchmark and the linearity tests do). `steps` counts the characters read.
    """
    text = text or ""
    if max_length is not None and (refusal := too_long(text, field="body", limit=max_length)):
        return [refusal]
    steps = steps if steps is not None else Steps()
    found: list[str] = []
    marks = _scan_placeholders(text, steps)
    unknown = dict.fromkeys(mark.name for mark in marks if mark.name not in VARIABLES)
    found.extend(_unknown_message(name) for name in unknown)
    rest = _without(text, ((mark.start, mark.end) for mark in marks), steps)
    tags = _scan_tags(rest, steps)
    for start, end in tags:
        found.append(f"“{_short(rest[start:end])}” is template code, which messages cannot contain. Known variables: {known_list()}.")
    rest = _without(rest, tags, steps)
    if _has_stray_marker(rest, steps):
        found.append(
            "A variable is not closed (or is opened twice): write it as {{name}} or <<name>>, "
            f"with two braces on each side. Known variables: {known_list()}."
        )
    for written, name in _single_braces(rest, steps):
        if name in VARIABLES:
            found.append(f"“{written}” has single braces: write {{{{{name}}}}} for the variable.")
    return list(dict.fromkeys(found))


def _unknown_message(written: str) -> str:
    shown = _short(written) or "(empty)"
    candidate = written.strip().lower()
    guess = difflib.get_close_matches(candidate, VARIABLES, n=1, cutoff=0.75) if len(candidate) <= _SUGGESTION_MAX_LENGTH else []
    hint = f" Did you mean {{{{{guess[0]}}}}}?" if guess else ""
    return f"Unknown variable “{shown}”.{hint} Known variables: {known_list()}."


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validate_text(text: str) -> None:
    """Raise ValidationError listing every problem of `text` (see `problems`)."""
    found = problems(text)
    if found:
        code = "max_length" if len(text or "") > MAX_BODY_LENGTH else "unknown_variable"
        raise ValidationError([ValidationError(message, code=code) for message in found])


def variables_used(*texts: str) -> set[str]:
    """Known variable names used in `texts`, aliases included as written."""
    return {name for text in texts for name in placeholders(text) if name in VARIABLES}


def uses_code(*texts: str) -> bool:
    """Whether the message carries the door code (or anything read from it)."""
    return bool(variables_used(*texts) & CODE_VARIABLES)


# --- substitution ---------------------------------------------------------------------------------

def substitute(text: str, replace: Callable[[Placeholder], str], *, steps: Steps | None = None) -> str:
    """`text` with each placeholder replaced by what `replace` returns for it, in one pass."""
    text = text or ""
    steps = steps if steps is not None else Steps()
    pieces, last = [], 0
    for placeholder in _scan_placeholders(text, steps):
        pieces.append(text[last : placeholder.start])
        pieces.append(replace(placeholder))
        last = placeholder.end
    pieces.append(text[last:])
    steps.count += len(text)
    return "".join(pieces)


def render(text: str, values: Mapping[str, str], *, steps: Steps | None = None) -> str:
    """`text` with each placeholder replaced by its value, in one pass (values are not re-read).

    Raises UnknownVariable for a placeholder that is not a known variable, and MissingValue for a
    known one without a value, so nothing is ever sent with a blank where a value should be.
    """

    def value_of(placeholder: Placeholder) -> str:
        name = placeholder.name
        if name not in VARIABLES:
            raise UnknownVariable(name)
        key = ALIASES.get(name, name)
        if key not in values:
            raise MissingValue(name)
        return values[key]

    return substitute(text, value_of, steps=steps)
