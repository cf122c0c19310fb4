"""Virtual Nuki Web cloud (api.nuki.io), answering as the Nuki sources of docs/vendors.md and the
adapter's module docstring (locks.providers.nuki) document: JSON bodies, Bearer tokens, dates in UTC
("YYYY-MM-DDTHH:MM:SS.000Z"), plain HTTP statuses with a `detailMessage` for failures.

Credentials
-----------
- The account's `password` field is, in the sandbox, BOTH its Nuki Web API token (a Bearer token
  that never expires) AND the password of the OAuth sign-in page (real Nuki keeps these apart; one
  secret keeps the demo simple). The demo account: demo-host@nowistay.example /
  sandbox-nuki-api-token (sandbox/seed.py).
- The sandbox knows one OAuth client: SANDBOX_CLIENT_ID / SANDBOX_CLIENT_SECRET (what the Makefile
  and the tests give the product as NUKI_CLIENT_ID / NUKI_CLIENT_SECRET). Any absolute http(s)
  redirect_uri is accepted (real Nuki only takes the callback URLs registered for the client).
- Authorization codes are stateless: signed (django.core.signing) with the account, client,
  redirect_uri and scope, valid CODE_LIFETIME_SECONDS. They are single use because the first
  refresh token issued for a code is derived from the code's nonce (HMAC with the sandbox's secret
  key) and refresh tokens are unique: a replayed code collides and answers invalid_grant.
- Refresh tokens rotate: a used one is marked `revoked` and refused afterwards; the access token
  issued with it stays valid until it expires. Scopes are echoed, not enforced.

Locks (VirtualLock.kind -> what Nuki Web shows)
-----------------------------------------------
eligible: Keypad 2 paired (`keypad2Paired`), `serverState` 0. old_passcodes: the first-generation
Keypad (`keypadPaired`). no_keypad: neither. offline (or the `offline` fault on the lock or the
account): `serverState` 4. no_gateway: no bridge, so Nuki Web cannot reach it: `serverState` 4
as well. not_admin: not listed; direct calls answer 403. no_subscription: its Smart Hosting
subscription has ended (`currentSubscription.state` EXPIRED, out of its grace period) and its
authorizations' calls (list, create, update, delete) answer Nuki's documented refusal, `{"error":
"No active Smart Hosting subscription for the Smart Lock, please get one!"}` [N-SHS], with 403 (a
sandbox choice: Nuki does not document the status); the lock itself still reads, as Nuki's guide
reads the state with it. Every other lock reports an ACTIVE subscription. Ids are JSON numbers
above 32 bits.

Reading back
------------
`GET smartlock/{id}/log?fromDate=&toDate=&id=&limit=` answers the keypad's log (sandbox/keypad.py),
newest first, at most `limit` (1-50, default 20) entries older than the entry `id`: an opening is
`action` 1 (unlock), `trigger` 255 (keypad), `state` 0, `source` 1 (keypad code) with the auth's
string `id` as `authId` (what the adapter assumes, UNVERIFIED) and its `name`; a refused PIN is
`trigger` 253 (keypad error), `state` 224 (invalid code) without an auth [N-SW smartlockLogSchema].
The lock's `state.batteryCharge` is its battery switch, `batteryCritical` true under
CRITICAL_BATTERY_PERCENT (a sandbox choice: Nuki does not publish the threshold). The sandbox
grants `smartlock.log` with the other scopes and, as for them, does not enforce it.

Authorizations (keypad codes, type 13)
--------------------------------------
A code the lock holds is a VirtualCode (what the door pages and /_control show); its `id` is a
24-hex string, `authId` the row's number. PUT/POST/DELETE answer 204 with no body and are applied
at once, except under faults:
- 5xx / 429 / timeouts / failure_rate (sandbox.faults.judge): nothing is done.
- lose_responses / loss_rate: the change is applied, then its answer is lost (sandbox.faults.broken:
  held past the client's timeout, which VendorHttp reports as OutcomeUnknown).
- slow_rate: the change is applied after a wait of up to slow_seconds, then answered.
- apply_delay_seconds (the bridge applying asynchronously): a create, a window change or a delete is
  answered 204 at once but reaches the lock, and the listing, only that many seconds later (name and
  PIN changes at once).
- the lock unreachable when the write arrives (offline switch, or no bridge): Nuki Web accepts it
  (204, "queued") but the bridge cannot apply it: the authorization is listed with an `error` and
  the lock is unchanged (a create is not on the lock; an update keeps the old window; a delete
  leaves the code). A failed create is removed at once by a DELETE.
  These failed states are Nuki Web's own records, not the lock's, and live in this process's
  memory (`_BRIDGE_FAILURES`): a sandbox restart forgets them, as if Nuki Web had cleaned them up.
Checks answered at once: unknown or missing fields and bad values 400; PIN rules (6 digits 1-9,
not starting with "12") 400 "... parameter 'code' is not valid"; a PIN the lock already has 409
"'code' exists already"; no keypad 400 "... '13' for parameter 'type' is not valid"; the lock full
(VirtualLock.capacity) 422. Sandbox limits, answered 400 with a "Sandbox:" message: only whole-day
codes on every weekday (allowedWeekDays 127, allowedFromTime 0, allowedUntilTime 0) and enabled
codes, since the virtual lock keeps a plain validity window. Dates left out of a create or
update are stored as "always" (NO_START / NO_END) and listed without allowedFromDate /
allowedUntilDate, as Nuki does after a partial update [N-UPD].
"""

