"""A stateful homeit cloud for tests, on `responses` callbacks: the Core API v2 (properties, keys)
and the Auth API's organization, in the same wire shapes as the sandbox's virtual homeit
(sandbox/vendors/homeit.py) and docs/homeit-research.md, which says what is homeit's documented
behaviour and what is a reading (UNVERIFIED). Nothing reaches the network: an unmatched request is
refused by `responses`.

    cloud = HomeitCloud()
    cloud.add_property(530001, "Flat 1")                      # keypad, BOX online
    cloud.add_property(530004, "Shed", keypad=False)          # keys are links only (code null)
    cloud.add_property(530005, "Studio", online=False)        # BOX offline: keys still written
    cloud.add_property(530006, "Neighbour", shared=False)     # not this API key's: 404
    with cloud:                                               # patch every requests session...
        ...
    cloud.mount(vendor_http.session)                          # ...or only one
    cloud.fail_next("POST", "keys", 503)                      # answered without acting
    cloud.fail_next("GET", "keys", 429, headers={"Retry-After": "30"})
    cloud.lose_next("POST", "keys")                           # acts, then the answer is lost (ReadTimeout)
    cloud.land_late_next("POST", "keys", after=timedelta(minutes=1))  # times out now, acts a minute later
    cloud.unlisted_for = timedelta(seconds=40)                # accepted keys are listed 40 s later
    cloud.revoke_api_key()                                    # every call answers 401

Routes, for the fault switches: "organizations", "properties", "property", "keys" (GET list, POST
create), "key" (GET, PUT, DELETE one). What it checks on every request: the API key header, the
`application/json` body of writes (415 otherwise), the documented resource pattern, the query
parameters (400 on an unknown one), the fields of a key (400 on an unknown or missing one, a `code`
included: homeit generates codes), times in ISO 8601 with an explicit offset, end after start and
in the future. Keys whose end has passed are deleted, as homeit deletes them after check-out
[H-FAQ]. `clock` (a callable returning an aware datetime) drives expiry, listing delays and late
landings.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
import responses
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter

from locks.providers.base import AccountSession
from locks.providers.homeit import HomeitProvider
from locks.providers.http import VendorHttp
from tests.helpers.contract import AdapterUnderTest

API_KEY = "homeit-api-key-3f9c2b7e1d5a"
API_KEY_HEADER = "X-API-Key"  # UNVERIFIED: the header the sandbox reads too (sandbox/vendors/homeit.py)
HAL = "application/json+hal"  # sic [H-CORE]
DEFAULT_API_URL, DEFAULT_AUTH_URL = "https://api.homeit.io/v2", "https://auth.homeit.io/v2"  # [H-CORE, H-AUTH]
LINK_BASE = "https://links.homeit.example/k/"  # invented: the real links' address is not documented
CREATE_FIELDS, REQUIRED_FIELDS = {"name", "type", "property", "start", "end"}, {"name", "property", "start", "end"}
UPDATE_FIELDS = {"name", "start", "end"}
MAX_LIMIT, KEY_NAME_MAX, CODE_DIGITS, FIRST_KEY_ID = 100, 100, 6, 900000


def api_url() -> str:
    return getattr(settings, "HOMEIT_API_URL", DEFAULT_API_URL).rstrip("/")


def auth_url() -> str:
    return getattr(settings, "HOMEIT_AUTH_URL", DEFAULT_AUTH_URL).rstrip("/")


def wire_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_wire_time(value) -> datetime | None:
    """ISO 8601 with an explicit offset; None for anything else, naive times included."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass
class EmulatedProperty:
    property_id: int
    name: str
    keypad: bool = True
    online: bool = True
    time_zone: str = "Europe/Paris"
    shared: bool = True  # False: the API key's organization may not see it

    def as_json(self) -> dict:
        return {
            "id": self.property_id,
            "name": self.name,
            "timezone": self.time_zone,
            "online": self.online,
            "keypad": self.keypad,
            "doors": [{"id": self.property_id * 10 + 1, "name": self.name}],
            "_links": {
                "self": {"href": f"{api_url()}/properties/{self.property_id}"},
                "keys": {"href": f"{api_url()}/keys?property={self.property_id}"},
            },
        }


def _answer(status: int, body: dict | None = None, headers: dict | None = None):
    return status, {"Content-Type": HAL, **(headers or {})}, json.dumps(body) if body is not None else ""


def _error(status: int, message: str):
    return _answer(status, {"status": status, "message": message})


