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
from functools import partial
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection as db_connection
from django.http import QueryDict
from django.urls import reverse

from bookings.demo import DEMO_HOST_USERNAME, OFFLINE_DEMO_PROPERTY
from bookings.models import Property
from locks.connect import services as connect_services
from locks.models import AccountStatus, Lock, LockAssignment, ProviderAccount, provider_name
from locks.providers import registry
from locks.providers.base import OAuthSignIn
from locks.services import lock_assignment_set
from sandbox.demo_sign_ins import DEMO_SIGN_INS, OFFLINE_LOCK_NAME, OFFLINE_LOCK_PROVIDER, SANDBOX_SETTINGS, DemoSignIn

# A sandbox OAuth sign-in comes back to this site's callback path; the demo reads the redirect
# instead of following it, so any host name does.
DEMO_SITE = "http://127.0.0.1:8000/"


@dataclass(frozen=True)
class DemoConnection:
    provider: str
    property_name: str
    connect: Callable[[object], ProviderAccount]


def connect_demo_account(host, demo: DemoSignIn) -> ProviderAccount:
    """Sign the demo host in to a sandbox cloud through the product's own connect services."""
    try:
        if isinstance(_declared_method(demo), OAuthSignIn):
            return _connect_through_sandbox_page(host, demo)
        return connect_services.connect_with_credentials(host=host, provider=demo.provider, method=demo.method, values=demo.values)
    except connect_services.ConnectError as error:
        raise RuntimeError(f"{provider_name(demo.provider)} demo sign-in: {error.message}") from None


def _declared_method(demo: DemoSignIn):
    return next(method for method in registry.provider_class(demo.provider).sign_in_methods if method.key == demo.method)


def _connect_through_sandbox_page(host, demo: DemoSignIn) -> ProviderAccount:
    """An OAuth sign-in without a browser: the connect services start it and finish it; `requests`
    plays the host on the sandbox's sign-in page (GET the form, POST the demo values, read the redirect)."""
    session: dict = {}
    redirect_uri = urljoin(DEMO_SITE, reverse("locks:oauth_callback", args=[demo.provider]))
    authorize_url = connect_services.oauth_start(host=host, session=session, provider=demo.provider, redirect_uri=redirect_uri)
    name = provider_name(demo.provider)
    with requests.Session() as browser:  # keeps the sign-in page's CSRF cookie
        page = browser.get(authorize_url, timeout=10)
        form = re.search(r'<form method="post" action="([^"]*)"', page.text)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if page.status_code != 200 or not form or not csrf:
            raise RuntimeError(f"{name} demo sign-in: the sandbox sign-in page did not open (HTTP {page.status_code}).")
        answer = browser.post(
            urljoin(page.url, html.unescape(form.group(1))),
            data={"csrfmiddlewaretoken": csrf.group(1), **demo.values, "action": "sign_in"},
            allow_redirects=False,
            timeout=10,
        )
    if answer.status_code != 302:
        raise RuntimeError(f"{name} demo sign-in: the sandbox did not accept the demo credentials.")
    params = QueryDict(urlsplit(answer.headers["Location"]).query)  # code and state
    return connect_services.oauth_complete(host=host, session=session, provider=demo.provider, params=params)


DEMO_CONNECTIONS = [
    DemoConnection(demo.provider, demo.property_name, partial(connect_demo_account, demo=demo))
    for demo in DEMO_SIGN_INS.values()
    if demo.provider in registry.PROVIDER_CLASSES
]
# The sandbox's fully capable lock of each account (sandbox/seed.py); others show the reasons.
DEMO_DOOR = "Front door"
# A capable lock whose gateway the sandbox keeps offline on purpose: its codes show retrying, the
# host's alert and failure emails. The property's name says it is deliberate (bookings.demo).
OFFLINE_DEMO = (OFFLINE_LOCK_PROVIDER, OFFLINE_LOCK_NAME, OFFLINE_DEMO_PROPERTY)


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
        report.append(f"assigned {lock.name} ({account.provider_name}) to {prop.name}")
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
        *(f"{name}={getattr(settings, name)}" for name in SANDBOX_SETTINGS if hasattr(settings, name)),
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
        setattr(settings, name, float(value) if isinstance(getattr(settings, name, ""), int | float) else value)
    return sandbox_url
