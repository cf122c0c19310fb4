"""Virtual igloohome cloud (auth server + iglooaccess developer API), answering as igloohome's sources
(docs/vendors.md) document: an OAuth client-credentials token (HTTP Basic, scopes), Bearer calls, `/devices` in
cursor pages, hourly and daily algoPINs -> {pin, pinId}, plain HTTP statuses for errors (400 format,
401 token, 403 scope, 404 device, 409 taken variance, 422 range). It is mounted at /igloohome/:

    IGLOOHOME_AUTH_URL = <sandbox>/igloohome/auth   ->  POST auth/oauth2/token
    IGLOOHOME_API_URL  = <sandbox>/igloohome/api    ->  GET  api/devices[?cursor=...]
                                                        GET  api/devices/<deviceId>
                                                        POST api/devices/<deviceId>/algopin/hourly|daily

As the real cloud, there is no endpoint to list, change or delete algoPINs: each one is stored as a
VirtualCode with revocable=False and stays on the virtual lock until its end.

How the sandbox's lock kinds look to igloohome (the API reports no passcode versions, keypads
built into locks, nor a live status; algoPINs are computed offline, for every lock model):
- eligible: a Lock served by a Bridge (each lists the other in linkedDevices).
- no_gateway: a Lock no Bridge serves; it still takes algoPINs (connectivity unknown).
- old_passcodes: igloohome has no passcode versions: an ordinary Lock.
- no_keypad: a Lock without a keypad of its own and a Keypad device linked to it; algoPINs are
  issued against the Lock (a Keypad's or a Bridge's deviceId answers 400).
- offline: an offline lock (or account) is left out of its Bridge's linkedDevices, and still takes
  algoPINs: the offline switch never blocks them. Other fault switches apply to device calls.
- not_admin: not among this API client's devices: absent from the list, 404 on its deviceId.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from functools import wraps

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.urls import path, re_path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox import faults
from sandbox.models import Vendor, VirtualAccount, VirtualCode, VirtualLock, VirtualToken

# The scopes igloohome's developer API knows [IG]; a client may ask for any subset.
KNOWN_SCOPES = (
    "igloohomeapi/get-devices",
    "igloohomeapi/algopin-hourly",
    "igloohomeapi/algopin-daily",
    "igloohomeapi/algopin-permanent",
    "igloohomeapi/algopin-onetime",
    "igloohomeapi/create-pin-bridge-proxied-job",
    "igloohomeapi/delete-pin-bridge-proxied-job",
    "igloohomeapi/lock-bridge-proxied-job",
    "igloohomeapi/unlock-bridge-proxied-job",
    "igloohomeapi/get-job-status",
    "igloohomeapi/get-properties",
)
SCOPE_DEVICES = "igloohomeapi/get-devices"
DEVICE_PAGE_SIZE = 3  # small, so that every device list takes several cursor pages
LOCKS_PER_BRIDGE = 5  # "Each igloohome Bridge supports up to five compatible igloohome locks" [I-SEAM]
HOURLY_HOURS = (1, 672)
DAILY_DAYS = (29, 367)
VARIANCES = (1, 2, 3)
ACCESS_NAME_MAX = 100  # the VirtualCode's name; igloohome's own limit is not documented
WIRE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:00:00[+-]\d{2}:\d{2}$")
PAIRED_AT = "2025-11-02T09:14:05.000Z"


def _message(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"message": message, **extra}, status=status)


def _range_error(message: str) -> JsonResponse:
    return _message(422, message, code="422")  # e.g. {"code": "422", "message": "Exceeded the limit of 367 days"} [I-INLET]


def _methods(*allowed: str):
    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in allowed:
                response = _message(405, "Method Not Allowed")
                response["Allow"] = ", ".join(allowed)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


# --- auth server: POST auth/oauth2/token ------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _oauth_error(status: int, error: str) -> JsonResponse:
    response = JsonResponse({"error": error}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="igloohome"'
    return response


def _basic_client(request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        client_id, sep, client_secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (client_id, client_secret) if sep else None


def _jwt(granted: list[str], expires_at: datetime) -> str:
    """A JWT-looking access token carrying its scopes (as a bit mask, to fit the token column)."""
    mask = sum(1 << KNOWN_SCOPES.index(scope) for scope in set(granted))
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"jti": secrets.token_hex(8), "scp": mask, "exp": int(expires_at.timestamp())}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = _b64(hmac.new(settings.SECRET_KEY.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


def _token_scopes(token: str) -> set[str]:
    try:
        mask = int(json.loads(_unb64(token.split(".")[1]))["scp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return set()
    return {scope for bit, scope in enumerate(KNOWN_SCOPES) if mask & (1 << bit)}


@_methods("POST")
def oauth_token(request):
    """Client-credentials grant: HTTP Basic client_id:client_secret, form grant_type and scope [IG]."""
    client = _basic_client(request)
    account = None
    if client:
        account = VirtualAccount.objects.filter(vendor=Vendor.IGLOOHOME, login=client[0]).first()
    if account is None or not hmac.compare_digest(account.password.encode(), client[1].encode()):
        return _oauth_error(401, "invalid_client")
    if request.POST.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type")
    requested = request.POST.get("scope", "").split()
    if any(scope not in KNOWN_SCOPES for scope in requested):
        return _oauth_error(400, "invalid_scope")
    granted = requested or list(KNOWN_SCOPES)  # no scope asked: every scope the client is allowed
    lifetime = settings.SANDBOX_TOKEN_LIFETIME_SECONDS
    expires_at = timezone.now() + timedelta(seconds=lifetime)
    token = VirtualToken.objects.create(
        account=account,
        access_token=_jwt(granted, expires_at),
        refresh_token=f"igloo-unused-{secrets.token_hex(16)}",  # client credentials have no refresh token
        expires_at=expires_at,
    )
    return JsonResponse({"access_token": token.access_token, "expires_in": lifetime, "token_type": "Bearer"})


# --- the developer API --------------------------------------------------------------------------------

def _api(scope_of):
    """Bearer token required (401 otherwise), and the scope the call needs (403 otherwise)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            found = None
            if scheme.lower() == "bearer" and token:
                found = VirtualToken.objects.filter(
                    access_token=token.strip(), revoked=False, expires_at__gt=timezone.now(),
                    account__vendor=Vendor.IGLOOHOME,
                ).select_related("account").first()
            if found is None:
                return _message(401, "Unauthorized")
            scope = scope_of(**kwargs)
            if scope and scope not in _token_scopes(found.access_token):
                return _message(403, "User is not authorized to access this resource")
            return view(request, found.account, *args, **kwargs)

        return wrapper

    return decorate


