"""Reading the sandbox's locks back (issue 19) with the real adapters over HTTP: every code listed,
a PIN entered on the door page read from the vendor's access log, the battery; the door page's
drift switches; and a drift repaired end to end by a read-back (locks.services.read_back).

The sandbox runs as its own process (the `sandbox_url` fixture), with its own database; no worker
is needed: code steps run inline (`tests.helpers.lifecycle.tick`).
"""

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.utils import timezone

from locks.providers import nuki, tedee
from locks.providers.base import AccountSession, CodeSpec, LockProvider
from locks.providers.exceptions import CodeStorageFull, TransientProviderError
from locks.providers.http import VendorHttp
from tests.sandbox.test_e2e_tedee import sign_in_for_credentials

pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")  # whitenoise without collectstatic

TTLOCK_LOGIN, TTLOCK_PASSWORD = "demo-host@nowistay.example", "sandbox-ttlock"
NUKI_API_TOKEN = "sandbox-nuki-api-token"


@dataclass
class Door:
    vendor: str
    label: str  # as the sandbox index names the vendor
    lock_id: str  # the eligible "Front door" of the demo account (sandbox/seed.py)
    provider: Callable[[], LockProvider]


def _ttlock_provider() -> LockProvider:
    from locks.providers.ttlock import TTLockProvider

    return TTLockProvider(AccountSession(None, TTLockProvider.sign_in(TTLOCK_LOGIN, TTLOCK_PASSWORD).credentials))


def _tedee_provider() -> LockProvider:
    return tedee.TedeeProvider(AccountSession(None, sign_in_for_credentials()))


def _nuki_provider() -> LockProvider:
    session = AccountSession(account_id=None, credentials={"auth": nuki.API_TOKEN, "access_token": NUKI_API_TOKEN})
    return nuki.NukiProvider(session, http=VendorHttp("Nuki"), sleep=lambda seconds: None)


DOORS = {
    "ttlock": Door("ttlock", "TTLock", "7100001", _ttlock_provider),
    "tedee": Door("tedee", "Tedee", "41001", _tedee_provider),
    "nuki": Door("nuki", "Nuki", "17179869185", _nuki_provider),
}


# --- the sandbox's control endpoints and door page ------------------------------------------------------


def drift(sandbox_url: str, door: Door, **body):
    answer = requests.post(f"{sandbox_url}/_control/{door.vendor}/locks/{door.lock_id}/drift/", json=body, timeout=10)
    assert answer.ok, answer.text
    return answer.json()["result"]


def state(sandbox_url: str, door: Door) -> dict:
    return requests.get(f"{sandbox_url}/_control/{door.vendor}/locks/{door.lock_id}/", timeout=10).json()


def door_url(sandbox_url: str, door: Door) -> str:
    section = requests.get(f"{sandbox_url}/", timeout=10).text.split(f"<h2>{door.label} ")[1]
    return sandbox_url + re.search(r'<a href="(/doors/\d+/)">Front door</a>', section).group(1)


class DoorPage:
    """A host's browser on a door page: each form posted with the page's CSRF token."""

    def __init__(self, sandbox_url: str, door: Door):
        self.url = door_url(sandbox_url, door)
        self.browser = requests.Session()
        self.page = self.browser.get(self.url, timeout=10).text

    def post(self, action: str, **fields) -> str:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.page).group(1)
        data = {"csrfmiddlewaretoken": token, "action": action, **fields}
        self.page = self.browser.post(self.url, data=data, headers={"Referer": self.url}, timeout=10).text
        return self.page

    def message(self) -> str:
        return re.search(r'<p class="msg">(.*?)</p>', self.page, re.S).group(1)


@pytest.fixture
def cleanup(sandbox_url):
    """Codes a test put on the sandbox's locks, deleted after it (the sandbox lives for the module)."""
    added: list[tuple[Door, str]] = []
    yield added
    for door, code_id in added:
        requests.post(
            f"{sandbox_url}/_control/{door.vendor}/locks/{door.lock_id}/drift/",
            json={"action": "delete_code", "code_id": code_id},
            timeout=10,
        )


# --- the adapters read the sandbox back ------------------------------------------------------------------


