"""The message scanner (messaging/rendering.py) reads any text in time linear in its length.

Nothing here is timed (benchmarks/rendering.py prints timings). Instead:
- the scanner counts the characters it reads (`rendering.Steps`), and for families of adversarial
  texts that made the former regular expression backtrack (or repeat a search), doubling the text
  at most doubles the count, and the count stays under a fixed number of reads per character;
- for any small text, the scanner finds what the former regular expressions found (kept below as
  the reference), so valid and invalid templates behave as before;
- a megabyte of each adversarial text is scanned to the end (the former pattern never got there).
"""

import difflib
import random
import re
from itertools import pairwise

import pytest
from hypothesis import given, settings, strategies as st

from messaging import rendering

# --- the reference: the former regular expressions, correct but super-linear on bad input ---------

REF_PLACEHOLDER = re.compile(r"\{\{\s*(?P<curly>[^{}]*?)\s*\}\}|<<\s*(?P<angle>[^<>\n]*?)\s*>>")
REF_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)
REF_STRAY = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}|<<\s*\w|\w\s*>>")
REF_SINGLE_BRACES = re.compile(r"(?<!\{)\{\s*(?P<name>[a-z_]+)\s*\}(?!\})")


def ref_name(match: re.Match) -> str:
    return match.group("curly") if match.group("curly") is not None else match.group("angle")


def ref_placeholders(text: str) -> list[str]:
    return [ref_name(match) for match in REF_PLACEHOLDER.finditer(text)]


def ref_unknown_message(written: str) -> str:
    shown = rendering._short(written) or "(empty)"
    guess = difflib.get_close_matches(written.strip().lower(), rendering.VARIABLES, n=1, cutoff=0.75)
    hint = f" Did you mean {{{{{guess[0]}}}}}?" if guess else ""
    return f"Unknown variable “{shown}”.{hint} Known variables: {rendering.known_list()}."


def ref_problems(text: str) -> list[str]:
    known = rendering.known_list()
    found = [ref_unknown_message(written) for written in ref_placeholders(text) if written not in rendering.VARIABLES]
    rest = REF_PLACEHOLDER.sub("", text)
    for tag in REF_TAG.findall(rest):
        found.append(f"“{rendering._short(tag)}” is template code, which messages cannot contain. Known variables: {known}.")
    rest = REF_TAG.sub("", rest)
    if REF_STRAY.search(rest):
        found.append(
            "A variable is not closed (or is opened twice): write it as {{name}} or <<name>>, "
            f"with two braces on each side. Known variables: {known}."
        )
    for match in REF_SINGLE_BRACES.finditer(rest):
        if match.group("name") in rendering.VARIABLES:
            found.append(f"“{match.group(0)}” has single braces: write {{{{{match.group('name')}}}}} for the variable.")
    return list(dict.fromkeys(found))


def ref_lenient(text: str, values: dict[str, str]) -> str:
    """The former preview substitution: known names with a value filled in, the rest as written."""

    def substitute(match: re.Match) -> str:
        name = ref_name(match)
        key = rendering.ALIASES.get(name, name)
        return values[key] if name in rendering.VARIABLES and key in values else match.group(0)

    return REF_PLACEHOLDER.sub(substitute, text)


def outcome(function, *args):
    """A function's result, or the type and argument of what it raised."""
    try:
        return function(*args)
    except rendering.RenderError as error:
        return type(error), error.args


VALUES = {name: f"<{name.upper()}>" for name in rendering.VARIABLES if name not in rendering.ALIASES}
SOME_VALUES = {name: value for name, value in VALUES.items() if name not in rendering.CODE_VARIABLES}

# Pieces of placeholder syntax, spaces of every kind the regular expressions' \s knows, control
# characters, word characters outside ASCII, known names and near misses.
TOKENS = [
    "{{", "}}", "{", "}", "<<", ">>", "<", ">", "{%", "%}", "{#", "#}", "%", "#",
    " ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000",
    "\x00", "\x07", "\x1b", "\x7f",
    "guest_name", "smartlock_code", "nuki_code", "code_valid_from", "smartlock_cod", "GUEST_NAME", "guest name",
    "x", "a", "_", "1", "é", "²", "ª", "\u0660", "İ", "|", ".", "upper",
]
template_like = st.lists(st.sampled_from(TOKENS), max_size=30).map("".join)
any_text = st.one_of(template_like, st.text(max_size=40), st.text(alphabet="{}<>%# \n\ta_", max_size=40))


class TestSameAsTheFormerPatterns:
    @settings(max_examples=2000, deadline=None)
    @given(text=any_text)
    def test_placeholders(self, text):
        assert rendering.placeholders(text) == ref_placeholders(text)

    @settings(max_examples=2000, deadline=None)
    @given(text=any_text)
    def test_problems(self, text):
        assert rendering.problems(text) == ref_problems(text)

    @settings(max_examples=1000, deadline=None)
    @given(text=any_text)
    def test_render_and_its_refusals(self, text):
        assert outcome(rendering.render, text, VALUES) == outcome(
            lambda t, v: REF_PLACEHOLDER.sub(lambda m: _ref_value(m, v), t), text, VALUES
        )
        assert outcome(rendering.render, text, SOME_VALUES) == outcome(
            lambda t, v: REF_PLACEHOLDER.sub(lambda m: _ref_value(m, v), t), text, SOME_VALUES
        )

    @settings(max_examples=1000, deadline=None)
    @given(text=any_text)
    def test_the_previews_lenient_substitution(self, text):
        from messaging.previews import lenient_render as _lenient_render

        assert _lenient_render(text, SOME_VALUES) == ref_lenient(text, SOME_VALUES)

    @pytest.mark.parametrize("name", list(rendering.VARIABLES))
    def test_suggestions_are_unchanged_for_long_misspellings(self, name):
        # The scanner skips difflib for text too long to be a near miss: the same answers.
        for extra in range(0, 3 * len(name)):
            written = name[:-1] + "x" * extra
            assert rendering._unknown_message(written) == ref_unknown_message(written)