def _device(kind: str, device_id: str, name: str, account: VirtualAccount, links: list[tuple[str, str]], **extra) -> dict:
    return {
        "id": hashlib.sha256(f"{account.pk}|{device_id}".encode()).hexdigest()[:24],
        "type": kind,
        "deviceId": device_id,
        "deviceName": name,
        "pairedAt": PAIRED_AT,
        "homeId": [f"home-{account.pk}"],
        "linkedDevices": [{"type": link_kind, "deviceId": link_id} for link_kind, link_id in links],
        **extra,
    }


def _keypad_id(lock: VirtualLock) -> str:
    lock_id = lock.vendor_lock_id
    return f"IGK{lock_id[3:]}" if lock_id.startswith("IGP") else f"IGK-{lock_id}"


def _devices(account: VirtualAccount) -> list[tuple[dict, VirtualLock | None]]:
    """The account's devices as igloohome lists them, each with the virtual lock it stands for."""
    locks = list(account.locks.filter(is_admin=True).order_by("id"))
    served = [lock for lock in locks if lock.has_gateway]
    bridges = {}  # bridge id -> the locks it reaches now
    lock_bridge = {}
    for index in range(0, len(served), LOCKS_PER_BRIDGE):
        bridge_id = f"IGB{account.pk:03d}{index // LOCKS_PER_BRIDGE + 1}"
        reachable = [lock for lock in served[index : index + LOCKS_PER_BRIDGE] if not (lock.offline or account.offline)]
        bridges[bridge_id] = reachable
        lock_bridge.update({lock.pk: bridge_id for lock in reachable})
    # Every device carries lastSync (a required datetime in IG 0.1.2's GetDeviceInfoResponse; batteryLevel
    # is Optional there): a device a live bridge reaches synced just now, the others when last paired.
    now = timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    devices = []
    for lock in locks:
        synced = now if lock.pk in lock_bridge else PAIRED_AT
        links = [("Bridge", lock_bridge[lock.pk])] if lock.pk in lock_bridge else []
        links += [] if lock.has_keypad else [("Keypad", _keypad_id(lock))]
        devices.append((
            _device("Lock", lock.vendor_lock_id, lock.name, account, links, batteryLevel=87, lastSync=synced),
            lock,
        ))
        if not lock.has_keypad:  # a lock without a keypad takes PINs through a paired igloohome Keypad
            devices.append((
                _device("Keypad", _keypad_id(lock), f"Keypad ({lock.name})", account, [("Lock", lock.vendor_lock_id)],
                        batteryLevel=92, lastSync=synced),
                None,
            ))
    for bridge_id, reachable in bridges.items():
        devices.append((
            _device("Bridge", bridge_id, f"Bridge {bridge_id}", account, [("Lock", lock.vendor_lock_id) for lock in reachable],
                    lastSync=PAIRED_AT if account.offline else now),
            None,
        ))
    return devices