@pytest.mark.parametrize("vendor", DOORS)
def test_the_adapter_lists_every_code_reads_a_use_made_on_the_door_page_and_the_battery(vendors_on_sandbox, cleanup, vendor):
    door, sandbox = DOORS[vendor], vendors_on_sandbox
    provider = door.provider()
    since = timezone.now().replace(microsecond=0)  # Nuki's log dates are whole seconds
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    code_id = drift(
        sandbox,
        door,
        action="add_unmanaged",
        name=f"Cleaner {vendor}",
        pin="864293",
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(days=3)).isoformat(),
    )
    cleanup.append((door, code_id))
    permanent_id = drift(sandbox, door, action="add_unmanaged", name=f"Owner {vendor}", pin="739164")
    cleanup.append((door, permanent_id))

    listed = {item.vendor_code_id: item for item in list(provider.list_codes(door.lock_id).codes)}
    assert listed[code_id].name == f"Cleaner {vendor}" and listed[code_id].pin == "864293"
    assert (listed[code_id].starts_at, listed[code_id].ends_at) == (start, start + timedelta(days=3))
    assert (listed[permanent_id].pin, listed[permanent_id].starts_at, listed[permanent_id].ends_at) == ("739164", None, None)

    page = DoorPage(sandbox, door)
    assert "Opened" in page.post("enter", pin="864293") and "opened" in page.message()
    assert "Refused" in page.post("enter", pin="975318")
    uses = provider.code_uses(door.lock_id, since)
    assert uses and all(use.name for use in uses), uses  # the refused PIN is in the vendor's log, but opened nothing
    (use,) = [use for use in uses if use.name == f"Cleaner {vendor}"]
    assert use.name == f"Cleaner {vendor}" and since <= use.at <= timezone.now()
    if vendor == "ttlock":
        assert use.pin == "864293"  # a TTLock record names the code by name and PIN
    if vendor == "nuki":
        assert use.vendor_code_id == code_id  # a Nuki log entry by the auth's id
    assert provider.code_uses(door.lock_id, timezone.now() + timedelta(seconds=1)) == []

    page.post("battery", percent="14")
    health = provider.lock_health(door.lock_id)
    assert health.battery_percent == 14 and health.is_online is True
    page.post("battery", percent="87")


def test_the_tedee_log_pages_by_the_last_date_and_needs_the_activity_scope(vendors_on_sandbox, cleanup):
    door, sandbox = dataclasses.replace(DOORS["tedee"], lock_id="41003"), vendors_on_sandbox  # the Cellar: its log is this test's
    code_id = drift(sandbox, door, action="add_unmanaged", name="Pager", pin="583920")
    cleanup.append((door, code_id))
    base = datetime.now(UTC) - timedelta(minutes=5)
    for minute in range(3):
        keypad = requests.post(
            f"{sandbox}/_control/tedee/locks/{door.lock_id}/keypad/",
            json={"pin": "583920", "at": (base + timedelta(minutes=minute)).isoformat()},
            timeout=10,
        )
        assert keypad.json()["opened"] is True
    token = sign_in_for_credentials()["access_token"]
    api = f"{sandbox}/tedee/api/v1.32/my/deviceactivity"
    headers = {"Authorization": f"Bearer {token}"}
    first = requests.get(api, params={"deviceId": door.lock_id, "elements": 2}, headers=headers, timeout=10).json()["result"]
    assert [item["event"] for item in first] == [61, 61] and first[0]["date"] > first[1]["date"]
    assert not first[0]["date"].endswith("Z") and first[0]["userName"] == "Pager"  # UTC without an offset, as the sample
    rest = requests.get(
        api, params={"deviceId": door.lock_id, "elements": 2, "lastElemDate": first[-1]["date"]}, headers=headers, timeout=10
    ).json()["result"]
    assert rest and all(item["date"] < first[-1]["date"] for item in rest)

    claims = tedee.jwt_claims(token)
    assert "DeviceActivity.Read" in claims["scp"].split()
    refreshed = requests.post(
        f"{sandbox}/tedee/auth/B2C_1A_Signup_Signin_With_Kmsi/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": sign_in_for_credentials()["refresh_token"],
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
            "scope": "https://tedee.onmicrosoft.com/api/user_impersonation https://tedee.onmicrosoft.com/api/Device.ReadWrite",
        },
        timeout=10,
    ).json()
    without_scope = requests.get(
        api, params={"deviceId": door.lock_id}, headers={"Authorization": f"Bearer {refreshed['access_token']}"}, timeout=10
    )
    assert without_scope.status_code == 403


