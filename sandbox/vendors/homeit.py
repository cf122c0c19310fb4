"""Virtual homeit cloud: the Core API v2 (properties and keys) and the one Auth API v2 resource a
connect flow reads (the organization), in the shapes of docs/homeit-research.md. It is mounted at
/homeit/:

    HOMEIT_API_URL  = <sandbox>/homeit/api/v2   ->  GET  properties[?page=&limit=]
                                                     GET  properties/<id>
                                                     GET  keys[?property=&name=&page=&limit=]
                                                     POST keys
                                                     GET|PUT|DELETE keys/<id>
    HOMEIT_AUTH_URL = <sandbox>/homeit/auth/v2  ->  GET  organizations
    a key's invitation link                      ->  <sandbox>/homeit/k/<token>/ (the guest's page)

What is homeit's own, and what is this sandbox's reading (docs/homeit-research.md says which is which):
- Verified [H-CORE]: every answer is `application/json+hal` (errors too); bodies are JSON; every
  list is paginated; errors are plain HTTP statuses; resources follow GET/POST /{resource} and
  GET/PUT/DELETE /{resource}/{id}; a key is renamed with PUT /keys/<id>; calls without credentials
  fail. Keys are per guest and stay, carry an invitation link and, where the property has a keypad,
  a unique keypad code; they are deleted after their end [H-FAQ, H-WEB].
- The sandbox's reading (UNVERIFIED): the API key travels in the `X-API-Key` header (API_KEY_HEADER);
  lists are HAL pages `{"_embedded": {"<resource>": [...]}, "_links": {"self", "next"?, "prev"?},
  "total"}` with `page` (from 1) and `limit` (1-100, default 3 here so every list takes pages; the
  last page has no `next` link); a key is {id, name, type, property, start, end, code, link}, times
  in ISO 8601 (an explicit offset is required, answers are UTC with "Z"); homeit generates the
  code (a `code` in a request is refused as an unknown field); PUT changes name, start and end and
  keeps the code; error bodies are {"status", "message"}.

Credentials: the account's `password` field is its API key (the demo account:
sandbox-homeit-api-key, sandbox/seed.py). No OAuth 2 client is simulated.

How the sandbox's lock kinds look to homeit (a VirtualLock stands for one homeit property with one
door; its vendor_lock_id is the property id):
- eligible: a homeit BOX online, a keypad: keys carry a code and a link.
- no_gateway, old_passcodes: homeit has neither notion (the BOX is its only gateway, and keypad
  codes have no versions): ordinary properties.
- no_keypad: no keypad: keys carry only their link (`code` null); not eligible for Nowistay.
- offline (or the offline switch on the lock or the account): the BOX is unreachable, so the
  property lists `"online": false` and its doors do not open (only the SOS key stored in the BOX
  works then [H-FAQ]); keys live in homeit's cloud, so they are still created, changed and deleted.
- not_admin: not shared with this API key: absent from the list, 404 on its id and on its keys.

Faults (sandbox.faults.judge): 5xx, 429 with Retry-After, timeouts and latency on every call; lost
answers (one-shot or loss_rate) on writes: the key is created, changed or deleted, then the answer
is held past the client's timeout.
"""

import hmac
import json
import secrets
from datetime import UTC, datetime
from functools import wraps
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.core import signing
from django.db import transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox import faults
from sandbox.models import GUEST_LINK_SALT, Vendor, VirtualAccount, VirtualCode, VirtualLock
from sandbox.views import local_time

HAL = "application/json+hal"  # sic: homeit's spelling, not the registered application/hal+json [H-CORE]
API_KEY_HEADER = "X-API-Key"  # UNVERIFIED: the docs name an API key, not its header
DEFAULT_LIMIT, MAX_LIMIT = 3, 100
KEY_NAME_MAX = 100  # the VirtualCode's name; homeit's own limit is not documented
CODE_DIGITS = 6  # UNVERIFIED: homeit's code length is not documented
FIRST_KEY_ID = 900000  # key ids are JSON numbers, like the docs' example key 123456
CREATE_FIELDS, REQUIRED_FIELDS = {"name", "type", "property", "start", "end"}, {"name", "property", "start", "end"}
UPDATE_FIELDS = {"name", "start", "end"}


# --- answers --------------------------------------------------------------------------------------------

def _hal(body: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status, content_type=HAL)


def _error(status: int, message: str) -> JsonResponse:
    return _hal({"status": status, "message": message}, status=status)


