"""The sandbox switches of issue 21's chaos faults: slow writes (slow_rate, slow_seconds), asynchronous
applies (apply_delay_seconds: TTLock through its gateway, Nuki through its bridge) and access tokens
expiring at the vendor (POST /_control/<vendor>/tokens/expire/), each cloud then refusing the old
token as the real one does. benchmarks/chaos.py drives them.

The slow-write dice run in a child with the sandbox's settings (as tests/sandbox/test_faults.py); the
rest on a sandbox process of this module's own, since expiring tokens would refuse those another
module keeps for the shared one (the `sandbox_url` fixture).
"""

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime

import pytest
import requests

from tests.helpers.processes import wait_until
from tests.helpers.repository import ROOT

TTLOCK_LOGIN, TTLOCK_PASSWORD = "demo-host@nowistay.example", "sandbox-ttlock"
TTLOCK_FRONT_DOOR = "7100001"
NUKI_API_TOKEN, NUKI_FRONT_DOOR = "sandbox-nuki-api-token", "17179869185"
IGLOO_ID, IGLOO_SECRET = "sandbox-igloohome-client", "sandbox-igloohome-secret"
CLIENT = {"clientId": "sandbox-client", "clientSecret": "sandbox-secret"}

SLOW_SCRIPT = textwrap.dedent(
    """
    import json, random, sys
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from sandbox import faults
    from sandbox.models import VirtualAccount, VirtualLock

    faults.dice = random.Random(21)
    waits = []
    faults.time.sleep = waits.append  # the waits, not slept
    account = VirtualAccount.objects.create(vendor="nuki", login="a", display_name="a")
    lock = VirtualLock.objects.create(account=account, vendor_lock_id="1", name="door", kind="eligible")
    results = {}
    for runs, write, label in ((100, True, "off"), (400, True, "writes"), (100, False, "reads")):
        if label == "writes":
            VirtualAccount.objects.filter(pk=account.pk).update(slow_rate=0.25, slow_seconds=6.0)
            account.refresh_from_db()
        waits.clear()
        verdicts = [faults.judge(account, lock, write=write) for _ in range(runs)]
        results[label] = {"waits": list(waits), "acted": sum(v.response is None and not v.lose_response for v in verdicts)}
    results["tally"] = faults.tally()
    json.dump(results, sys.stdout)
    """
)