def _encode_cursor(offset: int) -> str:
    return _b64(f"devices:{offset}".encode())


def _decode_cursor(cursor: str) -> int | None:
    try:
        prefix, _, offset = _unb64(cursor).decode().partition(":")
        return int(offset) if prefix == "devices" and int(offset) >= 0 else None
    except (ValueError, UnicodeDecodeError):
        return None


@_methods("GET")
@_api(lambda **kwargs: SCOPE_DEVICES)
def device_list(request, account):
    verdict = faults.judge(account)  # the list comes from the cloud: an offline lock does not matter
    if verdict.response:
        return verdict.response
    offset = 0
    if request.GET.get("cursor"):
        offset = _decode_cursor(request.GET["cursor"])
        if offset is None:
            return _message(400, "'cursor' is not valid")
    devices = [device for device, _ in _devices(account)]
    answer = {"payload": devices[offset : offset + DEVICE_PAGE_SIZE]}
    if offset + DEVICE_PAGE_SIZE < len(devices):  # the last page carries no nextCursor at all, not a null one
        answer["nextCursor"] = _encode_cursor(offset + DEVICE_PAGE_SIZE)
    return JsonResponse(answer)


@_methods("GET")
@_api(lambda **kwargs: SCOPE_DEVICES)
def device_detail(request, account, device_id: str):
    found = next(((device, lock) for device, lock in _devices(account) if device["deviceId"] == device_id), None)
    if found is None:
        return _message(404, "Device not found")
    verdict = faults.judge(account, found[1])
    if verdict.response:
        return verdict.response
    return JsonResponse(found[0])


def _parse_wire_date(value) -> datetime | None:
    """`YYYY-MM-DDTHH:00:00±hh:mm`: on the hour, local wall time with an explicit offset [I-C2]."""
    if not isinstance(value, str) or not WIRE_DATE.match(value):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if abs(moment.utcoffset()) <= timedelta(hours=14) else None


def _algopin_value(lock: VirtualLock, kind: str, slot: str, variance: int) -> str:
    """Like igloohome's, computed from the lock's secret, the slot and the variance: the same slot
    and variance always give the same PIN, which is why a variance can be used only once."""
    seed = f"{lock.account_id}|{lock.vendor_lock_id}|{kind}|{slot}|{variance}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), seed, hashlib.sha256).hexdigest()
    return str(100_000_000 + int(digest, 16) % 900_000_000)  # 9 digits, as RemoteLOCK saw [I-RL]


