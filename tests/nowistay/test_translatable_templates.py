"""Every word a host reads in a template is marked for translation.

Each template is read with Django's own lexer: text inside `{% translate %}`, `{% blocktranslate %}`
and `{% comment %}` is marked (or not shown); every other piece of text, and every attribute a
person reads (title, placeholder, aria-label, alt, a button's value), must hold no word. Tags,
scripts, styles and HTML comments are not text. Names that are the same in every language
(Nowistay's, the vendors', a few standards) may stay as written.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# Written in no language: the guest's own message (the host's words) is all they contain.
NOT_HOST_TEXT = {"emails/guest_message.txt", "emails/guest_message.html"}
NAMES = {
    "Nowistay", "TTLock", "Tedee", "Nuki", "igloohome", "homeit", "Seam", "API", "CSV", "JSON", "OpenAPI",
    "SMS", "WhatsApp", "URL", "PIN", "HTTPS", "https", "TOTP", "HMAC", "SHA", "UTC", "ID", "htmx", "Swagger",
}
# verbatim: a {{variable}} shown as written, never words.
MARKED_BLOCKS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans", "comment": "endcomment", "verbatim": "endverbatim"}
PLACEHOLDER = "\x01"
READ_ATTRIBUTES = re.compile(r"""\b(?:title|placeholder|aria-label|alt|label)\s*=\s*(["'])(.*?)\1""", re.S)
BUTTON_VALUE = re.compile(r"""<input[^>]*type=["'](?:submit|button|reset)["'][^>]*\bvalue=(["'])(.*?)\1""", re.S)
NOT_TEXT = [
    re.compile(r"<script\b.*?</script>", re.S | re.I),
    re.compile(r"<style\b.*?</style>", re.S | re.I),
    re.compile(r"<!--.*?-->", re.S),
]
TAG = re.compile(r"<[^>]*>", re.S)
ENTITY = re.compile(r"&#?\w+;")
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")


def template_paths() -> list[str]:
    found = sorted(str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*") if path.suffix in {".html", ".txt"})
    return [name for name in found if name not in NOT_HOST_TEXT]


def unmarked_source(source: str) -> str:
    """The template with every tag, variable and marked text replaced by a placeholder."""
    pieces, closing = [], None
    for token in Lexer(source).tokenize():
        if closing:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == closing:
                closing = None
            continue
        if token.token_type == TokenType.TEXT:
            pieces.append(token.contents)
            continue
        if token.token_type == TokenType.BLOCK:
            closing = MARKED_BLOCKS.get(token.contents.split()[0])
        pieces.append(PLACEHOLDER)
    return "".join(pieces)


def unmarked_words(source: str) -> list[str]:
    text = unmarked_source(source)
    for pattern in NOT_TEXT:
        text = pattern.sub(" ", text)
    read = [match.group(2) for pattern in (READ_ATTRIBUTES, BUTTON_VALUE) for match in pattern.finditer(text)]
    shown = ENTITY.sub(" ", " ".join([TAG.sub(" ", text), *read]))
    return [word for word in WORD.findall(shown) if word not in NAMES]


@pytest.mark.parametrize("name", template_paths())
def test_every_word_of_the_template_is_marked_for_translation(name):
    words = unmarked_words((TEMPLATES / name).read_text(encoding="utf-8"))
    assert not words, f"{name} shows words not marked for translation: {' '.join(dict.fromkeys(words))}"


def test_the_check_finds_unmarked_text_and_accepts_marked_text():
    assert unmarked_words("<p>Door code</p>") == ["Door", "code"]
    assert unmarked_words('<input placeholder="Search" name="q">') == ["Search"]
    assert unmarked_words('<a title="{{ x }} left">{% translate "Open" %}</a>') == ["left"]
    assert unmarked_words("{% blocktranslate trimmed %}Hello {{ name }}{% endblocktranslate %}") == []
    assert unmarked_words("{% comment %}Why{% endcomment %}<style>body { color: red }</style>") == []
    assert unmarked_words('<a href="{% url "x" %}" class="button secondary">{{ label }}</a> · Nowistay') == []
