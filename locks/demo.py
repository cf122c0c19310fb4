"""Demo lock accounts: connect the demo host to the sandbox clouds through the ordinary connect
services, and give each eligible demo property a lock of another brand."""

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from django.contrib.auth import get_user_model

from bookings.demo import DEMO_HOST_USERNAME
from bookings.models import Property
from locks.models import AccountStatus, LockAssignment, Provider, ProviderAccount
from locks.services import lock_assignment_set

# Sandbox demo sign-ins (sandbox/seed.py creates the same ones on the virtual side).
DEMO_LOGIN = "demo-host@nowistay.example"


@dataclass(frozen=True)
class DemoConnection:
    provider: str
    property_name: str
    connect: Callable[[object], ProviderAccount]


def _connect_ttlock(host) -> ProviderAccount:
    from locks.connect.ttlock import ttlock_connect

    return ttlock_connect(host=host, username=DEMO_LOGIN, password="sandbox-ttlock")


DEMO_CONNECTIONS = [
    DemoConnection(Provider.TTLOCK, "Montmartre Loft", _connect_ttlock),
]


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
            report.append(f"connected {account} (sandbox sign-in {DEMO_LOGIN})")
        prop = Property.objects.get(host=host, name=connection.property_name)
        if LockAssignment.objects.filter(property=prop).exists():
            continue
        lock = account.locks.filter(supports_remote_codes=True).order_by("name").first()
        if lock is None:
            report.append(f"{account}: no eligible lock to assign")
            continue
        lock_assignment_set(prop=prop, lock=lock)
        report.append(f"assigned {lock.name} ({account.get_provider_display()}) to {prop.name}")
    return report