def _as_hal(response: HttpResponse) -> HttpResponse:
    """A fault's answer in homeit's content type ("will always be application/json+hal")."""
    response["Content-Type"] = HAL
    return response


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value) -> datetime | None:
    """ISO 8601 with an explicit offset ("Z" or ±hh:mm); None for anything else, naive times included."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _methods(*allowed: str):
    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in allowed:
                response = _error(405, "Method Not Allowed")
                response["Allow"] = ", ".join(allowed)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def _api(view):
    """The API key (401 without a valid one); the view gets the account it belongs to."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        given = request.headers.get(API_KEY_HEADER, "")
        account = VirtualAccount.objects.filter(vendor=Vendor.HOMEIT, password=given).first() if given else None
        if account is None or not hmac.compare_digest(account.password.encode(), given.encode()):
            return _error(401, "Unauthorized")
        return view(request, account, *args, **kwargs)

    return wrapper


# --- pages of a list (HAL) ----------------------------------------------------------------------------------

def _paging(request) -> tuple[int, int] | JsonResponse:
    try:
        page = int(request.GET.get("page", 1))
        limit = int(request.GET.get("limit", DEFAULT_LIMIT))
    except ValueError:
        return _error(400, "'page' and 'limit' must be integers")
    if page < 1 or not 1 <= limit <= MAX_LIMIT:
        return _error(400, f"'page' starts at 1 and 'limit' is 1 to {MAX_LIMIT}")
    return page, limit


def _href(request, route: str, **params) -> str:
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return request.build_absolute_uri(reverse(route) + (f"?{query}" if query else ""))


def _page(request, route: str, resource: str, items: list[dict], page: int, limit: int, **filters) -> JsonResponse:
    links = {"self": {"href": _href(request, route, **filters, page=page, limit=limit)}}
    if page * limit < len(items):  # the last page has no `next` link at all
        links["next"] = {"href": _href(request, route, **filters, page=page + 1, limit=limit)}
    if page > 1:
        links["prev"] = {"href": _href(request, route, **filters, page=page - 1, limit=limit)}
    window = items[(page - 1) * limit : page * limit]
    return _hal({"_links": links, "_embedded": {resource: window}, "total": len(items)})


# --- Auth API: the organization the API key belongs to ------------------------------------------------------

@_methods("GET")
@_api
def organizations(request, account):
    verdict = faults.judge(account)
    if verdict.response:
        return _as_hal(verdict.response)
    paging = _paging(request)
    if isinstance(paging, JsonResponse):
        return paging
    organization = {"id": account.pk, "name": account.display_name}
    return _page(request, "homeit_organizations", "organizations", [organization], *paging)


# --- properties ------------------------------------------------------------------------------------------

def _visible_locks(account: VirtualAccount):
    return account.locks.filter(is_admin=True).order_by("id")


def _property_lock(account: VirtualAccount, property_id) -> VirtualLock | None:
    """The virtual lock standing for a property this API key may see (not_admin ones are not)."""
    if not str(property_id).isdigit():
        return None
    return _visible_locks(account).filter(vendor_lock_id=str(property_id)).select_related("account").first()


def _online(lock: VirtualLock) -> bool:
    return not (lock.offline or lock.account.offline)


def _property(request, lock: VirtualLock) -> dict:
    property_id = int(lock.vendor_lock_id)
    return {
        "id": property_id,
        "name": lock.name,
        "timezone": lock.time_zone,
        "online": _online(lock),
        "keypad": lock.has_keypad,
        "doors": [{"id": property_id * 10 + 1, "name": lock.name}],
        "_links": {
            "self": {"href": request.build_absolute_uri(reverse("homeit_property", args=[property_id]))},
            "keys": {"href": _href(request, "homeit_keys", property=property_id)},
        },
    }


@_methods("GET")
@_api
def property_list(request, account):
    verdict = faults.judge(account)  # the list comes from the cloud: an offline BOX does not matter
    if verdict.response:
        return _as_hal(verdict.response)
    paging = _paging(request)
    if isinstance(paging, JsonResponse):
        return paging
    items = [_property(request, lock) for lock in _visible_locks(account).select_related("account")]
    return _page(request, "homeit_properties", "properties", items, *paging)


@_methods("GET")
@_api
def property_detail(request, account, property_id: int):
    lock = _property_lock(account, property_id)
    if lock is None:
        return _error(404, "Property not found")
    verdict = faults.judge(account, lock)
    if verdict.response:
        return _as_hal(verdict.response)
    return _hal(_property(request, lock))


# --- keys ------------------------------------------------------------------------------------------------

def _guest_link(request, code: VirtualCode) -> str:
    return request.build_absolute_uri(reverse("homeit_key_page", args=[code.guest_token]))


