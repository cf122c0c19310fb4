"""The sandbox's TTLock cloud issues offline codes (keyboardPwd/get) to the real adapter over HTTP,
so the `make run` demo can give its offline lock ("Studio (offline)") a code: the code is on the
virtual lock and in its passcode list, cannot be deleted until it has opened the door, and stops
opening if unused 24 hours after its start. The sandbox runs as its own process (`sandbox_url`)."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from locks.providers.base import AccountSession, CodeSpec
from locks.providers.exceptions import LockOffline, OperationNotSupported

pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")  # whitenoise without collectstatic

TTLOCK_LOGIN, TTLOCK_PASSWORD = "demo-host@nowistay.example", "sandbox-ttlock"
FRONT_DOOR, STUDIO = "7100001", "7100005"  # the studio is offline (sandbox/seed.py)


def provider():
    from locks.providers.ttlock import TTLockProvider

    return TTLockProvider(AccountSession(None, TTLockProvider.sign_in(TTLOCK_LOGIN, TTLOCK_PASSWORD).credentials))


def codes_on(sandbox_url: str, lock_id: str, name: str) -> list[dict]:
    state = requests.get(f"{sandbox_url}/_control/ttlock/locks/{lock_id}/", timeout=10).json()
    return [code for code in state["codes"] if code["name"] == name]


def type_pin(sandbox_url: str, lock_id: str, pin: str, at: datetime | None = None) -> bool:
    body = {"pin": pin, **({"at": at.isoformat()} if at else {})}
    answer = requests.post(f"{sandbox_url}/_control/ttlock/locks/{lock_id}/keypad/", json=body, timeout=10)
    assert answer.ok, answer.text
    return answer.json()["opened"]


def delete_in_app(sandbox_url: str, lock_id: str, code_id: str) -> None:
    body = {"action": "delete_code", "code_id": code_id}
    requests.post(f"{sandbox_url}/_control/ttlock/locks/{lock_id}/drift/", json=body, timeout=10)


def stay(name: str, starts: datetime, days: int = 2) -> CodeSpec:
    return CodeSpec(name=name, pin=None, starts_at=starts, ends_at=starts + timedelta(days=days), time_zone="Europe/Paris")


def test_the_demos_offline_lock_gets_an_offline_code_where_a_custom_one_cannot_go(vendors_on_sandbox):
    sandbox, adapter = vendors_on_sandbox, provider()
    starts = datetime.now(UTC).replace(minute=20, second=0, microsecond=0) + timedelta(hours=2)  # not on the hour
    with pytest.raises(LockOffline):
        adapter.create_code(STUDIO, CodeSpec("offline-demo-0", "582947", starts, starts + timedelta(days=2), "Europe/Paris"))
    issued = adapter.issue_offline_code(STUDIO, stay("offline-demo-1", starts))
    try:
        assert issued.starts_at == starts.replace(minute=0) and issued.ends_at == (starts + timedelta(days=2, hours=1)).replace(minute=0)
        assert issued.pin.isdigit() and issued.vendor_code_id.isdigit() and issued.usage_note and issued.warning
        (on_lock,) = codes_on(sandbox, STUDIO, "offline-demo-1")
        assert (on_lock["id"], on_lock["pin"], on_lock["revocable"]) == (issued.vendor_code_id, issued.pin, False)
        assert (on_lock["starts_at"], on_lock["ends_at"]) == (issued.starts_at.isoformat(), issued.ends_at.isoformat())
        listed = {code.vendor_code_id: code for code in adapter.list_codes(STUDIO).codes}
        assert listed[issued.vendor_code_id].pin == issued.pin  # the passcode list is the cloud's: read while offline
        assert (listed[issued.vendor_code_id].starts_at, listed[issued.vendor_code_id].ends_at) == (issued.starts_at, issued.ends_at)
    finally:
        delete_in_app(sandbox, STUDIO, issued.vendor_code_id)


def test_an_offline_code_is_deleted_only_once_it_has_opened_the_door(vendors_on_sandbox):
    sandbox, adapter = vendors_on_sandbox, provider()
    issued = adapter.issue_offline_code(FRONT_DOOR, stay("offline-demo-2", datetime.now(UTC)))
    try:
        with pytest.raises(OperationNotSupported) as caught:
            adapter.delete_code(FRONT_DOOR, issued.vendor_code_id)
        assert caught.value.vendor_code == "-3008" and len(codes_on(sandbox, FRONT_DOOR, "offline-demo-2")) == 1
        assert type_pin(sandbox, FRONT_DOOR, issued.pin)  # the guest arrives
        adapter.delete_code(FRONT_DOOR, issued.vendor_code_id)
        assert codes_on(sandbox, FRONT_DOOR, "offline-demo-2") == []
    finally:
        delete_in_app(sandbox, FRONT_DOOR, issued.vendor_code_id)


def test_an_offline_code_unused_for_its_first_24_hours_stops_opening(vendors_on_sandbox):
    sandbox, adapter = vendors_on_sandbox, provider()
    issued = adapter.issue_offline_code(FRONT_DOOR, stay("offline-demo-3", datetime.now(UTC), days=3))
    try:
        assert not type_pin(sandbox, FRONT_DOOR, issued.pin, at=issued.starts_at + timedelta(hours=25))
        assert type_pin(sandbox, FRONT_DOOR, issued.pin, at=issued.starts_at + timedelta(hours=1))
    finally:
        delete_in_app(sandbox, FRONT_DOOR, issued.vendor_code_id)
