"""Demo mode, and the banner `make run` prints once web, worker, beat and the sandbox lock clouds are all up.

Their start-up output (migrations, the demo's connections, Celery's banners, the first codes) is
a hundred lines long and buries the logins printed before it; Procfile.dev's `banner` process
waits for the four to answer, then prints the URLs and logins again.

The demo's accounts have passwords and an API token published in the source: the commands that
create or print them run in demo mode only (`demo_mode_enabled`).
"""

import time
from collections.abc import Callable

import requests
from django.conf import settings
from django.core.management.base import CommandError

from accounts import demo as accounts_demo
from bookings import demo as bookings_demo
from locks import demo as locks_demo
from nowistay.celery import app

WEB, WORKER, BEAT, SANDBOX = "web", "worker", "beat", "sandbox"
# Node names as Celery gives them: `celery worker` answers as celery@host, `celery beat
# --enable-remote-control` as celerybeat@host.
CELERY_NODE_PREFIXES = {WORKER: "celery@", BEAT: "celerybeat@"}
WAITING_NOTE_EVERY_SECONDS = 60


def demo_mode_enabled() -> bool:
    """Whether this process serves the demo: DEBUG on (a developer's machine) or SANDBOX_URL set (the
    sandbox lock clouds of `make run`). Never so in production, where both are off."""
    return bool(settings.DEBUG or settings.SANDBOX_URL)


def refuse_outside_demo_mode(what: str) -> None:
    """For the demo's management commands: raise CommandError (exit 1, nothing done) outside demo mode."""
    if not demo_mode_enabled():
        raise CommandError(
            f"Refusing to {what} outside demo mode: the demo's passwords and token are published in the source. "
            "Demo mode is DEBUG=true or SANDBOX_URL set (`make run` sets both), on a development database, "
            "never a production one."
        )


def http_answers(url: str) -> bool:
    """Whether a server answers at `url`, whatever its status (a 400 or a 302 is a live server)."""
    try:
        requests.get(url, timeout=2, allow_redirects=False)
    except requests.RequestException:
        return False
    return True


def celery_nodes_answering() -> set[str]:
    """The Celery nodes (workers, and beat with remote control) that answer a ping through the broker."""

    return {name for reply in app.control.ping(timeout=1.0) or [] for name in reply}


def not_up(*, web_url: str, sandbox_url: str) -> list[str]:
    """Which of web, worker, beat and sandbox do not answer yet (empty: all are up)."""
    missing = [name for name, url in ((WEB, web_url), (SANDBOX, sandbox_url)) if not http_answers(url)]
    nodes = celery_nodes_answering()
    for name, prefix in CELERY_NODE_PREFIXES.items():
        if not any(node.startswith(prefix) for node in nodes):
            missing.append(name)
    return missing


def wait_until_up(
    check: Callable[[], list[str]],
    *,
    say: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    poll_seconds: float = 1.0,
) -> None:
    """Return once `check` finds nothing missing; every minute meanwhile, say what is awaited.

    It never gives up: the banner process exiting would make honcho stop every process.
    """
    next_note = clock() + WAITING_NOTE_EVERY_SECONDS
    while missing := check():
        if clock() >= next_note:
            say(f"Still waiting for: {', '.join(missing)} (the banner with the logins follows once they answer).")
            next_note = clock() + WAITING_NOTE_EVERY_SECONDS
        sleep(poll_seconds)


def two_factor_rows() -> list[tuple[str, str]]:
    """How to get the demo staff's two-factor codes; demo mode only (its secret is public)."""
    if not demo_mode_enabled():
        return []

    return [
        ("  staff's 2FA code", ".venv/bin/python manage.py demo_totp  (prints the current code)"),
        ("  or in an app", accounts_demo.demo_otpauth_uri(bookings_demo.DEMO_STAFF_USERNAME)),
    ]


def banner(*, web_url: str, sandbox_url: str, api_token: str | None = None) -> list[str]:
    # Imported here: bookings and locks may ask demo_mode_enabled() while their own demo modules load.

    api_token = api_token or bookings_demo.DEMO_TOKEN
    web = web_url.rstrip("/")
    _, offline_lock, offline_property = locks_demo.OFFLINE_DEMO
    rule = "=" * 96
    rows = [
        ("Nowistay", f"{web}/"),
        ("  host", f"{bookings_demo.DEMO_HOST_USERNAME} / {bookings_demo.DEMO_HOST_PASSWORD}"),
        ("  host, no lock yet", f"{bookings_demo.NEW_HOST_USERNAME} / {bookings_demo.NEW_HOST_PASSWORD}  (connect one from scratch)"),
        ("  staff", f"{bookings_demo.DEMO_STAFF_USERNAME} / {bookings_demo.DEMO_STAFF_PASSWORD}  (Django admin: {web}/admin/)"),
        *two_factor_rows(),
        ("API docs", f"{web}/api/v1/docs/  token {api_token}"),
        ("Sandbox lock clouds", f"{sandbox_url.rstrip('/')}/  (door pages, fault switches, vendor sign-ins)"),
        ("Webhooks received", f"{sandbox_url.rstrip('/')}/webhooks/  (the demo host's endpoint; signatures checked)"),
        ("SMS and WhatsApp sent", f"{sandbox_url.rstrip('/')}/messages/  (the sandbox's provider emulators)"),
    ]
    return [
        rule,
        "Nowistay is up: web server, Celery worker and beat, sandbox lock clouds.",
        *(f"  {label:<21}{value}" for label, value in rows),
        f"  On purpose: the sandbox keeps the TTLock lock “{offline_lock}” of “{offline_property}”",
        "  offline, so its codes show retrying, the host's alert emails and the escalation ladder: its",
        "  guests get offline codes near check-in (the booking page says what Nowistay did).",
        "  Drift: on a TTLock, Tedee or Nuki sandbox door page, delete a code, change its window, wipe",
        "  the lock or add a cleaner's code, then press “Check this lock now” on the host's lock panel",
        "  (Integrations → the brand) to watch Nowistay repair it.",
        "  Emails (host alerts, guest messages) are printed by the worker (worker.1 lines).",
        "  One scheduler pass now, from any terminal: .venv/bin/python manage.py locks_tick",
        "  Ctrl-C stops everything.",
        rule,
    ]


