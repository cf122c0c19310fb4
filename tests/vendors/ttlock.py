"""A stateful TTLock Open Platform emulator on `responses` callbacks, for tests only.

It checks what the real cloud checks (client id, access token, `date` within 5 minutes, the
documented parameters and PIN rules) and answers in the documented shapes: HTTP 200 with a
non-zero `errcode` for errors (the TTLock sources in docs/vendors.md).

    cloud = TTLockCloud()
    cloud.add_user("host@example.com", "app-password")
    cloud.add_lock(3001, "Front door")
    credentials = cloud.issue_token("host@example.com")
    with cloud:                       # patches requests for the test, like `responses`
        ...
    session.mount("https://", cloud.transport())   # or route one session only, patching nothing

Simplifications, on purpose: an offline lock refuses every lock call with -3002 (gateway
offline), passcode listing included, as the shared contract asks of every lock call on an
offline lock; the real listKeyboardPwd reads the cloud and may answer anyway.

Gateways: a lock added with a gateway gets one of its own (id 90000 + lock id) unless it names
one (`gateway_id=`); `add_gateway` scripts a gateway serving several locks. A gateway is online
as scripted, or else while one of its locks is. gateway/listLock keeps listing the locks of an
offline gateway, as the real cloud does for 30 minutes [T-GW]. A WiFi lock is one whose
featureValue has bit 56 (WIFI_FEATURES); wifiLock/detail answers its `online` as isOnline.

Offline codes (keyboardPwd/get), issued whatever the gateway's state: tests/vendors/ttlock_offline.py.
"""

import hashlib
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import requests
import responses
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter

from locks.providers.base import AccountSession
from locks.providers.http import VendorHttp
from locks.providers.ttlock import TTLockProvider, one_call_per_lock_in_process
from tests.helpers.contract import AdapterUnderTest
from tests.vendors.ttlock_offline import TTLockOfflineEmulation, never_used_offline
from tests.vendors.ttlock_records import TTLockRecordsEmulation

DOCUMENTED_ERRMSG = {
    -1003: "Lock does not exist",
    -2009: "Passcode does not exist",
    -2032: "Passcode is too simple",
    -3: "Invalid Parameter",
    -3002: "Gateway is offline. Please check and try again.",
    -3006: "Invalid passcode length, must be 4-9 digits",
    -3007: "Same passcode already exists. Please use another one.",
    -3009: "Custom passcode storage is full",
    -3008: "Cannot change a passcode that has never been used on the lock",
    10001: "invalid client,wrong client_id or client_secret",
    10003: "token does not exist",
    10004: "token is invalide or revoked",
    10007: "invalid account or invalid password",
    10011: "invalid refresh_token",
    30008: "Cross-site access to user data is prohibited.",
    80000: "date must be current time, in 5 minutes",
}
LOSE_RESPONSE = "lose-response"
LAND_LATE = "land-late"


def _public(code: dict) -> dict:
    return {key: value for key, value in code.items() if not key.startswith("_")}


def error_body(errcode: int) -> dict:
    return {"errcode": errcode, "errmsg": DOCUMENTED_ERRMSG.get(errcode, "failed"), "description": ""}


OK = {"errcode": 0, "errmsg": "none error message", "description": "表示成功或是"}


WIFI_FEATURES = "1000F44354CD5F3"  # bit 56 set: a WiFi lock, which needs no gateway [T-SDKFV]


@dataclass
class EmulatedLock:
    lock_id: int
    alias: str
    has_gateway: int = 1
    feature_value: str = "F44354CD5F3"  # a real lock's value [HT tests/const.py]
    keyboard_pwd_version: int = 4
    timezone_raw_offset: int = 3_600_000
    online: bool = True
    passcodes: dict[int, dict] = field(default_factory=dict)
    electric_quantity: int = 85
    records: list[dict] = field(default_factory=list)  # lockRecord/list (tests/vendors/ttlock_records.py)

    @property
    def is_wifi(self) -> bool:
        return bool((int(self.feature_value, 16) >> 56) & 1)


@dataclass
class EmulatedGateway:
    gateway_id: int
    name: str
    lock_ids: list[int] = field(default_factory=list)
    online: bool | None = None  # None: online while one of its locks is


