"""Production refuses insecure settings at start-up (web, worker, beat), its security settings come
from the environment, `check --deploy` is clean with the documented production environment, and
guest messages' bodies are never printed or logged in production."""

import logging
import os
import re
import shlex
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest
from celery.signals import beat_init, celeryd_init
from cryptography.fernet import Fernet
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from nowistay.config import DEVELOPMENT_SECRET_KEY, encryption_keys, proxy_ssl_header, same_site
from nowistay.startup import (
    InsecureProductionSettings,
    insecure_production_settings,
    refuse_to_start_if_insecure,
)
from tests.helpers.guest_messages import GUEST
from tests.helpers.processes import free_port, wait_until
from tests.helpers.repository import ROOT
from tests.helpers.settings_probe import env_vars_read_by_settings, run_settings, settings_values

BASE_DIR = ROOT
PRODUCTION_ENV_FILE = BASE_DIR / "deploy" / "production.env.example"
STRONG_SECRET_KEY = "x7Kq2mP9vR4tW8yB3nF6hJ1cL5dG0sA-zE_uQiOoXwYbTkMrNpVaSeDfHgJlCv"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
STARTUP_SECONDS = 90

# How each refusal starts (the sentences go on to say how to fix it).
DEV_KEY = "SECRET_KEY is not set"
EMPTY_KEY = "SECRET_KEY is empty"
WEAK_KEY = "SECRET_KEY is too easy to guess"
NO_ENCRYPTION_KEY = "FIELD_ENCRYPTION_KEYS is empty"
NO_HOSTS = "ALLOWED_HOSTS is empty"
ANY_HOST = "ALLOWED_HOSTS lets in any host name"
PRINTED_EMAIL = "EMAIL_BACKEND is"


def new_fernet_key() -> str:
    return Fernet.generate_key().decode()


def problem_starts(problems: list[str]) -> list[str]:
    starts = (DEV_KEY, EMPTY_KEY, WEAK_KEY, NO_ENCRYPTION_KEY, NO_HOSTS, ANY_HOST, PRINTED_EMAIL)
    return [next(start for start in starts if problem.startswith(start)) for problem in problems]


@pytest.fixture
def production(settings):
    """Settings fit for production: each test spoils one of them."""
    settings.DEBUG = False
    settings.SECRET_KEY = STRONG_SECRET_KEY
    settings.FIELD_ENCRYPTION_KEYS = [new_fernet_key()]
    settings.ALLOWED_HOSTS = ["app.nowistay.example"]
    settings.EMAIL_BACKEND = SMTP_BACKEND
    settings.SANDBOX_URL = ""
    return settings


# --- the one function every entry point asks ------------------------------------------------------


