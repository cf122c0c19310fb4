"""Tedee: keypad PINs on Tedee locks through the Tedee cloud API, signed in with OAuth 2 + PKCE.

Every request carries `Authorization: Bearer <access token>`; answers are wrapped in
`{"result", "success", "errorMessages", "statusCode"}` and the HTTP status means what it says
(unlike TTLock). A PIN is managed through the lock's bridge and keypad, synchronously: the cloud
talks to the device while we wait, so a busy or disconnected lock answers 409 or 428.

Source keys are listed in docs/vendors.md ("Sources") (TD = tedee-com/tedee-api-doc,
docs/source/...; PTA = pytedee-async); "@commit" names the stored version that was read.

Verified facts
--------------
- URLs: API `{TEDEE_API_URL}/api/{TEDEE_API_VERSION}/my/...`; sign-in through Azure AD B2C at
  `{TEDEE_AUTH_URL}/B2C_1A_Signup_Signin_With_Kmsi/oauth2/v2.0/authorize` and `.../token`
  [TD howtos/authenticate.rst, PKCE version (idx:28028617); conf.py; the same
  two URLs in a production Homey client, idx:307370461].
- Authorize: response_type=code, client_id, redirect_uri, scope, state, code_challenge,
  code_challenge_method; "When using s256 remember to use 43 long code_verifier" [TD authenticate].
  We send `S256`, the RFC 7636 §4.3 spelling (the parameter is case-sensitive; Tedee's "s256" is
  prose) and a verifier of exactly 43 characters (RFC range 43-128, Tedee's note).
- Token: form-encoded POST; code grant = grant_type, client_id, client_secret, code,
  code_verifier, redirect_uri [TD authenticate PKCE version]; the older code-flow version of the
  same page also lists `scope` [TD authenticate @01b03fb5], so we send it too (the refresh grant
  requires it anyway). Refresh = grant_type=refresh_token,
  client_id, client_secret, scope, refresh_token, redirect_uri [TD authenticate, both versions].
- Scopes: `https://tedee.onmicrosoft.com/api/user_impersonation` is required; `offline_access`
  yields the refresh token; PIN endpoints need `.../Device.ReadWrite`, which the lock and PIN
  list endpoints also accept [TD authenticate "Scopes"; endpoints/lockpin/*.rst; endpoints/lock/
  get-all.rst @b92c36f7].
- Lifetimes: access token "valid for 4 hours", refresh token "valid for 14 days", yet the sample
  answer says `"expires_in": "3600"` (a string) and `"refresh_token_expires_in": 1209600`
  [TD authenticate]. We trust `expires_in` at run time and parse it from a string or a number.
- Claims: `email`, `name`, `oid`, `exp` [TD authenticate "JWT token details"].
- Locks: `GET my/lock?IncludeAccessories=true`; each lock has `id` (number), `name`,
  `isConnected` ("is lock connected to bridge"), `connectedToId` ("id of bridge that lock is
  connected to"), `accessLevel` (0 Guest, 1 Admin, 2 Owner, 3 None), `timeZone`, `accessories`
  [{id, deviceType}] [TD datastructures/lock.rst @b92c36f7, lock-accessory.rst @2283e8e5,
  enums/access-level.rst @350d1a9d, endpoints/lock/get-all.rst @b92c36f7]. Keypads are
  deviceType 3 (Keypad) and 10 (Keypad PRO) [TD enums/device-type.rst @1609cbf3].
  "If you have a lock paired with a keypad and your lock is also paired with a bridge, you can
  manage pins using API" [TD howtos/manage-lock-pin-list.rst @5338760a].
- PINs: `POST my/lock/{id}/pin` {alias, pin (string), startDate, endDate, dayStartTime,
  dayEndTime, weekDays} -> 201 {"result": {"id": n}}; `GET my/lock/{id}/pin` -> {"listVersion",
  "pins": [{id, alias}]}; `GET my/lock/{id}/pin/{pinId}` -> details with pin and dates;
  `PUT .../pin/{pinId}` full body -> 204, "Before making any changes you should read the pin
  details"; `DELETE .../pin/{pinId}` -> 204 [TD endpoints/lockpin/create.rst @5338760a,
  get-all.rst and get-single.rst @10fc270a, update.rst and delete.rst @5338760a,
  howtos/manage-lock-pin-list.rst @5338760a]. Examples send `Content-Type:
  application/json-patch+json` and `accept: application/json`; dates as
  `2021-10-01T00:00:00.000Z`.
- Statuses: 403 no permission to the lock, 404 pin not found, 406 pin already exists, 408 timeout
  while sending data to the device, 409 other request is processing, 412 adding more pins is not
  available [create.rst @5338760a, @f44782ad], 422 for the same in another stored version
  [create.rst @1e93a8a5], 428 lock is disconnected or device setup is incorrect [delete.rst,
  newest stored version, idx:54558953977]; 429 with Retry-After after 700 requests per hour
  [TD api-rate-limiting.rst]. PIN rules: 5-8 digits, >= 3 distinct, not an
  ascending or descending sequence [create.rst] (locks.pins.tedee_rule).
- "Pins created with an endDate are automatically removed from the system once they expire"
  [delete.rst, newest, idx:54558953977]: a later DELETE may meet 404, which is success.

Decisions on what the sources leave open
----------------------------------------
- 400 on a PIN write -> CodeRejected (choose another PIN); 406 -> PinTaken: after a write whose
  answer was lost (408, timeout) it may be our own PIN that landed, so the lifecycle looks for it
  again before choosing another; 412 and 422 -> CodeStorageFull.
- Listing delay (`Capabilities.listing_delay`): PIN writes go to the device while we wait, so a
  landed write is listed once the device took it; two minutes covers a bridge that answered after
  our timeout (no figure is documented).
- 403 -> LockNotFound: the account lost its rights on the lock (that error's documented meaning);
  retrying cannot mend it, the host must re-share or re-assign.
- 404 on a PIN id is ambiguous (pin gone, or lock gone): we ask `GET my/lock/{id}` once; a lock
  that answers is still there, so the PIN is gone (delete: success; update: CodeNotFound).
- 408 on a write -> OutcomeUnknown (the device may have taken it; the next attempt looks first);
  408 on a read and 428 -> LockOffline; 409 -> VendorUnavailable (busy); 5xx -> VendorUnavailable.
- `my/lock` is read without `Page`/`ItemsPerPage`, like every documented example (a default page
  size is not documented; UNVERIFIED).
- `dayStartTime`, `dayEndTime`, `weekDays` are always null from us: a stay is one continuous
  window, which sidesteps the open question of whether day times are UTC or lock-local.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings

from locks.providers.base import AccountSession, Capabilities, CodeSpec, ConnectResult, IssuedCode, LockProvider, RemoteLock
from locks.providers.exceptions import (
    CodeNotFound,
    CodeRejected,
    CodeStorageFull,
    LockNotFound,
    LockOffline,
    OutcomeUnknown,
    PermanentProviderError,
    PinTaken,
    ProviderAuthError,
    ProviderError,
    RateLimited,
    VendorUnavailable,
)
from locks.providers.http import VendorHttp, shared_http, retry_after_seconds

logger = logging.getLogger(__name__)

# --- Tedee's statuses, translated (sources in the module docstring) ----------------------------
# 404 and 401 are decided by context (see `_raise_for_status` and `_call`); 5xx is VendorUnavailable.
STATUS_ERRORS: dict[int, tuple[type[ProviderError], str]] = {
    400: (CodeRejected, "Tedee refused the PIN: it does not meet the lock's PIN rules."),
    403: (LockNotFound, "This Tedee account is no longer allowed to manage the lock's PINs."),
    406: (PinTaken, "The lock already holds this PIN."),
    408: (LockOffline, "The lock did not answer its Tedee Bridge in time."),
    409: (VendorUnavailable, "The lock is busy with another request."),
    412: (CodeStorageFull, "The lock cannot hold any more PINs."),
    422: (CodeStorageFull, "The lock cannot hold any more PINs."),
    428: (LockOffline, "The lock is disconnected from its Tedee Bridge."),
    429: (RateLimited, "Tedee asked us to slow down."),
}
# Statuses that only mean "PIN refused" on a PIN write; elsewhere they are our own mistake.
PIN_WRITE_ONLY = {400, 406}

B2C_POLICY = "B2C_1A_Signup_Signin_With_Kmsi"  # Tedee's sign-in user flow [TD authenticate]
SCOPE_PREFIX = "https://tedee.onmicrosoft.com/api/"
SCOPES = (f"{SCOPE_PREFIX}user_impersonation", f"{SCOPE_PREFIX}Device.ReadWrite", "offline_access")
KEYPAD_DEVICE_TYPES = {3, 10}  # Keypad, Keypad PRO [TD enums/device-type.rst]
ACCESS_ADMIN, ACCESS_OWNER = 1, 2  # [TD enums/access-level.rst]
JSON_BODY_HEADERS = {"accept": "application/json", "Content-Type": "application/json-patch+json"}  # as in TD examples

REFRESH_MARGIN = timedelta(minutes=5)  # refresh an access token this long before it expires
REFRESH_TOKEN_LIFETIME = timedelta(days=14)  # when the answer does not say [TD authenticate]
KEEP_ALIVE_AFTER = timedelta(days=7)  # half the refresh token's life: one missed daily run is harmless
DEFAULT_ACCESS_LIFETIME = 3600  # seconds, the documented sample, when neither expires_in nor exp is given

# --- URLs (all built from settings) -------------------------------------------------------------

def api_url(path: str) -> str:
    return f"{settings.TEDEE_API_URL.rstrip('/')}/api/{settings.TEDEE_API_VERSION}/{path.lstrip('/')}"


def authorize_endpoint() -> str:
    return f"{settings.TEDEE_AUTH_URL.rstrip('/')}/{B2C_POLICY}/oauth2/v2.0/authorize"


def token_endpoint() -> str:
    return f"{settings.TEDEE_AUTH_URL.rstrip('/')}/{B2C_POLICY}/oauth2/v2.0/token"


# --- dates ---------------------------------------------------------------------------------------

def format_date(moment: datetime) -> str:
    """Tedee's date format: ISO 8601 in UTC with milliseconds and a Z, e.g. 2021-10-01T00:00:00.000Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_date(value: str | None) -> datetime | None:
    """A Tedee date as an aware UTC datetime; a date without an offset is taken as UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise VendorUnavailable("Tedee answered with a date it could not have meant.") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# --- OAuth: authorize, exchange, refresh ----------------------------------------------------------

def authorize_url(*, state: str, code_challenge: str, redirect_uri: str) -> str:
    """Where to send the host to sign in to Tedee (authorization code + PKCE S256)."""
    params = {
        "response_type": "code",
        "client_id": settings.TEDEE_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "response_mode": "query",
        "scope": " ".join(SCOPES),
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    return f"{authorize_endpoint()}?{urlencode(params, quote_via=quote)}"


def exchange_code(*, code: str, code_verifier: str, redirect_uri: str, http: VendorHttp | None = None) -> ConnectResult:
    """Trade the authorization code for tokens. Raises ProviderAuthError when Tedee refuses the
    code, VendorUnavailable when Tedee cannot be reached or answers nonsense (vendor_code "malformed")."""
    form = {
        "grant_type": "authorization_code",
        "client_id": settings.TEDEE_CLIENT_ID,
        "client_secret": settings.TEDEE_CLIENT_SECRET,
        "scope": " ".join(SCOPES),
        "code": code,
        "code_verifier": code_verifier,
        "redirect_uri": redirect_uri,
    }
    answer = _token_request(http or shared_http("Tedee"), form, refused="Tedee did not accept the sign-in.")
    credentials = credentials_from_token_answer(answer, redirect_uri=redirect_uri)
    return ConnectResult(
        credentials=credentials,
        expires_at=_timestamp(credentials["access_token_expires_at"]),
        display_name=account_name(answer),
    )


def refresh_tokens(credentials: dict, *, http: VendorHttp | None = None) -> dict:
    """New credentials from the refresh grant. ProviderAuthError when Tedee refuses the refresh token."""
    refresh_token = credentials.get("refresh_token")
    if not refresh_token:
        raise ProviderAuthError("The Tedee connection has no refresh token; please reconnect the account.")
    form = {
        "grant_type": "refresh_token",
        "client_id": settings.TEDEE_CLIENT_ID,
        "client_secret": settings.TEDEE_CLIENT_SECRET,
        "scope": " ".join(SCOPES),
        "refresh_token": refresh_token,
    }
    if credentials.get("redirect_uri"):
        form["redirect_uri"] = credentials["redirect_uri"]
    answer = _token_request(
        http or shared_http("Tedee"), form, refused="Tedee no longer accepts this connection; please reconnect the account."
    )
    return credentials_from_token_answer(answer, redirect_uri=credentials.get("redirect_uri", ""), previous=credentials)


def _token_request(http: VendorHttp, form: dict, *, refused: str) -> dict:
    response = http.request("POST", token_endpoint(), data=form, headers={"accept": "application/json"})
    if response.status_code in (400, 401, 403):  # invalid_grant, invalid_client...: B2C said no
        raise ProviderAuthError(refused, vendor_code=str(response.status_code))
    if response.status_code == 429:
        raise RateLimited("Tedee asked us to slow down.", retry_after=retry_after_seconds(response), vendor_code="429")
    if response.status_code != 200:
        raise VendorUnavailable("Tedee's sign-in service failed; try again later.", vendor_code=str(response.status_code))
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not answer.get("access_token"):
        raise VendorUnavailable("Tedee's sign-in service answered with something unexpected.", vendor_code="malformed")
    return answer


def credentials_from_token_answer(answer: dict, *, redirect_uri: str, previous: dict | None = None, now: float | None = None) -> dict:
    """What we keep of a token answer: tokens and their lifetimes, never anything else."""
    now = time.time() if now is None else now
    previous = previous or {}
    refresh_token = answer.get("refresh_token") or previous.get("refresh_token")
    if not refresh_token:
        # Without offline_access there is no refresh token and the connection would die in hours.
        raise VendorUnavailable("Tedee's sign-in service gave no refresh token.", vendor_code="malformed")
    renewed = bool(answer.get("refresh_token"))
    refresh_lifetime = _seconds(answer.get("refresh_token_expires_in")) or REFRESH_TOKEN_LIFETIME.total_seconds()
    return {
        "access_token": answer["access_token"],
        "access_token_expires_at": int(now + _access_lifetime(answer, now)),
        "refresh_token": refresh_token,
        "refresh_token_issued_at": int(now) if renewed else previous.get("refresh_token_issued_at", int(now)),
        "refresh_token_expires_at": int(now + refresh_lifetime) if renewed else previous.get("refresh_token_expires_at"),
        "redirect_uri": redirect_uri,
    }


def _access_lifetime(answer: dict, now: float) -> float:
    # The docs say 4 hours, the sample says "3600" (a string): trust the answer [TD authenticate].
    seconds = _seconds(answer.get("expires_in"))
    if seconds:
        return seconds
    expires = jwt_claims(answer.get("access_token", "")).get("exp")
    if isinstance(expires, (int, float)) and expires > now:
        return expires - now
    return DEFAULT_ACCESS_LIFETIME


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def _timestamp(epoch: int | float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch else None


def jwt_claims(token: str) -> dict:
    """The payload of a JWT, read WITHOUT verifying its signature.

    Only ever used on tokens we just received from Tedee's token endpoint over TLS (or stored from
    it), to read the account's name: nothing is authorised on the strength of these claims.
    """
    try:
        payload = token.split(".")[1]
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(decoded)
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def account_name(answer: dict) -> str:
    """The account's name from the token's documented claims `name` and `email` [TD authenticate]."""
    claims = jwt_claims(answer.get("id_token") or "") or jwt_claims(answer.get("access_token") or "")
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    mail = claims.get("email") if isinstance(claims.get("email"), str) else ""
    if not mail and isinstance(claims.get("emails"), list) and claims["emails"]:
        mail = str(claims["emails"][0])  # B2C's own spelling of the claim, just in case
    if name and mail and name != mail:
        return f"{name} ({mail})"[:200]
    return (name or mail or "Tedee account")[:200]


# --- the adapter -------------------------------------------------------------------------------------

class TedeeProvider(LockProvider):
    """Tedee locks with a keypad and a bridge, through one host's OAuth connection."""

    slug = "tedee"
    display_name = "Tedee"
    capabilities = Capabilities(chosen_pins=True, remote_revoke=True, update_in_place=True, listing_delay=timedelta(minutes=2))

    def __init__(self, session: AccountSession, *, http: VendorHttp | None = None):
        super().__init__(session)
        self.http = http or shared_http("Tedee")

    # --- locks -----------------------------------------------------------------------------------

    def list_locks(self) -> list[RemoteLock]:
        response = self._call("GET", "my/lock", params={"IncludeAccessories": "true"})
        self._raise_for_status(response, lock_id=None)
        result = self._result(response)
        if not isinstance(result, list):
            raise VendorUnavailable("Tedee answered the lock list with something unexpected.")
        return [self._remote_lock(item) for item in result if isinstance(item, dict) and item.get("id") is not None]

    def _remote_lock(self, item: dict) -> RemoteLock:
        reasons = unavailable_reasons(item)
        connected = item.get("isConnected")
        return RemoteLock(
            vendor_lock_id=str(item["id"]),
            name=str(item.get("name") or f"Tedee lock {item['id']}"),
            supports_remote_codes=not reasons,
            unavailable_reason=" ".join(reasons),
            is_online=connected if isinstance(connected, bool) else None,
            time_zone=str(item.get("timeZone") or ""),
        )

    # --- PINs ------------------------------------------------------------------------------------

    def create_code(self, vendor_lock_id: str, spec: CodeSpec) -> IssuedCode:
        pin = self._checked_pin(spec.pin)
        response = self._call("POST", f"my/lock/{vendor_lock_id}/pin", body=pin_body(spec.name, pin, spec.starts_at, spec.ends_at))
        self._raise_for_status(response, lock_id=vendor_lock_id, pin_write=True)
        result = self._result(response)
        if not isinstance(result, dict) or result.get("id") is None:
            raise OutcomeUnknown("Tedee accepted the PIN but did not say its id; it is looked for before trying again.")
        return IssuedCode(str(result["id"]), pin, spec.starts_at, spec.ends_at, name=spec.name)

    def update_code(self, vendor_lock_id: str, vendor_code_id: str, spec: CodeSpec) -> IssuedCode:
        # A full replace: read the PIN first, as Tedee asks [TD manage-lock-pin-list], then PUT it all.
        current = self._pin_details(vendor_lock_id, vendor_code_id)
        if current is None:
            raise CodeNotFound("The PIN is no longer on the lock.")
        pin = self._checked_pin(spec.pin or str(current.get("pin") or ""))
        body = pin_body(spec.name, pin, spec.starts_at, spec.ends_at)
        response = self._call("PUT", f"my/lock/{vendor_lock_id}/pin/{vendor_code_id}", body=body)
        if response.status_code == 404:
            self._raise_lock_gone_or(vendor_lock_id, CodeNotFound("The PIN is no longer on the lock."))
        self._raise_for_status(response, lock_id=vendor_lock_id, pin_write=True)
        return IssuedCode(vendor_code_id, pin, spec.starts_at, spec.ends_at, name=spec.name)

    def delete_code(self, vendor_lock_id: str, vendor_code_id: str) -> None:
        response = self._call("DELETE", f"my/lock/{vendor_lock_id}/pin/{vendor_code_id}")
        if response.status_code == 404:
            # Expired PINs vanish by themselves [TD lockpin/delete]: gone is what we wanted,
            # unless it is the lock that is gone.
            self._raise_lock_gone_or(vendor_lock_id, None)
            return
        self._raise_for_status(response, lock_id=vendor_lock_id)

    def find_code(self, vendor_lock_id: str, name: str) -> IssuedCode | None:
        for entry in self._pin_list(vendor_lock_id):
            if entry.get("alias") == name:
                details = self._pin_details(vendor_lock_id, str(entry["id"]))
                if details is not None:
                    return self._issued(str(entry["id"]), details, name)
        return None

    def _pin_list(self, vendor_lock_id: str) -> list[dict]:
        response = self._call("GET", f"my/lock/{vendor_lock_id}/pin")
        self._raise_for_status(response, lock_id=vendor_lock_id)
        result = self._result(response)
        pins = result.get("pins") if isinstance(result, dict) else None
        if not isinstance(pins, list):
            raise VendorUnavailable("Tedee answered the PIN list with something unexpected.")
        return [entry for entry in pins if isinstance(entry, dict) and entry.get("id") is not None]

    def _pin_details(self, vendor_lock_id: str, vendor_code_id: str) -> dict | None:
        response = self._call("GET", f"my/lock/{vendor_lock_id}/pin/{vendor_code_id}")
        if response.status_code == 404:
            self._raise_lock_gone_or(vendor_lock_id, None)
            return None
        self._raise_for_status(response, lock_id=vendor_lock_id)
        result = self._result(response)
        if not isinstance(result, dict):
            raise VendorUnavailable("Tedee answered the PIN details with something unexpected.")
        return result

    def _issued(self, vendor_code_id: str, details: dict, name: str) -> IssuedCode:
        starts_at, ends_at = parse_date(details.get("startDate")), parse_date(details.get("endDate"))
        if starts_at is None or ends_at is None:
            raise VendorUnavailable("The PIN on the Tedee lock has no time window.")
        return IssuedCode(vendor_code_id, str(details.get("pin") or ""), starts_at, ends_at, name=name)

    def _checked_pin(self, pin: str | None) -> str:
        # Tedee's rules are checked before sending: a refusal costs a device round trip.
        problem = self.pin_problem(pin or "")
        if problem:
            raise CodeRejected(f"Tedee would refuse this PIN: {problem}")
        return pin

    def _raise_lock_gone_or(self, vendor_lock_id: str, otherwise: ProviderError | None) -> None:
        """After a 404 on a PIN: LockNotFound if the lock itself is gone, else `otherwise` (if any)."""
        response = self._call("GET", f"my/lock/{vendor_lock_id}")
        if response.status_code in (403, 404):
            raise LockNotFound("The lock is no longer in this Tedee account.", vendor_code=str(response.status_code))
        self._raise_for_status(response, lock_id=vendor_lock_id)
        if otherwise is not None:
            raise otherwise

    # --- credentials -----------------------------------------------------------------------------

    def keep_alive(self) -> None:
        """Refresh an idle connection before its 14-day refresh token lapses [TD authenticate]."""
        issued_at = self.session.credentials.get("refresh_token_issued_at") or 0
        if time.time() - issued_at >= KEEP_ALIVE_AFTER.total_seconds() or self._access_token_expiring():
            self._refresh()

    def _access_token_expiring(self) -> bool:
        expires_at = self.session.credentials.get("access_token_expires_at") or 0
        return time.time() >= expires_at - REFRESH_MARGIN.total_seconds()

    def _refresh(self) -> None:
        # One refresh per account at a time: Tedee rotates the refresh token, so a worker that
        # finds the account refreshed meanwhile adopts those tokens instead of reusing the old one.
        self.session.refresh_credentials(self._refreshed_credentials)
        logger.info("Tedee tokens refreshed for account %s", self.session.account_id)

    def _refreshed_credentials(self, credentials: dict) -> tuple[dict, datetime | None]:
        fresh = refresh_tokens(credentials, http=self.http)
        return fresh, _timestamp(fresh["access_token_expires_at"])

    # --- HTTP ------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None):
        """One API request with a fresh token; on 401 the token is refreshed once and the request resent."""
        if not self.session.credentials.get("access_token"):
            raise ProviderAuthError("The Tedee account is not connected; please reconnect it.")
        if self._access_token_expiring():
            self._refresh()
        response = self._send(method, path, params, body)
        if response.status_code == 401:
            self._refresh()
            response = self._send(method, path, params, body)
            if response.status_code == 401:
                raise ProviderAuthError("Tedee no longer accepts this connection; please reconnect the account.", vendor_code="401")
        return response

    def _send(self, method: str, path: str, params: dict | None, body: dict | None):
        headers = {"Authorization": f"Bearer {self.session.credentials['access_token']}"}
        if body is None:
            headers["accept"] = "application/json"
            return self.http.request(method, api_url(path), params=params, headers=headers)
        headers.update(JSON_BODY_HEADERS)
        return self.http.request(method, api_url(path), params=params, headers=headers, data=json.dumps(body))

    def _raise_for_status(self, response, *, lock_id: str | None, pin_write: bool = False) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        code = str(status)
        if status in STATUS_ERRORS and (pin_write or status not in PIN_WRITE_ONLY):
            error_class, message = STATUS_ERRORS[status]
            if status == 429:
                raise RateLimited(message, retry_after=retry_after_seconds(response), vendor_code=code)
            if status == 408 and response.request.method != "GET":
                raise OutcomeUnknown("The lock did not confirm in time; the change may have reached it.", vendor_code=code)
            raise error_class(message, vendor_code=code)
        if status == 404 and lock_id is not None:
            raise LockNotFound("The lock is no longer in this Tedee account.", vendor_code=code)
        if status >= 500:
            raise VendorUnavailable("Tedee's cloud failed; try again later.", vendor_code=code)
        raise PermanentProviderError(f"Tedee refused the request (HTTP {status}).", vendor_code=code)

    def _result(self, response) -> Any:
        """The `result` of Tedee's envelope; a 2xx saying `success: false` is not believed."""
        if response.status_code == 204 or not response.content:
            return None
        envelope = self.http.json(response)
        if not isinstance(envelope, dict) or envelope.get("success") is False:
            raise VendorUnavailable("Tedee answered with something unexpected.")
        return envelope.get("result")


def pin_body(alias: str, pin: str, starts_at: datetime, ends_at: datetime) -> dict:
    """The full PIN body Tedee takes on create and (full replace) update; the PIN is a string."""
    return {
        "alias": alias,
        "pin": pin,
        "startDate": format_date(starts_at),
        "endDate": format_date(ends_at),
        "dayStartTime": None,
        "dayEndTime": None,
        "weekDays": None,
    }


def unavailable_reasons(item: dict) -> list[str]:
    """Why a lock cannot take remote PINs, in plain words; empty when it can. Being offline right
    now is live state, never a reason."""
    reasons = []
    accessories = item.get("accessories") or []
    if not any(isinstance(a, dict) and a.get("deviceType") in KEYPAD_DEVICE_TYPES for a in accessories):
        reasons.append("No Tedee Keypad is paired with this lock.")
    if not item.get("connectedToId"):
        reasons.append("The lock is not paired with a Tedee Bridge, so PINs cannot be sent to it remotely.")
    if item.get("accessLevel") not in (ACCESS_ADMIN, ACCESS_OWNER):
        reasons.append("Your Tedee account is not the owner or an administrator of this lock.")
    return reasons