import base64
import hmac
import json
import re
import secrets
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.template import engines
from django.urls import path
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox import faults
from sandbox.models import Vendor, VirtualAccount, VirtualCode, VirtualCodeUse, VirtualLock, VirtualToken

SANDBOX_CLIENT_ID = "sandbox-client"
SANDBOX_CLIENT_SECRET = "sandbox-secret"
CODE_LIFETIME_SECONDS = 600
CODE_SALT = "sandbox.vendors.nuki.authorization-code"
DEFAULT_SCOPE = "account smartlock.readOnly smartlock.auth smartlock.log"

KEYPAD_CODE = 13
ALL_WEEK_DAYS = 127
SERVER_STATE_OK, SERVER_STATE_OFFLINE = 0, 4
UNLOCK, KEYPAD_TRIGGER, KEYPAD_ERROR_TRIGGER = 1, 255, 253  # log `action`, `trigger` [N-SW]
LOG_SUCCESS, LOG_INVALID_CODE, KEYPAD_CODE_SOURCE = 0, 224, 1  # log `state`, `source` [N-SW]
MAX_LOG_LIMIT, DEFAULT_LOG_LIMIT = 50, 20  # log `limit` [N-SW]
CRITICAL_BATTERY_PERCENT = 20
SMART_LOCK_3_4 = 4  # smartlock `type`: "4 .. Smartlock 3/4"
TIMEZONE_ID = 37  # Nuki's own zone table: Europe/Berlin, the time of the sandbox's Paris locks (the fixture's value)
NAME_MAX_LENGTH = 32  # smartlockAuthSchema: "max 32 chars"
NO_START = datetime(1970, 1, 1, tzinfo=UTC)  # an authorization without allowedFromDate
NO_END = datetime(9999, 12, 31, tzinfo=UTC)  # ... without allowedUntilDate
OFFLINE_ERROR = "Smart Lock is offline"
NO_SUBSCRIPTION_ERROR = "No active Smart Hosting subscription for the Smart Lock, please get one!"  # [N-SHS]
NO_SUBSCRIPTION_STATUS = 403  # not documented by Nuki: the sandbox's choice

DATE_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{3})?)?Z$")
CREATE_FIELDS = {
    "name", "type", "code", "allowedFromDate", "allowedUntilDate", "allowedWeekDays", "allowedFromTime",
    "allowedUntilTime", "remoteAllowed", "accountUserId", "smartActionsEnabled",
}
UPDATE_FIELDS = {
    "name", "allowedFromDate", "allowedUntilDate", "allowedWeekDays", "allowedFromTime", "allowedUntilTime",
    "accountUserId", "enabled", "remoteAllowed", "code",
}


# --- answers ------------------------------------------------------------------------------------------

def _error(status: int, message: str) -> JsonResponse:
    """Nuki's error body (a Java exception rendered as JSON, `detailMessage` carrying the text)."""
    return JsonResponse({"detailMessage": message, "stackTrace": [], "suppressedExceptions": []}, status=status)


def _no_content() -> HttpResponse:
    return HttpResponse(status=204)


