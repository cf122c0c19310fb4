"""Fixtures the Nuki tests share with the lifecycle tests that run on the Nuki emulator
(tests/locks/services/test_chaos_findings.py, test_local_refusals.py): the real Nuki adapter
registered, the emulated Nuki Web cloud, and a property whose lock is its Front door.
The other vendors' test modules define their own `cloud`. And the fixtures of reading a lock back
that the services and the dashboard tests share."""

from datetime import datetime

import pytest

from locks.models import Lock, LockAssignment, ProviderAccount
from locks.providers import registry
from locks.providers.fake import READ_BACK
from locks.providers.nuki import NukiProvider
from locks.services.read_back import READ_BACK_LOCKS
from nowistay import dispatch
from tests.vendors.nuki import BIG_ID, CELLAR_NO_KEYPAD, FRONT_DOOR, LOCK, NukiCloud, api_token_credentials


@pytest.fixture
def nuki_registered(monkeypatch):
    monkeypatch.setitem(registry.PROVIDER_CLASSES, "nuki", NukiProvider)
    monkeypatch.setattr(NukiProvider, "readback_delays", (0.0, 0.0, 0.0))


@pytest.fixture
def cloud():
    cloud = NukiCloud()
    cloud.add_lock(FRONT_DOOR, "Front door")
    cloud.add_lock(int(BIG_ID), "Garden gate", keypad=False, keypad2=True)
    cloud.add_lock(CELLAR_NO_KEYPAD, "Cellar", keypad=False)
    with cloud:
        yield cloud


@pytest.fixture
def nuki_property(host, make_property, nuki_registered):
    """A Paris property whose lock is the Nuki Front door (lead 5 days, margin 30 minutes)."""

    def make(credentials: dict | None = None, token_expires_at: datetime | None = None):
        prop = make_property()
        account = ProviderAccount.objects.create(
            host=host,
            provider="nuki",
            display_name="Ada Host",
            credentials=credentials or api_token_credentials(),
            token_expires_at=token_expires_at,
        )
        lock = Lock.objects.create(account=account, vendor_lock_id=LOCK, name="Front door", supports_remote_codes=True)
        LockAssignment.objects.create(property=prop, lock=lock)
        return prop

    return make


# --- reading locks back (issue 19) ---------------------------------------------------------------------

@pytest.fixture
def ttlock_reads_back(fake_cloud, monkeypatch):
    """The fake TTLock cloud can be read back (listed, its log read, its health reported)."""
    monkeypatch.setattr(registry.PROVIDER_CLASSES["ttlock"], "capabilities", READ_BACK)
    return fake_cloud


@pytest.fixture
def read_backs_sent(monkeypatch):
    """The read-backs handed to a worker (READ_BACK_LOCKS), as (account id, lock ids), kept here instead of sent."""
    sent = []
    monkeypatch.setitem(dispatch._senders, READ_BACK_LOCKS, lambda account_id, lock_ids, vendor="": sent.append((account_id, lock_ids)))
    return sent