class TestInsecureProductionSettings:
    def test_production_settings_pass(self, production):
        assert insecure_production_settings() == []
        assert refuse_to_start_if_insecure() is None

    def test_development_values_pass_with_debug_on(self, settings):
        settings.DEBUG = True
        settings.SECRET_KEY = DEVELOPMENT_SECRET_KEY
        settings.FIELD_ENCRYPTION_KEYS = encryption_keys([], DEVELOPMENT_SECRET_KEY)
        settings.ALLOWED_HOSTS = []
        settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
        assert insecure_production_settings() == []

    def test_the_built_in_secret_key(self, production):
        production.SECRET_KEY = DEVELOPMENT_SECRET_KEY
        assert problem_starts(insecure_production_settings()) == [DEV_KEY]

    def test_an_empty_secret_key(self, production):
        production.SECRET_KEY = ""
        assert problem_starts(insecure_production_settings()) == [EMPTY_KEY]

    @pytest.mark.parametrize(
        "key",
        ["change-me-to-a-long-random-string", "replace-with-50-random-characters", "ab" * 40, "k" * 20 + "a-b-c-d"],
        ids=["env-example-placeholder", "deploy-placeholder", "two-characters", "short"],
    )
    def test_a_short_or_plain_secret_key(self, production, key):
        production.SECRET_KEY = key
        assert problem_starts(insecure_production_settings()) == [WEAK_KEY]

    def test_the_placeholders_of_both_env_files_are_refused(self, production):
        for env_file in (BASE_DIR / ".env.example", PRODUCTION_ENV_FILE):
            production.SECRET_KEY = env_file_values(env_file)["SECRET_KEY"]
            assert insecure_production_settings(), env_file

    def test_no_encryption_key(self, production):
        production.FIELD_ENCRYPTION_KEYS = []
        assert problem_starts(insecure_production_settings()) == [NO_ENCRYPTION_KEY]

    def test_the_key_settings_derive_from_secret_key_without_one(self, production):
        production.FIELD_ENCRYPTION_KEYS = encryption_keys([], production.SECRET_KEY)
        assert problem_starts(insecure_production_settings()) == [NO_ENCRYPTION_KEY]

    def test_the_derived_key_kept_second_while_rotating_away_from_it_is_fine(self, production):
        production.FIELD_ENCRYPTION_KEYS = [new_fernet_key(), *encryption_keys([], production.SECRET_KEY)]
        assert insecure_production_settings() == []

    @pytest.mark.parametrize("hosts", [[], [""], [" "]], ids=["none", "empty", "blank"])
    def test_no_allowed_hosts(self, production, hosts):
        production.ALLOWED_HOSTS = hosts
        assert problem_starts(insecure_production_settings()) == [NO_HOSTS]

    def test_any_host(self, production):
        production.ALLOWED_HOSTS = ["app.nowistay.example", "*"]
        assert problem_starts(insecure_production_settings()) == [ANY_HOST]

    @pytest.mark.parametrize(
        "backend", ["django.core.mail.backends.console.EmailBackend", "django.core.mail.backends.filebased.EmailBackend"]
    )
    def test_email_backends_that_print_or_write_out_bodies(self, production, backend):
        production.EMAIL_BACKEND = backend
        (problem,) = insecure_production_settings()
        assert problem.startswith(PRINTED_EMAIL) and backend in problem and "EMAIL_URL" in problem

    @pytest.mark.parametrize("backend", [SMTP_BACKEND, "django.core.mail.backends.locmem.EmailBackend"])
    def test_email_backends_that_keep_bodies_in(self, production, backend):
        production.EMAIL_BACKEND = backend
        assert insecure_production_settings() == []

    def test_every_problem_at_once_with_how_to_fix_each(self, production):
        production.SECRET_KEY = DEVELOPMENT_SECRET_KEY
        production.FIELD_ENCRYPTION_KEYS = encryption_keys([], DEVELOPMENT_SECRET_KEY)
        production.ALLOWED_HOSTS = []
        production.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
        with pytest.raises(InsecureProductionSettings) as refusal:
            refuse_to_start_if_insecure()
        message = str(refusal.value)
        assert isinstance(refusal.value, ImproperlyConfigured)
        assert message.startswith("Nowistay refuses to start: DEBUG is off (production)")
        for expected in (DEV_KEY, "secrets.token_urlsafe(50)", NO_ENCRYPTION_KEY, "manage.py generate_encryption_key",
                         NO_HOSTS, PRINTED_EMAIL, "smtp+tls://", "DEBUG=true"):
            assert expected in message, expected
        assert STRONG_SECRET_KEY not in message

    def test_check_deploy_reports_the_same_problems(self, production, capsys):
        production.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
        production.ALLOWED_HOSTS = []
        with pytest.raises(SystemCheckError) as failure:
            call_command("check", deploy=True, tags=["security"])
        assert str(failure.value).count("nowistay.E001") == 2
        call_command("check", tags=["security"])  # not without --deploy: the suite runs on development values