class _Transport(HTTPAdapter):
    """Sends one session's requests to a RequestsMock without patching `requests` for everyone."""

    def __init__(self, mock: responses.RequestsMock):
        super().__init__()
        self._send = mock.unbound_on_send()

    def send(self, request, **kwargs):
        return self._send(self, request, **kwargs)


class TTLockCloud(TTLockOfflineEmulation, TTLockRecordsEmulation):
    ACCESS_TOKEN_LIFETIME_S = 7_776_000  # 90 days, as documented [T-TOK]
    error_body = staticmethod(error_body)

    def __init__(self, *, client_id: str | None = None, client_secret: str | None = None, base_url: str | None = None):
        self.client_id = settings.TTLOCK_CLIENT_ID if client_id is None else client_id
        self.client_secret = settings.TTLOCK_CLIENT_SECRET if client_secret is None else client_secret
        self.base_url = (base_url or settings.TTLOCK_API_URL).rstrip("/")
        self.users: dict[str, dict] = {}
        self.access_tokens: dict[str, tuple[str, int]] = {}  # token -> (username, expires at ms)
        self.refresh_tokens: dict[str, str] = {}
        self.locks: dict[int, EmulatedLock] = {}
        self.gateways: dict[int, EmulatedGateway] = {}
        self.calls: list[tuple[str, dict]] = []
        self._faults: dict[str, list] = {}
        self._late_writes: list[tuple] = []  # (lands at, handler, params, listed after)
        self.deleted_offline_windows: set[tuple[int, int, int]] = set()  # (lock, start, end): -1026
        self._ids = itertools.count(24242)
        self._token_ids = itertools.count(1)
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        self._register()

    # --- scripting ------------------------------------------------------------------------------

    def add_user(self, username: str, password: str, *, region: str = "eu") -> None:
        self.users[username] = {"md5": hashlib.md5(password.encode()).hexdigest(), "region": region}

    def add_lock(self, lock_id: int, alias: str = "", *, gateway_id: int | None = None, **attributes) -> EmulatedLock:
        lock = EmulatedLock(lock_id, alias or f"Lock {lock_id}", **attributes)
        self.locks[lock_id] = lock
        if lock.has_gateway:
            gateway_id = gateway_id or 90000 + lock_id
            self.gateways.setdefault(gateway_id, EmulatedGateway(gateway_id, f"G2_{gateway_id}")).lock_ids.append(lock_id)
        return lock

    def add_gateway(self, gateway_id: int, *, lock_ids=(), online: bool | None = None) -> EmulatedGateway:
        gateway = self.gateways.setdefault(gateway_id, EmulatedGateway(gateway_id, f"G2_{gateway_id}"))
        gateway.lock_ids.extend(lock_ids)
        gateway.online = online
        return gateway

    def gateway_online(self, gateway: EmulatedGateway) -> bool:
        if gateway.online is not None:
            return gateway.online
        return any(self.locks[lock_id].online for lock_id in gateway.lock_ids if lock_id in self.locks)

    def issue_token(self, username: str, *, expires_in: int | None = None) -> dict:
        """Credentials as TTLockProvider keeps them, for a user signed in earlier."""
        return self.issue_token_expiring(username, expires_in=expires_in)[0]

    def issue_token_expiring(self, username: str, *, expires_in: int | None = None) -> tuple[dict, datetime]:
        """Credentials as TTLockProvider keeps them and their access token's expiry."""
        self.users.setdefault(username, {"md5": "", "region": "eu"})
        body = self._new_tokens(username, expires_in)
        expires_at = timezone.now() + timedelta(seconds=body["expires_in"])
        credentials = {"access_token": body["access_token"], "refresh_token": body["refresh_token"], "username": username}
        return credentials, expires_at

    def session(self, username: str = "host@example.com", **kwargs) -> AccountSession:
        credentials, expires_at = self.issue_token_expiring(username, **kwargs)
        return AccountSession(account_id=1, credentials=credentials, expires_at=expires_at)

    def expire_access_tokens(self) -> None:
        self.access_tokens = {token: (user, 0) for token, (user, _) in self.access_tokens.items()}

    def revoke_refresh_tokens(self) -> None:
        self.refresh_tokens.clear()

    def fail_next(self, path: str, errcode: int, times: int = 1) -> None:
        self._faults.setdefault(path, []).extend([errcode] * times)

    def lose_response_next(self, path: str) -> None:
        """The next call to `path` is carried out, then its answer is lost (a read timeout)."""
        self._faults.setdefault(path, []).append(LOSE_RESPONSE)

    def land_late_next(self, path: str, *, after: timedelta, listed_after: timedelta = timedelta(0)) -> None:
        """The next call to `path` gets no answer in time (a read timeout) and is carried out
        `after` later, as a slow gateway would; what it writes shows in `lock/listKeyboardPwd`
        only `listed_after` after that (the cloud's propagation)."""
        self._faults.setdefault(path, []).append((LAND_LATE, after, listed_after))

    def passcodes_on(self, lock_id: int) -> list[dict]:
        """What the lock holds now, listed or not yet."""
        self._land_due_writes()
        return [_public(code) for code in self.locks[lock_id].passcodes.values()]

    def calls_to(self, path: str) -> list[dict]:
        return [params for called, params in self.calls if called == path]

    def transport(self) -> HTTPAdapter:
        return _Transport(self.mock)

    def __enter__(self) -> "TTLockCloud":
        self.mock.start()
        return self

    def __exit__(self, *exc) -> None:
        self.mock.stop(allow_assert=False)
        self.mock.reset()
        self._register()

    # --- wiring -----------------------------------------------------------------------------------

    def _register(self) -> None:
        routes = {
            ("POST", "/oauth2/token"): self._token,
            ("GET", "/v3/lock/list"): self._lock_list,
            ("GET", "/v3/lock/detail"): self._lock_detail,
            ("POST", "/v3/keyboardPwd/add"): self._add,
            ("POST", "/v3/keyboardPwd/change"): self._change,
            ("POST", "/v3/keyboardPwd/delete"): self._delete,
            ("POST", "/v3/keyboardPwd/get"): self._get_offline_code,  # no gateway involved [T-GET]
            ("GET", "/v3/lock/listKeyboardPwd"): self._list_passcodes,
            ("GET", "/v3/gateway/list"): self._gateway_list,
            ("GET", "/v3/gateway/listLock"): self._gateway_locks,
            ("GET", "/v3/gateway/listByLock"): self._gateways_of_lock,
            ("POST", "/v3/wifiLock/detail"): self._wifi_lock_detail,
            ("GET", "/v3/lockRecord/list"): self._lock_records,
        }
        for (method, path), handler in routes.items():
            self.mock.add_callback(method, self.base_url + path, callback=self._answer(path, handler))

    def _answer(self, path: str, handler):
        def callback(request):
            if request.method == "GET":
                params = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
            else:
                body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
                params = dict(parse_qsl(body, keep_blank_values=True))
            self._land_due_writes()
            self.calls.append((path, params))
            fault = self._pop_fault(path)
            if isinstance(fault, int):
                return self._json(error_body(fault))
            if path != "/oauth2/token":
                refusal = self._authenticate(params)
                if refusal:
                    return self._json(error_body(refusal))
            if isinstance(fault, tuple) and fault[0] == LAND_LATE:
                _, after, listed_after = fault
                self._late_writes.append((time.time() + after.total_seconds(), handler, params, listed_after))
                raise requests.exceptions.ReadTimeout("emulated: the gateway answered after the client gave up")
            answer = handler(params)
            if fault == LOSE_RESPONSE:
                raise requests.exceptions.ReadTimeout("emulated: the answer was lost")
            return self._json(answer)

        return callback

    def _land_due_writes(self) -> None:
        due = [write for write in self._late_writes if write[0] <= time.time()]
        self._late_writes = [write for write in self._late_writes if write[0] > time.time()]
        for lands_at, handler, params, listed_after in due:
            answer = handler(params)
            code = self._written_passcode(params, answer)
            if code is not None:
                code["_listed_from_ms"] = int((lands_at + listed_after.total_seconds()) * 1000)

    def _written_passcode(self, params: dict, answer: dict) -> dict | None:
        lock = self.locks.get(int(params.get("lockId", 0)))
        code_id = answer.get("keyboardPwdId") if isinstance(answer, dict) else None
        return lock.passcodes.get(code_id) if lock and code_id else None

    def _pop_fault(self, path: str):
        queue = self._faults.get(path.removeprefix("/v3/").removeprefix("/"))
        return queue.pop(0) if queue else None

    @staticmethod
    def _json(body: dict):
        return 200, {"Content-Type": "application/json;charset=UTF-8"}, json.dumps(body, ensure_ascii=False)

    def _authenticate(self, params: dict) -> int | None:
        if params.get("clientId") != self.client_id:
            return 10001
        token = self.access_tokens.get(params.get("accessToken", ""))
        if token is None:
            return 10003
        if token[1] <= time.time() * 1000:
            return 10004
        try:
            skew = abs(int(params.get("date", "")) - time.time() * 1000)
        except ValueError:
            return 80000
        return 80000 if skew > 5 * 60 * 1000 else None

    def _new_tokens(self, username: str, expires_in: int | None = None) -> dict:
        number = next(self._token_ids)
        access, refresh = f"ttlock-access-{number:04d}-secret", f"ttlock-refresh-{number:04d}-secret"
        lifetime = self.ACCESS_TOKEN_LIFETIME_S if expires_in is None else expires_in
        self.access_tokens[access] = (username, int(time.time() * 1000) + lifetime * 1000)
        self.refresh_tokens[refresh] = username
        return {"access_token": access, "uid": 2340, "refresh_token": refresh, "expires_in": lifetime}

    # --- endpoints --------------------------------------------------------------------------------

    def _token(self, params: dict) -> dict:
        if (params.get("clientId"), params.get("clientSecret")) != (self.client_id, self.client_secret):
            return error_body(10001)
        if params.get("grant_type") == "refresh_token":
            username = self.refresh_tokens.get(params.get("refresh_token", ""))
            if username is None:
                return error_body(10011)
            body = self._new_tokens(username)
            # The documented refresh answer carries no uid and the same refresh token [T-REF].
            self.refresh_tokens[params["refresh_token"]] = username
            del self.refresh_tokens[body["refresh_token"]]
            return {"access_token": body["access_token"], "refresh_token": params["refresh_token"], "expires_in": body["expires_in"]}
        user = self.users.get(params.get("username", ""))
        if user is None or not user["md5"] or params.get("password") != user["md5"]:
            return error_body(10007)
        if user["region"] != "eu":
            return error_body(30008)
        return self._new_tokens(params["username"])

    def _lock_list(self, params: dict) -> dict:
        page, size = int(params["pageNo"]), int(params["pageSize"])
        if page < 1 or not 1 <= size <= 1000:
            return error_body(-3)
        locks = sorted(self.locks.values(), key=lambda lock: lock.lock_id)
        chunk = locks[(page - 1) * size : page * size]
        return {
            "list": [self._lock_summary(lock) for lock in chunk],
            "pageNo": page,
            "pageSize": size,
            "pages": max(1, -(-len(locks) // size)),
            "total": len(locks),
        }

    @staticmethod
    def _lock_summary(lock: EmulatedLock) -> dict:
        return {
            "lockId": lock.lock_id,
            "lockName": f"S31_{lock.lock_id:06x}",
            "lockAlias": lock.alias,
            "lockMac": "C5:40:E0:9C:8C:C1",
            "electricQuantity": lock.electric_quantity,
            "featureValue": lock.feature_value,
            "hasGateway": lock.has_gateway,
            "lockData": "emulated-lock-data",
            "groupId": 0,
            "groupName": "",
            "date": 1625025703000,
        }

    def _lock_detail(self, params: dict) -> dict:
        lock = self.locks.get(int(params["lockId"]))
        if lock is None:
            return error_body(-1003)
        return {
            **self._lock_summary(lock),
            "noKeyPwd": "8437261",
            "timezoneRawOffset": lock.timezone_raw_offset,
            "modelNum": "SN275-5S-250MS-6V_PV53",
            "hardwareRevision": "1.6",
            "firmwareRevision": "6.2.4.231012",
            "autoLockTime": 5,
            "lockSound": 1,
            "privacyLock": 2,
            "passageMode": 2,
            "keyboardPwdVersion": lock.keyboard_pwd_version,
            "wirelessKeypadFeatureValue": "0",
        }

    def _reachable_lock(self, params: dict) -> tuple[EmulatedLock | None, dict | None]:
        lock = self.locks.get(int(params["lockId"]))
        if lock is None:
            return None, error_body(-1003)
        if not lock.online:
            return None, error_body(-3002)
        return lock, None

    def _add(self, params: dict) -> dict:
        lock, refusal = self._reachable_lock(params)
        if refusal:
            return refusal
        if params.get("addType") != "2" or params.get("keyboardPwdType") != "3":
            return error_body(-3)  # this emulator only takes period codes added through the gateway
        pin, start, end = params.get("keyboardPwd", ""), params.get("startDate", ""), params.get("endDate", "")
        if not (start.isdigit() and end.isdigit() and 10**12 <= int(start) < int(end)):
            return error_body(-3)  # dates are ms since the epoch [T-ADD]
        problem = _pin_problem(pin)
        if problem:
            return error_body(problem)
        if any(code["keyboardPwd"] == pin for code in lock.passcodes.values()):
            return error_body(-3007)
        if len(lock.passcodes) >= 250:
            return error_body(-3009)
        code_id = next(self._ids)
        lock.passcodes[code_id] = {
            "keyboardPwdId": code_id,
            "lockId": lock.lock_id,
            "keyboardPwd": pin,
            "keyboardPwdName": params.get("keyboardPwdName", ""),
            "keyboardPwdType": 3,
            "startDate": int(start),
            "endDate": int(end),
            "sendDate": int(time.time() * 1000),
            "isCustom": 1,
            "senderUsername": "host@example.com",
        }
        return {"keyboardPwdId": code_id}

    def _change(self, params: dict) -> dict:
        lock, refusal = self._reachable_lock(params)
        if refusal:
            return refusal
        code = lock.passcodes.get(int(params["keyboardPwdId"]))
        if code is None:
            return error_body(-2009)
        if never_used_offline(code):
            return error_body(-3008)
        if "keyboardPwdName" in params:
            code["keyboardPwdName"] = params["keyboardPwdName"]
        # Without startDate the change "succeeds" and is not applied [T-CHG]: the emulator does the same.
        if params.get("changeType") == "2" and params.get("startDate") and params.get("endDate"):
            code["startDate"], code["endDate"] = int(params["startDate"]), int(params["endDate"])
        return OK

    def _delete(self, params: dict) -> dict:
        lock, refusal = self._reachable_lock(params)
        if refusal:
            return refusal
        if params.get("deleteType") != "2":
            return error_body(-3)
        code = lock.passcodes.get(int(params["keyboardPwdId"]))
        if code is None:
            return error_body(-2009)
        if never_used_offline(code):
            return error_body(-3008)
        del lock.passcodes[code["keyboardPwdId"]]
        self.forget_offline(lock.lock_id, code)
        return OK

    def _list_passcodes(self, params: dict) -> dict:
        lock, refusal = self._reachable_lock(params)
        if refusal:
            return refusal
        page, size = int(params["pageNo"]), int(params["pageSize"])
        if params.get("orderBy") not in ("0", "1", "2") or page < 1 or not 1 <= size <= 200:
            return error_body(-3)
        now_ms = time.time() * 1000
        listed = [code for code in lock.passcodes.values() if code.get("_listed_from_ms", 0) <= now_ms]
        codes = sorted(listed, key=lambda code: -code["keyboardPwdId"])
        chunk = codes[(page - 1) * size : page * size]
        return {
            "list": [{**_public(code), "keyboardPwdType": str(code["keyboardPwdType"])} for code in chunk],
            "pageNo": page,
            "pageSize": size,
            "pages": max(1, -(-len(codes) // size)),
            "total": len(codes),
        }

    # --- gateways and WiFi locks: online state [T-GWL, T-GWLL, T-GWLBL, T-WL in ttlock.py] ---------

    def _gateway_list(self, params: dict) -> dict:
        page, size = int(params["pageNo"]), int(params["pageSize"])
        if params.get("orderBy") not in ("0", "1", "2") or page < 1 or not 1 <= size <= 200:
            return error_body(-3)
        gateways = sorted(self.gateways.values(), key=lambda gateway: gateway.gateway_id)
        chunk = gateways[(page - 1) * size : page * size]
        return {
            "list": [
                {
                    "gatewayId": gateway.gateway_id,
                    "gatewayMac": f"DC:A4:53:{gateway.gateway_id % 256:02X}:39:74",
                    "gatewayName": gateway.name,
                    "gatewayVersion": 2,
                    "networkName": "ttlock",
                    "networkMac": "AA:BB:CC:DD:EE:FF",
                    "lockNum": len(gateway.lock_ids),
                    "isOnline": 1 if self.gateway_online(gateway) else 0,
                }
                for gateway in chunk
            ],
            "pageNo": page,
            "pageSize": size,
            "pages": max(1, -(-len(gateways) // size)),
            "total": len(gateways),
        }

    def _gateway_locks(self, params: dict) -> dict:
        gateway = self.gateways.get(int(params["gatewayId"]))
        if gateway is None:
            return error_body(-4037)
        locks = [self.locks[lock_id] for lock_id in gateway.lock_ids if lock_id in self.locks]
        return {
            "list": [
                {
                    "lockId": lock.lock_id,
                    "lockMac": "C5:40:E0:9C:8C:C1",
                    "lockName": f"S31_{lock.lock_id:06x}",
                    "lockAlias": lock.alias,
                    "rssi": -65,
                    "updateDate": int(time.time() * 1000),
                }
                for lock in locks
            ]
        }

    def _gateways_of_lock(self, params: dict) -> dict:
        lock_id = int(params["lockId"])
        if lock_id not in self.locks:
            return error_body(-1003)
        return {
            "list": [
                {
                    "gatewayId": gateway.gateway_id,
                    "gatewayMac": f"DC:A4:53:{gateway.gateway_id % 256:02X}:39:74",
                    "gatewayName": gateway.name,
                    "rssi": -65,
                    "rssiUpdateDate": int(time.time() * 1000),
                }
                for gateway in self.gateways.values()
                if lock_id in gateway.lock_ids
            ]
        }

    def _wifi_lock_detail(self, params: dict) -> dict:
        lock = self.locks.get(int(params["lockId"]))
        if lock is None:
            return error_body(-1003)
        if not lock.is_wifi:
            return error_body(-4043)  # undocumented for this endpoint; the adapter asks WiFi locks only
        return {
            "networkName": "Flat-101-WIFI",
            "wifiMac": "AA:AA:AA:AA:AA:AA",
            "rssiGrade": 3,
            "isOnline": 1 if lock.online else 0,
            "powerSavingMode": 2,
        }


def _pin_problem(pin: str) -> int | None:
    if not (pin.isdigit() and 4 <= len(pin) <= 9):
        return -3006
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if len(set(pin)) == 1 or steps in ({1}, {-1}):
        return -2032
    return None


# --- the shared contract's factory --------------------------------------------------------------

def ttlock_adapter():
    """TTLockProvider over the emulator: lock 3001 online, 3002 behind an offline gateway, 3999 gone."""
    cloud = TTLockCloud()
    cloud.add_lock(3001, "Front door")
    cloud.add_lock(3002, "Back door", online=False)
    cloud.add_lock(3003, "Garage", has_gateway=0)
    # The contract runs without a database: the in-process guard stands in for the advisory lock.
    # Its own session: the emulator is mounted on it, and must not leak into the shared one.
    provider = TTLockProvider(cloud.session(), call_guard=one_call_per_lock_in_process, http=VendorHttp("TTLock"))
    provider.http.session.mount("https://", cloud.transport())
    provider.http.session.mount("http://", cloud.transport())
    return AdapterUnderTest(
        provider, lock_id="3001", offline_lock_id="3002", missing_lock_id="3999", enter_pin=lambda pin: cloud.enter_pin(3001, pin)
    )
