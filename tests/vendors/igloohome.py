"""A stateful stand-in for igloohome's auth server and developer API, behind `responses` callbacks.

It keeps the rules the adapter must respect (see locks/providers/igloohome.py, "Verified facts"):
Basic-auth client credentials and scopes, Bearer tokens that expire, `/devices` in cursor pages,
algoPIN dates on the hour with an explicit offset, hourly 1-672 h, daily 29-367 days with equal
wall times, and at most one PIN per variance (1-3) for a start slot: the start hour of an hourly
PIN, the start day of a daily one (a taken variance answers 409, our reading of the slot limit).
A start before the current hour is refused (400), as igloohome refuses starts in the past.
`take_variance` stands for another client (the igloohome app) using a variance.

    cloud = IgloohomeCloud()
    cloud.add_lock("LK1", "Front door", bridge="BR1", keypad="KP1")
    with responses.RequestsMock() as rsps:
        cloud.register(rsps)
        ...
    cloud.fail_next("algopin", 503)

`attach(session)` instead scopes the emulator to one requests.Session (used by the shared contract
tests, whose factories have no fixture to tear a global mock down).
"""

import base64
import hashlib
import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import responses
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter

from locks.providers.base import AccountSession
from locks.providers.http import VendorHttp
from locks.providers.igloohome import IgloohomeProvider
from tests.helpers.contract import AdapterUnderTest

CLIENT_ID = "4kq1client7id0example"
CLIENT_SECRET = "s3cr3t-Igloo-Client-Secret-9f8e7d"
ALL_SCOPES = frozenset(
    {
        "igloohomeapi/get-devices",
        "igloohomeapi/algopin-hourly",
        "igloohomeapi/algopin-daily",
        "igloohomeapi/algopin-onetime",
        "igloohomeapi/algopin-permanent",
    }
)
WIRE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:00:00[+-]\d{2}:\d{2}$")


def _json(status: int, body) -> tuple[int, dict, str]:
    return status, {"Content-Type": "application/json"}, json.dumps(body)