class TestCeleryHooks:
    """In this process, as `celery worker` (celeryd_init) and `celery beat` (beat_init) send them."""

    @pytest.mark.parametrize("signal", [celeryd_init, beat_init], ids=["worker", "beat"])
    def test_insecure_settings_exit_with_the_message(self, production, signal):
        production.SECRET_KEY = DEVELOPMENT_SECRET_KEY
        with pytest.raises(SystemExit) as exit_:
            signal.send(sender=None, instance=None, conf=None, options={})
        assert DEV_KEY in str(exit_.value.code)

    @pytest.mark.parametrize("signal", [celeryd_init, beat_init], ids=["worker", "beat"])
    def test_production_settings_start(self, production, signal):
        signal.send(sender=None, instance=None, conf=None, options={})


# --- the real entry points, in a process of their own ----------------------------------------------


# Only what any process needs: nothing of the test run (settings' variables, DJANGO_ALLOW_ASYNC_UNSAFE
# set for the browser tests, which `check --deploy` rightly reports) reaches the processes started here.
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")


def process_env(tmp_path, **values) -> dict:
    """A clean environment with `values` (None: left unset), and a broker and database of the
    test's own: a worker started here must never take another's tasks."""
    env = {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="nowistay.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_BROKER_URL="memory://",
        SANDBOX_URL="",
    )
    env.update({name: value for name, value in values.items() if value is not None})
    return env


def production_env(tmp_path, **overrides) -> dict:
    values = {
        "DEBUG": "false",
        "SECRET_KEY": STRONG_SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": new_fernet_key(),
        "ALLOWED_HOSTS": "app.nowistay.example",
        "EMAIL_URL": "smtp+tls://nowistay:password@smtp.example.com:587",
    }
    values.update(overrides)
    return process_env(tmp_path, **values)


def development_values_env(tmp_path, debug: str) -> dict:
    """No SECRET_KEY (the built-in one), no FIELD_ENCRYPTION_KEYS, no host, the console email backend."""
    return process_env(tmp_path, DEBUG=debug, ALLOWED_HOSTS="", EMAIL_URL="consolemail://")


def run(command: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=STARTUP_SECONDS)


def assert_refused_with_every_problem(result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Nowistay refuses to start" in output, output
    for expected in (DEV_KEY, NO_ENCRYPTION_KEY, NO_HOSTS, PRINTED_EMAIL, "manage.py generate_encryption_key"):
        assert expected in output, expected


def start_until(command: list[str], env: dict, log: Path, started: str) -> None:
    """Start a long-running process, wait until `started` is in its output, then stop it."""
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: started in log.read_text() or process.poll() is not None, started, timeout=STARTUP_SECONDS)
        assert started in log.read_text(), log.read_text()
        assert process.poll() is None, log.read_text()
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


CELERY = [sys.executable, "-m", "celery", "-A", "nowistay"]
WORKER = [*CELERY, "worker", "--pool", "threads", "--concurrency", "1", "--loglevel", "INFO", "--without-mingle", "--without-gossip"]


def beat(tmp_path) -> list[str]:
    return [*CELERY, "beat", "--loglevel", "DEBUG", "--schedule", str(tmp_path / "celerybeat-schedule")]


@pytest.mark.parametrize("module", ["nowistay.wsgi", "nowistay.asgi"])
class TestWebApplication:
    def test_refused_on_development_values_with_debug_off(self, tmp_path, module):
        assert_refused_with_every_problem(run([sys.executable, "-c", f"import {module}"], development_values_env(tmp_path, "false")))

    def test_starts_with_production_settings(self, tmp_path, module):
        result = run([sys.executable, "-c", f"import {module}; print('loaded', {module}.application)"], production_env(tmp_path))
        assert result.returncode == 0, result.stderr
        assert "loaded" in result.stdout

    def test_starts_on_development_values_with_debug_on(self, tmp_path, module):
        result = run([sys.executable, "-c", f"import {module}"], development_values_env(tmp_path, "true"))
        assert result.returncode == 0, result.stderr


