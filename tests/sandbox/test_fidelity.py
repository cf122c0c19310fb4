"""The sandbox answers every call the product makes in the shapes the vendors document
(the vendor sources of docs/vendors.md), and its door page says in which
zone each time it shows is. Drives the sandbox process (`python -m sandbox --seed`) over HTTP,
as tests/sandbox/test_e2e*.py do; no worker is needed.
"""

import hashlib
import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from django.urls import reverse

TTLOCK_LOGIN, TTLOCK_PASSWORD = "demo-host@nowistay.example", "sandbox-ttlock"
TTLOCK_FRONT_DOOR, TTLOCK_GARDEN_GATE, TTLOCK_STUDIO = "7100001", "7100002", "7100005"  # the studio is offline
IGLOO_ID, IGLOO_SECRET = "sandbox-igloohome-client", "sandbox-igloohome-secret"
PARIS = ZoneInfo("Europe/Paris")  # the seeded locks' zone

# Fields source keys as in locks/providers/ttlock.py. lock/list and lock/detail share these [T-LL, T-LD];
# the list adds lockData, groupId, groupName [T-LL]; the detail adds the rest (its CN table, plus
# keyboardPwdVersion from the older EN page and HT's real payload) and has no lockData [T-LD].
TTLOCK_SHARED_FIELDS = {
    "lockId": int, "lockName": str, "lockAlias": str, "lockMac": str, "electricQuantity": int,
    "featureValue": str, "hasGateway": int, "date": int,
}
TTLOCK_LIST_FIELDS = {**TTLOCK_SHARED_FIELDS, "lockData": str, "groupId": int, "groupName": str}
TTLOCK_DETAIL_FIELDS = {
    **TTLOCK_SHARED_FIELDS,
    "noKeyPwd": str, "timezoneRawOffset": int, "modelNum": str, "hardwareRevision": str, "firmwareRevision": str,
    "autoLockTime": int, "lockSound": int, "soundVolume": int, "privacyLock": int, "tamperAlert": int,
    "resetButton": int, "openDirection": int, "passageMode": int, "passageModeAutoUnlock": int,
    "keyboardPwdVersion": int, "wirelessKeypadFeatureValue": str,
}
# gateway/list items [T-GWL]; gateway/listLock items [T-GWLL]; wifiLock/detail [T-WL].
GATEWAY_FIELDS = {
    "gatewayId": int, "gatewayMac": str, "gatewayName": str, "gatewayVersion": int, "networkName": str,
    "networkMac": str, "lockNum": int, "isOnline": int,
}
GATEWAY_LOCK_FIELDS = {"lockId": int, "lockMac": str, "lockName": str, "lockAlias": str, "rssi": int, "updateDate": int}
# igloohome device items [IG 0.1.2 GetDeviceInfoResponse: lastSync is a required datetime].
IGLOO_DEVICE_FIELDS = {"id": str, "type": str, "deviceId": str, "deviceName": str, "pairedAt": str, "homeId": list, "linkedDevices": list}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _has_shape(item: dict, fields: dict) -> list[str]:
    """The documented fields missing from `item`, or of the wrong JSON type (bool is not an int)."""
    return [
        name for name, kind in fields.items()
        if name not in item or not isinstance(item[name], kind) or (kind is int and isinstance(item[name], bool))
    ]


# --- TTLock ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ttlock(sandbox_url):
    """A signed-in TTLock session against the virtual cloud: call(method, path, **params) -> JSON."""
    answer = requests.post(
        f"{sandbox_url}/ttlock/oauth2/token",
        data={"clientId": "sandbox-client", "clientSecret": "sandbox-secret", "username": TTLOCK_LOGIN,
              "password": hashlib.md5(TTLOCK_PASSWORD.encode()).hexdigest()},
        timeout=10,
    ).json()
    token = answer["access_token"]

    def call(method: str, path: str, **params) -> dict:
        signed = {"clientId": "sandbox-client", "accessToken": token, "date": _now_ms(), **params}
        url = f"{sandbox_url}/ttlock/v3/{path}"
        response = requests.get(url, params=signed, timeout=10) if method == "GET" else requests.post(url, data=signed, timeout=10)
        assert response.status_code == 200  # TTLock answers errors with HTTP 200 and an errcode
        return response.json()

    return call


