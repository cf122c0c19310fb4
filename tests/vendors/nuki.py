"""A stateful Nuki Web API for tests, built on `responses` callbacks: the OAuth token endpoint (code
and refresh grants, client id and secret checked) and the account, smart-lock and authorization
endpoints, with Nuki's behaviour as documented (see locks.providers.nuki): writes answer 204 and
are applied by the "bridge" later (an `operationId` while pending, an `error` when it fails), a
taken code answers 409 "'code' exists already", a busy authorization 423, a partial update clears
the timing fields. Nothing reaches the network: unmatched requests are refused by `responses`.

    cloud = NukiCloud()
    cloud.add_lock(18205286116, "Front door")             # keypad, online
    cloud.add_lock(18205284340, "Back door", server_state=4)
    with cloud:                                           # patch every requests session...
        ...
    cloud.mount(vendor_http.session)                      # ...or only one (for the contract class)
    cloud.pending_reads = 1                               # changes show as pending for one read
    cloud.unlisted_for = timedelta(seconds=40)            # accepted codes are listed 40 s later
    cloud.fail_next_application("Timeout")                # the bridge fails the next change
    cloud.fail_next("PUT", "auths", 503)
    cloud.lose_next("PUT", "auths")                       # acts, then the answer is lost (ReadTimeout)
    cloud.expire_access_tokens()                          # the next API call answers 401
    cloud.add_lock(18205286117, "Office", subscription="EXPIRED")  # Smart Hosting over: auth calls refused
    cloud.subscription_refusal_status = 402               # the refusal's status (Nuki does not say which)

Fixture bodies in tests/fixtures/nuki/ follow the documented schemas [N-SW]; `error_locked.json`
is the 423 body quoted in Nuki's forum [N-423]; `error_no_subscription.json` is the Smart Hosting
refusal quoted in Nuki's guide [N-SHS]; the other error bodies carry `detailMessage` as Nuki's error
bodies do [N-PY], with texts from the forum [N-DUP, N-NOKP] or invented.

Smart Hosting (see "Smart Hosting" in locks.providers.nuki): a lock's `subscription` is the
`currentSubscription.state` it reports (None: the field is absent, as in older answers). A lock
without an active subscription (a state other than ACTIVE or PENDING_CANCEL, outside its grace
period; or `gated=True` whatever it reports) has its calls on `subscription_gated_routes` (its
authorizations, by default; add "lock" for the lock's own GET, which the v1.5.0 announcement lists
too) refused with the documented body and `subscription_refusal_status` (unverified: 403 here).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import requests
import responses
from django.conf import settings
from requests.adapters import HTTPAdapter

from locks.providers import nuki
from locks.providers.base import AccountSession
from locks.providers.http import VendorHttp
from tests.helpers.contract import AdapterUnderTest
from tests.helpers.repository import FIXTURES as ALL_FIXTURES
from tests.vendors.nuki_log import NukiLogEmulation

FIXTURES = ALL_FIXTURES / "nuki"
DATE_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{3})?)?Z$")
API_TOKEN = "nuki-web-api-token-c2c0981ffcab78eecd13c8b7ae9fdec4706045bd"
CLIENT_ID, CLIENT_SECRET = "nowistay-nuki-client", "nuki-client-secret-never-logged"
REDIRECT_URI = "http://testserver/locks/connect/nuki/callback/"
CREATE_FIELDS = {
    "name", "type", "code", "allowedFromDate", "allowedUntilDate", "allowedWeekDays", "allowedFromTime",
    "allowedUntilTime", "remoteAllowed", "accountUserId", "smartActionsEnabled",
}
UPDATE_FIELDS = {
    "name", "allowedFromDate", "allowedUntilDate", "allowedWeekDays", "allowedFromTime", "allowedUntilTime",
    "accountUserId", "enabled", "remoteAllowed", "code",
}
TIMING_FIELDS = ("allowedFromDate", "allowedUntilDate", "allowedWeekDays", "allowedFromTime", "allowedUntilTime")


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def api_token_credentials(token: str = API_TOKEN) -> dict:
    return {"auth": nuki.API_TOKEN, "access_token": token}


@dataclass
class EmulatedLock:
    smartlock_id: int
    name: str
    keypad: bool = True
    keypad2: bool = False
    server_state: int = 0
    auths: dict[str, dict] = field(default_factory=dict)
    subscription: str | None = None  # currentSubscription.state; None: not reported
    grace_period: bool = False  # currentSubscription.isInGracePeriod
    gated: bool | None = None  # whether Nuki refuses this lock's gated calls; None: from the state
    logs: list[dict] = field(default_factory=list)  # GET /smartlock/{id}/log (tests/vendors/nuki_log.py)
    battery_charge: int | None = None  # state.batteryCharge; None: not reported
    battery_critical: bool = False

    def as_json(self) -> dict:
        data = copy.deepcopy(fixture("smartlocks.json")[0])
        data.update(smartlockId=self.smartlock_id, name=self.name, serverState=self.server_state)
        data["config"].update(name=self.name, keypadPaired=self.keypad, keypad2Paired=self.keypad2)
        data["state"]["batteryCritical"] = self.battery_critical
        if self.battery_charge is not None:
            data["state"]["batteryCharge"] = self.battery_charge
        if self.subscription is not None:  # the shape of Nuki's example [N-SHS] and schema [N-SW]
            data["currentSubscription"] = {
                "type": "B2C", "state": self.subscription, "creationDate": "2025-01-17T10:05:09.345Z",
                "expirationDate": "2026-01-17T10:05:09.345Z", "isInGracePeriod": self.grace_period,
            }
        return data

    @property
    def refuses_for_subscription(self) -> bool:
        if self.gated is not None:
            return self.gated
        return self.subscription not in (None, "ACTIVE", "PENDING_CANCEL") and not self.grace_period


@dataclass
class PendingChange:
    kind: str  # create, update, delete
    reads_left: int


class _MockAdapter(HTTPAdapter):
    """Sends one session's requests to a RequestsMock (what `responses` patches in globally)."""

    def __init__(self, mock: responses.RequestsMock):
        super().__init__()
        self._send = mock.unbound_on_send()

    def send(self, request, **kwargs):
        return self._send(self, request, **kwargs)