def test_the_nuki_log_pages_by_entry_id_and_keypad_errors_name_no_code(vendors_on_sandbox, cleanup):
    door, sandbox = dataclasses.replace(DOORS["nuki"], lock_id="17179869187"), vendors_on_sandbox  # the Cellar: its log is this test's
    code_id = drift(sandbox, door, action="add_unmanaged", name="Pager", pin="583921")
    cleanup.append((door, code_id))
    for pin in ("583921", "999999", "583921"):
        requests.post(f"{sandbox}/_control/nuki/locks/{door.lock_id}/keypad/", json={"pin": pin}, timeout=10)
    api = f"{sandbox}/nuki/smartlock/{door.lock_id}/log"
    headers = {"Authorization": f"Bearer {NUKI_API_TOKEN}"}
    first = requests.get(api, params={"limit": 2}, headers=headers, timeout=10).json()
    assert [(entry["trigger"], entry["state"], entry["authId"]) for entry in first] == [(255, 0, code_id), (253, 224, "")]
    older = requests.get(api, params={"limit": 2, "id": first[-1]["id"]}, headers=headers, timeout=10).json()
    assert older[0]["authId"] == code_id and older[0]["id"] < first[-1]["id"]
    assert requests.get(api, params={"limit": 51}, headers=headers, timeout=10).status_code == 400


# --- drift switches on the door page -------------------------------------------------------------------


def test_the_door_page_drift_switches_change_what_the_vendor_lists(vendors_on_sandbox, cleanup):
    door, sandbox = DOORS["ttlock"], vendors_on_sandbox
    provider = door.provider()
    page = DoorPage(sandbox, door)
    page.post("unmanaged", name="Cleaner", pin="402817", starts_at="", ends_at="")
    assert "added in the vendor&#x27;s app" in page.message()
    (cleaner,) = [code for code in state(sandbox, door)["codes"] if code["pin"] == "402817"]
    cleanup.append((door, cleaner["id"]))
    assert cleaner["added_in_app"] is True
    assert "Opened" in page.post("enter", pin="402817")  # a code added in the app opens the door too
    assert re.search(r"<td><code>402817</code></td><td>Cleaner</td><td class=\"yes\">opened</td>", page.page)

    page.post("window", code_id=cleaner["id"], starts_at="2031-03-01T15:00", ends_at="2031-03-04T11:00")
    listed = {item.vendor_code_id: item for item in list(provider.list_codes(door.lock_id).codes)}[cleaner["id"]]
    assert listed.starts_at == datetime(2031, 3, 1, 14, tzinfo=UTC)  # the lock's wall clock, Paris
    assert "Refused" in page.post("enter", pin="402817")

    page.post("delete", code_id=cleaner["id"])
    assert cleaner["id"] not in {item.vendor_code_id for item in list(provider.list_codes(door.lock_id).codes)}

    drift(sandbox, door, action="add_unmanaged", name="Owner", pin="739165")
    page.post("wipe")
    assert "lost its memory" in page.message() and list(provider.list_codes(door.lock_id).codes) == []

    page.post("fill", capacity="3")
    assert len(list(provider.list_codes(door.lock_id).codes)) == 3 and provider.lock_health(door.lock_id).codes_held == 3
    starts = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    with pytest.raises(CodeStorageFull):  # TTLock's -3009
        provider.create_code(door.lock_id, CodeSpec("full", "468135", starts, starts + timedelta(days=1), "Europe/Paris"))
    page.post("wipe")
    drift(sandbox, door, action="fill", capacity=150)  # the seeded capacity back, the codes removed
    page.post("wipe")