def _date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse_date(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _json_body(request) -> dict | None:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


# --- OAuth 2: the sign-in page and the token endpoint ---------------------------------------------------

SIGN_IN_PAGE = engines["django"].from_string(
    """{% extends "sandbox/base.html" %}{% block title %}Sign in to Nuki Web{% endblock %}{% block content %}
<h1>Nuki Web — sign in</h1>
<p>The application <strong>{{ client_id }}</strong> asks to use your Nuki Web account
({% for scope in scopes %}<code>{{ scope }}</code>{% if not forloop.last %}, {% endif %}{% endfor %}).</p>
{% if error %}<p class="no"><strong>{{ error }}</strong></p>{% endif %}
<form method="post" action="{{ action }}">{% csrf_token %}
  <p><label>Email <input type="email" name="email" value="{{ email }}" autocomplete="username" required></label></p>
  <p><label>Password <input type="password" name="password" autocomplete="current-password" required></label></p>
  <button type="submit" name="action" value="sign_in">Sign in and allow</button>
  <button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form>
<p class="muted">Sandbox: sign in with a virtual Nuki account's email and password; the sandbox uses that
password as the account's Nuki Web API token too (the demo account and its secret are listed on the
<a href="{% url 'index' %}">sandbox index</a>).</p>
{% endblock %}"""
)

ERROR_PAGE = engines["django"].from_string(
    """{% extends "sandbox/base.html" %}{% block title %}Nuki Web{% endblock %}{% block content %}
<h1>Nuki Web — this sign-in link is not valid</h1><p class="no">{{ error }}</p>{% endblock %}"""
)


def _with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(key, value) for key, value in params.items() if value is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


@require_http_methods(["GET", "POST"])
def oauth_authorize(request):
    """GET: the sign-in form. POST: sign in (redirect with code and state) or cancel (access_denied)."""
    params = request.GET
    redirect_uri, state = params.get("redirect_uri", ""), params.get("state")
    # Without a known client and a usable redirect_uri nothing may be redirected (RFC 6749 §4.1.2.1).
    if params.get("client_id") != SANDBOX_CLIENT_ID:
        return HttpResponse(ERROR_PAGE.render({"error": "Unknown client_id."}, request), status=400)
    if urlsplit(redirect_uri).scheme not in ("http", "https") or not urlsplit(redirect_uri).netloc:
        return HttpResponse(ERROR_PAGE.render({"error": "Missing or invalid redirect_uri."}, request), status=400)
    if params.get("response_type") != "code":
        return HttpResponseRedirect(_with_query(redirect_uri, {"error": "unsupported_response_type", "state": state}))
    scope = params.get("scope") or DEFAULT_SCOPE
    context = {"client_id": SANDBOX_CLIENT_ID, "scopes": scope.split(), "action": request.get_full_path(), "email": "", "error": ""}
    if request.method == "GET":
        return HttpResponse(SIGN_IN_PAGE.render(context, request))
    if request.POST.get("action") == "cancel":
        return HttpResponseRedirect(_with_query(redirect_uri, {"error": "access_denied", "state": state}))
    email, password = request.POST.get("email", "").strip(), request.POST.get("password", "")
    account = VirtualAccount.objects.filter(vendor=Vendor.NUKI, login__iexact=email).first()
    if account is None or not account.password or not hmac.compare_digest(account.password.encode(), password.encode()):
        context.update(email=email, error="Wrong email or password.")
        return HttpResponse(SIGN_IN_PAGE.render(context, request), status=200)
    code = signing.dumps(
        {"account": account.pk, "client": SANDBOX_CLIENT_ID, "redirect_uri": redirect_uri, "scope": scope, "nonce": secrets.token_hex(16)},
        salt=CODE_SALT,
    )
    return HttpResponseRedirect(_with_query(redirect_uri, {"code": code, "state": state}))


def _token_error(status: int, error: str, description: str) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)