class _MockAdapter(HTTPAdapter):
    """Sends one session's requests to a RequestsMock (what `responses` patches in globally)."""

    def __init__(self, mock: responses.RequestsMock):
        super().__init__()
        self._send = mock.unbound_on_send()

    def send(self, request, **kwargs):
        return self._send(self, request, **kwargs)


class HomeitCloud:
    def __init__(self, *, api_key: str = API_KEY, page_size: int = 2, clock=None, organization="Demo Host (homeit)"):
        self.api_key = api_key
        self.page_size = page_size
        self.clock = clock or timezone.now
        self.organization = organization
        self.properties: dict[int, EmulatedProperty] = {}
        self.keys: dict[int, dict] = {}  # key id -> key, with the private fields "_listed_from"
        self.unlisted_for = timedelta(0)
        self.calls: list[tuple[str, str]] = []  # (method, route) of every request, faults included
        self.bodies: list[tuple[str, str, object]] = []  # (method, route, JSON body) of writes
        self.forced_codes: list[str] = []  # the next codes homeit "generates", for tests that need them
        self._faults: dict[tuple[str, str], list[tuple]] = {}
        self._late: list[tuple[datetime, object]] = []  # (when, the write to carry out then)
        self._ids = itertools.count(FIRST_KEY_ID + 1)
        self._dice = random.Random(7)
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        for base in (api_url(), auth_url()):
            for method in ("GET", "POST", "PUT", "DELETE"):
                self.mock.add_callback(method, re.compile(re.escape(base) + r"(/.*)?$"), callback=self._dispatch)

    # --- wiring --------------------------------------------------------------------------------------
    def __enter__(self) -> HomeitCloud:
        self.mock.start()
        return self

    def __exit__(self, *exc) -> None:
        self.mock.stop()

    def mount(self, session: requests.Session) -> None:
        adapter = _MockAdapter(self.mock)
        session.mount("https://", adapter)
        session.mount("http://", adapter)

    # --- scripting -----------------------------------------------------------------------------------
    def add_property(self, property_id: int, name: str = "", **attributes) -> EmulatedProperty:
        prop = EmulatedProperty(property_id, name or f"Property {property_id}", **attributes)
        self.properties[property_id] = prop
        return prop

    def fail_next(self, method: str, route: str, status: int, body=None, *, headers=None, times: int = 1) -> None:
        """The next `times` `method` requests on `route` answer `status` without acting."""
        body = body if body is not None else {"status": status, "message": f"HTTP {status}"}
        self._faults.setdefault((method, route), []).extend([("status", status, body, headers or {})] * times)

    def lose_next(self, method: str, route: str) -> None:
        """The next `method` on `route` is carried out, then its answer is lost (a read timeout)."""
        self._faults.setdefault((method, route), []).append(("lose",))

    def land_late_next(self, method: str, route: str, *, after: timedelta) -> None:
        """The next `method` on `route` times out without acting; it is carried out `after` later."""
        self._faults.setdefault((method, route), []).append(("late", after))

    def revoke_api_key(self) -> None:
        self.api_key = None

    def keys_on(self, property_id: int) -> list[dict]:
        """The keys of a property as homeit holds them (listed or not yet), in wire form."""
        self._settle()
        return [self._public(key) for key in self.keys.values() if key["property"] == property_id]

    # --- dispatch ------------------------------------------------------------------------------------
    def _route(self, method: str, url: str):
        parts = urlsplit(url)
        for base, routes in ((api_url(), self._api_routes), (auth_url(), self._auth_routes)):
            base_path = urlsplit(base).path.rstrip("/")
            if parts.netloc == urlsplit(base).netloc and parts.path.startswith(base_path + "/"):
                return routes(method, parts.path[len(base_path) + 1 :].strip("/").split("/"))
        return "unknown", None, ()

    def _api_routes(self, method: str, segments: list[str]):
        if segments == ["properties"] and method == "GET":
            return "properties", self._list_properties, ()
        if len(segments) == 2 and segments[0] == "properties" and method == "GET":
            return "property", self._get_property, (segments[1],)
        if segments == ["keys"] and method in ("GET", "POST"):
            return "keys", self._list_keys if method == "GET" else self._create_key, ()
        if len(segments) == 2 and segments[0] == "keys" and method in ("GET", "PUT", "DELETE"):
            handler = {"GET": self._get_key, "PUT": self._update_key, "DELETE": self._delete_key}[method]
            return "key", handler, (segments[1],)
        return "unknown", None, ()

    def _auth_routes(self, method: str, segments: list[str]):
        if segments == ["organizations"] and method == "GET":
            return "organizations", self._list_organizations, ()
        return "unknown", None, ()

    def _dispatch(self, request: requests.PreparedRequest):
        method = request.method
        route, handler, args = self._route(method, request.url)
        self.calls.append((method, route))
        self._settle()
        queue = self._faults.get((method, route))
        fault = queue.pop(0) if queue else None
        if fault and fault[0] == "status":
            return _answer(fault[1], fault[2], fault[3])
        if handler is None:
            return _error(404, "Not Found")
        if self.api_key is None or request.headers.get(API_KEY_HEADER) != self.api_key:
            return _error(401, "Unauthorized")
        if method in ("POST", "PUT"):
            body = self._body(request)
            if not isinstance(body, dict):
                return body
            self.bodies.append((method, route, body))
            args = (*args, body)
        if fault and fault[0] == "late":
            self._late.append((self.clock() + fault[1], lambda: handler(request, *args)))
            return requests.ReadTimeout("Read timed out. (emulated: the write lands later)")
        answer = handler(request, *args)
        if fault and fault[0] == "lose":
            return requests.ReadTimeout("Read timed out. (emulated)")
        return answer

    def _settle(self) -> None:
        """Carry out late writes whose time has come, and forget keys whose end has passed."""
        now = self.clock()
        due = [write for when, write in self._late if when <= now]
        self._late = [(when, write) for when, write in self._late if when > now]
        for write in due:
            write()
        for key_id in [key_id for key_id, key in self.keys.items() if key["end"] <= now]:
            del self.keys[key_id]

    @staticmethod
    def _body(request):
        if (request.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            return _error(415, "Request body content type must be application/json")
        try:
            body = json.loads(request.body or b"")
        except ValueError:
            return _error(400, "Request body must be JSON")
        return body if isinstance(body, dict) else _error(400, "Request body must be a JSON object")

    # --- pages ---------------------------------------------------------------------------------------
    def _page(self, request, resource: str, items: list[dict], allowed: set[str]):
        query = {name: values[0] for name, values in parse_qs(urlsplit(request.url).query).items()}
        unknown = set(query) - allowed - {"page", "limit"}
        if unknown:
            return _error(400, f"Unknown query parameter(s): {sorted(unknown)}")
        try:
            page, limit = int(query.get("page", 1)), int(query.get("limit", self.page_size))
        except ValueError:
            return _error(400, "'page' and 'limit' must be integers")
        if page < 1 or not 1 <= limit <= MAX_LIMIT:
            return _error(400, f"'page' starts at 1 and 'limit' is 1 to {MAX_LIMIT}")
        base = request.url.split("?")[0]
        filters = {name: value for name, value in query.items() if name in allowed}

        def href(number: int) -> dict:
            return {"href": f"{base}?{urlencode({**filters, 'page': number, 'limit': limit})}"}

        links = {"self": href(page)}
        if page * limit < len(items):  # the last page has no `next` link at all
            links["next"] = href(page + 1)
        if page > 1:
            links["prev"] = href(page - 1)
        window = items[(page - 1) * limit : page * limit]
        return _answer(200, {"_links": links, "_embedded": {resource: window}, "total": len(items)})

    # --- organizations and properties ----------------------------------------------------------------
    def _list_organizations(self, request):
        return self._page(request, "organizations", [{"id": 1, "name": self.organization}], set())

    def _shared(self, property_id) -> EmulatedProperty | None:
        prop = self.properties.get(int(property_id)) if str(property_id).isdigit() else None
        return prop if prop is not None and prop.shared else None

    def _list_properties(self, request):
        items = [prop.as_json() for prop in self.properties.values() if prop.shared]
        return self._page(request, "properties", items, set())

    def _get_property(self, request, property_id: str):
        prop = self._shared(property_id)
        return _answer(200, prop.as_json()) if prop else _error(404, "Property not found")

    # --- keys ----------------------------------------------------------------------------------------
    def _public(self, key: dict) -> dict:
        answer = {name: value for name, value in key.items() if not name.startswith("_")}
        answer.update(start=wire_time(key["start"]), end=wire_time(key["end"]))
        answer["_links"] = {
            "self": {"href": f"{api_url()}/keys/{key['id']}"},
            "property": {"href": f"{api_url()}/properties/{key['property']}"},
        }
        return answer

    def _visible_key(self, key_id: str) -> dict | None:
        key = self.keys.get(int(key_id)) if key_id.isdigit() else None
        return key if key is not None and self._shared(key["property"]) else None

    def _list_keys(self, request):
        query = {name: values[0] for name, values in parse_qs(urlsplit(request.url).query).items()}
        if "property" in query and self._shared(query["property"]) is None:
            return _error(404, "Property not found")
        now = self.clock()
        keys = [
            key for key in self.keys.values()
            if self._shared(key["property"]) and key["_listed_from"] <= now
            and ("property" not in query or str(key["property"]) == query["property"])
            and ("name" not in query or key["name"] == query["name"])
        ]
        return self._page(request, "keys", [self._public(key) for key in keys], {"property", "name"})

    def _get_key(self, request, key_id: str):
        key = self._visible_key(key_id)
        return _answer(200, self._public(key)) if key else _error(404, "Key not found")

    def _create_key(self, request, body: dict):
        unknown, missing = set(body) - CREATE_FIELDS, REQUIRED_FIELDS - set(body)
        if unknown:
            return _error(400, f"Unknown field(s): {sorted(unknown)}")
        if missing:
            return _error(400, f"Missing field(s): {sorted(missing)}")
        if body.get("type", "temporary") != "temporary":
            return _error(400, "Only temporary keys are emulated")
        start, end = parse_wire_time(body["start"]), parse_wire_time(body["end"])
        problem = self._name_problem(body["name"]) or self._window_problem(start, end)
        if problem:
            return problem
        if isinstance(body["property"], bool) or not isinstance(body["property"], int):
            return _error(400, "'property' must be a property id (a number)")
        prop = self._shared(body["property"])
        if prop is None:
            return _error(404, "Property not found")
        key_id = next(self._ids)
        key = {
            "id": key_id, "name": body["name"], "type": "temporary", "property": prop.property_id,
            "start": start, "end": end, "code": self._new_code(prop), "link": self._link(key_id),
            "_listed_from": self.clock() + self.unlisted_for,
        }
        self.keys[key_id] = key
        return _answer(201, self._public(key))

    def _update_key(self, request, key_id: str, body: dict):
        key = self._visible_key(key_id)
        if key is None:
            return _error(404, "Key not found")
        if {"property", "type"} & set(body):
            return _error(400, "A key's property and type cannot be changed")
        unknown = set(body) - UPDATE_FIELDS
        if unknown:
            return _error(400, f"Unknown field(s): {sorted(unknown)}")
        name = body.get("name", key["name"])
        start = parse_wire_time(body["start"]) if "start" in body else key["start"]
        end = parse_wire_time(body["end"]) if "end" in body else key["end"]
        problem = self._name_problem(name) or self._window_problem(start, end)
        if problem:
            return problem
        key.update(name=name, start=start, end=end)  # the code and the link stay (UNVERIFIED)
        return _answer(200, self._public(key))

    def _delete_key(self, request, key_id: str):
        key = self._visible_key(key_id)
        if key is None:
            return _error(404, "Key not found")
        del self.keys[key["id"]]
        return _answer(204)

    # --- rules ---------------------------------------------------------------------------------------
    @staticmethod
    def _name_problem(name):
        if not isinstance(name, str) or not name.strip():
            return _error(400, "'name' is required")
        if len(name) > KEY_NAME_MAX:
            return _error(400, f"'name' must be at most {KEY_NAME_MAX} characters")
        return None

    def _window_problem(self, start: datetime | None, end: datetime | None):
        for field, moment in (("start", start), ("end", end)):
            if moment is None:
                return _error(400, f"'{field}' must be an ISO 8601 date-time with a UTC offset")
        if end <= start:
            return _error(400, "'end' must be after 'start'")
        if end <= self.clock():
            return _error(400, "'end' must be in the future")
        return None

    def _new_code(self, prop: EmulatedProperty) -> str | None:
        """Unique among the property's keys [H-FAQ]; null where it has no keypad [H-WEB]."""
        if not prop.keypad:
            return None
        taken = {key["code"] for key in self.keys.values() if key["property"] == prop.property_id}
        while True:
            drawn = f"{self._dice.randrange(10**CODE_DIGITS):0{CODE_DIGITS}d}"
            code = self.forced_codes.pop(0) if self.forced_codes else drawn
            if code not in taken:
                return code

    @staticmethod
    def _link(key_id: int) -> str:
        return LINK_BASE + hashlib.sha256(f"homeit-key-{key_id}".encode()).hexdigest()[:24]


def homeit_contract_adapter():
    """The homeit adapter on this emulator, for tests/locks/providers/test_contract.py."""
    cloud = HomeitCloud(clock=lambda: datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    cloud.add_property(530001, "Front door")
    cloud.add_property(530005, "Back door", online=False)
    cloud.add_property(530004, "Garage", keypad=False)
    http = VendorHttp("homeit")
    cloud.mount(http.session)
    provider = HomeitProvider(AccountSession(account_id=1, credentials={"api_key": API_KEY}), http=http)
    return AdapterUnderTest(provider, lock_id="530001", offline_lock_id="530005", missing_lock_id="530009")