def _ref_value(match: re.Match, values: dict[str, str]) -> str:
    name = ref_name(match)
    if name not in rendering.VARIABLES:
        raise rendering.UnknownVariable(name)
    key = rendering.ALIASES.get(name, name)
    if key not in values:
        raise rendering.MissingValue(name)
    return values[key]


# --- linear work ----------------------------------------------------------------------------------

def _mixture(n: int) -> str:
    """A fixed block of 1,000 random tokens of placeholder syntax, repeated n / 1,000 times."""
    chooser = random.Random(15)
    block = "".join(chooser.choice(TOKENS) for _ in range(1000))
    return block * max(1, n // 1000)


# Texts that made the former patterns backtrack (spaces after an opening), repeat a search to the
# end (openings never closed) or read a run again and again (spaces or letters between markers).
ADVERSARIAL = {
    "{{ then spaces": lambda n: "{{" + " " * n + "x",
    "<< then spaces": lambda n: "<<" + " " * n + "x",
    "<< spaces, a line break, spaces >>": lambda n: "<<" + " " * n + "a\nb" + " " * n + ">>",
    "{{ spaces }": lambda n: "{{" + " " * n + "x }",
    "{{ repeated": lambda n: "{{" * n,
    "<< repeated": lambda n: "<<" * n,
    "{{ and spaces repeated": lambda n: "{{ " * n,
    "<< and spaces repeated": lambda n: "<< " * n,
    "opened then closed": lambda n: "{{" * n + "}}" * n,
    "{% never closed": lambda n: "{%" * n,
    "{# never closed": lambda n: "{#" * n,
    "{% then spaces": lambda n: "{% " + " " * n,
    "single braces": lambda n: "{" * n,
    "closing braces": lambda n: "}" * n,
    "angle brackets": lambda n: "<" * n + ">" * n,
    "{ then letters": lambda n: "{" + "a" * n,
    "{ letters repeated": lambda n: "{ a " * n,
    "word, spaces, >": lambda n: "a" + " " * n + ">",
    "spaces then >>": lambda n: " " * n + ">>",
    "word and spaces repeated before >>": lambda n: ("a" + " " * 50) * (n // 50) + ">>",
    "NUL and control characters": lambda n: "\x00\x01\x1b\x7f\x85" * n,
    "unknown placeholders": lambda n: "{{ x }}" * n,
    "known placeholders": lambda n: "{{guest_name}} <<nuki_code>> " * n,
    "line breaks inside angles": lambda n: "<< a\nb >>" * n,
    "random mixture": _mixture,
}

# Reads per character of text that no input may exceed (the scan makes a fixed number of passes).
READS_PER_CHARACTER = 40


def _problem_steps(text: str) -> int:
    steps = rendering.Steps()
    rendering.problems(text, max_length=None, steps=steps)
    return steps.count


def _render_steps(text: str) -> int:
    steps = rendering.Steps()
    rendering.substitute(text, lambda placeholder: placeholder.name, steps=steps)
    return steps.count


@pytest.mark.parametrize("count_steps", [_problem_steps, _render_steps], ids=["validate", "render"])
@pytest.mark.parametrize("family", list(ADVERSARIAL), ids=list(ADVERSARIAL))
def test_doubling_the_text_at_most_doubles_the_work(family, count_steps):
    make = ADVERSARIAL[family]
    sizes = [2_000, 4_000, 8_000, 16_000]
    work = [count_steps(make(n)) for n in sizes]
    for smaller, larger in pairwise(work):
        # A quadratic scan would quadruple; the slack covers texts that are not exactly twice as long.
        assert larger <= 2.25 * smaller, (family, work)
    for n, steps in zip(sizes, work, strict=True):
        assert steps <= READS_PER_CHARACTER * (len(make(n)) + 1), (family, n, steps)


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(any_text, st.lists(st.sampled_from(TOKENS), max_size=300).map("".join)))
def test_no_text_costs_more_than_a_fixed_number_of_reads_per_character(text):
    assert _problem_steps(text) <= READS_PER_CHARACTER * (len(text) + 1)
    assert _render_steps(text) <= READS_PER_CHARACTER * (len(text) + 1)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{{" + " " * 1_000_000 + "x", "not closed"),
        ("<<" + " " * 1_000_000 + "x", "not closed"),
        ("{%" * 500_000, "not closed"),
        ("{ a " * 250_000, None),
        ("\x00" * 1_000_000, None),
    ],
    ids=["{{ then spaces", "<< then spaces", "{% never closed", "{ letters", "NUL"],
)
def test_a_megabyte_of_adversarial_text_is_read_to_the_end(text, problem):
    found = rendering.problems(text, max_length=None)
    assert (problem is None and found == []) or any(problem in sentence for sentence in found)
    assert rendering.placeholders(text) == []
    assert rendering.substitute(text, lambda placeholder: "") == text


def test_a_megabyte_of_placeholders_renders_each_one():
    text = "Hi {{guest_name}}! " * 55_000
    assert len(text) > 1_000_000
    assert rendering.render(text, VALUES) == "Hi <GUEST_NAME>! " * 55_000
