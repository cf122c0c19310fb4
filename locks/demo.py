"""Demo lock accounts: connect the demo host to the sandbox clouds through the ordinary connect
services, and give each eligible demo property a lock of another brand.

The vendor URLs that point at the sandbox are exported by `make run` to its own processes only, so
`connect_demo_locks` also writes them down (var/sandbox.env) for the demo database: a
`manage.py locks_tick` typed in another terminal finds them there (`use_recorded_sandbox`).
"""

import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection as db_connection
from django.http import QueryDict

from bookings.demo import DEMO_HOST_USERNAME, OFFLINE_DEMO_PROPERTY
from bookings.models import Property
from locks.models import AccountStatus, Lock, LockAssignment, Provider, ProviderAccount
from locks.services import lock_assignment_set

# Sandbox demo sign-ins (sandbox/seed.py creates the same ones on the virtual side).
DEMO_LOGIN = "demo-host@nowistay.example"
TTLOCK_PASSWORD = "sandbox-ttlock"
TEDEE_PASSWORD = "sandbox-tedee"
NUKI_API_TOKEN = "sandbox-nuki-api-token"
IGLOOHOME_CLIENT = ("sandbox-igloohome-client", "sandbox-igloohome-secret")

# Shown on the connect panels when the vendors point at the sandbox (`make run`): nobody has to
# look up what to type. Never shown against real vendors (settings.SANDBOX_URL is empty there).
SANDBOX_SIGN_IN_HINTS = {
    Provider.TTLOCK: f"TTLock app username {DEMO_LOGIN}, password {TTLOCK_PASSWORD}.",
    Provider.TEDEE: f"on the sandbox's Tedee page, e-mail {DEMO_LOGIN}, password {TEDEE_PASSWORD}.",
    Provider.NUKI: f"Nuki Web API token {NUKI_API_TOKEN} (or Sign in with Nuki: {DEMO_LOGIN} / {NUKI_API_TOKEN}).",
    Provider.IGLOOHOME: f"API client ID {IGLOOHOME_CLIENT[0]}, secret {IGLOOHOME_CLIENT[1]}.",
}


@dataclass(frozen=True)
class DemoConnection:
    provider: str
    property_name: str
    connect: Callable[[object], ProviderAccount]


def _connect_ttlock(host) -> ProviderAccount:
    from locks.connect.ttlock import ttlock_connect

    return ttlock_connect(host=host, username=DEMO_LOGIN, password=TTLOCK_PASSWORD)


def _connect_tedee(host) -> ProviderAccount:
    """Sign the demo host in to the sandbox's Tedee cloud without a browser: the product's own
    connect services start the OAuth + PKCE sign-in and finish it; `requests` plays the host on the
    sandbox's sign-in page (GET the form, POST the demo credentials, read the redirect)."""
    from locks.connect.tedee import TedeeConnectError, tedee_authorization_redirect, tedee_complete

    # The services only use the request's session, user, GET and build_absolute_uri. The redirect
    # URI is never visited here (the sandbox's redirect is read, not followed), only echoed back.
    request = SimpleNamespace(
        session={},
        user=host,
        GET=QueryDict(),
        build_absolute_uri=lambda location: urljoin("http://127.0.0.1:8000/", location),
    )
    try:
        authorize_url = tedee_authorization_redirect(request)
    except TedeeConnectError as error:
        raise RuntimeError(f"Tedee demo sign-in: {error.message}") from None
    with requests.Session() as browser:  # keeps the sign-in page's CSRF cookie
        page = browser.get(authorize_url, timeout=10)
        form = re.search(r'<form method="post" action="([^"]*)"', page.text)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if page.status_code != 200 or not form or not csrf:
            raise RuntimeError(f"Tedee demo sign-in: the sandbox sign-in page did not open (HTTP {page.status_code}).")
        answer = browser.post(
            urljoin(page.url, html.unescape(form.group(1))),
            data={"csrfmiddlewaretoken": csrf.group(1), "email": DEMO_LOGIN, "password": TEDEE_PASSWORD, "action": "sign_in"},
            allow_redirects=False,
            timeout=10,
        )
    if answer.status_code != 302:
        raise RuntimeError("Tedee demo sign-in: the sandbox did not accept the demo credentials.")
    request.GET = QueryDict(urlsplit(answer.headers["Location"]).query)  # code and state
    try:
        return tedee_complete(request)
    except TedeeConnectError as error:
        raise RuntimeError(f"Tedee demo sign-in: {error.message}") from None


def _connect_nuki(host) -> ProviderAccount:
    from locks.connect.nuki import nuki_connect_with_api_token

    # sandbox/seed.py: the Nuki demo account's password field is its Nuki Web API token.
    return nuki_connect_with_api_token(host=host, token=NUKI_API_TOKEN)


def _connect_igloohome(host) -> ProviderAccount:
    from locks.connect.igloohome import igloohome_connect

    # The igloohome demo account is an API client (sandbox/seed.py): its client id and secret.
    return igloohome_connect(host=host, client_id=IGLOOHOME_CLIENT[0], client_secret=IGLOOHOME_CLIENT[1])


DEMO_CONNECTIONS = [
    DemoConnection(Provider.TTLOCK, "Montmartre Loft", _connect_ttlock),
    DemoConnection(Provider.TEDEE, "Brooklyn Brownstone", _connect_tedee),
    DemoConnection(Provider.NUKI, "Lord Howe Beach House", _connect_nuki),
    DemoConnection(Provider.IGLOOHOME, "Thamel Guesthouse", _connect_igloohome),
]
# The sandbox's fully capable lock of each account (sandbox/seed.py); others show the reasons.
DEMO_DOOR = "Front door"
# A capable lock whose gateway the sandbox keeps offline on purpose: its codes show retrying, the
# host's alert and failure emails. The property's name says it is deliberate (bookings.demo).
OFFLINE_DEMO = (Provider.TTLOCK, "Studio (offline)", OFFLINE_DEMO_PROPERTY)