def _key(request, code: VirtualCode) -> dict:
    key_id, property_id = int(code.vendor_code_id), int(code.lock.vendor_lock_id)
    return {
        "id": key_id,
        "name": code.name,
        "type": "temporary",
        "property": property_id,
        "start": _time(code.starts_at),
        "end": _time(code.ends_at),
        "code": code.pin or None,  # null where the property has no keypad: the link is the whole key
        "link": _guest_link(request, code),
        "_links": {
            "self": {"href": request.build_absolute_uri(reverse("homeit_key", args=[key_id]))},
            "property": {"href": request.build_absolute_uri(reverse("homeit_property", args=[property_id]))},
        },
    }


def _forget_ended_keys(account: VirtualAccount) -> None:
    """homeit deletes a key for good once its stay is over [H-FAQ]; the sandbox does it at its end."""
    VirtualCode.objects.filter(lock__account=account, ends_at__lte=timezone.now()).delete()


def _account_key(account: VirtualAccount, key_id: int) -> VirtualCode | None:
    return (
        VirtualCode.objects.filter(lock__account=account, lock__is_admin=True, vendor_code_id=str(key_id))
        .select_related("lock__account")
        .first()
    )


def _json_body(request) -> dict | JsonResponse:
    if request.content_type != "application/json":
        return _error(415, "Request body content type must be application/json")
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        return _error(400, "Request body must be JSON")
    return body if isinstance(body, dict) else _error(400, "Request body must be a JSON object")


def _window_problem(start: datetime | None, end: datetime | None) -> JsonResponse | None:
    for field, moment in (("start", start), ("end", end)):
        if moment is None:
            return _error(400, f"'{field}' must be an ISO 8601 date-time with a UTC offset, e.g. 2026-06-02T13:00:00Z")
    if end <= start:
        return _error(400, "'end' must be after 'start'")
    if end <= timezone.now():
        return _error(400, "'end' must be in the future")
    return None


def _name_problem(name) -> JsonResponse | None:
    if not isinstance(name, str) or not name.strip():
        return _error(400, "'name' is required")
    if len(name) > KEY_NAME_MAX:
        return _error(400, f"'name' must be at most {KEY_NAME_MAX} characters")
    return None


def _lost_while_offline(account: VirtualAccount, lock: VirtualLock) -> bool:
    """judge() answers "offline" before it looks at the one-shot lost-answer switch; keys live in the
    cloud and are written all the same, so that switch still applies to them."""
    holders = ((VirtualAccount, account), (VirtualLock, lock))
    with transaction.atomic():
        return any(faults._take(model, holder.pk, "lose_responses") for model, holder in holders)


def _write_verdict(account: VirtualAccount, lock: VirtualLock) -> tuple[HttpResponse | None, bool]:
    """(an answer to give instead of acting, whether to lose the answer after acting)."""
    verdict = faults.judge(account, lock, write=True)
    if verdict.response:
        return _as_hal(verdict.response), False
    return None, verdict.lose_response or (verdict.offline and _lost_while_offline(account, lock))


def _new_code(lock: VirtualLock) -> str:
    """Unique among the property's keys ("codes are always unique per guest and stay" [H-FAQ])."""
    if not lock.has_keypad:
        return ""
    taken = set(lock.codes.values_list("pin", flat=True))
    while True:
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        if code not in taken:
            return code


@_methods("GET", "POST")
@_api
def keys(request, account):
    _forget_ended_keys(account)
    return _create_key(request, account) if request.method == "POST" else _list_keys(request, account)


def _list_keys(request, account):
    unknown = set(request.GET) - {"property", "name", "page", "limit"}
    if unknown:
        return _error(400, f"Unknown query parameter(s): {sorted(unknown)}")
    lock = None
    if "property" in request.GET:
        lock = _property_lock(account, request.GET["property"])
        if lock is None:
            return _error(404, "Property not found")
    verdict = faults.judge(account, lock)
    if verdict.response:
        return _as_hal(verdict.response)
    paging = _paging(request)
    if isinstance(paging, JsonResponse):
        return paging
    codes = VirtualCode.objects.filter(lock__account=account, lock__is_admin=True)
    codes = codes.select_related("lock__account").order_by("id")
    if lock is not None:
        codes = codes.filter(lock=lock)
    if "name" in request.GET:
        codes = codes.filter(name=request.GET["name"])
    items = [_key(request, code) for code in codes]
    filters = {"property": request.GET.get("property"), "name": request.GET.get("name")}
    return _page(request, "homeit_keys", "keys", items, *paging, **filters)


