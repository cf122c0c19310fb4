"""Virtual Tedee cloud, answering as the Tedee sources of docs/vendors.md document (and tests/vendors/tedee.py agrees).

Two halves, both under the sandbox's `/tedee/` prefix:

- **Sign-in** (Azure AD B2C, policy B2C_1A_Signup_Signin_With_Kmsi), at TEDEE_AUTH_URL =
  `<sandbox>/tedee/auth`:
  `GET  auth/<policy>/oauth2/v2.0/authorize?response_type=code&client_id&redirect_uri&scope&state
  &code_challenge&code_challenge_method=S256` shows a real HTML sign-in form (email, password,
  "Sign in", "Cancel"); POSTing it to the same URL checks the virtual account's credentials and
  redirects to `redirect_uri?code=...&state=...`, or `?error=access_denied&error_description=...
  &state=...` on Cancel (B2C's AADB2C90091). Unknown client or unusable redirect_uri: an error page
  (400), never a redirect.
  `POST auth/<policy>/oauth2/v2.0/token` (form-encoded): `authorization_code` with `code_verifier`
  checked against the S256 challenge (and client, redirect_uri, 10-minute lifetime, single use),
  and `refresh_token` (14 days; the old refresh token stays valid, as B2C's do). Errors are B2C's
  `{"error", "error_description"}` with 400 (`invalid_grant`, `unsupported_grant_type`, ...) or
  401 (`invalid_client`). Answers are shaped like Tedee's sample (`expires_in` is a *string*,
  `refresh_token_expires_in` a number); an `id_token` comes only when `openid` was asked for.
  Access tokens are JWTs (HS256 with the sandbox's secret; the adapter reads, never verifies,
  them) carrying `name`, `email`, `oid`, `exp`, `scp`.

- **API**, at TEDEE_API_URL = `<sandbox>/tedee`: `api/<version>/my/lock[?IncludeAccessories=true]`,
  `my/lock/<id>`, `my/lock/<id>/pin` (GET list with `listVersion` and 304, POST create -> 201
  `{"result": {"id"}}`), `my/lock/<id>/pin/<pinId>` (GET details, PUT full replace -> 204,
  DELETE -> 204), each in Tedee's envelope `{"result", "success", "errorMessages", "statusCode"}`,
  with `Authorization: Bearer <access token>` (anything else: 401 with an empty body and a
  `WWW-Authenticate` header, like ASP.NET's JWT bearer). Statuses: 400 PIN rules (5-8 digits, >= 3
  different, not a run like 12345 or 54321), 403 not owner/admin (the lock is still listed, with
  accessLevel 0), 404 lock or PIN not found, 406 PIN already on the lock, 412 lock full, 428 lock
  disconnected or setup incorrect (no bridge, no keypad, or the offline switch).

How the virtual lock kinds look here: eligible -> Keypad PRO (deviceType 10) and a bridge;
old_passcodes -> the original Keypad (deviceType 3): Tedee has no passcode versions, so it is an
eligible lock; no_keypad -> no accessories; no_gateway -> `connectedToId` null, `isConnected` false;
offline -> `isConnected` false (a live state: the lock stays eligible, PIN calls answer 428);
not_admin -> `accessLevel` 0 (Guest).

Reading back: `my/deviceactivity?deviceId=&elements=&lastElemDate=` answers the keypad's log
(sandbox/keypad.py), newest first, at most `elements` (1-200) older than `lastElemDate`: 61
UnlockByPin with the PIN's alias as `userName` (what the adapter assumes: which PIN opened is not
documented, see locks/providers/tedee/read_back.py), 62 IncorrectPin otherwise, dates in UTC
without an offset as the documented sample writes them [TD endpoints/deviceactivity/get-all.rst,
enums/event-type.rst]. It needs the `DeviceActivity.Read` scope in the token: 403 without it. A
lock's `deviceState` (`lockProperties` before API v1.35 [TD release-notes.rst]) carries the
battery switch as `batteryLevel`; `isConnected` is the bridge's connection.

Fault switches (sandbox.faults): `judge(account)` on the lock list, `judge(account, lock)` on every
call about one lock (`write=True` for POST/PUT/DELETE). Injected 5xx and 429 answers are re-worded
into Tedee's envelope (429 keeps Retry-After, in seconds). A lost answer is cut off after the PIN
was written (see `_lost`): the client waits for bytes that never come until its read timeout.

Storage without a model of its own: an authorization code is a signed, 10-minute token carrying
the account, the PKCE challenge, client, redirect_uri and scope; redeeming it writes a *revoked*
VirtualToken row keyed by the code's hash, so a second redemption fails on the unique key. Access
tokens are stored as `tdh-<sha256>` (a JWT does not fit the 200-character column), refresh tokens
as issued. Tedee removes PINs whose endDate has passed; here that happens when the lock's PINs are
next touched. A PIN without dates (permanent) is stored with sentinel dates and answered as null.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.template import engines
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from sandbox import faults
from sandbox.models import Vendor, VirtualAccount, VirtualCode, VirtualCodeUse, VirtualLock, VirtualToken

# --- constants -----------------------------------------------------------------------------------

POLICY = "B2C_1A_Signup_Signin_With_Kmsi"
# The client Nowistay is registered as in the sandbox (the Makefile and tests/conftest.py set these).
CLIENT_ID = getattr(settings, "SANDBOX_TEDEE_CLIENT_ID", "sandbox-client")
CLIENT_SECRET = getattr(settings, "SANDBOX_TEDEE_CLIENT_SECRET", "sandbox-secret")
SCOPE_PREFIX = "https://tedee.onmicrosoft.com/api/"
REQUIRED_SCOPE = f"{SCOPE_PREFIX}user_impersonation"
ACTIVITY_SCOPE = "DeviceActivity.Read"  # [TD authenticate "Scopes"]
GRANTED_SCOPES = f"{REQUIRED_SCOPE} {SCOPE_PREFIX}Device.ReadWrite {SCOPE_PREFIX}{ACTIVITY_SCOPE} offline_access"
UNLOCK_BY_PIN, INCORRECT_PIN = 61, 62  # [TD enums/event-type.rst]
MAX_ACTIVITIES = 200  # `elements` [TD deviceactivity/get-all.rst]
CODE_LIFETIME_SECONDS = 600  # B2C's authorization codes live about 10 minutes
REFRESH_TOKEN_LIFETIME = timedelta(days=14)  # [TD authenticate]
CODE_SALT = "sandbox.tedee.authorization-code"
VERIFIER_FORMAT = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")  # RFC 7636 §4.1
API_VERSION_FORMAT = re.compile(r"^v\d+(\.\d+)?$")
DATE_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,7})?)?(Z|[+-]\d\d:\d\d)?$")
KEYPAD, KEYPAD_PRO = 3, 10  # [TD enums/device-type.rst]
GUEST, ADMIN, OWNER = 0, 1, 2  # [TD enums/access-level.rst]
BRIDGE_ID_BASE = 90000
ACCESSORY_ID_BASE = 50000
# PINs without dates (permanent) are stored with these and answered as null.
NO_START = datetime(1970, 1, 1, tzinfo=UTC)
NO_END = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)

MESSAGES = {  # tests/fixtures/tedee/errors.json, from TD endpoints/lockpin/*.rst
    400: "Pin value does not meet validation requirements.",
    403: "User doesn't have permission to the lock.",
    404: "Pin not found.",
    405: "Method not allowed.",
    406: "Pin already exists.",
    412: "Adding more pins is not available.",
    415: "Unsupported media type.",
    428: "Lock is disconnected or device setup is incorrect.",
    429: "Too many requests.",
    503: "Service unavailable.",
}

# --- small helpers -------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _s256(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _format_date(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_date(value) -> datetime | None:
    """A Tedee date (UTC; a date without an offset is UTC). Raises ValueError when unreadable."""
    if not isinstance(value, str) or not DATE_FORMAT.match(value):
        raise ValueError(value)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _pin_rule(pin) -> bool:
    """Tedee's PIN rules, verbatim from TD lockpin/create.rst: 5-8 digits, at least 3 different,
    not a strictly ascending or descending sequence (12345, 54321)."""
    if not isinstance(pin, str) or not pin.strip() or not re.fullmatch(r"[0-9]{5,8}", pin):
        return False
    if len(set(pin)) < 3:
        return False
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    return steps not in ({1}, {-1})


# --- answers -------------------------------------------------------------------------------------

def _ok(result=None, status: int = 200) -> HttpResponse:
    if status == 204:
        return HttpResponse(status=204)  # Tedee's docs print an envelope; a 204 carries no body
    body = {"result": result, "success": True, "errorMessages": [], "statusCode": status}
    return JsonResponse(body, status=status)


def _error(status: int, message: str | None = None) -> JsonResponse:
    return JsonResponse(
        {"success": False, "errorMessages": [message or MESSAGES.get(status, "Error.")], "statusCode": status}, status=status
    )


def _unauthorized(description: str = "The access token is missing, invalid or expired") -> HttpResponse:
    response = HttpResponse(status=401)
    response["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{description}"'
    return response


def _tedee_worded(response: HttpResponse) -> HttpResponse:
    """An injected fault's answer in Tedee's envelope (the status and Retry-After kept)."""
    if response.status_code not in (429, 503):
        return response
    answer = _error(response.status_code)
    if response.has_header("Retry-After"):
        answer["Retry-After"] = response["Retry-After"]
    return answer


def _lost(response: HttpResponse) -> HttpResponse:
    """The write happened; break the answer (sandbox.faults.broken: a body announced, never sent).

    A 204 has no body for the client to miss, so the cut-off answer travels as a 200 (the client
    never gets to read it). The development server refuses the hop-by-hop `Connection` header from
    an application (wsgiref asserts, and the client would get a plain 500), so it is dropped: the
    connection stays open and the client waits for the missing bytes until its read timeout —
    an answer lost after the vendor acted, all the same (OutcomeUnknown on the client's side)."""
    if response.status_code == 204:
        response = JsonResponse({"success": True, "errorMessages": [], "statusCode": 204}, status=200)
    response = faults.broken(response)
    del response["Connection"]
    return response


def _oauth_error(status: int, error: str, description: str) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)