def test_gunicorn_stops_instead_of_restarting_a_refused_worker(tmp_path):
    """An exception at import, not an exit: gunicorn halts ("Worker failed to boot") rather than
    restarting the worker for ever."""
    command = [sys.executable, "-m", "gunicorn", "nowistay.wsgi:application", "--bind", f"127.0.0.1:{free_port()}", "--workers", "1"]
    result = run(command, development_values_env(tmp_path, "false"))
    assert_refused_with_every_problem(result)
    assert "Worker failed to boot" in result.stderr


class TestCeleryWorker:
    def test_refused_on_development_values_with_debug_off(self, tmp_path):
        assert_refused_with_every_problem(run(WORKER, development_values_env(tmp_path, "false")))

    def test_starts_with_production_settings(self, tmp_path):
        start_until(WORKER, production_env(tmp_path), tmp_path / "worker.log", " ready.")

    def test_starts_on_development_values_with_debug_on(self, tmp_path):
        start_until(WORKER, development_values_env(tmp_path, "true"), tmp_path / "worker.log", " ready.")


class TestCeleryBeat:
    def test_refused_on_development_values_with_debug_off(self, tmp_path):
        result = run(beat(tmp_path), development_values_env(tmp_path, "false"))
        assert_refused_with_every_problem(result)
        assert "Scheduler: Sending due task" not in result.stdout + result.stderr

    def test_starts_with_production_settings(self, tmp_path):
        start_until(beat(tmp_path), production_env(tmp_path), tmp_path / "beat.log", "beat: Waking up")


# --- `make run` runs every process with DEBUG on ------------------------------------------------


def test_make_run_turns_debug_on_for_itself_and_what_it_builds():
    makefile = (BASE_DIR / "Makefile").read_text()
    assert re.search(r"^run: export DEBUG = true$", makefile, re.MULTILINE)


def test_every_django_process_of_procfile_dev_runs_with_debug_on():
    """honcho passes .env over the environment make exports, so each command sets DEBUG itself."""
    for line in (BASE_DIR / "Procfile.dev").read_text().splitlines():
        name, command = line.split(":", 1)
        for part in command.split("&&"):
            if "manage.py" in part or "celery" in part:
                assert part.strip().startswith("DEBUG=true "), (name, part)


# --- security settings from the environment --------------------------------------------------------

SECURITY_SETTINGS = [
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SAMESITE",
    "SECURE_REFERRER_POLICY",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "X_FRAME_OPTIONS",
]
ALWAYS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "CSRF_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "CSRF_COOKIE_SAMESITE": "Lax",
    "SECURE_REFERRER_POLICY": "same-origin",
    "SECURE_CONTENT_TYPE_NOSNIFF": True,
    "X_FRAME_OPTIONS": "DENY",
}
OFF_UNTIL_SET = {
    "SECURE_SSL_REDIRECT": False,
    "SECURE_PROXY_SSL_HEADER": None,
    "SECURE_HSTS_SECONDS": 0,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
    "SECURE_HSTS_PRELOAD": False,
}