def test_slow_writes_wait_up_to_slow_seconds_on_their_share_of_writes_only(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sandbox.settings",
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite3'}",
    }
    done = subprocess.run([sys.executable, "-c", SLOW_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)

    assert results["off"]["waits"] == []  # slow_rate defaults to 0
    waits = results["writes"]["waits"]
    assert 0.18 * 400 <= len(waits) <= 0.32 * 400  # about a quarter of the writes
    assert all(0 <= wait <= 6.0 for wait in waits)
    assert any(wait > 3.0 for wait in waits) and any(wait < 3.0 for wait in waits)  # past a 3 s timeout, and within it
    assert results["writes"]["acted"] == 400  # late, never refused: the vendor acts after the wait
    assert results["reads"]["waits"] == []  # reads are never slow
    assert results["tally"]["slow_writes"] == {"nuki": pytest.approx(waits, abs=0.001)}


# --- on a sandbox process ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sandbox(sandbox_url):
    """The sandbox process of this module (tests/conftest.py `sandbox_url`, one per module)."""
    return sandbox_url


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _ttlock_token(sandbox: str) -> dict:
    return requests.post(f"{sandbox}/ttlock/oauth2/token", timeout=10, data={
        **CLIENT, "username": TTLOCK_LOGIN, "password": hashlib.md5(TTLOCK_PASSWORD.encode()).hexdigest(),
    }).json()


def _ttlock(sandbox: str, token: str, method: str, path: str, **params) -> dict:
    signed = {"clientId": CLIENT["clientId"], "accessToken": token, "date": _now_ms(), **params}
    url = f"{sandbox}/ttlock/v3/{path}"
    response = requests.get(url, params=signed, timeout=10) if method == "GET" else requests.post(url, data=signed, timeout=10)
    assert response.status_code == 200  # TTLock answers errors with HTTP 200 and an errcode
    return response.json()


def _nuki(sandbox: str, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {NUKI_API_TOKEN}"}
    return requests.request(method, f"{sandbox}/nuki/{path}", headers=headers, timeout=10, **kwargs)


def _on_lock(sandbox: str, vendor: str, lock_id: str) -> set[str]:
    return {code["name"] for code in requests.get(f"{sandbox}/_control/{vendor}/locks/{lock_id}/", timeout=10).json()["codes"]}


def _set_faults(sandbox: str, vendor: str, lock_id: str, **switches) -> None:
    requests.post(f"{sandbox}/_control/{vendor}/locks/{lock_id}/faults/", json=switches, timeout=10).raise_for_status()


def _tally(sandbox: str) -> dict:
    return requests.get(f"{sandbox}/_control/tally/", timeout=10).json()


DELAY = 2.0


def test_ttlock_accepts_writes_at_once_and_lists_them_only_once_the_gateway_applied_them(sandbox):
    token = _ttlock_token(sandbox)["access_token"]
    _set_faults(sandbox, "ttlock", TTLOCK_FRONT_DOOR, apply_delay_seconds=DELAY)
    try:
        start = _now_ms() + 86_400_000
        added = _ttlock(sandbox, token, "POST", "keyboardPwd/add", lockId=TTLOCK_FRONT_DOOR, keyboardPwd="371946",
                        keyboardPwdName="async-ttlock", startDate=start, endDate=start + 86_400_000, addType=2)
        accepted = time.monotonic()
        assert "keyboardPwdId" in added  # accepted, with its id

        def listed() -> dict[str, int]:
            page = _ttlock(sandbox, token, "GET", "lock/listKeyboardPwd", lockId=TTLOCK_FRONT_DOOR, pageNo=1, pageSize=200, orderBy=1)
            return {code["keyboardPwdName"]: code["endDate"] for code in page["list"]}

        assert "async-ttlock" not in listed() and "async-ttlock" not in _on_lock(sandbox, "ttlock", TTLOCK_FRONT_DOOR)
        wait_until(lambda: "async-ttlock" in listed(), "the gateway to apply the code", timeout=DELAY + 10)
        assert time.monotonic() - accepted >= DELAY - 0.5
        assert "async-ttlock" in _on_lock(sandbox, "ttlock", TTLOCK_FRONT_DOOR)

        code_id, end = added["keyboardPwdId"], start + 86_400_000
        changed = _ttlock(sandbox, token, "POST", "keyboardPwd/change", lockId=TTLOCK_FRONT_DOOR, keyboardPwdId=code_id,
                          startDate=start, endDate=end + 3_600_000, changeType=2)
        assert changed["errcode"] == 0
        assert listed()["async-ttlock"] == end  # the old window until the gateway applies the change
        wait_until(lambda: listed()["async-ttlock"] == end + 3_600_000, "the gateway to apply the change", timeout=DELAY + 10)

        deleted = _ttlock(sandbox, token, "POST", "keyboardPwd/delete", lockId=TTLOCK_FRONT_DOOR, keyboardPwdId=code_id, deleteType=2)
        assert deleted["errcode"] == 0
        assert "async-ttlock" in listed() and "async-ttlock" in _on_lock(sandbox, "ttlock", TTLOCK_FRONT_DOOR)  # still there
        wait_until(lambda: "async-ttlock" not in listed(), "the gateway to remove the code", timeout=DELAY + 10)
        assert "async-ttlock" not in _on_lock(sandbox, "ttlock", TTLOCK_FRONT_DOOR)
        assert _tally(sandbox)["async_applies"].get("ttlock") == {"create": 1, "update": 1, "delete": 1}
    finally:
        _set_faults(sandbox, "ttlock", TTLOCK_FRONT_DOOR, apply_delay_seconds=0)


def test_nuki_accepts_a_code_and_its_removal_with_204_and_lists_them_only_once_the_bridge_applied_them(sandbox):
    _set_faults(sandbox, "nuki", NUKI_FRONT_DOOR, apply_delay_seconds=DELAY)
    try:
        body = {
            "name": "async-nuki", "type": 13, "code": 482917, "allowedFromDate": "2027-01-10T14:00:00.000Z",
            "allowedUntilDate": "2027-01-12T10:00:00.000Z", "allowedWeekDays": 127, "allowedFromTime": 0,
            "allowedUntilTime": 0, "remoteAllowed": False,
        }
        assert _nuki(sandbox, "PUT", f"smartlock/{NUKI_FRONT_DOOR}/auth", json=body).status_code == 204

        def listed() -> set[str]:
            return {auth["name"] for auth in _nuki(sandbox, "GET", f"smartlock/{NUKI_FRONT_DOOR}/auth").json()}

        assert "async-nuki" not in listed() and "async-nuki" not in _on_lock(sandbox, "nuki", NUKI_FRONT_DOOR)
        wait_until(lambda: "async-nuki" in listed(), "the bridge to apply the code", timeout=DELAY + 10)
        assert "async-nuki" in _on_lock(sandbox, "nuki", NUKI_FRONT_DOOR)

        auths = _nuki(sandbox, "GET", f"smartlock/{NUKI_FRONT_DOOR}/auth").json()
        auth_id = next(auth["id"] for auth in auths if auth["name"] == "async-nuki")
        assert _nuki(sandbox, "DELETE", f"smartlock/{NUKI_FRONT_DOOR}/auth/{auth_id}").status_code == 204
        assert "async-nuki" in listed() and "async-nuki" in _on_lock(sandbox, "nuki", NUKI_FRONT_DOOR)  # still there
        wait_until(lambda: "async-nuki" not in listed(), "the bridge to remove the code", timeout=DELAY + 10)
        assert "async-nuki" not in _on_lock(sandbox, "nuki", NUKI_FRONT_DOOR)
        assert _tally(sandbox)["async_applies"].get("nuki") == {"create": 1, "delete": 1}
    finally:
        _set_faults(sandbox, "nuki", NUKI_FRONT_DOOR, apply_delay_seconds=0)


def _expire(sandbox: str, vendor: str) -> dict:
    answer = requests.post(f"{sandbox}/_control/{vendor}/tokens/expire/", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_expired_ttlock_token_is_refused_with_10004_and_the_refresh_token_still_works(sandbox):
    signed_in = _ttlock_token(sandbox)
    lock_list = {"pageNo": 1, "pageSize": 20}
    assert _ttlock(sandbox, signed_in["access_token"], "GET", "lock/list", **lock_list).get("errcode", 0) == 0

    expired = _expire(sandbox, "ttlock")
    assert expired["expired"] >= 1 and expired["last_token"] >= 1
    assert _ttlock(sandbox, signed_in["access_token"], "GET", "lock/list", **lock_list)["errcode"] == 10004  # [T-TOK]

    refreshed = requests.post(f"{sandbox}/ttlock/oauth2/token", timeout=10, data={
        **CLIENT, "grant_type": "refresh_token", "refresh_token": signed_in["refresh_token"],
    }).json()
    assert _ttlock(sandbox, refreshed["access_token"], "GET", "lock/list", **lock_list).get("errcode", 0) == 0
    assert _expire(sandbox, "ttlock")["last_token"] > expired["last_token"]  # the refresh issued a token after the mark


def test_an_expired_igloohome_token_is_refused_with_401_and_a_new_one_works(sandbox):
    def token() -> str:
        return requests.post(
            f"{sandbox}/igloohome/auth/oauth2/token", auth=(IGLOO_ID, IGLOO_SECRET),
            data={"grant_type": "client_credentials"}, timeout=10,
        ).json()["access_token"]

    def devices(bearer: str) -> int:
        return requests.get(f"{sandbox}/igloohome/api/devices", headers={"Authorization": f"Bearer {bearer}"}, timeout=10).status_code

    old = token()
    assert devices(old) == 200
    assert _expire(sandbox, "igloohome")["expired"] >= 1
    assert devices(old) == 401
    assert devices(token()) == 200


def test_expiring_one_vendors_tokens_leaves_the_others_and_an_unknown_vendor_is_refused(sandbox):
    ttlock = _ttlock_token(sandbox)["access_token"]
    _expire(sandbox, "igloohome")
    assert _ttlock(sandbox, ttlock, "GET", "lock/list", pageNo=1, pageSize=20).get("errcode", 0) == 0
    assert requests.post(f"{sandbox}/_control/acme/tokens/expire/", timeout=10).status_code == 400
