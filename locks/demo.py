"""Demo lock accounts: connect the demo host to the sandbox clouds through the ordinary connect
services, and give each eligible demo property a lock of another brand."""

import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import urljoin, urlsplit

import requests
from django.contrib.auth import get_user_model
from django.http import QueryDict

from bookings.demo import DEMO_HOST_USERNAME
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
# A capable lock whose gateway the sandbox keeps offline: its codes show retrying and failing.
OFFLINE_DEMO = (Provider.TTLOCK, "Studio (offline)", "Canal Loft (offline lock)")


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
    return [f"assigned {lock.name} to {prop.name}: its gateway is offline, so its codes keep retrying"]