def _create_key(request, account):
    body = _json_body(request)
    if isinstance(body, JsonResponse):
        return body
    unknown, missing = set(body) - CREATE_FIELDS, REQUIRED_FIELDS - set(body)
    if unknown:
        return _error(400, f"Unknown field(s): {sorted(unknown)}")
    if missing:
        return _error(400, f"Missing field(s): {sorted(missing)}")
    if body.get("type", "temporary") != "temporary":
        return _error(400, "Sandbox: only temporary keys are simulated")
    problem = _name_problem(body["name"])
    start, end = _parse_time(body["start"]), _parse_time(body["end"])
    problem = problem or _window_problem(start, end)
    if problem:
        return problem
    if isinstance(body["property"], bool) or not isinstance(body["property"], int):
        return _error(400, "'property' must be a property id (a number)")
    lock = _property_lock(account, body["property"])
    if lock is None:
        return _error(404, "Property not found")
    instead, lose = _write_verdict(account, lock)
    if instead:
        return instead
    with transaction.atomic():
        VirtualLock.objects.select_for_update().filter(pk=lock.pk).first()  # one writer per property: codes stay unique
        code = VirtualCode.objects.create(
            lock=lock, name=body["name"], pin=_new_code(lock), starts_at=start, ends_at=end
        )
        code.vendor_code_id = str(FIRST_KEY_ID + code.pk)
        code.save(update_fields=["vendor_code_id"])
    response = _hal(_key(request, code), status=201)
    return faults.broken(response) if lose else response


@_methods("GET", "PUT", "DELETE")
@_api
def key(request, account, key_id: int):
    _forget_ended_keys(account)
    code = _account_key(account, key_id)
    if code is None:
        return _error(404, "Key not found")
    if request.method == "GET":
        verdict = faults.judge(account, code.lock)
        return _as_hal(verdict.response) if verdict.response else _hal(_key(request, code))
    if request.method == "PUT":
        return _update_key(request, account, code)
    instead, lose = _write_verdict(account, code.lock)
    if instead:
        return instead
    code.delete()
    response = HttpResponse(status=204)
    return faults.broken(response) if lose else response


def _update_key(request, account, code: VirtualCode):
    body = _json_body(request)
    if isinstance(body, JsonResponse):
        return body
    if {"property", "type"} & set(body):
        return _error(400, "A key's property and type cannot be changed")
    unknown = set(body) - UPDATE_FIELDS
    if unknown:
        return _error(400, f"Unknown field(s): {sorted(unknown)}")
    name = body.get("name", code.name)
    start = _parse_time(body["start"]) if "start" in body else code.starts_at
    end = _parse_time(body["end"]) if "end" in body else code.ends_at
    problem = _name_problem(name) or _window_problem(start, end)
    if problem:
        return problem
    instead, lose = _write_verdict(account, code.lock)
    if instead:
        return instead
    code.name, code.starts_at, code.ends_at = name, start, end  # the code itself stays (UNVERIFIED)
    code.save(update_fields=["name", "starts_at", "ends_at"])
    response = _hal(_key(request, code))
    return faults.broken(response) if lose else response


# --- the guest's page behind a key's invitation link --------------------------------------------------------

def key_page(request, token: str):
    """What the guest sees on opening the link: the property's doors and, when it has a keypad,
    the key's code [H-WEB]. The sandbox keeps no entry log: opening is judged, not recorded."""
    try:
        code_pk = int(signing.Signer(salt=GUEST_LINK_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        raise Http404("No such key") from None
    code = VirtualCode.objects.filter(pk=code_pk, lock__account__vendor=Vendor.HOMEIT)
    code = code.select_related("lock__account").first()
    if code is None:
        raise Http404("This key no longer exists")
    zone = ZoneInfo(code.lock.time_zone)
    context = {
        "code": code, "lock": code.lock, "verdict": _door_verdict(code) if request.method == "POST" else "",
        "starts": local_time(code.starts_at, zone), "ends": local_time(code.ends_at, zone),
    }
    return render(request, "sandbox/homeit_key.html", context)


def _door_verdict(code: VirtualCode) -> str:
    lock, now = code.lock, timezone.now()
    if not code.opens_at(now):
        return f"Not now: this key opens {lock.name} only within its validity."
    if not _online(lock):
        return f"Not now: the homeit BOX of {lock.name} is offline; only its SOS key works, on the keypad."
    return f"Opened: {lock.name}."


urlpatterns = [
    path("api/v2/properties", property_list, name="homeit_properties"),
    path("api/v2/properties/<int:property_id>", property_detail, name="homeit_property"),
    path("api/v2/keys", keys, name="homeit_keys"),
    path("api/v2/keys/<int:key_id>", key, name="homeit_key"),
    path("auth/v2/organizations", organizations, name="homeit_organizations"),
    path("k/<str:token>/", key_page, name="homeit_key_page"),
]