def test_ttlock_lock_list_items_carry_every_documented_field(ttlock):
    answer = ttlock("GET", "lock/list", pageNo=1, pageSize=100)
    assert {"list", "pageNo", "pageSize", "pages", "total"} <= set(answer)
    assert answer["list"]
    for item in answer["list"]:
        assert _has_shape(item, TTLOCK_LIST_FIELDS) == [], item
        assert re.fullmatch(r"([0-9A-F]{2}:){5}[0-9A-F]{2}", item["lockMac"])
        assert item["hasGateway"] in (0, 1)
    names = {item["lockAlias"]: item["lockName"] for item in answer["list"]}
    assert names["Front door"] != "Front door"  # lockName is the lock's Bluetooth name, lockAlias the host's


def test_ttlock_lock_detail_carries_every_documented_field(ttlock):
    detail = ttlock("GET", "lock/detail", lockId=TTLOCK_FRONT_DOOR)
    assert _has_shape(detail, TTLOCK_DETAIL_FIELDS) == [], detail
    assert detail["lockId"] == int(TTLOCK_FRONT_DOOR) and detail["keyboardPwdVersion"] == 4
    listed = next(item for item in ttlock("GET", "lock/list", pageNo=1, pageSize=100)["list"] if item["lockId"] == int(TTLOCK_FRONT_DOOR))
    assert {key: detail[key] for key in TTLOCK_SHARED_FIELDS} == {key: listed[key] for key in TTLOCK_SHARED_FIELDS}
    assert "lockData" not in detail  # the detail page sends callers to the ekey API for it [T-LD]


def test_ttlock_gateways_say_which_are_online_and_which_locks_they_reach(ttlock):
    answer = ttlock("GET", "gateway/list", pageNo=1, pageSize=200, orderBy=0)
    assert {"list", "pageNo", "pageSize", "pages", "total"} <= set(answer)
    for gateway in answer["list"]:
        assert _has_shape(gateway, GATEWAY_FIELDS) == [], gateway
    reached = {}
    for gateway in answer["list"]:
        locks = ttlock("GET", "gateway/listLock", gatewayId=gateway["gatewayId"])["list"]
        for item in locks:
            assert _has_shape(item, GATEWAY_LOCK_FIELDS) == [], item
            reached[str(item["lockId"])] = gateway["isOnline"]
    assert reached[TTLOCK_FRONT_DOOR] == 1 and reached[TTLOCK_STUDIO] == 0
    assert TTLOCK_GARDEN_GATE not in reached  # no gateway
    by_lock = ttlock("GET", "gateway/listByLock", lockId=TTLOCK_STUDIO)["list"]
    assert [set(item) for item in by_lock] == [{"gatewayId", "gatewayMac", "gatewayName", "rssi", "rssiUpdateDate"}]


def test_ttlock_refuses_a_gateway_list_without_its_required_order(ttlock):
    assert ttlock("GET", "gateway/list", pageNo=1, pageSize=20)["errcode"] == -3