def wait_for_sandbox(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the sandbox at {url} did not answer within {timeout:.0f} s")
        time.sleep(0.5)


def connect_demo_locks() -> list[str]:
    """Connect each demo account (once) and assign its first eligible lock; returns what it did."""
    host = get_user_model().objects.get(username=DEMO_HOST_USERNAME)
    report = []
    for connection in DEMO_CONNECTIONS:
        account = ProviderAccount.objects.filter(host=host, provider=connection.provider, status=AccountStatus.CONNECTED).first()
        if account is None:
            account = connection.connect(host)
            report.append(f"connected {account}")
        prop = Property.objects.get(host=host, name=connection.property_name)
        if LockAssignment.objects.filter(property=prop).exists():
            continue
        eligible = account.locks.filter(supports_remote_codes=True)
        lock = eligible.filter(name=DEMO_DOOR).first() or eligible.order_by("name").first()
        if lock is None:
            report.append(f"{account}: no eligible lock to assign")
            continue
        lock_assignment_set(prop=prop, lock=lock)
        report.append(f"assigned {lock.name} ({account.get_provider_display()}) to {prop.name}")
    report += _assign_offline_lock(host)
    return report


def _assign_offline_lock(host) -> list[str]:
    provider, lock_name, property_name = OFFLINE_DEMO
    prop = Property.objects.filter(host=host, name=property_name).first()
    lock = Lock.objects.filter(account__host=host, account__provider=provider, name=lock_name, supports_remote_codes=True).first()
    if prop is None or lock is None or LockAssignment.objects.filter(property=prop).exists():
        return []
    lock_assignment_set(prop=prop, lock=lock)
    return [f"assigned {lock.name} to {prop.name}: the sandbox keeps its gateway offline on purpose, so its codes keep retrying"]


# --- the sandbox settings of the demo database, for commands run outside `make run` --------------

# The settings `make run` exports (Makefile, `run: export ...`) that point the vendors at the sandbox.
SANDBOX_SETTINGS = (
    "SANDBOX_URL",
    "TTLOCK_API_URL",
    "TTLOCK_CLIENT_ID",
    "TTLOCK_CLIENT_SECRET",
    "TEDEE_API_URL",
    "TEDEE_AUTH_URL",
    "TEDEE_CLIENT_ID",
    "TEDEE_CLIENT_SECRET",
    "NUKI_API_URL",
    "NUKI_CLIENT_ID",
    "NUKI_CLIENT_SECRET",
    "IGLOOHOME_API_URL",
    "IGLOOHOME_AUTH_URL",
    "VENDOR_HTTP_TIMEOUT_SECONDS",
)
# The database whose accounts were connected to the sandbox: only it is redirected there.
DEMO_DATABASE_KEY = "DEMO_DATABASE"


def sandbox_env_file() -> Path:
    return Path(settings.VAR_DIR) / "sandbox.env"


def _database_identity() -> str:
    config = db_connection.settings_dict
    return ":".join(str(config.get(key) or "") for key in ("ENGINE", "HOST", "PORT", "NAME"))


def record_sandbox_settings() -> Path:
    """Write down this process's sandbox settings for this database (var/sandbox.env)."""
    path = sandbox_env_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Written by `manage.py connect_demo_locks` (make run): the demo database's lock accounts live in",
        "# the sandbox lock clouds, so `manage.py locks_tick` uses these settings for that database.",
        f"{DEMO_DATABASE_KEY}={_database_identity()}",
        *(f"{name}={getattr(settings, name)}" for name in SANDBOX_SETTINGS),
    ]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)  # the sandbox's client ids and secrets (public demo values, but secrets by name)
    return path


def _recorded_sandbox_settings() -> dict[str, str]:
    path = sandbox_env_file()
    if not path.is_file():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    recorded = {name.strip(): value.strip() for name, value in pairs}
    if recorded.get(DEMO_DATABASE_KEY) != _database_identity() or not recorded.get("SANDBOX_URL"):
        return {}
    return {name: recorded[name] for name in SANDBOX_SETTINGS if name in recorded}


def is_demo_database() -> bool:
    """Whether `make run` connected this database to the sandbox (var/sandbox.env names it)."""
    return bool(_recorded_sandbox_settings())


def use_recorded_sandbox() -> str:
    """Point this process's vendors at the sandbox when it runs on the demo database without them.

    Returns the sandbox's URL when it did, "" otherwise (the vendors are already set, e.g. inside
    `make run`, or this is not the demo's database). Raises RuntimeError when the sandbox does not
    answer: its accounts cannot be reached anywhere else.
    """
    if settings.SANDBOX_URL:
        return ""
    recorded = _recorded_sandbox_settings()
    if not recorded:
        return ""
    sandbox_url = recorded["SANDBOX_URL"]
    try:
        requests.get(sandbox_url, timeout=2).raise_for_status()
    except requests.RequestException:
        raise RuntimeError(
            f"This database's demo lock accounts live in the sandbox lock clouds at {sandbox_url}, which do not "
            "answer: start `make run` (it runs them), then try again."
        ) from None
    for name, value in recorded.items():
        setattr(settings, name, float(value) if isinstance(getattr(settings, name), int | float) else value)
    return sandbox_url