def _window_problem(kind: str, start: datetime, end: datetime) -> JsonResponse | None:
    if kind == "hourly":
        span = end - start
        hours = span / timedelta(hours=1)
        if span % timedelta(hours=1):
            return _range_error("Hourly algoPINs last whole hours")
        if not HOURLY_HOURS[0] <= hours <= HOURLY_HOURS[1]:
            return _range_error(f"Hourly algoPINs last {HOURLY_HOURS[0]} to {HOURLY_HOURS[1]} hours")
        return None
    if start.time() != end.time():
        return _range_error("Start time and end time must match")
    days = (end.date() - start.date()).days
    if days < DAILY_DAYS[0]:
        return _range_error(f"Daily algoPINs last at least {DAILY_DAYS[0]} days")
    if days > DAILY_DAYS[1]:
        return _range_error(f"Exceeded the limit of {DAILY_DAYS[1]} days")
    return None


def _lose_while_offline(account: VirtualAccount, lock: VirtualLock) -> bool:
    """judge() answers "offline" before it looks at the one-shot lost-answer switch; an algoPIN is
    issued offline all the same, so that switch still applies to it."""
    holders = ((VirtualAccount, account), (VirtualLock, lock))
    with transaction.atomic():
        return any(faults._take(model, holder.pk, "lose_responses") for model, holder in holders)


@_methods("POST")
@_api(lambda kind, **kwargs: f"igloohomeapi/algopin-{kind}")
def algopin(request, account, device_id: str, kind: str):
    devices = _devices(account)
    found = next(((device, lock) for device, lock in devices if device["deviceId"] == device_id), None)
    if found is None:
        return _message(404, "Device not found")
    device, lock = found
    if lock is None:
        return _message(400, f"algoPINs are issued for locks, not for a {device['type']}")
    verdict = faults.judge(account, lock, write=True)
    if verdict.response:
        return verdict.response
    # An algoPIN is computed offline: an offline lock or bridge does not stop it.
    lose = verdict.lose_response or (verdict.offline and _lose_while_offline(account, lock))
    response = _issue(request, lock, kind)
    return faults.broken(response) if lose else response


def _issue(request, lock: VirtualLock, kind: str) -> JsonResponse:
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        return _message(400, "Request body must be JSON")
    if not isinstance(body, dict):
        return _message(400, "Request body must be a JSON object")
    dates = {}
    for field in ("startDate", "endDate"):
        dates[field] = _parse_wire_date(body.get(field))
        if dates[field] is None:
            return _message(400, f"'{field}' must be in format YYYY-MM-DDTHH:00:00+hh:mm")
    variance = body.get("variance")
    if isinstance(variance, bool) or variance not in VARIANCES:
        return _message(400, "'variance' must be 1, 2 or 3")
    name = body.get("accessName")
    if not isinstance(name, str) or not name.strip():
        return _message(400, "'accessName' is required")
    if len(name) > ACCESS_NAME_MAX:
        return _message(400, f"'accessName' must be at most {ACCESS_NAME_MAX} characters")
    start, end = dates["startDate"], dates["endDate"]
    problem = _window_problem(kind, start, end)
    if problem:
        return problem
    # At most 3 PINs per slot: the start hour (hourly) or the start day (daily), one per variance.
    slot = start.astimezone(UTC).isoformat() if kind == "hourly" else start.date().isoformat()
    pin = _algopin_value(lock, kind, slot, variance)
    with transaction.atomic():
        VirtualLock.objects.select_for_update().filter(pk=lock.pk).first()  # one issuer per lock at a time
        if lock.codes.filter(pin=pin).exists():
            return _message(409, "This variance has already been used for this time slot")
        code = VirtualCode.objects.create(
            lock=lock, name=name, pin=pin, revocable=False,
            starts_at=start.astimezone(UTC), ends_at=end.astimezone(UTC),
        )
        code.vendor_code_id = f"algopin-{kind[0]}{variance}-{code.pk:06d}"
        code.save(update_fields=["vendor_code_id"])
    return JsonResponse({"pin": pin, "pinId": code.vendor_code_id})


urlpatterns = [
    path("auth/oauth2/token", oauth_token),
    path("api/devices", device_list),
    path("api/devices/<str:device_id>", device_detail),
    # Only the two kinds Nowistay issues; one-time and permanent algoPINs are not simulated.
    re_path(r"^api/devices/(?P<device_id>[^/]+)/algopin/(?P<kind>hourly|daily)$", algopin),
]
