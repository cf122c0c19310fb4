"""Production refuses to start on settings that would give door codes away.

A host account reads every guest's door code, and FIELD_ENCRYPTION_KEYS protects the vendor
tokens and PINs at rest: with DEBUG off, each process entry point (nowistay/wsgi.py and asgi.py
for the web, nowistay/celery.py for the worker and beat) calls `refuse_to_start_if_insecure()`
before it serves anything, and `manage.py check --deploy` reports the same problems. Never at
settings import: the test suite runs with DEBUG off on the development values.
"""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend
from django.utils.module_loading import import_string

from nowistay.config import DEVELOPMENT_SECRET_KEY, encryption_keys

# Django's own deploy check of SECRET_KEY (security.W009) asks for as much.
MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_UNIQUE_CHARACTERS = 5
MAKE_SECRET_KEY = "python -c \"import secrets; print(secrets.token_urlsafe(50))\""
MAKE_ENCRYPTION_KEY = "python manage.py generate_encryption_key"


class InsecureProductionSettings(ImproperlyConfigured):
    """DEBUG is off and a setting would expose sessions, door codes or vendor tokens."""


def insecure_production_settings() -> list[str]:
    """What is unsafe about these settings for production, one sentence each saying how to fix it.

    Empty with DEBUG on: a developer's machine and `make run` use the development values.
    """
    if settings.DEBUG:
        return []
    found = (_secret_key_problem(), _encryption_keys_problem(), _allowed_hosts_problem(), _email_problem())
    return [problem for problem in found if problem]


def refusal_message(problems: list[str]) -> str:
    return "\n".join(
        [
            "Nowistay refuses to start: DEBUG is off (production) and these settings are unsafe:",
            *(f"  - {problem}" for problem in problems),
            "Set them in the environment or in .env (deploy/production.env.example lists production values);"
            " on a development machine, set DEBUG=true instead (`make run` does).",
        ]
    )


def refuse_to_start_if_insecure() -> None:
    """Raise InsecureProductionSettings naming every problem at once; return when there is none."""
    problems = insecure_production_settings()
    if problems:
        raise InsecureProductionSettings(refusal_message(problems))


@checks.register(checks.Tags.security, deploy=True)
def check_production_settings(app_configs=None, **kwargs) -> list[checks.Error]:
    """`manage.py check --deploy` reports what the processes would refuse to start on."""
    return [checks.Error(problem, id="nowistay.E001") for problem in insecure_production_settings()]


def _secret_key() -> str:
    try:
        return settings.SECRET_KEY
    except ImproperlyConfigured:  # Django refuses to hand out an empty SECRET_KEY
        return ""


def _secret_key_problem() -> str:
    key = _secret_key()
    if not key:
        return f"SECRET_KEY is empty: set it to a long random value, e.g. the output of `{MAKE_SECRET_KEY}`."
    if key == DEVELOPMENT_SECRET_KEY:
        return (
            "SECRET_KEY is not set, so the development value published in the source would sign sessions and "
            f"password-reset links: set SECRET_KEY to a long random value, e.g. the output of `{MAKE_SECRET_KEY}`."
        )
    if len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < MIN_SECRET_KEY_UNIQUE_CHARACTERS:
        return (
            f"SECRET_KEY is too easy to guess ({len(key)} characters; it needs at least {MIN_SECRET_KEY_LENGTH}, "
            f"of at least {MIN_SECRET_KEY_UNIQUE_CHARACTERS} different ones): set it to the output of `{MAKE_SECRET_KEY}`."
        )
    return ""


def _encryption_keys_problem() -> str:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    # Without configured keys, settings derive one from SECRET_KEY (nowistay.config.encryption_keys).
    if not keys or keys[:1] == encryption_keys([], _secret_key()):
        return (
            "FIELD_ENCRYPTION_KEYS is empty, so vendor tokens and door codes would be encrypted with a key derived "
            f"from SECRET_KEY: make a key with `{MAKE_ENCRYPTION_KEY}` and set FIELD_ENCRYPTION_KEYS to it."
        )
    return ""


def _allowed_hosts_problem() -> str:
    hosts = [host.strip() for host in settings.ALLOWED_HOSTS if host.strip()]
    if not hosts:
        return (
            "ALLOWED_HOSTS is empty, so every request would be refused: set ALLOWED_HOSTS to the host names "
            "this site is served at, comma-separated (e.g. app.nowistay.example)."
        )
    if "*" in hosts:
        return (
            "ALLOWED_HOSTS lets in any host name ('*'), so links sent by email (password reset) would point "
            "wherever a request's Host header says: list this site's own host names instead."
        )
    return ""


def _email_problem() -> str:
    try:
        backend = import_string(settings.EMAIL_BACKEND)
    except ImportError:  # Django fails on its own when sending
        return ""
    if isinstance(backend, type) and issubclass(backend, ConsoleEmailBackend):  # the file backend is one too
        return (
            f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}, which prints or writes out every email, guests' door "
            "codes included: set EMAIL_URL to your mail server, e.g. smtp+tls://user:password@smtp.example.com:587."
        )
    return ""