# --- tokens --------------------------------------------------------------------------------------

def _oid(account: VirtualAccount) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://sandbox.nowistay.example/tedee/accounts/{account.pk}"))


def _jwt(claims: dict) -> str:
    header = _b64(json.dumps({"alg": "HS256", "kid": "sandbox", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(settings.SECRET_KEY.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _issuer(request) -> str:
    return request.build_absolute_uri(f"/tedee/auth/{POLICY}/v2.0/")


def _issue_tokens(request, account: VirtualAccount, scope: str) -> JsonResponse:
    now = int(timezone.now().timestamp())
    lifetime = int(settings.SANDBOX_TOKEN_LIFETIME_SECONDS)
    scopes = scope.split()
    identity = {"oid": _oid(account), "sub": _oid(account), "name": account.display_name, "email": account.login}
    common = {"iss": _issuer(request), "aud": CLIENT_ID, "iat": now, "nbf": now, "exp": now + lifetime, "ver": "1.0", "tfp": POLICY}
    api_scopes = " ".join(s.removeprefix(SCOPE_PREFIX) for s in scopes if s.startswith(SCOPE_PREFIX))
    access_token = _jwt({**common, **identity, "scp": api_scopes, "azp": CLIENT_ID, "jti": secrets.token_hex(8)})
    refresh_token = f"tdr-{secrets.token_urlsafe(40)}"
    VirtualToken.objects.create(
        account=account,
        access_token=f"tdh-{_hash(access_token)}",
        refresh_token=refresh_token,
        expires_at=timezone.now() + timedelta(seconds=lifetime),
    )
    answer = {
        "not_before": str(now),
        "token_type": "Bearer",
        "access_token": access_token,
        "expires_in": str(lifetime),  # a string, as in Tedee's sample [TD authenticate]
        "refresh_token": refresh_token,
        "refresh_token_expires_in": int(REFRESH_TOKEN_LIFETIME.total_seconds()),
    }
    if "openid" in scopes:
        answer["id_token"] = _jwt({**common, **identity, "emails": [account.login]})
    return JsonResponse(answer)


def _client_credentials(request) -> tuple[str, str]:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return client_id, secret
        except (ValueError, UnicodeDecodeError):
            return "", ""
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


@csrf_exempt
@require_http_methods(["POST"])
def token(request, policy: str):
    if policy.lower() != POLICY.lower():
        return _oauth_error(400, "invalid_request", "AADB2C90007: The policy does not exist.")
    client_id, client_secret = _client_credentials(request)
    if not (hmac.compare_digest(client_id, CLIENT_ID) and hmac.compare_digest(client_secret, CLIENT_SECRET)):
        return _oauth_error(
            401, "invalid_client", "AADB2C90081: The specified client_secret does not match the expected value for this application."
        )
    grant_type = request.POST.get("grant_type", "")
    if grant_type == "authorization_code":
        return _code_grant(request)
    if grant_type == "refresh_token":
        return _refresh_grant(request)
    return _oauth_error(400, "unsupported_grant_type", f"AADB2C90086: The supplied grant_type [{grant_type}] is not supported.")


def _code_grant(request):
    code = request.POST.get("code", "")
    try:
        grant = signing.loads(code, salt=CODE_SALT, max_age=CODE_LIFETIME_SECONDS)
    except signing.SignatureExpired:
        return _oauth_error(400, "invalid_grant", "AADB2C90080: The provided grant has expired. Please re-authenticate and try again.")
    except signing.BadSignature:
        return _oauth_error(400, "invalid_grant", "AADB2C90090: The provided authorization code is not valid.")
    if grant.get("client_id") != CLIENT_ID:
        return _oauth_error(400, "invalid_grant", "AADB2C90088: The provided grant has not been issued for this client.")
    if grant.get("redirect_uri") != request.POST.get("redirect_uri"):
        return _oauth_error(400, "invalid_grant", "AADB2C90006: The redirect URI does not match the one of the authorization request.")
    verifier = request.POST.get("code_verifier", "")
    if not VERIFIER_FORMAT.match(verifier) or not hmac.compare_digest(_s256(verifier), grant.get("challenge", "")):
        return _oauth_error(400, "invalid_grant", "AADB2C90183: The supplied code_verifier is invalid.")
    account = VirtualAccount.objects.filter(pk=grant.get("account"), vendor=Vendor.TEDEE).first()
    if account is None:
        return _oauth_error(400, "invalid_grant", "AADB2C90080: The provided grant has expired. Please re-authenticate and try again.")
    spent = f"tdc-{_hash(code)}"  # single use: the unique key refuses a second redemption
    try:
        with transaction.atomic():
            VirtualToken.objects.create(
                account=account, access_token=spent, refresh_token=spent, revoked=True,
                expires_at=timezone.now() + timedelta(seconds=CODE_LIFETIME_SECONDS),
            )
    except IntegrityError:
        return _oauth_error(400, "invalid_grant", "AADB2C90080: The authorization code has already been redeemed.")
    return _issue_tokens(request, account, grant.get("scope", ""))


def _refresh_grant(request):
    presented = request.POST.get("refresh_token", "")
    row = VirtualToken.objects.filter(
        refresh_token=presented, revoked=False, account__vendor=Vendor.TEDEE
    ).select_related("account").first() if presented.startswith("tdr-") else None
    issued_at = row.expires_at - timedelta(seconds=settings.SANDBOX_TOKEN_LIFETIME_SECONDS) if row else None
    if row is None or timezone.now() > issued_at + REFRESH_TOKEN_LIFETIME:
        return _oauth_error(400, "invalid_grant", "AADB2C90080: The provided grant has expired. Please re-authenticate and try again.")
    scope = request.POST.get("scope") or GRANTED_SCOPES
    return _issue_tokens(request, row.account, scope)


# --- the sign-in page ----------------------------------------------------------------------------

SIGN_IN_PAGE = engines["django"].from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · Tedee (sandbox)</title>
<style>body{font-family:system-ui,sans-serif;background:#f2f4f7;color:#1d2330;margin:0}
main{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}
.buttons{display:flex;gap:.5rem;margin-top:1.2rem}button{flex:1;padding:.6rem}.error{color:#a1161b}.muted{color:#667;font-size:.9rem}</style>
</head><body><main>
<h1>Sign in to Tedee</h1>
<p class="muted">Sandbox sign-in: a virtual Tedee account, no real one is involved. The application
<code>{{ client_id }}</code> asks to manage your locks and their keypad PINs.</p>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="{{ action }}">{% csrf_token %}
  <label for="email">Email address</label>
  <input id="email" name="email" type="email" autocomplete="username" value="{{ email }}" required autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <div class="buttons">
    <button type="submit" name="action" value="sign_in">Sign in</button>
    <button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
  </div>
</form>
{% if demo_accounts %}<p class="muted">Sandbox accounts (shown on purpose):
{% for account in demo_accounts %}<br><code>{{ account.login }}</code> / <code>{{ account.password }}</code>{% endfor %}</p>{% endif %}
</main></body></html>""")

ERROR_PAGE = engines["django"].from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in error · Tedee (sandbox)</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto">
<h1>Sorry, we cannot sign you in</h1><p>{{ message }}</p>
<p style="color:#667">Sandbox Tedee sign-in. The application that sent you here is misconfigured;
nothing was sent back to it.</p></body></html>""")


def _redirect_with(redirect_uri: str, params: dict) -> HttpResponseRedirect:
    parts = urlsplit(redirect_uri)
    query = "&".join(filter(None, [parts.query, urlencode({k: v for k, v in params.items() if v})]))
    return HttpResponseRedirect(urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")))


def _authorize_problem(params) -> tuple[HttpResponse | None, str | None]:
    """(an error page, or None; an OAuth error to send back to redirect_uri, or None)."""
    if params.get("client_id") != CLIENT_ID:
        return HttpResponse(ERROR_PAGE.render({"message": "AADB2C90117: The application (client_id) is not known."}), status=400), None
    redirect_uri = params.get("redirect_uri", "")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        page = ERROR_PAGE.render({"message": "AADB2C90006: The redirect URI is not valid for this application."})
        return HttpResponse(page, status=400), None
    if params.get("response_type") != "code":
        return None, "unsupported_response_type:AADB2C90079: Only the authorization code flow (response_type=code) is supported."
    if params.get("response_mode", "query") != "query":
        return None, "invalid_request:The sandbox answers with response_mode=query only."
    if REQUIRED_SCOPE not in params.get("scope", "").split():
        return None, f"invalid_scope:AADB2C90055: The scope must include {REQUIRED_SCOPE}."
    if params.get("code_challenge_method") != "S256" or not re.fullmatch(r"[A-Za-z0-9\-_]{43}", params.get("code_challenge", "")):
        return None, "invalid_request:AADB2C90183: A PKCE code_challenge with code_challenge_method=S256 is required."
    return None, None


@csrf_protect
@require_http_methods(["GET", "POST"])
def authorize(request, policy: str):
    if policy.lower() != POLICY.lower():
        return HttpResponse(ERROR_PAGE.render({"message": "AADB2C90007: The policy does not exist."}), status=404)
    params = request.GET  # the form posts back to this very URL, query string included
    page, oauth_error = _authorize_problem(params)
    if page:
        return page
    state = params.get("state", "")
    if oauth_error:
        error, _, description = oauth_error.partition(":")
        return _redirect_with(params["redirect_uri"], {"error": error, "error_description": description, "state": state})
    email, error = "", None
    if request.method == "POST":
        if request.POST.get("action") == "cancel":
            return _redirect_with(params["redirect_uri"], {
                "error": "access_denied",
                "error_description": "AADB2C90091: The user has cancelled entering self-asserted information.",
                "state": state,
            })
        email, password = request.POST.get("email", "").strip(), request.POST.get("password", "")
        account = VirtualAccount.objects.filter(vendor=Vendor.TEDEE, login__iexact=email).first()
        if account is not None and hmac.compare_digest(account.password.encode(), password.encode()):
            code = signing.dumps(
                {
                    "account": account.pk,
                    "client_id": params["client_id"],
                    "redirect_uri": params["redirect_uri"],
                    "challenge": params["code_challenge"],
                    "scope": params.get("scope", ""),
                    "nonce": secrets.token_hex(8),
                },
                salt=CODE_SALT,
                compress=True,
            )
            return _redirect_with(params["redirect_uri"], {"code": code, "state": state})
        error = "Your password is incorrect, or there is no Tedee account with this email address."
    context = {
        "action": request.get_full_path(),
        "client_id": params["client_id"],
        "email": email,
        "error": error,
        "demo_accounts": VirtualAccount.objects.filter(vendor=Vendor.TEDEE).order_by("pk"),
    }
    return HttpResponse(SIGN_IN_PAGE.render(context, request), status=200)


# --- the API -------------------------------------------------------------------------------------

def _bearer_account(request) -> VirtualAccount | None:
    scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme != "Bearer" or presented.count(".") != 2:
        return None
    row = VirtualToken.objects.filter(
        access_token=f"tdh-{_hash(presented.strip())}", revoked=False, expires_at__gt=timezone.now(), account__vendor=Vendor.TEDEE
    ).select_related("account").first()
    return row.account if row else None


def _bearer_scopes(request) -> set[str]:
    """The `scp` of the presented access token (a JWT this sandbox signed; checked by `_bearer_account`)."""
    payload = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")[2].strip().split(".")[1:2]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload[0] + "=" * (-len(payload[0]) % 4))) if payload else {}
    except ValueError:
        return set()
    return set(str(claims.get("scp", "")).split()) if isinstance(claims, dict) else set()


def _api(methods: set[str]):
    """Bearer authentication, the API version in the path, the method; the view gets the account."""

    def decorate(view):
        @csrf_exempt
        def wrapper(request, version: str, **kwargs):
            if not API_VERSION_FORMAT.match(version):
                return _error(404, "API version not found.")
            account = _bearer_account(request)
            if account is None:
                return _unauthorized()
            if request.method not in methods:
                response = _error(405)
                response["Allow"] = ", ".join(sorted(methods))
                return response
            return view(request, account, **kwargs)

        return wrapper

    return decorate


def _bridge_id(lock: VirtualLock) -> int | None:
    return BRIDGE_ID_BASE + lock.pk if lock.has_gateway else None


def _connected(lock: VirtualLock) -> bool:
    return lock.has_gateway and not (lock.offline or lock.account.offline)


def _lock_json(lock: VirtualLock, *, accessories: bool) -> dict:
    data = {
        "id": int(lock.vendor_lock_id),
        "name": lock.name,
        "type": 2,  # Lock PRO
        "serialNumber": f"{int(lock.vendor_lock_id):08d}-SBX",
        "userIdentity": _oid(lock.account),
        "timeZone": lock.time_zone,
        "connectedToId": _bridge_id(lock),
        "isConnected": _connected(lock),
        "accessLevel": OWNER if lock.is_admin else GUEST,
        "shareDetails": None,
        "deviceState": {"state": 3, "isCharging": False, "batteryLevel": lock.battery_percent},
        "deviceSettings": {"autoLockEnabled": True, "autoLockDelay": 10, "pullSpringEnabled": False},
        "softwareVersions": [{"softwareType": 0, "version": "2.4.sandbox", "updateAvailable": False}],
    }
    if accessories:
        # Tedee has no passcode versions: an "old_passcodes" lock simply has the first Keypad.
        device_type = KEYPAD_PRO if lock.passcode_version >= 4 else KEYPAD
        data["accessories"] = [{"id": ACCESSORY_ID_BASE + lock.pk, "deviceType": device_type}] if lock.has_keypad else []
    return data


def _find_lock(account: VirtualAccount, lock_id: str) -> VirtualLock | None:
    return account.locks.select_related("account").filter(vendor_lock_id=lock_id).first() if lock_id.isdigit() else None


@_api({"GET"})
def lock_list(request, account):
    verdict = faults.judge(account)
    if verdict.response:
        return _tedee_worded(verdict.response)
    accessories = request.GET.get("IncludeAccessories", "").lower() == "true"
    locks = [_lock_json(lock, accessories=accessories) for lock in account.locks.select_related("account")]
    try:
        page, per_page = int(request.GET.get("Page", 0)), int(request.GET.get("ItemsPerPage", 0))
    except ValueError:
        return _error(400, "Page and ItemsPerPage must be numbers.")
    if page > 0 and per_page > 0:
        locks = locks[(page - 1) * per_page : page * per_page]
    return _ok(locks)


@_api({"GET"})
def lock_detail(request, account, lock_id: str):
    lock = _find_lock(account, lock_id)
    if lock is None:
        return _error(404, "Lock not found.")
    verdict = faults.judge(account, lock)
    if verdict.response:
        return _tedee_worded(verdict.response)
    return _ok(_lock_json(lock, accessories=request.GET.get("IncludeAccessories", "").lower() == "true"))


def _pin_call(view):
    """A PIN operation: the lock must be the account's (404), managed by it (403), pass the fault
    switches, and be reachable through a bridge and keypad (428); lost answers are cut after acting."""

    def handle(request, account, lock_id: str, **kwargs):
        lock = _find_lock(account, lock_id)
        if lock is None:
            return _error(404, "Lock not found.")
        if not lock.is_admin:
            return _error(403)
        verdict = faults.judge(account, lock, write=request.method != "GET")
        if verdict.response:
            return _tedee_worded(verdict.response)
        if verdict.offline or not (lock.has_gateway and lock.has_keypad):
            return _error(428)
        lock.codes.filter(ends_at__lte=timezone.now()).delete()  # Tedee removes expired PINs itself
        response = view(request, lock, **kwargs)
        return _lost(response) if verdict.lose_response and response.status_code < 300 else response

    return handle


def _pin_details(code: VirtualCode) -> dict:
    return {
        "id": int(code.vendor_code_id),
        "alias": code.name,
        "pin": code.pin,
        "startDate": None if code.starts_at == NO_START else _format_date(code.starts_at),
        "endDate": None if code.ends_at == NO_END else _format_date(code.ends_at),
        "dayStartTime": None,
        "dayEndTime": None,
        "weekDays": None,
    }


def _list_version(lock: VirtualLock) -> int:
    content = "|".join(
        f"{c.vendor_code_id}:{c.name}:{c.pin}:{c.starts_at.isoformat()}:{c.ends_at.isoformat()}" for c in lock.codes.order_by("pk")
    )
    return zlib.crc32(content.encode()) & 0x7FFFFFFF or 1


def _read_pin_body(request, lock: VirtualLock, except_id: str | None) -> tuple[dict | None, HttpResponse | None]:
    content_type = request.content_type or ""
    if content_type not in ("application/json", "application/json-patch+json", "text/json"):
        return None, _error(415)
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return None, _error(400, "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return None, _error(400, "The request body must be a PIN object.")
    if not _pin_rule(body.get("pin")):
        return None, _error(400)
    alias = body.get("alias") or ""
    if not isinstance(alias, str) or len(alias) > 100:
        return None, _error(400, "The alias must be text of at most 100 characters.")
    if any(body.get(key) is not None for key in ("dayStartTime", "dayEndTime", "weekDays")):
        return None, _error(400, "Sandbox: recurring PINs (dayStartTime, dayEndTime, weekDays) are not simulated.")
    try:
        starts_at = NO_START if body.get("startDate") is None else _parse_date(body["startDate"])
        ends_at = NO_END if body.get("endDate") is None else _parse_date(body["endDate"])
    except ValueError:
        return None, _error(400, "Dates must be ISO 8601 in UTC, e.g. 2021-10-01T00:00:00.000Z.")
    if starts_at >= ends_at:
        return None, _error(400, "The endDate must be after the startDate.")
    duplicates = lock.codes.filter(pin=body["pin"])
    if except_id is not None:
        duplicates = duplicates.exclude(vendor_code_id=except_id)
    if duplicates.exists():
        return None, _error(406)
    return {"name": alias, "pin": body["pin"], "starts_at": starts_at, "ends_at": ends_at}, None


@_api({"GET", "POST"})
@_pin_call
def pins(request, lock):
    if request.method == "GET":
        version = _list_version(lock)
        if request.GET.get("listVersion") == str(version):
            return HttpResponse(status=304)  # "List version is up to date." (no body on a 304)
        return _ok({"listVersion": version, "pins": [{"id": int(c.vendor_code_id), "alias": c.name} for c in lock.codes.order_by("pk")]})
    with transaction.atomic():
        fields, problem = _read_pin_body(request, lock, except_id=None)
        if problem:
            return problem
        if lock.codes.count() >= lock.capacity:
            return _error(412)
        code = VirtualCode.objects.create(lock=lock, vendor_code_id="", **fields)
        code.vendor_code_id = str(code.pk)
        code.save(update_fields=["vendor_code_id"])
    return _ok({"id": int(code.vendor_code_id)}, status=201)


@_api({"GET", "PUT", "DELETE"})
@_pin_call
def pin(request, lock, pin_id: str):
    code = lock.codes.filter(vendor_code_id=pin_id).first() if pin_id.isdigit() else None
    if code is None:
        return _error(404)
    if request.method == "GET":
        return _ok(_pin_details(code))
    if request.method == "DELETE":
        code.delete()
        return _ok(status=204)
    with transaction.atomic():
        fields, problem = _read_pin_body(request, lock, except_id=pin_id)
        if problem:
            return problem
        for field, value in fields.items():
            setattr(code, field, value)
        code.save()
    return _ok(status=204)


def _activity_date(moment: datetime) -> str:
    # As the documented sample writes it: UTC, milliseconds, no offset [TD deviceactivity/get-all.rst].
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


def _activity(use: VirtualCodeUse) -> dict:
    return {
        "id": use.pk,
        "deviceId": int(use.lock.vendor_lock_id),
        "userId": None,
        "userName": use.name if use.opened else None,
        "event": UNLOCK_BY_PIN if use.opened else INCORRECT_PIN,
        "source": 0,
        "date": _activity_date(use.at),
    }


@_api({"GET"})
def device_activity(request, account):
    """The lock's activity, newest first, one page of at most `elements` older than `lastElemDate`."""
    if ACTIVITY_SCOPE not in _bearer_scopes(request):
        return _error(403, "The access token lacks the DeviceActivity.Read scope.")
    device_id = request.GET.get("deviceId", "")
    lock = _find_lock(account, device_id)
    if lock is None:
        return _error(404, "Device not found.")  # the status for a foreign device is not documented
    verdict = faults.judge(account, lock)
    if verdict.response:
        return _tedee_worded(verdict.response)
    try:
        elements = int(request.GET.get("elements", MAX_ACTIVITIES))
        older_than = _parse_date(request.GET["lastElemDate"]) if request.GET.get("lastElemDate") else None
    except ValueError:
        return _error(400, "elements must be a number and lastElemDate a date.")
    if not 1 <= elements <= MAX_ACTIVITIES:
        return _error(400, "elements must be between 1 and 200.")
    uses = lock.uses.select_related("lock").order_by("-at", "-pk")
    if older_than is not None:
        uses = uses.filter(at__lt=older_than)
    return _ok([_activity(use) for use in uses[:elements]])


urlpatterns = [
    path("auth/<str:policy>/oauth2/v2.0/authorize", authorize),
    path("auth/<str:policy>/oauth2/v2.0/token", token),
    path("api/<str:version>/my/lock", lock_list),
    path("api/<str:version>/my/deviceactivity", device_activity),
    path("api/<str:version>/my/lock/<str:lock_id>", lock_detail),
    path("api/<str:version>/my/lock/<str:lock_id>/pin", pins),
    path("api/<str:version>/my/lock/<str:lock_id>/pin/<str:pin_id>", pin),
]