class NukiCloud(NukiLogEmulation):
    def __init__(self, *, pending_reads: int = 0):
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.account = fixture("account.json")
        self.locks: dict[str, EmulatedLock] = {}
        self.api_tokens = {API_TOKEN}
        self.access_tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self.refresh_tokens: set[str] = set()
        self.auth_codes: dict[str, str] = {}  # authorization code -> redirect_uri
        self.pending_reads = pending_reads
        self.unlisted_for = timedelta(0)  # an accepted code can stay out of the list for a while
        self.application_errors: list[str] = []
        self.pending: dict[str, PendingChange] = {}
        self.faults: dict[tuple[str, str], list] = defaultdict(list)
        self.calls: list[tuple[str, str]] = []  # (method, route)
        self.bodies: list[tuple[str, str, object]] = []  # (method, route, JSON body) of writes
        self.subscription_gated_routes = {"auths", "auth", "log"}  # SmartlockLog is gated too [N-V15]
        self.subscription_refusal_status = 403
        self._auth_numbers = itertools.count(20)
        base = re.escape(nuki.api_url("")) + r".*"
        for method in ("GET", "POST", "PUT", "DELETE"):
            self.mock.add_callback(method, re.compile(base), callback=self._dispatch)

    # --- wiring --------------------------------------------------------------------------------------
    def __enter__(self) -> NukiCloud:
        self.mock.start()
        return self

    def __exit__(self, *exc) -> None:
        self.mock.stop()

    def mount(self, session: requests.Session) -> None:
        adapter = _MockAdapter(self.mock)
        session.mount("https://", adapter)
        session.mount("http://", adapter)

    # --- scripting -----------------------------------------------------------------------------------
    def add_lock(self, smartlock_id: int, name: str = "", **attributes) -> EmulatedLock:
        lock = EmulatedLock(smartlock_id, name or f"Lock {smartlock_id}", **attributes)
        self.locks[str(smartlock_id)] = lock
        return lock

    def auths_on(self, smartlock_id: int | str) -> list[dict]:
        return list(self.locks[str(smartlock_id)].auths.values())

    def fail_next(self, method: str, route: str, status: int, body: dict | None = None, headers: dict | None = None) -> None:
        """The next `method` on `route` (token, account, locks, lock, auths, auth) answers `status`."""
        self.faults[(method, route)].append(("status", status, body, headers or {}))

    def lose_next(self, method: str, route: str) -> None:
        """The next `method` on `route` is carried out, then its answer is lost (a read timeout)."""
        self.faults[(method, route)].append(("lose",))

    def fail_next_application(self, error: str = "Smart Lock is offline") -> None:
        """The bridge fails to apply the next change: the auth shows `error`."""
        self.application_errors.append(error)

    def issue_code(self, redirect_uri: str = REDIRECT_URI) -> str:
        code = secrets.token_urlsafe(16)
        self.auth_codes[code] = redirect_uri
        return code

    def issue_tokens(self, lifetime: int = 3600) -> tuple[str, str]:
        access, refresh = f"acc-{secrets.token_hex(12)}", f"ref-{secrets.token_hex(12)}"
        self.access_tokens[access] = time.time() + lifetime
        self.refresh_tokens.add(refresh)
        return access, refresh

    def expire_access_tokens(self) -> None:
        self.access_tokens = {token: 0.0 for token in self.access_tokens}

    # --- dispatch ------------------------------------------------------------------------------------
    def _dispatch(self, request: requests.PreparedRequest):
        path = urlsplit(request.url).path[len(urlsplit(nuki.api_url("")).path.rstrip("/")):].strip("/")
        parts = path.split("/")
        method = request.method
        route, handler, args = self._route(method, parts)
        self.calls.append((method, route))
        fault = self.faults[(method, route)].pop(0) if self.faults[(method, route)] else None
        if fault and fault[0] == "status":
            _, status, body, headers = fault
            return status, headers, json.dumps(body) if body is not None else ""
        if route != "token" and not self._authorized(request):
            return 401, {}, json.dumps(fixture("error_unauthorized.json"))
        if route in self.subscription_gated_routes and self._without_subscription(args[0]):
            return self.subscription_refusal_status, {}, json.dumps(fixture("error_no_subscription.json"))
        answer = handler(request, *args)
        if fault and fault[0] == "lose":
            return requests.ReadTimeout("Read timed out. (emulated)")
        return answer

    def _route(self, method: str, parts: list[str]):
        if parts == ["oauth", "token"] and method == "POST":
            return "token", self._token, ()
        if parts == ["account"] and method == "GET":
            return "account", self._get_account, ()
        if parts == ["smartlock"] and method == "GET":
            return "locks", self._get_locks, ()
        if len(parts) == 2 and parts[0] == "smartlock" and method == "GET":
            return "lock", self._get_lock, (parts[1],)
        if len(parts) == 3 and parts[0] == "smartlock" and parts[2] == "auth" and method in ("GET", "PUT"):
            return "auths", self._get_auths if method == "GET" else self._create_auth, (parts[1],)
        if len(parts) == 3 and parts[0] == "smartlock" and parts[2] == "log" and method == "GET":
            return "log", self._get_log, (parts[1],)
        if len(parts) == 4 and parts[0] == "smartlock" and parts[2] == "auth" and method in ("POST", "DELETE"):
            return "auth", self._update_auth if method == "POST" else self._delete_auth, (parts[1], parts[3])
        return "unknown", lambda request: (404, {}, ""), ()

    def _without_subscription(self, lock_id: str) -> bool:
        lock = self.locks.get(lock_id)
        return lock is not None and lock.refuses_for_subscription

    def _authorized(self, request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return False
        token = header[len("Bearer "):]
        return token in self.api_tokens or self.access_tokens.get(token, 0.0) > time.time()

    # --- OAuth ---------------------------------------------------------------------------------------
    def _token(self, request):
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        form = {key: values[0] for key, values in parse_qs(request.body).items()}
        if (form.get("client_id"), form.get("client_secret")) != (settings.NUKI_CLIENT_ID, settings.NUKI_CLIENT_SECRET):
            return 401, {}, json.dumps({"error": "invalid_client"})
        if form.get("grant_type") == "authorization_code":
            expected = {"grant_type", "code", "redirect_uri", "client_id", "client_secret"}
            if set(form) != expected or self.auth_codes.pop(form["code"], None) != form["redirect_uri"]:
                return 400, {}, json.dumps(fixture("token_error.json"))
        elif form.get("grant_type") == "refresh_token":
            if (
                set(form) != {"grant_type", "refresh_token", "client_id", "client_secret"}
                or form["refresh_token"] not in self.refresh_tokens
            ):
                return 400, {}, json.dumps(fixture("token_error.json"))
            self.refresh_tokens.discard(form["refresh_token"])  # rotated
        else:
            return 400, {}, json.dumps({"error": "unsupported_grant_type"})
        access, refresh = self.issue_tokens()
        answer = fixture("token.json") | {"access_token": access, "refresh_token": refresh}
        return 200, {}, json.dumps(answer)

    # --- account and locks ---------------------------------------------------------------------------
    def _get_account(self, request):
        return 200, {}, json.dumps(self.account)

    def _get_locks(self, request):
        return 200, {}, json.dumps([lock.as_json() for lock in self.locks.values()])

    def _get_lock(self, request, lock_id: str):
        lock = self.locks.get(lock_id)
        if lock is None:
            return 404, {}, ""
        return 200, {}, json.dumps(lock.as_json())

    # --- authorizations ------------------------------------------------------------------------------
    def _get_auths(self, request, lock_id: str):
        lock = self.locks.get(lock_id)
        if lock is None:
            return 404, {}, ""
        self._advance_bridge(lock)
        types = parse_qs(urlsplit(request.url).query).get("types", [""])[0]
        wanted = {int(value) for value in types.split(",") if value} if types else None
        listed = [
            self._public(auth) for auth in lock.auths.values()
            if (wanted is None or auth["type"] in wanted) and auth.get("_listed_from", 0) <= time.time()
        ]
        return 200, {}, json.dumps(listed)

    def _create_auth(self, request, lock_id: str):
        lock = self.locks.get(lock_id)
        if lock is None:
            return 404, {}, ""
        body = json.loads(request.body)
        self.bodies.append(("PUT", "auths", body))
        problem = self._invalid(body, CREATE_FIELDS, required={"name", "type", "code", "remoteAllowed"})
        if problem:
            return 400, {}, json.dumps({"detailMessage": problem})
        if body["type"] != nuki.KEYPAD_CODE or not (lock.keypad or lock.keypad2):
            return 400, {}, json.dumps(fixture("error_type_invalid.json"))
        if any(auth.get("code") == body["code"] for auth in lock.auths.values()):
            return 409, {}, json.dumps(fixture("error_code_exists.json"))
        auth = copy.deepcopy(fixture("auth_keypad_code.json"))
        for key in TIMING_FIELDS:
            auth.pop(key, None)
        auth.update({key: value for key, value in body.items() if key in CREATE_FIELDS})
        auth.update(id=secrets.token_hex(12), smartlockId=lock.smartlock_id, authId=next(self._auth_numbers), lockCount=0)
        auth["_listed_from"] = time.time() + self.unlisted_for.total_seconds()
        self._normalise_dates(auth)
        lock.auths[auth["id"]] = auth
        self._queue(auth, "create")
        return 204, {}, ""

    def _update_auth(self, request, lock_id: str, auth_id: str):
        lock = self.locks.get(lock_id)
        auth = lock.auths.get(auth_id) if lock else None
        if auth is None:
            return 404, {}, ""
        body = json.loads(request.body)
        self.bodies.append(("POST", "auth", body))
        if auth_id in self.pending:
            return 423, {}, json.dumps(fixture("error_locked.json"))
        problem = self._invalid(body, UPDATE_FIELDS, required={"name"})
        if problem:
            return 400, {}, json.dumps({"detailMessage": problem})
        if "code" in body and any(other.get("code") == body["code"] and other is not auth for other in lock.auths.values()):
            return 409, {}, json.dumps(fixture("error_code_exists.json"))
        for key in TIMING_FIELDS:  # a partial update clears the timing fields it leaves out [N-UPD]
            auth.pop(key, None)
        auth.update(body)
        auth.pop("error", None)
        self._normalise_dates(auth)
        self._queue(auth, "update")
        return 204, {}, ""

    def _delete_auth(self, request, lock_id: str, auth_id: str):
        lock = self.locks.get(lock_id)
        auth = lock.auths.get(auth_id) if lock else None
        if auth is None:
            return 404, {}, ""
        change = self.pending.get(auth_id)
        if change and change.kind != "delete":
            return 423, {}, json.dumps(fixture("error_locked.json"))
        if self.application_errors:  # the bridge cannot remove it: it stays, with the error
            auth["error"] = self.application_errors.pop(0)
        elif auth.get("error"):  # it never reached the lock: removed at once
            del lock.auths[auth_id]
        elif self.pending_reads:
            auth["operationId"] = secrets.token_hex(12)
            self.pending[auth_id] = PendingChange("delete", self.pending_reads)
        else:
            del lock.auths[auth_id]
        return 204, {}, ""

    # --- the bridge ----------------------------------------------------------------------------------
    def _queue(self, auth: dict, kind: str) -> None:
        if self.application_errors:
            auth["error"] = self.application_errors.pop(0)
            auth.pop("operationId", None)
            self.pending.pop(auth["id"], None)
        elif self.pending_reads:
            auth["operationId"] = secrets.token_hex(12)
            self.pending[auth["id"]] = PendingChange(kind, self.pending_reads)
        else:
            auth.pop("operationId", None)
            auth.pop("error", None)

    def _advance_bridge(self, lock: EmulatedLock) -> None:
        for auth_id in [auth_id for auth_id in list(self.pending) if auth_id in lock.auths]:
            change = self.pending[auth_id]
            if change.reads_left > 0:
                change.reads_left -= 1
                continue
            del self.pending[auth_id]
            auth = lock.auths[auth_id]
            auth.pop("operationId", None)
            if change.kind == "delete":
                del lock.auths[auth_id]

    # --- helpers -------------------------------------------------------------------------------------
    @staticmethod
    def auth_template() -> dict:
        return fixture("auth_keypad_code.json")

    @staticmethod
    def _public(auth: dict) -> dict:
        return {key: value for key, value in auth.items() if not key.startswith("_")}

    @staticmethod
    def _invalid(body: dict, allowed: set[str], *, required: set[str]) -> str | None:
        unknown = set(body) - allowed
        if unknown:
            return f"Unknown parameter(s): {sorted(unknown)}"
        missing = required - set(body)
        if missing:
            return f"The parameter(s) {sorted(missing)} are required."
        if "code" in body and (isinstance(body["code"], bool) or not isinstance(body["code"], int)):
            return f"The supplied value '{body['code']}' for parameter 'code' is not valid."
        if not isinstance(body.get("name", ""), str) or len(body.get("name", "")) > 32:
            return "The supplied value for parameter 'name' is not valid."
        for key in ("allowedFromDate", "allowedUntilDate"):
            if key in body and not DATE_FORMAT.match(str(body[key])):
                return f"The supplied value '{body[key]}' for parameter '{key}' is not valid."
        for key in ("remoteAllowed", "enabled"):
            if key in body and not isinstance(body[key], bool):
                return f"The supplied value for parameter '{key}' is not valid."
        return None

    @staticmethod
    def _normalise_dates(auth: dict) -> None:
        """Nuki answers dates with milliseconds, whatever precision was sent."""
        for key in ("allowedFromDate", "allowedUntilDate"):
            value = auth.get(key)
            if value:
                moment = nuki.parse_date(value)
                auth[key] = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


# --- the contract class's factory ------------------------------------------------------------------------

FRONT_DOOR, BACK_DOOR_OFFLINE, CELLAR_NO_KEYPAD, GONE = 18205286116, 18205284340, 17899112233, 18205299999
LOCK = str(FRONT_DOOR)  # as the product stores it
BIG_ID = "9007199254740993"  # 2**53 + 1: a float cannot hold it


def nuki_provider(cloud: NukiCloud, credentials: dict | None = None, **session_fields) -> nuki.NukiProvider:
    """A NukiProvider on its own HTTP session, wired to `cloud` only, that never sleeps."""
    http = VendorHttp("Nuki")
    cloud.mount(http.session)
    session = AccountSession(
        account_id=session_fields.pop("account_id", 1), credentials=credentials or api_token_credentials(), **session_fields
    )
    return nuki.NukiProvider(session, http=http, sleep=lambda seconds: None)


def nuki_adapter():
    cloud = NukiCloud()
    cloud.add_lock(FRONT_DOOR, "Front door")
    cloud.add_lock(BACK_DOOR_OFFLINE, "Back door", server_state=4)
    cloud.add_lock(CELLAR_NO_KEYPAD, "Cellar", keypad=False)
    provider = nuki_provider(cloud)
    return AdapterUnderTest(
        provider,
        lock_id=str(FRONT_DOOR),
        offline_lock_id=str(BACK_DOOR_OFFLINE),
        missing_lock_id=str(GONE),
        enter_pin=lambda pin: cloud.enter_pin(FRONT_DOOR, pin),
    )
