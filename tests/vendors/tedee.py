"""A stateful Tedee cloud for tests, built on `responses` callbacks: the B2C token endpoint (code
grant with PKCE S256 checked, refresh grant) and the API's lock and PIN endpoints, answering in
Tedee's envelope with Tedee's statuses (401, 403, 404, 406, 412, 428, ...). Nothing reaches the
network: unmatched requests are refused by `responses`.

    cloud = TedeeCloud()
    cloud.add_lock(101, "Front door")                  # keypad, bridge, owner, online
    cloud.add_lock(102, "Back door", connected=False)  # bridge lost: PIN calls answer 428
    with cloud:                                        # patch every requests session...
        ...
    cloud.mount(vendor_http.session)                   # ...or only one (for the contract class)
    cloud.fail_next("POST", "pin", 409)
    cloud.lose_next("POST", "pin")                     # acts, then the answer is lost (ReadTimeout)
    cloud.expire_access_tokens()                       # the next API call answers 401
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import requests
import responses
from django.conf import settings
from requests.adapters import HTTPAdapter

from locks.providers import tedee
from locks.providers.base import AccountSession
from locks.providers.http import VendorHttp
from locks.providers.tedee.pins import tedee_rule
from tests.helpers.contract import AdapterUnderTest
from tests.helpers.repository import FIXTURES as ALL_FIXTURES
from tests.vendors.tedee_activity import TedeeActivityEmulation

FIXTURES = ALL_FIXTURES / "tedee"
ERRORS = json.loads((FIXTURES / "errors.json").read_text())
DATE_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
REDIRECT_URI = "https://nowistay.example/locks/connect/tedee/callback/"
PIN_FIELDS = {"alias", "pin", "startDate", "endDate", "dayStartTime", "dayEndTime", "weekDays"}


def _public(pin: dict) -> dict:
    return {key: value for key, value in pin.items() if not key.startswith("_")}


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def make_jwt(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


@dataclass
class EmulatedLock:
    id: int
    name: str
    connected: bool = True
    bridge_id: int | None = 900
    keypad: bool = True
    access_level: int = 2
    time_zone: str = "Europe/Paris"
    capacity: int = 100
    pins: dict[int, dict] = field(default_factory=dict)
    list_version: int = 1
    battery_level: int | None = 80
    activities: list[dict] = field(default_factory=list)  # my/deviceactivity (tests/vendors/tedee_activity.py)

    def as_json(self, accessories: bool) -> dict:
        data = {
            "id": self.id,
            "name": self.name,
            "type": 2,
            "connectedToId": self.bridge_id,
            "isConnected": self.connected,
            "accessLevel": self.access_level,
            "timeZone": self.time_zone,
            "serialNumber": f"{self.id:06d}-00001",
            # `deviceState` since API v1.35 (was `lockProperties`) [TD release-notes.rst, datastructures/lock.rst].
            "deviceState": {"state": 3, "isCharging": False, "batteryLevel": self.battery_level},
        }
        if accessories:
            data["accessories"] = [{"id": 5000 + self.id, "deviceType": 3}] if self.keypad else []
        return data


class _MockAdapter(HTTPAdapter):
    """Sends one session's requests to a RequestsMock (what `responses` patches in globally)."""

    def __init__(self, mock: responses.RequestsMock):
        super().__init__()
        self._send = mock.unbound_on_send()

    def send(self, request, **kwargs):
        return self._send(self, request, **kwargs)