def test_the_control_api_refuses_what_it_cannot_do(vendors_on_sandbox):
    door, sandbox = DOORS["nuki"], vendors_on_sandbox
    url = f"{sandbox}/_control/nuki/locks/{door.lock_id}/drift/"
    assert requests.post(url, json={"action": "melt"}, timeout=10).status_code == 400
    assert requests.post(url, json={"action": "delete_code", "code_id": "nope"}, timeout=10).status_code == 400
    assert requests.post(url, json={"action": "set_battery", "percent": 140}, timeout=10).status_code == 400
    assert requests.post(url, json={"action": "add_unmanaged", "pin": "12", "name": "x"}, timeout=10).status_code == 400


# --- a drift repaired end to end ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_code_deleted_in_the_app_is_put_back_by_a_read_back_and_its_use_is_read(vendors_on_sandbox, settings, make_property, book):
    from locks import services
    from locks.connect.services import connect_with_credentials
    from locks.models import AccessCode, CodeState, FindingKind, Lock, LockFinding, UnmanagedCode
    from locks.services.read_back import read_back_locks
    from tests.helpers.lifecycle import current, tick

    door, sandbox = DOORS["ttlock"], vendors_on_sandbox
    settings.LOCKS_LISTING_DELAY_SECONDS = 0  # the sandbox lists a write at once
    prop = make_property(time_zone="Europe/Paris", name="Drifting flat")
    account = connect_with_credentials(
        host=prop.host, provider="ttlock", method="password", values={"username": TTLOCK_LOGIN, "password": TTLOCK_PASSWORD}
    )
    lock = account.locks.get(vendor_lock_id=door.lock_id)
    services.lock_assignment_set(prop=prop, lock=lock)
    today = timezone.localdate()
    booking = book(prop, today - timedelta(days=1), today + timedelta(days=2))  # the guest is staying now
    services.booking_created(booking=booking)
    tick()  # the code's steps, inline
    code = current(booking)
    assert code.state == CodeState.ACTIVE
    drift(sandbox, door, action="add_unmanaged", name="Cleaner", pin="295173")

    try:
        drift(sandbox, door, action="delete_code", code_id=code.vendor_code_id)  # the host deletes it in the TTLock app
        (result,) = read_back_locks(account_id=account.pk, lock_ids=[lock.pk])
        assert result.action == "read", result
        assert LockFinding.objects.filter(lock=lock, kind=FindingKind.MISSING_ON_LOCK, access_code=code).exists()
        assert UnmanagedCode.objects.filter(lock=lock, name="Cleaner").exists()
        tick()  # the code is created again, through the normal step
        code = current(booking)
        assert code.state == CodeState.ACTIVE
        on_lock = {item["pin"]: item for item in state(sandbox, door)["codes"]}
        assert on_lock[code.pin]["name"] == code.vendor_name and on_lock[code.pin]["id"] == code.vendor_code_id
        assert "295173" in on_lock  # someone else's code: listed, never touched

        page = DoorPage(sandbox, door)
        assert "Opened" in page.post("enter", pin=code.pin)
        Lock.objects.filter(pk=lock.pk).update(reconciled_at=None)  # the next read-back slot, an hour later
        (result,) = read_back_locks(account_id=account.pk, lock_ids=[lock.pk])
        assert result.action == "read", result
        code = AccessCode.objects.get(pk=code.pk)
        assert code.first_used_at is not None and code.first_used_at <= timezone.now()
        assert code.confirmed_on_lock_at is not None
        assert LockFinding.objects.filter(lock=lock, kind=FindingKind.MISSING_ON_LOCK).count() == 1
    finally:
        drift(sandbox, door, action="wipe")


def test_a_slow_sandbox_is_a_transient_error_for_a_read_back(vendors_on_sandbox):
    """Fault switches apply to read-backs too: an injected 5xx fails the listing without acting."""
    door, sandbox = DOORS["nuki"], vendors_on_sandbox
    requests.post(f"{sandbox}/_control/nuki/locks/{door.lock_id}/faults/", json={"server_errors": 1}, timeout=10).raise_for_status()
    with pytest.raises(TransientProviderError):
        door.provider().code_uses(door.lock_id, timezone.now() - timedelta(hours=1))