class IgloohomeCloud:
    def __init__(self, *, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, token_lifetime=3600, page_size=2, clock=None):
        self.client_id, self.client_secret = client_id, client_secret
        self.allowed_scopes = set(ALL_SCOPES)
        self.token_lifetime = token_lifetime
        self.page_size = page_size
        self.clock = clock or timezone.now
        self.devices: list[dict] = []
        self.issued: list[dict] = []
        self.tokens: dict[str, datetime] = {}
        self.token_requests = 0
        self.calls: list[tuple[str, str]] = []  # (method, path) of every request, faults included
        self._faults: dict[str, list[tuple[int, dict, str]]] = {}
        self._ids = itertools.count(1)

    # --- scripting --------------------------------------------------------------------------------

    def add_device(self, device_id: str, kind: str, name: str = "", links: list[tuple[str, str]] = ()) -> dict:
        device = {
            "id": f"obj-{device_id}",
            "type": kind,
            "deviceId": device_id,
            "deviceName": name or device_id,
            "pairedAt": "2025-11-02T09:14:05.000Z",
            "homeId": ["home-1"],
            "linkedDevices": [{"type": t, "deviceId": d} for t, d in links],
            "batteryLevel": 87,
            "lastSync": "2026-05-30T08:00:00.000Z",  # on every device [igloohome-api's Device model]
        }
        self.devices.append(device)
        return device

    def add_lock(self, device_id: str, name: str = "", *, bridge: str | None = None, keypad: str | None = None) -> dict:
        links = [("Bridge", bridge)] if bridge else []
        links += [("Keypad", keypad)] if keypad else []
        lock = self.add_device(device_id, "Lock", name, links)
        if bridge:
            self.add_device(bridge, "Bridge", f"Bridge {bridge}", [("Lock", device_id)])
        if keypad:
            self.add_device(keypad, "Keypad", f"Keypad {keypad}", [("Lock", device_id)])
        return lock

    def fail_next(self, endpoint: str, status: int, body=None, *, headers=None, raw: str | None = None, times: int = 1):
        """The next `times` requests to `endpoint` ("token", "devices", "algopin") get this answer."""
        text = raw if raw is not None else json.dumps(body if body is not None else {"message": f"HTTP {status}"})
        answer = (status, {"Content-Type": "application/json", **(headers or {})}, text)
        self._faults.setdefault(endpoint, []).extend([answer] * times)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def take_variance(self, device_id: str, kind: str, start_date: str, variance: int) -> None:
        """Another client of the account (e.g. the igloohome app) used this variance of the slot."""
        start = datetime.fromisoformat(start_date)
        self.issued.append({
            "variance": variance, "startDate": start_date, "accessName": "igloohome app", "deviceId": device_id,
            "kind": kind, "slot": _slot(device_id, kind, start), "pin": "", "pinId": f"app-{next(self._ids):04d}",
        })

    def codes_on(self, device_id: str) -> list[dict]:
        return [code for code in self.issued if code["deviceId"] == device_id]

    # --- wiring -----------------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        return settings.IGLOOHOME_AUTH_URL.rstrip("/") + "/oauth2/token"

    @property
    def api_url(self) -> str:
        return settings.IGLOOHOME_API_URL.rstrip("/")

    def register(self, rsps: responses.RequestsMock) -> None:
        api = re.escape(self.api_url)
        rsps.add_callback(responses.POST, self.token_url, callback=self._token)
        rsps.add_callback(responses.GET, re.compile(api + r"/devices(\?.*)?$"), callback=self._devices)
        rsps.add_callback(responses.POST, re.compile(api + r"/devices/[^/]+/algopin/(hourly|daily)$"), callback=self._algopin)

    def attach(self, session) -> None:
        """Answer for this requests.Session only, whatever else is mocked or not."""
        mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.register(mock)
        adapter = _ScopedAdapter(mock)
        session.mount("https://", adapter)
        session.mount("http://", adapter)

    # --- endpoints -----------------------------------------------------------------------------------

    def _fault(self, endpoint: str):
        queue = self._faults.get(endpoint)
        return queue.pop(0) if queue else None

    def _token(self, request):
        self.calls.append(("POST", "/oauth2/token"))
        self.token_requests += 1
        if fault := self._fault("token"):
            return fault
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return _json(400, {"error": "invalid_client"})
        form = {key: values[0] for key, values in parse_qs(request.body or "").items()}
        if form.get("grant_type") != "client_credentials":
            return _json(400, {"error": "unsupported_grant_type"})
        if not set(form.get("scope", "").split()) <= self.allowed_scopes:
            return _json(400, {"error": "invalid_scope"})
        token = f"eyJ.igloo-access-{next(self._ids)}.sig"
        self.tokens[token] = self.clock() + timedelta(seconds=self.token_lifetime)
        return _json(200, {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"})

    def _authorised(self, request) -> bool:
        header = request.headers.get("Authorization", "")
        expires = self.tokens.get(header.removeprefix("Bearer "))
        return header.startswith("Bearer ") and expires is not None and self.clock() < expires

    def _devices(self, request):
        self.calls.append(("GET", "/devices"))
        if fault := self._fault("devices"):
            return fault
        if not self._authorised(request):
            return _json(401, {"message": "Unauthorized"})
        cursor = parse_qs(urlsplit(request.url).query).get("cursor", [None])[0]
        start = int(cursor.removeprefix("page-")) if cursor else 0
        page = self.devices[start : start + self.page_size]
        more = start + self.page_size < len(self.devices)
        body = {"payload": page}
        if more:  # the last page carries no cursor at all, not a null one
            body["nextCursor"] = f"page-{start + self.page_size}"
        return _json(200, body)

    def _algopin(self, request):
        path = urlsplit(request.url).path
        self.calls.append(("POST", path.removeprefix(urlsplit(self.api_url).path)))
        if fault := self._fault("algopin"):
            return fault
        if not self._authorised(request):
            return _json(401, {"message": "Unauthorized"})
        device_id, kind = re.search(r"/devices/([^/]+)/algopin/(hourly|daily)$", path).groups()
        device = next((d for d in self.devices if d["deviceId"] == device_id), None)
        if device is None:
            return _json(404, {"message": "Device not found"})
        if device["type"] != "Lock":
            return _json(400, {"message": "algoPINs are issued for locks"})
        body = json.loads(request.body)
        for field in ("startDate", "endDate"):
            if not isinstance(body.get(field), str) or not WIRE_DATE.match(body[field]):
                return _json(400, {"message": f"'{field}' must be in format YYYY-MM-DDTHH:00:00+hh:mm"})
        if body.get("variance") not in (1, 2, 3):
            return _json(400, {"message": "'variance' must be 1, 2 or 3"})
        if not isinstance(body.get("accessName"), str) or not body["accessName"]:
            return _json(400, {"message": "'accessName' is required"})
        start, end = datetime.fromisoformat(body["startDate"]), datetime.fromisoformat(body["endDate"])
        local_now = self.clock().astimezone(start.tzinfo)
        if start < local_now.replace(minute=0, second=0, microsecond=0):
            return _json(400, {"message": "'startDate' must not be in the past"})
        if kind == "hourly":
            hours = (end - start) / timedelta(hours=1)
            if not 1 <= hours <= 672:
                return _json(422, {"code": "422", "message": "Hourly algoPINs last 1 to 672 hours"})
        else:
            if start.time() != end.time():
                return _json(422, {"code": "422", "message": "Start time and end time must match"})
            days = (end.date() - start.date()).days
            if days < 29:
                return _json(422, {"code": "422", "message": "Daily algoPINs last at least 29 days"})
            if days > 367:
                return _json(422, {"code": "422", "message": "Exceeded the limit of 367 days"})
        slot = _slot(device_id, kind, start)
        if any(code["slot"] == slot and code["variance"] == body["variance"] for code in self.issued):
            return _json(409, {"message": "This variance has already been used for this time slot"})
        seed = f"{device_id}|{kind}|{body['startDate']}|{body['endDate']}|{body['variance']}".encode()
        pin = str(100_000_000 + int(hashlib.sha256(seed).hexdigest(), 16) % 900_000_000)
        pin_id = f"pin-{next(self._ids):04d}"
        self.issued.append({**body, "deviceId": device_id, "kind": kind, "slot": slot, "pin": pin, "pinId": pin_id})
        return _json(200, {"pin": pin, "pinId": pin_id})


def _slot(device_id: str, kind: str, start: datetime) -> tuple:
    return device_id, kind, start.astimezone(UTC) if kind == "hourly" else start.date()


class _ScopedAdapter(HTTPAdapter):
    """Turns the emulator's mock on only for the requests of the session it is mounted on."""

    def __init__(self, mock: responses.RequestsMock):
        super().__init__()
        self._mock = mock

    def send(self, request, **kwargs):
        self._mock.start()
        try:
            return HTTPAdapter.send(self, request, **kwargs)  # patched by the mock: answered by the emulator
        finally:
            self._mock.stop(allow_assert=False)


# --- the shared contract tests' factory ----------------------------------------------------------------

CONTRACT_NOW = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # before the contract's fixed June 2026 windows


def igloohome_contract_adapter():
    """The real igloohome adapter on the emulator, its clock set before the contract's windows."""
    cloud = IgloohomeCloud(clock=lambda: CONTRACT_NOW)
    cloud.add_lock("IGL-1", "Front door", bridge="IGB-1", keypad="IGK-1")
    cloud.add_lock("IGL-NOBRIDGE", "Back door")  # no bridge: connectivity unknown, algoPINs still work
    cloud.add_device("IGK-LONE", "Keypad", "Garage keypad")  # no lock linked: listed as unavailable
    http = VendorHttp("igloohome")
    cloud.attach(http.session)
    session = AccountSession(account_id=1, credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    provider = IgloohomeProvider(session, http=http, clock=lambda: CONTRACT_NOW)
    return AdapterUnderTest(provider, lock_id="IGL-1", offline_lock_id="IGL-NOBRIDGE", missing_lock_id="IGL-GONE")