def test_ttlock_passcode_list_items_carry_the_documented_fields(ttlock):
    start = _now_ms() + 3_600_000
    added = ttlock("POST", "keyboardPwd/add", lockId=TTLOCK_FRONT_DOOR, keyboardPwd="493817", keyboardPwdName="fidelity-1",
                   keyboardPwdType=3, startDate=start, endDate=start + 86_400_000, addType=2)
    try:
        answer = ttlock("GET", "lock/listKeyboardPwd", lockId=TTLOCK_FRONT_DOOR, pageNo=1, pageSize=200, orderBy=1)
        (item,) = [item for item in answer["list"] if item["keyboardPwdName"] == "fidelity-1"]
        assert item["keyboardPwdId"] == added["keyboardPwdId"] and item["keyboardPwd"] == "493817"
        assert {"lockId", "keyboardPwdType", "startDate", "endDate", "sendDate", "isCustom", "senderUsername"} <= set(item)
        assert (item["startDate"], item["lockId"], item["isCustom"]) == (start, int(TTLOCK_FRONT_DOOR), 1)
        without_order = ttlock("GET", "lock/listKeyboardPwd", lockId=TTLOCK_FRONT_DOOR, pageNo=1, pageSize=200)
        assert without_order["errcode"] == -3  # orderBy is required
    finally:
        ttlock("POST", "keyboardPwd/delete", lockId=TTLOCK_FRONT_DOOR, keyboardPwdId=added["keyboardPwdId"], deleteType=2)


def test_ttlock_sign_in_and_refresh_answer_the_documented_fields(sandbox_url):
    form = {"clientId": "sandbox-client", "clientSecret": "sandbox-secret"}
    signed_in = requests.post(f"{sandbox_url}/ttlock/oauth2/token", timeout=10, data={
        **form, "username": TTLOCK_LOGIN, "password": hashlib.md5(TTLOCK_PASSWORD.encode()).hexdigest(),
    }).json()
    assert set(signed_in) == {"access_token", "uid", "refresh_token", "expires_in"}  # [T-TOK]
    refreshed = requests.post(f"{sandbox_url}/ttlock/oauth2/token", timeout=10, data={
        **form, "grant_type": "refresh_token", "refresh_token": signed_in["refresh_token"],
    }).json()
    assert set(refreshed) == {"access_token", "refresh_token", "expires_in"}  # [T-REF]


def test_ttlock_tells_an_unknown_token_from_an_expired_one(sandbox_url):
    answer = requests.get(
        f"{sandbox_url}/ttlock/v3/lock/list",
        params={"clientId": "sandbox-client", "accessToken": "never-issued", "date": _now_ms(), "pageNo": 1, "pageSize": 20},
        timeout=10,
    ).json()
    assert answer["errcode"] == 10003  # "token does not exist" [T-ERR]; 10004 is for an expired or revoked one


@pytest.mark.django_db
def test_the_demos_offline_ttlock_lock_shows_offline_now_on_the_dashboard(vendors_on_sandbox, host, client):
    from locks.connect.services import connect_with_credentials

    account = connect_with_credentials(
        host=host, provider="ttlock", method="password", values={"username": TTLOCK_LOGIN, "password": TTLOCK_PASSWORD}
    )
    states = {lock.vendor_lock_id: (lock.supports_remote_codes, lock.is_online) for lock in account.locks.all()}
    assert states[TTLOCK_FRONT_DOOR] == (True, True)
    assert states[TTLOCK_STUDIO] == (True, False)  # offline, and still eligible
    client.force_login(host)
    content = client.get(reverse("integrations:panel", args=["ttlock"])).content.decode()
    assert re.search(r"<li>Studio \(offline\):\s*available, offline now", content)
    assert re.search(r"<li>Front door:\s*available, online", content)


# --- igloohome -------------------------------------------------------------------------------------------

def _igloohome_pages(sandbox_url: str) -> list[dict]:
    token = requests.post(
        f"{sandbox_url}/igloohome/auth/oauth2/token", auth=(IGLOO_ID, IGLOO_SECRET),
        data={"grant_type": "client_credentials", "scope": "igloohomeapi/get-devices"}, timeout=10,
    ).json()["access_token"]
    pages, cursor = [], None
    while len(pages) < 20:
        response = requests.get(
            f"{sandbox_url}/igloohome/api/devices", params={"cursor": cursor} if cursor else None,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}, timeout=10,
        )
        assert response.status_code == 200
        pages.append(response.json())
        cursor = pages[-1].get("nextCursor")
        if not cursor:
            return pages
    raise AssertionError("the device list never ends")


