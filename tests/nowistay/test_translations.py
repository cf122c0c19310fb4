"""The host's pages and emails are translated completely in every shipped language.

The catalogues are extracted again from the code and templates (into a copy, with the project's
own `update_translations`), merged with the committed translations as `make translations` would:
a message added or changed since, left untranslated or fuzzy, fails here with its text.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management import call_command

from nowistay.management.commands.update_translations import translated_languages

LOCALE = settings.BASE_DIR / "locale"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The catalogues as `make translations` would leave them now: {language: catalogue}. Extracted
    in a tree of links to the code with a copy of the catalogues: makemessages writes into the
    catalogue beside the code it reads, so run in the project it would rewrite the committed ones."""
    tree = tmp_path_factory.mktemp("project")
    for entry in settings.BASE_DIR.iterdir():
        if entry.name not in {"locale", ".git", ".venv", "var", "staticfiles", "node_modules"}:
            (tree / entry.name).symlink_to(entry)
    shutil.copytree(LOCALE, tree / "locale")
    committed = {po: po.read_bytes() for po in LOCALE.glob("*/LC_MESSAGES/django.po")}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tree)
        patch.setattr(settings, "LOCALE_PATHS", [tree / "locale"])
        call_command("update_translations", symlinks=True, verbosity=0)
    assert {po: po.read_bytes() for po in committed} == committed, "the extraction changed the committed catalogues"
    catalogues = {}
    for language in translated_languages():
        with open(tree / "locale" / language / "LC_MESSAGES" / "django.po", "rb") as po:
            catalogues[language] = read_po(po, locale=language)
    return catalogues


def untranslated(catalogue) -> list[str]:
    missing = []
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


@pytest.mark.parametrize("language", translated_languages())
def test_every_message_is_translated(extracted, language):
    missing = untranslated(extracted[language])
    shown = "\n".join(f"  {text!r}" for text in missing[:30])
    assert not missing, f"{len(missing)} messages lack a {language} translation (run `make translations`, then translate):\n{shown}"


@pytest.mark.parametrize("language", translated_languages())
def test_the_catalogue_compiles_with_its_placeholders_checked(language):
    """msgfmt --check: a translation's %(name)s placeholders match the original's, the header is valid."""
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(po)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("language", translated_languages())
def test_the_catalogue_says_its_language_and_plural_rule(language):
    with open(LOCALE / language / "LC_MESSAGES" / "django.po", "rb") as po:
        catalogue = read_po(po)
    assert not catalogue.fuzzy, "a fuzzy header is ignored by msgfmt: its plural rule would be lost"
    assert str(catalogue.locale) == language
    assert "nplurals=" in catalogue.plural_forms
