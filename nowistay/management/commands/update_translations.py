"""Update locale/<language>/LC_MESSAGES/django.po from the code and templates (`make translations`):
Django's makemessages over the product's own code, for every shipped language but English (the
source language). New or changed messages come out untranslated or fuzzy until a translator fills
them in; tests/nowistay/test_translations.py fails until then."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

# Not the host's pages: the tests, the benchmarks, and the sandbox (the vendor clouds' stand-ins).
NOT_PRODUCT = ["tests/*", "benchmarks/*", "sandbox/*", "deploy/*", "docs/*", "staticfiles/*", "var/*", "node_modules/*"]


def translated_languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


class Command(BaseCommand):
    help = "Update the translation catalogues (locale/*/LC_MESSAGES/django.po) from the code and templates."

    def add_arguments(self, parser):
        parser.add_argument("--symlinks", action="store_true", help="Follow symlinks to directories (a tree of links to the code).")

    def handle(self, *args, **options):
        call_command(
            "makemessages",
            locale=translated_languages(),
            ignore_patterns=NOT_PRODUCT,
            no_obsolete=True,
            add_location="file",
            symlinks=options["symlinks"],
            verbosity=options["verbosity"],
        )