class TestSecuritySettings:
    def test_defaults_in_production_send_cookies_over_https_only(self):
        values = settings_values(SECURITY_SETTINGS, {"DEBUG": "false"}, remove=env_vars_read_by_settings())
        assert values == {**ALWAYS, **OFF_UNTIL_SET, "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True}

    def test_defaults_in_development_keep_http_working(self):
        values = settings_values(SECURITY_SETTINGS, {"DEBUG": "true"}, remove=env_vars_read_by_settings())
        assert values == {**ALWAYS, **OFF_UNTIL_SET, "SESSION_COOKIE_SECURE": False, "CSRF_COOKIE_SECURE": False}

    def test_the_documented_production_values(self):
        values = settings_values(SECURITY_SETTINGS, production_file_env(), remove=env_vars_read_by_settings())
        assert values == {
            **ALWAYS,
            "SECURE_SSL_REDIRECT": True,
            "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],  # a tuple, through JSON
            "SECURE_HSTS_SECONDS": 31536000,
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
            "SECURE_HSTS_PRELOAD": True,
            "SESSION_COOKIE_SECURE": True,
            "CSRF_COOKIE_SECURE": True,
        }

    def test_every_one_can_be_set(self):
        overrides = {
            "DEBUG": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "CSRF_COOKIE_HTTPONLY": "false",
            "SESSION_COOKIE_SAMESITE": "strict",
            "CSRF_COOKIE_SAMESITE": "STRICT",
            "SECURE_REFERRER_POLICY": "no-referrer",
            "SECURE_HSTS_SECONDS": "60",
            "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTOCOL, ssl",
        }
        values = settings_values(SECURITY_SETTINGS, overrides, remove=env_vars_read_by_settings())
        assert (values["SESSION_COOKIE_SECURE"], values["CSRF_COOKIE_SECURE"], values["CSRF_COOKIE_HTTPONLY"]) == (False, False, False)
        assert (values["SESSION_COOKIE_SAMESITE"], values["CSRF_COOKIE_SAMESITE"]) == ("Strict", "Strict")
        assert (values["SECURE_REFERRER_POLICY"], values["SECURE_HSTS_SECONDS"]) == ("no-referrer", 60)
        assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTOCOL", "ssl"]

    @pytest.mark.parametrize(
        "name, value, message",
        [
            ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto: https", "SECURE_PROXY_SSL_HEADER must be"),
            ("SESSION_COOKIE_SAMESITE", "lenient", "SESSION_COOKIE_SAMESITE must be Lax, Strict or None"),
        ],
    )
    def test_bad_values_stop_startup(self, name, value, message):

        result = run_settings(["DEBUG"], {name: value})
        assert result.returncode != 0
        assert message in result.stderr

    def test_proxy_ssl_header_parsing(self):
        assert proxy_ssl_header("") is None
        assert proxy_ssl_header(" HTTP_X_FORWARDED_PROTO , https ") == ("HTTP_X_FORWARDED_PROTO", "https")
        for bad in ("HTTP_X_FORWARDED_PROTO", "X_FORWARDED_PROTO,https", "HTTP_X,https,more", "HTTP_X,"):
            with pytest.raises(ImproperlyConfigured):
                proxy_ssl_header(bad)

    def test_same_site_parsing(self):
        assert [same_site("X", value) for value in ("lax", "Strict", " NONE ")] == ["Lax", "Strict", "None"]
        with pytest.raises(ImproperlyConfigured, match="X must be Lax, Strict or None"):
            same_site("X", "")


class TestProductionResponses:
    """What a browser gets with the documented production values (deploy/production.env.example)."""

    @pytest.fixture
    def documented(self, production):
        production.SECURE_SSL_REDIRECT = True
        production.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        production.SECURE_HSTS_SECONDS = 31536000
        production.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
        production.SECURE_HSTS_PRELOAD = True
        production.SESSION_COOKIE_SECURE = production.CSRF_COOKIE_SECURE = True
        return production

    def test_plain_http_is_redirected_to_https(self, documented, client):
        response = client.get("/accounts/login/", headers={"host": "app.nowistay.example"})
        assert response.status_code == 301
        assert response["Location"] == "https://app.nowistay.example/accounts/login/"

    def test_https_through_the_proxy_gets_hsts_and_the_headers(self, documented, client):
        response = client.get("/accounts/login/", headers={"host": "app.nowistay.example", "x-forwarded-proto": "https"})
        assert response.status_code == 200
        assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        csrf = response.cookies["csrftoken"]
        assert (csrf["secure"], csrf["httponly"], csrf["samesite"]) == (True, True, "Lax")

    def test_the_session_cookie_after_signing_in(self, documented, client, host):
        response = client.post(
            "/accounts/login/",
            {"username": "host", "password": "host-password-123"},
            headers={"host": "app.nowistay.example", "x-forwarded-proto": "https"},
        )
        assert response.status_code == 302, response.content[:500]
        session = response.cookies["sessionid"]
        assert (session["secure"], session["httponly"], session["samesite"]) == (True, True, "Lax")


# --- `manage.py check --deploy` with the documented production environment ---------------------------


def env_file_values(path: Path) -> dict[str, str]:
    """The file's variables as a shell (or docker compose, or django-environ) reads them."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.lstrip().startswith("#"))
    return {name.strip(): shlex.split(value)[0] if value.strip() else "" for name, value in pairs}


@pytest.mark.parametrize("path", [PRODUCTION_ENV_FILE, PRODUCTION_ENV_FILE.parent.parent / ".env.example"], ids=["production", "example"])
def test_the_env_files_can_be_sourced_by_a_shell_to_run_by_hand(path):
    """`set -a; . ./.env` is how a platform engineer starts gunicorn, the worker and beat by hand."""
    result = subprocess.run(["bash", "-c", f"set -a; . {shlex.quote(str(path))} && env"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "DEFAULT_FROM_EMAIL=Nowistay <no-reply@nowistay.example>" in result.stdout.splitlines()


def production_file_env() -> dict[str, str]:
    """deploy/production.env.example with its two secrets made for this test."""
    return {**env_file_values(PRODUCTION_ENV_FILE), "SECRET_KEY": STRONG_SECRET_KEY, "FIELD_ENCRYPTION_KEYS": new_fernet_key()}


def test_check_deploy_is_clean_with_the_documented_production_environment(tmp_path):
    env = process_env(tmp_path, **production_file_env())
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"check --deploy with {PRODUCTION_ENV_FILE.name}:\n{output}"
    assert "System check identified no issues" in output, output


def test_the_documented_production_environment_is_refused_until_its_secrets_are_set(tmp_path):
    values = env_file_values(PRODUCTION_ENV_FILE)
    result = run([sys.executable, "-c", "import nowistay.wsgi"], process_env(tmp_path, **values))
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must hold Fernet keys" in result.stderr
    values["FIELD_ENCRYPTION_KEYS"] = new_fernet_key()
    result = run([sys.executable, "-c", "import nowistay.wsgi"], process_env(tmp_path, **values))
    assert result.returncode != 0
    assert WEAK_KEY in result.stderr


def test_the_documented_production_environment_sets_every_security_variable():
    documented = env_file_values(PRODUCTION_ENV_FILE)
    security_variables = {name for name in env_vars_read_by_settings() if name.startswith(("SECURE_", "SESSION_COOKIE", "CSRF_COOKIE"))}
    assert security_variables and security_variables <= documented.keys()
    assert documented["DEBUG"] == "false" and documented["SANDBOX_URL"] == ""


# --- guest messages' bodies never printed or logged in production ---------------------------------


class RefusingEmailBackend(BaseEmailBackend):
    """An SMTP server that refuses the message."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPDataError(554, b"5.7.1 message refused")


@pytest.fixture
def eager_tasks(monkeypatch):
    from nowistay.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    monkeypatch.setitem(app.conf, "task_eager_propagates", True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "backend", ["django.core.mail.backends.locmem.EmailBackend", f"{__name__}.RefusingEmailBackend"], ids=["sent", "refused"]
)
def test_a_door_code_message_is_never_printed_or_logged(production, eager_tasks, door_code, stay, send, caplog, capsys, backend):
    from freezegun import freeze_time

    from messaging.models import DeliveryStatus, MessageDelivery

    production.EMAIL_BACKEND = backend
    caplog.set_level(logging.DEBUG)  # every logger, every level
    door_code(body="Your door code is {{smartlock_code}}, see you soon.")
    with freeze_time("2026-06-10 08:00:00"):
        booking = stay()
        send()
    delivery = MessageDelivery.objects.get(booking=booking)
    pin = booking.access_codes.get(is_current=True).pin
    assert pin and len(pin) >= 4
    if backend.endswith("locmem.EmailBackend"):
        assert [message.to for message in mail.outbox] == [[GUEST]] and pin in mail.outbox[0].body
    else:
        assert delivery.status != DeliveryStatus.SENT and "554" in delivery.note
    printed = capsys.readouterr()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for text in (pin, "see you soon"):
        assert text not in printed.out + printed.err
        assert text not in logged