def test_igloohome_device_pages_carry_last_sync_on_every_device_and_omit_the_cursor_on_the_last(sandbox_url):
    pages = _igloohome_pages(sandbox_url)
    assert len(pages) > 1
    for page in pages[:-1]:
        assert isinstance(page["nextCursor"], str) and page["nextCursor"]
    assert "nextCursor" not in pages[-1]  # omitted, never null
    devices = [device for page in pages for device in page["payload"]]
    assert {device["type"] for device in devices} == {"Lock", "Keypad", "Bridge"}
    for device in devices:
        assert _has_shape(device, IGLOO_DEVICE_FIELDS) == [], device
        assert isinstance(device.get("lastSync"), str), device
        synced = datetime.fromisoformat(device["lastSync"].replace("Z", "+00:00"))
        assert synced.tzinfo is not None and synced <= datetime.now(UTC) + timedelta(seconds=5)
        assert device.get("batteryLevel") is None or isinstance(device["batteryLevel"], int)


# --- the door page ---------------------------------------------------------------------------------------

TIME = re.compile(r"(?<![+-])\b\d{2}:\d{2}\b")  # a clock time, not a UTC offset


def _door_url(sandbox_url: str, vendor_label: str, lock_name: str) -> str:
    index = requests.get(f"{sandbox_url}/", timeout=10).text
    section = index.split(f"<h2>{vendor_label} ")[1]
    href = re.search(rf'<a href="(/doors/\d+/)">{re.escape(lock_name)}</a>', section).group(1)
    return sandbox_url + href


def test_the_door_page_says_the_zone_next_to_every_time_it_shows(sandbox_url, ttlock):
    start = (int(time.time()) // 3600 + 2) * 3_600_000
    added = ttlock("POST", "keyboardPwd/add", lockId=TTLOCK_FRONT_DOOR, keyboardPwd="618274", keyboardPwdName="fidelity-door",
                   keyboardPwdType=3, startDate=start, endDate=start + 2 * 86_400_000, addType=2)
    try:
        url = _door_url(sandbox_url, "TTLock", "Front door")
        session = requests.Session()
        page = session.get(url, timeout=10).text
        row = next(line for line in page.splitlines() if "fidelity-door" in line)
        assert len(TIME.findall(row)) == 2
        assert all(f"{clock} Europe/Paris (UTC+" in row for clock in TIME.findall(row)), row
        assert "Europe/Paris" in page.split("Type a PIN")[1].split("</form>")[0]  # the form asks for a time in that zone

        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        moment = datetime.fromtimestamp(start / 1000 + 3600, tz=PARIS).strftime("%Y-%m-%dT%H:%M")  # the form reads Paris time
        for pin in ("618274", "999999"):
            verdict = session.post(url, data={"csrfmiddlewaretoken": token, "action": "try", "pin": pin, "at": moment},
                                   headers={"Referer": url}, timeout=10).text
            said = re.search(r"<strong>(.*?)</strong>", verdict, re.S).group(1)
            assert said.startswith("Yes:" if pin == "618274" else "No:"), said
            for clock in TIME.findall(said):
                assert f"{clock} Europe/Paris (UTC+" in said, said
        late = datetime.fromtimestamp(start / 1000 + 5 * 86_400, tz=PARIS).strftime("%Y-%m-%dT%H:%M")
        verdict = session.post(url, data={"csrfmiddlewaretoken": token, "action": "try", "pin": "618274", "at": late},
                               headers={"Referer": url}, timeout=10).text
        said = re.search(r"<strong>(.*?)</strong>", verdict, re.S).group(1)
        assert said.startswith("No:") and len(TIME.findall(said)) >= 2  # at least the window, each time with its zone
        assert all(f"{clock} Europe/Paris (UTC+" in said for clock in TIME.findall(said)), said
    finally:
        ttlock("POST", "keyboardPwd/delete", lockId=TTLOCK_FRONT_DOOR, keyboardPwdId=added["keyboardPwdId"], deleteType=2)