def _client_credentials(request) -> tuple[str, str]:
    """client_secret_post, or HTTP Basic (RFC 6749 §2.3.1)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return client_id, secret
        except ValueError:
            return "", ""
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


def _token_answer(account: VirtualAccount, *, refresh_token: str | None = None, scope: str | None = None) -> JsonResponse:
    lifetime = settings.SANDBOX_TOKEN_LIFETIME_SECONDS
    token = VirtualToken.objects.create(
        account=account,
        access_token=f"nka-{secrets.token_hex(20)}",
        refresh_token=refresh_token or f"nkr-{secrets.token_hex(20)}",
        expires_at=timezone.now() + timedelta(seconds=lifetime),
    )
    answer = {"access_token": token.access_token, "token_type": "bearer", "expires_in": lifetime, "refresh_token": token.refresh_token}
    if scope:
        answer["scope"] = scope
    response = JsonResponse(answer)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_http_methods(["POST"])
def oauth_token(request):
    client_id, client_secret = _client_credentials(request)
    known_id = hmac.compare_digest(client_id.encode(), SANDBOX_CLIENT_ID.encode())
    if not (known_id and hmac.compare_digest(client_secret.encode(), SANDBOX_CLIENT_SECRET.encode())):
        return _token_error(401, "invalid_client", "Client authentication failed.")
    grant_type = request.POST.get("grant_type")
    if grant_type == "authorization_code":
        return _authorization_code_grant(request)
    if grant_type == "refresh_token":
        return _refresh_token_grant(request)
    return _token_error(400, "unsupported_grant_type", "The authorization grant type is not supported.")


def _authorization_code_grant(request):
    invalid = _token_error(400, "invalid_grant", "The provided authorization grant or refresh token is invalid, expired or revoked.")
    try:
        granted = signing.loads(request.POST.get("code", ""), salt=CODE_SALT, max_age=CODE_LIFETIME_SECONDS)
    except signing.BadSignature:  # also SignatureExpired
        return invalid
    if granted.get("client") != SANDBOX_CLIENT_ID or granted.get("redirect_uri") != request.POST.get("redirect_uri"):
        return invalid
    account = VirtualAccount.objects.filter(pk=granted.get("account"), vendor=Vendor.NUKI).first()
    if account is None:
        return invalid
    # Single use: this refresh token is the code's own; a second exchange collides with it.
    first_refresh = "nkr-" + salted_hmac(CODE_SALT, granted["nonce"]).hexdigest()
    try:
        with transaction.atomic():
            return _token_answer(account, refresh_token=first_refresh, scope=granted.get("scope"))
    except IntegrityError:
        return invalid


def _refresh_token_grant(request):
    with transaction.atomic():
        # Rotation: the used refresh token is spent, whatever happens next.
        spent = VirtualToken.objects.filter(
            refresh_token=request.POST.get("refresh_token", ""), revoked=False, account__vendor=Vendor.NUKI
        ).update(revoked=True)
        if not spent:
            return _token_error(400, "invalid_grant", "The provided authorization grant or refresh token is invalid, expired or revoked.")
        account = VirtualToken.objects.get(refresh_token=request.POST["refresh_token"]).account
        return _token_answer(account)


# --- the API: Bearer tokens -------------------------------------------------------------------------------

def _bearer_account(request) -> VirtualAccount | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = header[len("Bearer "):].strip()
    if not token:
        return None
    oauth = (
        VirtualToken.objects.filter(access_token=token, expires_at__gt=timezone.now(), account__vendor=Vendor.NUKI)
        .select_related("account")
        .first()
    )
    if oauth is not None:
        return oauth.account
    # An API token: the sandbox account's password (see the module docstring).
    return VirtualAccount.objects.filter(vendor=Vendor.NUKI, password=token).first()


def _api(view):
    """Bearer authentication (401 in Nuki's shape otherwise); CSRF does not apply to the API."""

    @csrf_exempt
    def wrapper(request, *args, **kwargs):
        account = _bearer_account(request)
        if account is None:
            return _error(401, "Your access token is not authorized")
        return view(request, account, *args, **kwargs)

    return wrapper


def _lock_call(view):
    """A call on one lock: 404 when it is not in the account, 403 when the account may not manage it."""

    @_api
    def wrapper(request, account, smartlock_id, **kwargs):
        lock = account.locks.filter(vendor_lock_id=smartlock_id).select_related("account").first() if smartlock_id.isdigit() else None
        if lock is None:
            return _error(404, "Smartlock not found")
        if not lock.is_admin:
            return _error(403, "You are not allowed to manage this smartlock")
        return view(request, account, lock, **kwargs)

    return wrapper


# --- account and locks --------------------------------------------------------------------------------------

@require_http_methods(["GET"])
@_api
def get_account(request, account):
    verdict = faults.judge(account)
    if verdict.response:
        return verdict.response
    return JsonResponse(
        {
            "accountId": account.pk,
            "type": 0,
            "email": account.login,
            "emailVerified": True,
            "name": account.display_name,
            "language": "en",
            "creationDate": "2024-05-02T10:00:00.000Z",
            "updateDate": "2024-05-02T10:00:00.000Z",
        }
    )


def _reachable(lock: VirtualLock) -> bool:
    return lock.has_gateway and not lock.offline and not lock.account.offline


def _smartlock(lock: VirtualLock) -> dict:
    offset = timezone.now().astimezone(ZoneInfo(lock.time_zone)).utcoffset()
    return {
        "smartlockId": int(lock.vendor_lock_id),
        "accountId": lock.account_id,
        "type": SMART_LOCK_3_4,
        "authId": 1,
        "name": lock.name,
        "favorite": False,
        "config": {
            "name": lock.name,
            "latitude": 48.8566,
            "longitude": 2.3522,
            "timezoneOffset": int(offset.total_seconds() // 60),
            "singleLock": False,
            "advertisingMode": 0,
            # Either keypad generation takes keypad codes; "old_passcodes" is the first Keypad.
            "keypadPaired": lock.has_keypad and lock.kind == "old_passcodes",
            "keypad2Paired": lock.has_keypad and lock.kind != "old_passcodes",
            "timezoneId": TIMEZONE_ID,
        },
        "state": {
            "mode": 2, "state": 1, "trigger": 0, "lastAction": 2, "batteryCritical": lock.battery_percent < CRITICAL_BATTERY_PERCENT,
            "batteryCharge": lock.battery_percent, "keypadBatteryCritical": False, "doorState": 2, "ringToOpenTimer": 0,
            "nightMode": False,
        },
        "firmwareVersion": 197381,
        "hardwareVersion": 1792,
        "serverState": SERVER_STATE_OK if _reachable(lock) else SERVER_STATE_OFFLINE,
        "adminPinState": 0,
        "virtualDevice": False,
        "creationDate": "2024-05-02T10:00:00.000Z",
        "updateDate": "2024-05-02T10:00:00.000Z",
        "currentSubscription": _subscription(lock),
    }


def _without_subscription(lock: VirtualLock) -> bool:
    return lock.kind == "no_subscription"


def _subscription(lock: VirtualLock) -> dict:
    """The lock's Smart Hosting subscription as Nuki reports it [N-SHS, N-SW shsSubscriptionSchema]."""
    now = timezone.now()
    if _without_subscription(lock):  # a year's subscription that ended a month ago
        return {
            "type": "B2C", "state": "EXPIRED", "creationDate": _date(now - timedelta(days=395)),
            "expirationDate": _date(now - timedelta(days=30)), "isInGracePeriod": False,
        }
    return {"type": "B2C", "state": "ACTIVE", "creationDate": _date(now - timedelta(days=30))}


def _refused_for_subscription() -> JsonResponse:
    return JsonResponse({"error": NO_SUBSCRIPTION_ERROR}, status=NO_SUBSCRIPTION_STATUS)


@require_http_methods(["GET"])
@_api
def list_smartlocks(request, account):
    verdict = faults.judge(account)
    if verdict.response:
        return verdict.response
    locks = account.locks.filter(is_admin=True).select_related("account")
    return JsonResponse([_smartlock(lock) for lock in locks], safe=False)


@require_http_methods(["GET"])
@_lock_call
def get_smartlock(request, account, lock):
    verdict = faults.judge(account, lock)
    if verdict.response:
        return verdict.response
    return JsonResponse(_smartlock(lock))


# --- what Nuki Web holds that the lock does not (see the module docstring) ------------------------------------

class _BridgeFailures:
    """Authorizations whose application failed: creates that never reached the lock (listed with
    their error until deleted) and errors on codes the lock holds (until the next change)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.failed_creates: dict[int, dict[str, dict]] = {}  # VirtualLock pk -> auth id -> auth
        self.errors: dict[tuple[int, str], str] = {}  # (VirtualLock pk, auth id) -> error

    def add_failed_create(self, lock: VirtualLock, auth: dict) -> None:
        with self._lock:
            self.failed_creates.setdefault(lock.pk, {})[auth["id"]] = auth

    def failed_on(self, lock: VirtualLock) -> list[dict]:
        with self._lock:
            return [dict(auth) for auth in self.failed_creates.get(lock.pk, {}).values()]

    def pop_failed_create(self, lock: VirtualLock, auth_id: str) -> dict | None:
        with self._lock:
            return self.failed_creates.get(lock.pk, {}).pop(auth_id, None)

    def set_error(self, lock: VirtualLock, auth_id: str, error: str | None) -> None:
        with self._lock:
            if error:
                self.errors[(lock.pk, auth_id)] = error
            else:
                self.errors.pop((lock.pk, auth_id), None)

    def error(self, lock: VirtualLock, auth_id: str) -> str | None:
        with self._lock:
            return self.errors.get((lock.pk, auth_id))


_BRIDGE_FAILURES = _BridgeFailures()
# Code writes check the lock's PINs, then write: one at a time in this process (SQLite, the
# sandbox's usual database, has no row locks; select_for_update covers a PostgreSQL sandbox).
_CODE_WRITES = threading.Lock()


# --- authorizations ---------------------------------------------------------------------------------------------

def _auth_json(lock: VirtualLock, code: VirtualCode) -> dict:
    auth = {
        "id": code.vendor_code_id,
        "smartlockId": int(lock.vendor_lock_id),
        "authId": code.pk,
        "code": int(code.pin),
        "type": KEYPAD_CODE,
        "name": code.name,
        "enabled": True,
        "remoteAllowed": False,
        "lockCount": 0,
        "allowedWeekDays": ALL_WEEK_DAYS,
        "allowedFromTime": 0,
        "allowedUntilTime": 0,
        "creationDate": _date(code.created_at),
        "updateDate": _date(code.created_at),
        "authTypeAsString": "KEYPAD",
    }
    if code.starts_at > NO_START:
        auth["allowedFromDate"] = _date(code.starts_at)
    if code.ends_at < NO_END:
        auth["allowedUntilDate"] = _date(code.ends_at)
    error = _BRIDGE_FAILURES.error(lock, code.vendor_code_id)
    if error:
        auth["error"] = error
    return auth


def _owner_auth(lock: VirtualLock) -> dict:
    """The account owner's own app authorization (type 0), listed as Nuki lists it."""
    return {
        "id": f"{lock.pk:024x}",
        "smartlockId": int(lock.vendor_lock_id),
        "accountUserId": lock.account_id,
        "authId": 0,
        "type": 0,
        "name": lock.account.display_name,
        "enabled": True,
        "remoteAllowed": True,
        "lockCount": 0,
        "creationDate": "2024-05-02T10:00:00.000Z",
        "updateDate": "2024-05-02T10:00:00.000Z",
        "authTypeAsString": "APP",
    }


def _invalid(body: dict, allowed: set[str], required: set[str]) -> str | None:
    """What Nuki would refuse in the body (400), in its wording; None when it is acceptable."""
    unknown = set(body) - allowed
    if unknown:
        return f"Unknown parameter(s): {sorted(unknown)}"
    missing = required - set(body)
    if missing:
        return f"The parameter(s) {sorted(missing)} are required."
    name = body.get("name", "")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX_LENGTH:
        return "The supplied value for parameter 'name' is not valid."
    if "type" in body and (isinstance(body["type"], bool) or not isinstance(body["type"], int)):
        return f"The supplied value '{body['type']}' for parameter 'type' is not valid."
    if "code" in body:
        code = body["code"]
        text = str(code)
        # Nuki PINs: 6 digits from 1 to 9 (the keypad has no 0), not starting with "12" [N-PIN, N-ZERO].
        if isinstance(code, bool) or not isinstance(code, int) or not re.fullmatch(r"[1-9]{6}", text) or text.startswith("12"):
            return f"The supplied value '{code}' for parameter 'code' is not valid."
    for key in ("allowedFromDate", "allowedUntilDate"):
        if key in body and (not isinstance(body[key], str) or not DATE_FORMAT.match(body[key])):
            return f"The supplied value '{body[key]}' for parameter '{key}' is not valid."
    if (
        "allowedFromDate" in body and "allowedUntilDate" in body
        and _parse_date(body["allowedUntilDate"]) <= _parse_date(body["allowedFromDate"])
    ):
        return f"The supplied value '{body['allowedUntilDate']}' for parameter 'allowedUntilDate' is not valid."
    for key in ("remoteAllowed", "enabled", "smartActionsEnabled"):
        if key in body and not isinstance(body[key], bool):
            return f"The supplied value for parameter '{key}' is not valid."
    for key, top in (("allowedWeekDays", 127), ("allowedFromTime", 1439), ("allowedUntilTime", 1439)):
        value = body.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            return f"The supplied value '{value}' for parameter '{key}' is not valid."
    # What the virtual lock cannot represent (it keeps one validity window per code).
    if body.get("allowedWeekDays", ALL_WEEK_DAYS) != ALL_WEEK_DAYS or body.get("allowedFromTime", 0) or body.get("allowedUntilTime", 0):
        return "Sandbox: only whole-day codes on every weekday (allowedWeekDays 127, allowedFromTime 0, allowedUntilTime 0) are supported."
    if body.get("enabled") is False:
        return "Sandbox: disabled codes are not supported; delete the code instead."
    return None


def _window(body: dict) -> tuple[datetime, datetime]:
    """The validity the body asks for; dates left out mean no limit (a partial update clears them [N-UPD])."""
    starts_at = _parse_date(body["allowedFromDate"]) if "allowedFromDate" in body else NO_START
    ends_at = _parse_date(body["allowedUntilDate"]) if "allowedUntilDate" in body else NO_END
    return starts_at, ends_at


def _code_taken(lock: VirtualLock, pin: str, *, other_than: str | None = None) -> bool:
    on_lock = lock.codes.filter(pin=pin).exclude(vendor_code_id=other_than or "").exists()
    failed = any(str(auth.get("code")) == pin and auth["id"] != other_than for auth in _BRIDGE_FAILURES.failed_on(lock))
    return on_lock or failed


@_lock_call
def auths(request, account, lock):
    if request.method in ("GET", "PUT") and _without_subscription(lock):
        return _refused_for_subscription()
    if request.method == "GET":
        return _list_auths(request, account, lock)
    if request.method == "PUT":
        return _create_auth(request, account, lock)
    return HttpResponse(status=405, headers={"Allow": "GET, PUT"})


@_lock_call
def auth(request, account, lock, auth_id):
    if request.method in ("POST", "DELETE") and _without_subscription(lock):
        return _refused_for_subscription()
    if request.method == "POST":
        return _update_auth(request, account, lock, auth_id)
    if request.method == "DELETE":
        return _delete_auth(request, account, lock, auth_id)
    return HttpResponse(status=405, headers={"Allow": "POST, DELETE"})


def _list_auths(request, account, lock):
    verdict = faults.judge(account, lock)  # Nuki Web answers from its own records, even for an offline lock
    if verdict.response:
        return verdict.response
    types = request.GET.get("types", "")
    try:
        wanted = {int(value) for value in types.split(",") if value.strip()} or None
    except ValueError:
        return _error(400, f"The supplied value '{types}' for parameter 'types' is not valid.")
    listed = [_owner_auth(lock)] + [_auth_json(lock, code) for code in lock.codes.applied()] + _BRIDGE_FAILURES.failed_on(lock)
    return JsonResponse([item for item in listed if wanted is None or item["type"] in wanted], safe=False)


def _create_auth(request, account, lock):
    verdict = faults.judge(account, lock, write=True)
    if verdict.response:
        return verdict.response
    body = _json_body(request)
    if body is None:
        return _error(400, "The request body is not valid JSON.")
    # accountUserId is "required if type is NOT 13" [N-SW]; a keypad code needs its code.
    required = {"name", "code", "remoteAllowed"} if body.get("type") == KEYPAD_CODE else {"name", "remoteAllowed", "accountUserId"}
    problem = _invalid(body, CREATE_FIELDS, required)
    if problem:
        return _error(400, problem)
    if body.get("type") != KEYPAD_CODE or not lock.has_keypad:
        # "The supplied value '13' for parameter 'type' is not valid" without a keypad [N-NOKP].
        return _error(400, f"The supplied value '{body.get('type', 0)}' for parameter 'type' is not valid.")
    pin = str(body["code"])
    starts_at, ends_at = _window(body)
    with _CODE_WRITES, transaction.atomic():
        VirtualLock.objects.select_for_update().filter(pk=lock.pk).first()
        if _code_taken(lock, pin):
            return _error(409, "'code' exists already")
        if lock.codes.count() + len(_BRIDGE_FAILURES.failed_on(lock)) >= lock.capacity:
            return _error(422, "The maximum number of authorizations for this smartlock is reached.")
        if verdict.offline or not lock.has_gateway:
            # Accepted by Nuki Web, never applied: listed with the bridge's error, not on the lock.
            now = timezone.now()
            unapplied = VirtualCode(
                lock=lock, vendor_code_id=secrets.token_hex(12), name=body["name"], pin=pin,
                starts_at=starts_at, ends_at=ends_at, created_at=now,
            )
            failed = _auth_json(lock, unapplied) | {"error": OFFLINE_ERROR}
            del failed["authId"]  # never on the lock: no lock-internal number
            _BRIDGE_FAILURES.add_failed_create(lock, failed)
        else:
            VirtualCode.objects.create(
                lock=lock, vendor_code_id=secrets.token_hex(12), name=body["name"], pin=pin, starts_at=starts_at, ends_at=ends_at,
                applies_at=faults.applies_at(lock, "create"),  # the bridge may take it to the lock later
            )
    response = _no_content()
    return faults.broken(response) if verdict.lose_response else response


def _update_auth(request, account, lock, auth_id):
    code = lock.codes.filter(vendor_code_id=auth_id).first()
    failed = next((item for item in _BRIDGE_FAILURES.failed_on(lock) if item["id"] == auth_id), None)
    if code is None and failed is None:
        return _error(404, "Smartlock authorization not found")
    verdict = faults.judge(account, lock, write=True)
    if verdict.response:
        return verdict.response
    body = _json_body(request)
    if body is None:
        return _error(400, "The request body is not valid JSON.")
    problem = _invalid(body, UPDATE_FIELDS, {"name"})
    if problem:
        return _error(400, problem)
    if code is None:
        # A create that never reached the lock cannot be changed on it: it fails again.
        return _no_content()
    pin = str(body["code"]) if "code" in body else code.pin
    with _CODE_WRITES, transaction.atomic():
        VirtualLock.objects.select_for_update().filter(pk=lock.pk).first()
        if "code" in body and _code_taken(lock, pin, other_than=auth_id):
            return _error(409, "'code' exists already")
        if verdict.offline or not lock.has_gateway:
            _BRIDGE_FAILURES.set_error(lock, auth_id, OFFLINE_ERROR)  # the lock keeps the old code
        else:
            code.name, code.pin = body["name"], pin
            later = faults.applies_at(lock, "update")  # the bridge may take the window to the lock later
            if later:
                code.next_starts_at, code.next_ends_at = _window(body)
                code.window_changes_at = later
            else:
                code.starts_at, code.ends_at = _window(body)
            code.save(update_fields=["name", "pin", "starts_at", "ends_at", "next_starts_at", "next_ends_at", "window_changes_at"])
            _BRIDGE_FAILURES.set_error(lock, auth_id, None)
    response = _no_content()
    return faults.broken(response) if verdict.lose_response else response


def _delete_auth(request, account, lock, auth_id):
    code = lock.codes.filter(vendor_code_id=auth_id).first()
    failed = any(item["id"] == auth_id for item in _BRIDGE_FAILURES.failed_on(lock))
    if code is None and not failed:
        return _error(404, "Smartlock authorization not found")
    verdict = faults.judge(account, lock, write=True)
    if verdict.response:
        return verdict.response
    if code is None:
        _BRIDGE_FAILURES.pop_failed_create(lock, auth_id)  # never on the lock: Nuki Web drops its record at once
    elif verdict.offline or not lock.has_gateway:
        _BRIDGE_FAILURES.set_error(lock, auth_id, OFFLINE_ERROR)  # still on the lock
    else:
        later = faults.applies_at(lock, "delete")  # the bridge may remove it from the lock later
        if later:
            code.removes_at = code.removes_at or later
            code.save(update_fields=["removes_at"])
        else:
            code.delete()
        _BRIDGE_FAILURES.set_error(lock, auth_id, None)
    response = _no_content()
    return faults.broken(response) if verdict.lose_response else response


# --- the log -----------------------------------------------------------------------------------------------------

def _log_entry(lock: VirtualLock, use: VirtualCodeUse) -> dict:
    return {
        "id": f"{use.pk:024x}",
        "smartlockId": int(lock.vendor_lock_id),
        "deviceType": 0,
        "authId": use.vendor_code_id if use.opened else "",
        "name": use.name if use.opened else "",
        "action": UNLOCK,
        "trigger": KEYPAD_TRIGGER if use.opened else KEYPAD_ERROR_TRIGGER,
        "state": LOG_SUCCESS if use.opened else LOG_INVALID_CODE,
        "autoUnlock": False,
        "date": _date(use.at),
        "source": KEYPAD_CODE_SOURCE,
    }


def _log_filters(params) -> dict | str:
    """The query's filters on the lock's uses, or Nuki's 400 message."""
    filters = {}
    for key, lookup in (("fromDate", "at__gte"), ("toDate", "at__lte")):
        if params.get(key):
            if not DATE_FORMAT.match(params[key]):
                return f"The supplied value '{params[key]}' for parameter '{key}' is not valid."
            filters[lookup] = _parse_date(params[key])
    if params.get("id"):
        if not re.fullmatch(r"[0-9a-f]{24}", params["id"]):
            return f"The supplied value '{params['id']}' for parameter 'id' is not valid."
        filters["pk__lt"] = int(params["id"], 16)
    return filters


@require_http_methods(["GET"])
@_lock_call
def smartlock_log(request, account, lock):
    """The lock's log, newest first (entries' ids grow with time, so "older than `id`" pages it)."""
    verdict = faults.judge(account, lock)
    if verdict.response:
        return verdict.response
    limit = request.GET.get("limit", str(DEFAULT_LOG_LIMIT))
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LOG_LIMIT:
        return _error(400, f"The supplied value '{limit}' for parameter 'limit' is not valid.")
    filters = _log_filters(request.GET)
    if isinstance(filters, str):
        return _error(400, filters)
    uses = lock.uses.filter(**filters).order_by("-pk")[: int(limit)]
    return JsonResponse([_log_entry(lock, use) for use in uses], safe=False)


urlpatterns = [
    path("oauth/authorize", oauth_authorize, name="nuki_oauth_authorize"),
    path("oauth/token", oauth_token),
    path("account", get_account),
    path("smartlock", list_smartlocks),
    path("smartlock/<str:smartlock_id>", get_smartlock),
    path("smartlock/<str:smartlock_id>/auth", auths),
    path("smartlock/<str:smartlock_id>/log", smartlock_log),
    path("smartlock/<str:smartlock_id>/auth/<str:auth_id>", auth),
]