class TedeeCloud(TedeeActivityEmulation):
    def __init__(self, *, name: str = "Ada Host", email: str = "ada@example.com"):
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.claims = {"name": name, "email": email, "oid": "bcc1fdc9-13ee-43b3-a13e-eaba8eaf7996"}
        self.locks: dict[int, EmulatedLock] = {}
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.refusing_refresh = False
        self.codes: dict[str, dict] = {}
        self.faults: dict[tuple[str, str], list] = defaultdict(list)
        self.calls: list[tuple[str, str]] = []
        self._late_writes: list[tuple] = []  # (lands at, handler, request, ids, listed after)
        self._ids = itertools.count(1)
        api = tedee.api_url("")
        self.mock.add_callback(responses.POST, tedee.token_endpoint(), callback=self._token)
        for method in ("GET", "POST", "PUT", "DELETE"):
            self.mock.add_callback(method, re.compile(re.escape(api) + r".*"), callback=self._api)

    # --- wiring --------------------------------------------------------------------------------------
    def __enter__(self) -> TedeeCloud:
        self.mock.start()
        return self

    def __exit__(self, *exc) -> None:
        self.mock.stop()

    def mount(self, session: requests.Session) -> None:
        adapter = _MockAdapter(self.mock)
        session.mount("https://", adapter)
        session.mount("http://", adapter)

    # --- scripting -----------------------------------------------------------------------------------
    def add_lock(self, lock_id: int, name: str = "", **attributes) -> EmulatedLock:
        lock = EmulatedLock(lock_id, name or f"Lock {lock_id}", **attributes)
        self.locks[lock_id] = lock
        return lock

    def fail_next(self, method: str, kind: str, status: int, headers: dict | None = None, times: int = 1) -> None:
        """The next `method` on `kind` ("locks", "lock", "pins", "pin", "activity", "token") answers `status`."""
        self.faults[(method, kind)].extend([("status", status, headers or {})] * times)

    def lose_next(self, method: str, kind: str) -> None:
        """The next `method` on `kind` is carried out, then its answer is lost."""
        self.faults[(method, kind)].append(("lose",))

    def land_late_next(self, method: str, kind: str, *, after: timedelta, listed_after: timedelta = timedelta(0)) -> None:
        """The next `method` on `kind` gets no answer in time (a read timeout) and is carried out
        `after` later, as a slow bridge would; a PIN it writes is listed `listed_after` after that."""
        self.faults[(method, kind)].append(("late", after, listed_after))

    def expire_access_tokens(self) -> None:
        self.access_tokens.clear()

    def issue_tokens(self, *, expires_in: str = "3600") -> dict:
        """A token answer shaped like Tedee's (tests/fixtures/tedee/token.json)."""
        access = make_jwt({**self.claims, "exp": int(time.time()) + int(expires_in), "jti": secrets.token_hex(8)})
        refresh = f"refresh-{secrets.token_urlsafe(24)}"
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return {
            "not_before": str(int(time.time())),
            "token_type": "Bearer",
            "access_token": access,
            "expires_in": expires_in,
            "refresh_token": refresh,
            "refresh_token_expires_in": 1209600,
        }

    def credentials(self) -> dict:
        return self.credentials_expiring()[0]

    def credentials_expiring(self) -> tuple[dict, datetime]:
        """Credentials as TedeeProvider keeps them and their access token's expiry."""
        return tedee.credentials_from_token_answer(self.issue_tokens(), redirect_uri=REDIRECT_URI)

    def session(self, **fields) -> AccountSession:
        credentials, expires_at = self.credentials_expiring()
        return AccountSession(account_id=1, credentials=credentials, expires_at=expires_at, **fields)

    def authorize(self, authorize_url: str) -> dict:
        """The host signs in at Tedee: check the authorize request, return the callback's query."""
        query = {key: values[0] for key, values in parse_qs(urlsplit(authorize_url).query).items()}
        assert authorize_url.startswith(tedee.authorize_endpoint() + "?")
        assert query["response_type"] == "code" and query["client_id"] == settings.TEDEE_CLIENT_ID
        assert query["code_challenge_method"] == "S256" and query["response_mode"] == "query"
        assert set(query["scope"].split(" ")) == set(tedee.SCOPES)
        code = f"code-{secrets.token_urlsafe(16)}"
        self.codes[code] = {"challenge": query["code_challenge"], "redirect_uri": query["redirect_uri"]}
        return {"code": code, "state": query["state"]}

    def pins_on(self, lock_id: int) -> list[dict]:
        """What the lock holds now, listed or not yet."""
        self._land_due_writes()
        return [_public(pin) for pin in self.locks[lock_id].pins.values()]

    # --- the token endpoint --------------------------------------------------------------------------
    def _token(self, request):
        self.calls.append(("POST", "token"))
        fault = self._pop_fault("POST", "token")
        if fault and fault[0] == "status":
            return fault[1], fault[2], json.dumps({"error": "server_error"})
        form = {
            key: values[0] for key, values in parse_qs(request.body if isinstance(request.body, str) else request.body.decode()).items()
        }
        if form.get("client_id") != settings.TEDEE_CLIENT_ID or form.get("client_secret") != settings.TEDEE_CLIENT_SECRET:
            return 401, {}, json.dumps({"error": "invalid_client"})
        if form.get("grant_type") == "authorization_code":
            grant = self.codes.pop(form.get("code", ""), None)
            if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                return 400, {}, json.dumps(fixture("token_invalid_grant.json"))
            challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest()).rstrip(b"=").decode()
            if challenge != grant["challenge"]:
                return (
                    400,
                    {},
                    json.dumps({"error": "invalid_grant", "error_description": "AADB2C90183: The supplied code_verifier is invalid."}),
                )
        elif form.get("grant_type") == "refresh_token":
            if self.refusing_refresh or form.get("refresh_token") not in self.refresh_tokens:
                return 400, {}, json.dumps(fixture("token_invalid_grant.json"))
        else:
            return 400, {}, json.dumps({"error": "unsupported_grant_type"})
        return 200, {}, json.dumps(self.issue_tokens())

    # --- the API -------------------------------------------------------------------------------------
    def _land_due_writes(self) -> None:
        due = [write for write in self._late_writes if write[0] <= time.time()]
        self._late_writes = [write for write in self._late_writes if write[0] > time.time()]
        for lands_at, handler, request, ids, listed_after in due:
            status, body = handler(request, *ids)
            pin_id = (body or {}).get("result", {}).get("id") if status == 201 else None
            if pin_id is not None:
                lock = self.locks[int(ids[0])]
                lock.pins[pin_id]["_listed_from"] = lands_at + listed_after.total_seconds()

    def _listed(self, lock: EmulatedLock) -> list[dict]:
        return [pin for pin in lock.pins.values() if pin.get("_listed_from", 0) <= time.time()]

    def _api(self, request):
        self._land_due_writes()
        parts = urlsplit(request.url).path[len(urlsplit(tedee.api_url("")).path) :].strip("/").split("/")
        kind = {2: "locks", 3: "lock", 4: "pins", 5: "pin"}.get(len(parts), "unknown")
        if parts[:2] == ["my", "deviceactivity"]:
            kind = "activity"
        self.calls.append((request.method, "/".join(parts)))
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.access_tokens:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, ""
        fault = self._pop_fault(request.method, kind)
        if fault and fault[0] == "status":
            return (
                fault[1],
                fault[2],
                json.dumps(ERRORS.get(str(fault[1]), {"success": False, "errorMessages": [], "statusCode": fault[1]})),
            )
        handler = getattr(self, f"_{request.method.lower()}_{kind}", None)
        if handler is None:
            return 405, {}, ""
        if fault and fault[0] == "late":
            _, after, listed_after = fault
            self._late_writes.append((time.time() + after.total_seconds(), handler, request, parts[2::2], listed_after))
            return requests.exceptions.ReadTimeout("emulated: the bridge answered after the client gave up")
        status, body = handler(request, *parts[2::2])  # lock id, pin id
        if fault and fault[0] == "lose":
            return requests.exceptions.ReadTimeout("emulated: the answer was lost")
        # Tedee's docs print an envelope under 204, but a 204 carries no body on the wire.
        return status, {}, "" if body is None or status in (204, 304) else json.dumps(body)

    def _pop_fault(self, method: str, kind: str):
        queue = self.faults.get((method, kind))
        return queue.pop(0) if queue else None

    @staticmethod
    def _ok(result, status=200):
        body = {"result": result, "success": True, "errorMessages": [], "statusCode": status}
        if result is None:
            del body["result"]
        return status, body

    @staticmethod
    def _error(status: int, text: str):
        return status, {"success": False, "errorMessages": [text], "statusCode": status}

    def _reachable(self, lock_id: str) -> tuple[EmulatedLock | None, tuple | None]:
        lock = self.locks.get(int(lock_id)) if lock_id.isdigit() else None
        if lock is None:
            return None, self._error(404, "Lock not found.")
        if lock.access_level not in (1, 2):
            return None, self._error(403, ERRORS["403"]["errorMessages"][0])
        if not (lock.connected and lock.bridge_id and lock.keypad):
            return None, self._error(428, ERRORS["428"]["errorMessages"][0])
        return lock, None

    def _get_locks(self, request):
        accessories = request.params.get("IncludeAccessories") == "true" if hasattr(request, "params") else False
        return self._ok([lock.as_json(accessories) for lock in self.locks.values()])

    def _get_lock(self, request, lock_id):
        lock = self.locks.get(int(lock_id)) if lock_id.isdigit() else None
        if lock is None:
            return self._error(404, "Lock not found.")
        return self._ok(lock.as_json(accessories=False))

    def _get_pins(self, request, lock_id):
        lock, error = self._reachable(lock_id)
        if error:
            return error
        listed = self._listed(lock)
        for pin in listed:  # a write the device took late bumps its list's version when it lands
            if "_listed_from" in pin and not pin.get("_counted"):
                pin["_counted"] = True
                lock.list_version += 1
        if request.params.get("listVersion") == str(lock.list_version):
            return 304, None  # "List version is up to date." (a 304 carries no body over HTTP)
        return self._ok({"listVersion": lock.list_version, "pins": [{"id": p["id"], "alias": p["alias"]} for p in listed]})

    def _post_pins(self, request, lock_id):
        lock, error = self._reachable(lock_id)
        if error:
            return error
        body, error = self._pin_body(request, lock, except_id=None)
        if error:
            return error
        if len(lock.pins) >= lock.capacity:
            return self._error(412, ERRORS["412"]["errorMessages"][0])
        pin_id = next(self._ids)
        lock.pins[pin_id] = {"id": pin_id, **body}
        lock.list_version += 1
        return self._ok({"id": pin_id}, 201)

    def _get_pin(self, request, lock_id, pin_id):
        lock, error = self._reachable(lock_id)
        if error:
            return error
        found = lock.pins.get(int(pin_id)) if pin_id.isdigit() else None
        return self._ok(_public(found)) if found else self._error(404, "Pin not found.")

    def _put_pin(self, request, lock_id, pin_id):
        lock, error = self._reachable(lock_id)
        if error:
            return error
        if not pin_id.isdigit() or int(pin_id) not in lock.pins:
            return self._error(404, "Pin not found.")
        body, error = self._pin_body(request, lock, except_id=int(pin_id))
        if error:
            return error
        lock.pins[int(pin_id)] = {"id": int(pin_id), **body}
        lock.list_version += 1
        return self._ok(None, 204)

    def _delete_pin(self, request, lock_id, pin_id):
        lock, error = self._reachable(lock_id)
        if error:
            return error
        if not pin_id.isdigit() or lock.pins.pop(int(pin_id), None) is None:
            return self._error(404, "Pin not found.")
        lock.list_version += 1
        return self._ok(None, 204)

    def _pin_body(self, request, lock: EmulatedLock, except_id: int | None):
        if request.headers.get("Content-Type") != "application/json-patch+json":
            return None, self._error(415, "Unsupported media type.")
        body = json.loads(request.body)
        if set(body) != PIN_FIELDS:  # we always send the full body (PUT is a full replace)
            return None, self._error(400, "Missing or unknown fields.")
        if not isinstance(body["pin"], str) or tedee_rule(body["pin"]) is not None:
            return None, self._error(400, ERRORS["400"]["errorMessages"][0])
        if not all(isinstance(body[key], str) and DATE_FORMAT.match(body[key]) for key in ("startDate", "endDate")):
            return None, self._error(400, "Invalid date.")
        if any(p["pin"] == body["pin"] and p["id"] != except_id for p in lock.pins.values()):
            return None, self._error(406, ERRORS["406"]["errorMessages"][0])
        return body, None


def tedee_adapter():
    """The contract class's factory: a TedeeProvider on its own session, mounted on an emulator."""
    cloud = TedeeCloud()
    cloud.add_lock(101, "Front door")
    cloud.add_lock(102, "Back door", connected=False)
    cloud.add_lock(103, "Garage", keypad=False)
    http = VendorHttp("Tedee")
    cloud.mount(http.session)
    provider = tedee.TedeeProvider(cloud.session(), http=http)
    return AdapterUnderTest(
        provider, lock_id="101", offline_lock_id="102", missing_lock_id="999", enter_pin=lambda pin: cloud.enter_pin(101, pin)
    )
