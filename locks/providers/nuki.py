"""Nuki: keypad codes on Nuki smart locks through the Nuki Web API (api.nuki.io).

Every request carries `Authorization: Bearer <token>`, where the token is either a Nuki Web API
token the host pasted (it never expires, but dies when the account's password changes) or an
OAuth 2 access token from the authorization-code flow (refreshed before it expires). A keypad code
is a smart-lock *authorization* of type 13. Nuki Web answers a write at once ("queued") and the
lock's bridge applies it seconds later, so every create, update and delete is read back.

Source keys are listed in docs/vendors.md ("Sources"); the ones added here:
N-423  https://developer.nuki.io/t/problem-when-repeatedly-updating-the-same-keypad-smartlock-authorization/1178
N-204  https://developer.nuki.io/t/http-code-204-but-code-apparently-not-created/29886
N-UPD  https://developer.nuki.io/t/nuki-web-api-authorization-update-synchronization-inconsistency-production-issue/40095
N-422  https://developer.nuki.io/t/422-error-when-creating-type-13-authorization-via-web-api-keypad-2/35593
N-NOKP https://developer.nuki.io/t/problem-creating-temporary-access/39051
N-DUP  idx:4135907716 (a Python client retrying when the PUT answer says "'code' exists already")
N-REF  idx:52697443000, idx:2417401236 (production clients' token exchange and refresh forms)
N-SCO  idx:37909914681, idx:10211604329, idx:55622004959, idx:2700354068 (clients' scope lists)
N-SHS  https://docs.nuki.io/guide/shs/examples/ (Nuki's guide "shs": Smart Hosting subscription)
N-V15  https://developer.nuki.io/t/nuki-web-api-updates-version-v-1-5-0/21795 (API v1.5.0 announcement)
N-PRICE https://developer.nuki.io/t/api-pricing/9746 (Nuki staff on 402 "Account not payed")
N-B24  https://wiki.beds24.com/index.php?title=Nuki.io (a keypad-code PMS integration's requirements)
N-SEAM https://docs.seam.co/latest/api/devices/simulate/paid_subscription (Seam simulates an expired SHS)
N-HA   idx:2027055486 (an unofficial Home Assistant client's README on the SHS refusal)

Verified facts
--------------
- Authorize: `GET {NUKI_API_URL}/oauth/authorize?response_type=code&client_id=…&redirect_uri=…&scope=…`;
  the documented parameters are exactly these four; callback URLs must match the ones registered
  in Nuki Web and cannot hold wildcards [N-OAUTH]. `state` is standard OAuth 2 and is sent.
- Token: `POST {NUKI_API_URL}/oauth/token`, `application/x-www-form-urlencoded` [N-GQL
  OAuth2Service]. Refresh fields are `client_id`, `client_secret`, `grant_type=refresh_token`,
  `refresh_token` (+ optional `scope`): decoded from the generated `TokenRequestRefreshGrant`
  model's source map (field-name lengths 9/13/10/13/5 in declaration order) [N-GQL], and sent that
  way by production clients, which exchange the code with `grant_type=authorization_code`, `code`,
  `client_id`, `client_secret`, `redirect_uri` [N-REF]. The answer is RFC 6749 §5.1
  (`access_token`, `token_type`, `expires_in`, `refresh_token`) [N-GQL Token model]. "If you follow
  the 'Code Flow' scheme you will need a client secret" [N-AUTH].
- API tokens "do not expire, but they are destroyed when the password of the corresponding Nuki
  Web account changes" [N-AUTH].
- `GET /account` -> `{accountId, type, email, name, …}` [N-SW accountSchema].
- `GET /smartlock` -> array of `{smartlockId (int64), type, name, serverState, config:
  {keypadPaired, keypad2Paired, timezoneId (a Nuki id, not IANA), …}, …}`; serverState "0 .. ok,
  1 .. unregistered, 2 .. auth uuid invalid, 3 .. auth invalid, 4 .. offline"; statuses 200/401.
  `GET /smartlock/{id}` answers 200/401/403/404 [N-SW smartlockSchema, smartlockConfigSchema,
  get(s)SmartlockResource]. Ids exceed 32 bits, e.g. 18205286116 [N-LTD], 11000009999 [N-204].
- `GET /smartlock/{id}/auth?types=13` -> array of `{id (string, "the unique id"), smartlockId,
  authId (int, lock-internal), code (int), type, name ("max 32 chars"), enabled, remoteAllowed,
  allowedFromDate, allowedUntilDate, allowedWeekDays, allowedFromTime, allowedUntilTime,
  operationId ("if set the auth is locked for another operation"), error ("In case of any error,
  it contains the error message")}` [N-SW smartlockAuthSchema, getSmartlockAuthsResource].
- `PUT /smartlock/{id}/auth` {name, type 13, code (int), allowedFromDate, allowedUntilDate,
  allowedWeekDays, allowedFromTime, allowedUntilTime, remoteAllowed (required)} -> 204, errors
  400/402/409/426; `accountUserId` is "required if type is NOT 13" [N-SW smartlockAuthCreateSchema,
  putSmartlockAuthsResource]. It answers nothing: list the auths and take the `id` of the one with
  our name [N-PIN]. Names "up to 20 characters" [N-PIN] (schema: 32).
- `POST /smartlock/{id}/auth/{authId}` (name required) -> 204, errors 400/401/403/409/423;
  `DELETE /smartlock/{id}/auth/{authId}` -> 204, errors 401/403/423; `{authId}` is the auth's
  string `id` [N-SW smartlockAuthUpdateSchema, post/deleteSmartlockAuthResource].
- All three are asynchronous: "a 204 response means that your api call has correct values and is
  queued"; "As long the operation is running further modifications on the same authorizations are
  locked" (423) and the auth shows an `operationId` [N-423]. "Call the GET /smartlock/auth endpoint
  within a few minutes to validate if the auth was created successfully. The auths may not be
  created successfully if the devices were not online" [N-204].
- An update with only some fields "silently removes allowedFromDate, allowedUntilDate,
  allowedWeekDays, allowedFromTime, allowedUntilTime"; the full timing payload must be resent
  [N-UPD]. So every update sends the whole authorization.
- Dates are UTC, "date format = YYYY-MM-DDTHH:MM:SSZ" [N-ROOM, N-TZ]; day times are lock-local
  minutes [N-TZ]; weekdays 64 = Monday … 1 = Sunday, 127 = all [N-SW, N-ROOM].
- PINs: 6 digits from 1-9, not starting with "12", unique on the lock [N-PIN, N-ZERO]
  (locks.pins.nuki_rule); a taken code is refused at once ("'code' exists already") [N-DUP].
  Without a keypad, type 13 is refused ("The supplied value '13' for parameter 'type' is not
  valid") [N-NOKP]; a 422 was also reported for type 13 [N-422].
- Error bodies carry `detailMessage` [N-PY] (some clients read `message` [N-CLI]).

Nuki Smart Hosting subscription (SHS), verified
- "If you attempt to perform actions on a smart lock which does not have an SHS subscripton, the
  API will return an error": `{"error": "No active Smart Hosting subscription for the Smart Lock,
  please get one!"}` [N-SHS].
- The calls it gates: from 1 September 2023 the endpoints of API v1.5.0 "will return an error
  message if the Smart Lock or Smart Door doesn't have an active Smart Hosting subscription":
  Smartlock (GET, PUT, POST, DELETE), SmartlockAuth (GET, PUT, POST, DELETE), SmartlockLog (GET)
  and AdvancedApi [N-V15]. Keypad codes are SmartlockAuth objects (type 13), so every call this
  adapter makes on a lock's codes (list, create, update, delete) is among them. A PMS that issues
  only keypad codes lists the subscription as required since 1 September 2023 [N-B24]; Seam
  simulates an expired one as a device error [N-SEAM].
- Reading it: `GET /smartlock` answers a `currentSubscription` per lock, e.g. `{"type": "B2C",
  "state": "ACTIVE", "creationDate": …}`; SHS is valid one year from `creationDate`; "Once the
  subscription is no longer active, the state will change to INACTIVE" [N-SHS]. The schema:
  smartlockSchema `currentSubscription` and `previousSubscriptions`, both optional; shsSubscription
  {type B2C|B2B, state ACTIVE|INACTIVE|CANCELLED|EXPIRED|ON_HOLD|PENDING|PENDING_CANCEL,
  shsSubscriptionType, creationDate, expirationDate, isInGracePeriod, …}, every field optional
  [N-SW shsSubscriptionSchema]. A smart lock also carries `error` ("In case of any error, it
  contains the error message") [N-SW smartlockSchema].
- The Advanced API's bulk auth creation answers an `error` naming the "smartlock IDs, if auths can
  not be created because they need subscription" [N-SW advancedConfirmationResponseSchema]; this
  adapter does not use that endpoint.
- UNVERIFIED: the HTTP status of the refusal (not stated [N-SHS]; the auth create lists 402 and 426
  among its errors [N-SW], and a Nuki staff answer from before SHS tied 402 "Account not payed" to
  old Box packages [N-PRICE]); whether a host's own API token (not an Advanced API application) is
  gated for keypad codes (the announcement addresses "short rental integrators using the Nuki
  Advanced API" [N-V15], the guide says "the API" without that limit [N-SHS], an unofficial client
  reports the refusal on plain API-token calls [N-HA]); whether the GET of a lock is refused too
  (the announcement lists it, the guide reads the state with it); what Nuki allows in the states
  PENDING, ON_HOLD and PENDING_CANCEL; whether an absent `currentSubscription` means "none".

Decisions on what the sources leave open (UNVERIFIED items)
------------------------------------------------------------
- PKCE: not among Nuki's documented authorize parameters [N-OAUTH] and seen in no client, so the
  flow relies on `state` alone (locks.connect.oauth; its verifier is not sent). `USE_PKCE` turns it
  on in one place should Nuki document it (its swagger hints at an Ory "HYDRA" OAuth server).
- Scopes (`OAUTH_SCOPES`, space-separated, overridable with settings.NUKI_OAUTH_SCOPES): account
  (the account name), smartlock.readOnly (the lock list), smartlock.auth (keypad codes), the
  names every client we found uses [N-SCO]; Nuki's own list is not in the stored docs.
- Access-token lifetime: `expires_in` when given, else one hour (the implicit flow's documented
  lifetime [N-AUTH]); refreshed REFRESH_MARGIN before it ends and once after a 401. A missing
  `refresh_token` in a refresh answer keeps the previous one. No refresh token at all: the account
  needs reconnecting when the access token ends.
- "Full days" = `allowedFromTime` 0 and `allowedUntilTime` 0, what Nuki's forum examples and
  clients send [N-LTD, N-DUP] and what a client treats as Nuki's "all-day defaults"; the semantics
  of 0/0 are not stated by Nuki. The validity lives in the two UTC dates.
- Polling: after a write the lock's keypad codes are read READBACK_DELAYS (three reads, about 1, 3
  and 7 seconds after it). An `error` on the auth is a failed application: on create the orphan
  is deleted and CodeRejected is raised when the error names the code as taken, else LockOffline
  (the bridge could not apply it). A create still pending (an `operationId`, or not listed yet:
  an accepted auth can stay unlisted for tens of seconds) after the last read -> CodePending, not
  a failure: the lifecycle looks again (find_code) within the listing delay (five minutes, for
  "within a few minutes" [N-204]) and sends nothing meanwhile; a resend answered "'code' exists
  already" [N-DUP] (PinTaken) is treated the same way. Updates and deletes still pending ->
  OutcomeUnknown (resending them is harmless). A
  created auth whose dates are not the ones we sent (Nuki ignoring them [N-TYPE, N-LTD]) would open
  the door forever: it is deleted and the create fails transiently.
- Before each write (and find_code) the lock is read once (`GET /smartlock/{id}`): 403/404 ->
  LockNotFound; a serverState other than 0 -> LockOffline without sending anything, because Nuki
  would queue the change and apply it whenever the bridge returns; no keypad -> OperationNotSupported.
  Knowing the lock exists, a 404 on an auth URL means the code is gone (delete: success; update:
  CodeNotFound).
- Statuses (STATUS_ERRORS): 400 naming the code -> CodeRejected, naming the type ->
  OperationNotSupported (no keypad), else PermanentProviderError; 402 -> OperationNotSupported
  (payment required); 403 -> LockNotFound; 409 on a code write -> CodeRejected (duplicate);
  422 -> PermanentProviderError; 423 -> VendorUnavailable (busy with another operation); 426 ->
  OperationNotSupported (upgrade required); 429 -> RateLimited with Retry-After (Nuki's limits are
  undocumented); 5xx -> VendorUnavailable. Vendor texts never reach our messages (they may quote
  the code).
- find_code removes a same-named auth whose application failed or whose window is missing: it is
  not on the lock and would block the name and code of the create that follows.
- The lock's time zone is not reported as an IANA name (`timezoneId` is Nuki's own table), so
  RemoteLock.time_zone stays empty.
- Smart Hosting, the refusal: recognised by its text (NO_SUBSCRIPTION_TEXT, case-insensitive)
  whatever the HTTP status: in any error body (checked before the status is), in a successful
  answer whose body is an object with that `error`, in an answer of a status otherwise let through
  (a 404 on an auth URL), and in an authorization's `error` after a write. It raises
  SubscriptionRequired (permanent: nothing mends it but the host subscribing, so the lifecycle
  fails the code at once and emails the host this message instead of retrying hourly) in words
  that say what to do: SUBSCRIPTION_REFUSED; SUBSCRIPTION_REFUSED_REMOVAL for a removal (the code
  then keeps working until its end); SUBSCRIPTION_REFUSED_LIST should the lock list be refused.
  A 402 without the text keeps its own mapping (STATUS_ERRORS): nothing ties it to Smart Hosting.
- Smart Hosting, the lock list: a lock whose `currentSubscription.state` is INACTIVE, CANCELLED or
  EXPIRED, and not `isInGracePeriod`, or whose `error` is the refusal, is unavailable with
  NO_SUBSCRIPTION (what the lock can do through Nowistay; its online state stays apart and never
  blocks). An absent `currentSubscription` gives no verdict: older answers and accounts Nuki reports
  no subscription for must not make every lock ineligible, and nothing documents that absence means
  "none"; Nuki's answer to the first write then decides. `previousSubscriptions` is not read. ACTIVE,
  PENDING_CANCEL (running until its end), PENDING, ON_HOLD and unknown states give no verdict
  either (what Nuki allows in them is not documented; a refused write still says why), and
  `expirationDate` is not compared with our clock (the guide says the state changes).
- Smart Hosting, before a write: the lock read before each write does not refuse on the
  subscription state. Nuki's answer decides, so an account Nuki does not gate is never blocked by
  our reading of a state; a lapsed lock costs one refused request per code.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import requests
from django.conf import settings

from locks.providers.base import AccountSession, Capabilities, CodeSpec, ConnectResult, IssuedCode, LockProvider, RemoteLock
from locks.providers.exceptions import (
    CodeNotFound,
    CodePending,
    CodeRejected,
    LockNotFound,
    LockOffline,
    OperationNotSupported,
    OutcomeUnknown,
    PermanentProviderError,
    PinTaken,
    ProviderAuthError,
    ProviderError,
    RateLimited,
    SubscriptionRequired,
    TransientProviderError,
    VendorUnavailable,
)
from locks.providers.http import VendorHttp, shared_http, retry_after_seconds

logger = logging.getLogger(__name__)

# --- Nuki's constants (sources in the module docstring) ------------------------------------------
KEYPAD_CODE = 13  # auth type "13 .. keypad code"
ALL_WEEK_DAYS = 127  # 64 Monday + 32 + 16 + 8 + 4 + 2 + 1 Sunday
WHOLE_DAY_FROM, WHOLE_DAY_UNTIL = 0, 0  # no daily restriction (see "Decisions")
NAME_MAX_LENGTH = 20
SERVER_STATE_OK = 0
SERVER_STATES = {1: "unregistered", 2: "auth uuid invalid", 3: "auth invalid", 4: "offline"}

OAUTH_SCOPES = ("account", "smartlock.readOnly", "smartlock.auth")
USE_PKCE = False  # Nuki documents no code_challenge parameter
REFRESH_MARGIN = timedelta(minutes=5)
DEFAULT_ACCESS_LIFETIME = 3600  # seconds, when the token answer has no expires_in
READBACK_DELAYS = (1.0, 2.0, 4.0)  # seconds to wait before each read-back of a write
MALFORMED = "malformed"  # vendor_code of a VendorUnavailable raised for an answer we cannot read
API_TOKEN, OAUTH = "api_token", "oauth"  # credentials["auth"]

# Nuki Smart Hosting (see "Smart Hosting" in the docstring): the refusal's text, matched in lower case [N-SHS].
NO_SUBSCRIPTION_TEXT = "no active smart hosting subscription"
SUBSCRIPTION_ENDED_STATES = frozenset({"INACTIVE", "CANCELLED", "EXPIRED"})  # currentSubscription.state [N-SW]
NO_SUBSCRIPTION = (
    "This lock has no active Nuki Smart Hosting subscription, which Nuki requires for keypad codes through "
    "Nowistay. Activate or renew Smart Hosting for this lock in your Nuki account (Nuki Web), then use Refresh locks."
)
SUBSCRIPTION_REFUSED = (
    "Nuki refused: this lock has no active Nuki Smart Hosting subscription, which Nuki requires for keypad codes "
    "through Nowistay. Activate or renew Smart Hosting for this lock in your Nuki account (Nuki Web), then press "
    "Retry now on the booking."
)
SUBSCRIPTION_REFUSED_REMOVAL = (
    "Nuki refused to remove the code: this lock has no active Nuki Smart Hosting subscription. The code keeps "
    "working until its end; delete it in the Nuki app if it must stop sooner, and renew Smart Hosting for this "
    "lock in your Nuki account (Nuki Web)."
)
SUBSCRIPTION_REFUSED_LIST = (
    "Nuki refused to list the locks for lack of an active Nuki Smart Hosting subscription, which Nuki requires for "
    "keypad codes through Nowistay. Activate Smart Hosting for your locks in your Nuki account (Nuki Web), then use "
    "Refresh locks."
)

STATUS_ERRORS: dict[int, tuple[type[ProviderError], str]] = {
    400: (PermanentProviderError, "Nuki refused the request as invalid."),
    402: (OperationNotSupported, "Nuki requires a paid subscription on this account for keypad codes."),
    403: (LockNotFound, "This Nuki account is no longer allowed to manage the lock's keypad codes."),
    404: (LockNotFound, "The lock is no longer in this Nuki account."),
    409: (VendorUnavailable, "Nuki reported a conflict with another change; it is tried again later."),
    422: (PermanentProviderError, "Nuki could not process the keypad code for this lock."),
    423: (VendorUnavailable, "The lock is busy with another change; it is tried again later."),
    426: (OperationNotSupported, "Nuki asks for a firmware update before this lock can take codes this way."),
    429: (RateLimited, "Nuki asked us to slow down."),
}
DUPLICATE_CODE = "The lock already holds this PIN."
NO_KEYPAD = "No Nuki Keypad is paired with this lock."

# --- URLs (all built from settings.NUKI_API_URL, as Nuki serves OAuth from the API host) ----------

def api_url(path: str) -> str:
    return f"{settings.NUKI_API_URL.rstrip('/')}/{path.lstrip('/')}"


def authorize_endpoint() -> str:
    return api_url("oauth/authorize")


def token_endpoint() -> str:
    return api_url("oauth/token")


def oauth_scopes() -> str:
    return " ".join(getattr(settings, "NUKI_OAUTH_SCOPES", None) or OAUTH_SCOPES)


# --- dates ----------------------------------------------------------------------------------------

def format_date(moment: datetime) -> str:
    """Nuki's documented date format, in UTC: YYYY-MM-DDTHH:MM:SSZ."""
    if moment.tzinfo is None:
        raise ValueError("Nuki dates are built from aware datetimes only.")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(value: Any) -> datetime | None:
    """A Nuki date (with or without milliseconds) as an aware UTC datetime."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _malformed("a date")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _malformed("a date") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _sent(moment: datetime) -> datetime:
    """The moment as Nuki holds it once sent (whole seconds, UTC)."""
    return moment.astimezone(UTC).replace(microsecond=0)


# --- reading answers --------------------------------------------------------------------------------

def _malformed(what: str) -> VendorUnavailable:
    return VendorUnavailable(f"Nuki answered with something unexpected ({what}).", vendor_code=MALFORMED)


def _json(http: VendorHttp, response: requests.Response) -> Any:
    try:
        return http.json(response)
    except VendorUnavailable:
        raise _malformed("not JSON") from None


def _id_text(value: Any, what: str) -> str:
    """An id as text, exactly as sent: Nuki's smart-lock ids exceed 32 bits and must never pass
    through a float (a JSON integer is an exact Python int; a float would already have lost digits)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _malformed(what)
    text = str(value).strip()
    if not text:
        raise _malformed(what)
    return text


def _vendor_detail(response: requests.Response) -> str:
    """The vendor's own explanation, for *classifying* only: never put in a message or a log."""
    try:
        body = response.json()
    except ValueError:
        return response.text or ""
    if isinstance(body, dict):
        return " ".join(str(body.get(key) or "") for key in ("detailMessage", "message", "description", "error"))
    return ""


def refused_for_subscription(response: requests.Response) -> bool:
    """Whether Nuki refused because the lock has no active Smart Hosting subscription, whatever the
    status [N-SHS]. A successful answer counts only when its body is an object with that `error`:
    a lock list whose locks carry the text is not a refusal of the list."""
    if NO_SUBSCRIPTION_TEXT not in (response.text or "").lower():
        return False
    if not 200 <= response.status_code < 300:
        return NO_SUBSCRIPTION_TEXT in _vendor_detail(response).lower()
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and NO_SUBSCRIPTION_TEXT in str(body.get("error") or "").lower()


def raise_for_status(response: requests.Response, *, code_write: bool = False) -> None:
    """Translate a Nuki answer that is not a success into our error vocabulary."""
    status = response.status_code
    if refused_for_subscription(response):
        raise SubscriptionRequired(SUBSCRIPTION_REFUSED, vendor_code=str(status))
    if 200 <= status < 300:
        return
    vendor_code = str(status)
    if status == 401:
        raise ProviderAuthError("Nuki no longer accepts this connection; please reconnect the Nuki account.", vendor_code=vendor_code)
    if status == 400:
        detail = _vendor_detail(response).lower()
        if "exists" in detail and "code" in detail:  # "'code' exists already" [N-DUP]: maybe ours, queued
            raise PinTaken(DUPLICATE_CODE, vendor_code=vendor_code)
        if code_write and "'code'" in detail:
            raise CodeRejected("Nuki refused the PIN (it is not allowed on this lock).", vendor_code=vendor_code)
        if "'type'" in detail:
            raise OperationNotSupported(f"Nuki refused a keypad code: {NO_KEYPAD}", vendor_code=vendor_code)
    if status == 409 and code_write:
        raise PinTaken(DUPLICATE_CODE, vendor_code=vendor_code)
    if status in STATUS_ERRORS:
        cls, message = STATUS_ERRORS[status]
        if issubclass(cls, RateLimited | VendorUnavailable):
            raise cls(message, retry_after=retry_after_seconds(response), vendor_code=vendor_code)
        raise cls(message, vendor_code=vendor_code)
    if status >= 500:
        raise VendorUnavailable("Nuki is having trouble right now; it is tried again later.", retry_after=retry_after_seconds(response), vendor_code=vendor_code)
    raise PermanentProviderError(f"Nuki refused the request (HTTP {status}).", vendor_code=vendor_code)


# --- what a smart lock can do -------------------------------------------------------------------------

def _has_keypad(device: dict) -> bool:
    # Either keypad generation takes type-13 codes [N-SW keypadPaired, keypad2Paired].
    config = device.get("config") if isinstance(device.get("config"), dict) else {}
    return bool(config.get("keypadPaired") or config.get("keypad2Paired"))


def subscription_ended(device: dict) -> bool:
    """Whether Nuki reports the lock's Smart Hosting subscription as over (not merely unknown: an
    absent `currentSubscription` gives no verdict; see "Smart Hosting" in the module docstring)."""
    if NO_SUBSCRIPTION_TEXT in str(device.get("error") or "").lower():
        return True
    subscription = device.get("currentSubscription")
    if not isinstance(subscription, dict) or subscription.get("isInGracePeriod") is True:
        return False
    state = subscription.get("state")
    return isinstance(state, str) and state.strip().upper() in SUBSCRIPTION_ENDED_STATES


# --- connecting: OAuth 2 authorization code, or a pasted API token --------------------------------

def authorize_url(*, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
    """Where to send the host to sign in to Nuki (authorization code flow, bound by `state`)."""
    params = {
        "response_type": "code",
        "client_id": settings.NUKI_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": oauth_scopes(),
        "state": state,
    }
    if USE_PKCE and code_challenge:
        params.update(code_challenge=code_challenge, code_challenge_method="S256")
    return f"{authorize_endpoint()}?{urlencode(params, quote_via=quote)}"


def exchange_code(*, code: str, redirect_uri: str, code_verifier: str | None = None, http: VendorHttp | None = None) -> ConnectResult:
    """Trade the authorization code for tokens and read the account's name.

    Raises ProviderAuthError when Nuki refuses the code, VendorUnavailable when Nuki cannot be
    reached or answers nonsense (vendor_code MALFORMED)."""
    http = http or shared_http("Nuki")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": settings.NUKI_CLIENT_ID,
        "client_secret": settings.NUKI_CLIENT_SECRET,
    }
    if USE_PKCE and code_verifier:
        form["code_verifier"] = code_verifier
    credentials, expires_at = _token_answer(_token_request(form, http), previous_refresh_token=None)
    name = account_name(credentials["access_token"], http=http)
    return ConnectResult(credentials=credentials, expires_at=expires_at, display_name=name)


def connect_with_api_token(*, token: str, http: VendorHttp | None = None) -> ConnectResult:
    """Check a pasted Nuki Web API token by reading the account it belongs to."""
    http = http or shared_http("Nuki")
    name = account_name(token, http=http)
    return ConnectResult(credentials={"auth": API_TOKEN, "access_token": token}, expires_at=None, display_name=name)


def account_name(token: str, *, http: VendorHttp | None = None) -> str:
    """`GET /account` with this token: the account's name (or email) to show the host."""
    http = http or shared_http("Nuki")
    response = http.request("GET", api_url("account"), headers=_headers(token))
    raise_for_status(response)
    account = _json(http, response)
    if not isinstance(account, dict):
        raise _malformed("the account")
    name = account.get("name") or account.get("email") or (f"Nuki account {account['accountId']}" if account.get("accountId") else "")
    if not isinstance(name, str) or not name.strip():
        raise _malformed("the account has no name")
    return name.strip()[:200]


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def _token_request(form: dict[str, str], http: VendorHttp) -> dict:
    response = http.request("POST", token_endpoint(), data=form, headers={"Accept": "application/json"})
    if response.status_code in (400, 401, 403):  # invalid_grant, invalid_client (RFC 6749 §5.2)
        raise ProviderAuthError("Nuki did not accept the sign-in; please connect the Nuki account again.", vendor_code=str(response.status_code))
    raise_for_status(response)
    answer = _json(http, response)
    if not isinstance(answer, dict):
        raise _malformed("the token answer")
    return answer


def _token_answer(answer: dict, *, previous_refresh_token: str | None) -> tuple[dict, datetime]:
    access_token = answer.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise _malformed("no access token")
    refresh_token = answer.get("refresh_token") or previous_refresh_token
    try:
        lifetime = int(answer.get("expires_in") or DEFAULT_ACCESS_LIFETIME)
    except (TypeError, ValueError):
        raise _malformed("the token lifetime") from None
    expires_at = datetime.fromtimestamp(time.time() + lifetime, UTC).replace(microsecond=0)
    credentials = {"auth": OAUTH, "access_token": access_token, "expires_at": int(expires_at.timestamp())}
    if refresh_token:
        credentials["refresh_token"] = refresh_token
    return credentials, expires_at


# --- the adapter ------------------------------------------------------------------------------------

class NukiProvider(LockProvider):
    """One Nuki Web account: its locks and the keypad codes (type-13 authorizations) on them."""

    slug = "nuki"
    display_name = "Nuki"
    # "Call the GET /smartlock/auth endpoint within a few minutes to validate" [N-204].
    capabilities = Capabilities(chosen_pins=True, remote_revoke=True, update_in_place=True, find_codes=True, listing_delay=timedelta(minutes=5))
    readback_delays: tuple[float, ...] = READBACK_DELAYS

    def __init__(self, session: AccountSession, *, http: VendorHttp | None = None, sleep=time.sleep):
        super().__init__(session)
        self.http = http or shared_http("Nuki")
        self._sleep = sleep

    # --- credentials -------------------------------------------------------------------------------
    @property
    def _credentials(self) -> dict:
        return self.session.credentials or {}

    def _is_oauth(self) -> bool:
        return self._credentials.get("auth") == OAUTH

    def _access_token(self) -> str:
        token = self._credentials.get("access_token")
        if not token:
            raise ProviderAuthError("The Nuki account has no usable credentials; please connect it again.")
        if self._is_oauth() and self._expires_soon():
            self._refresh()
            token = self._credentials["access_token"]
        return token

    def _expires_soon(self) -> bool:
        expires_at = self._credentials.get("expires_at")
        return expires_at is not None and time.time() >= float(expires_at) - REFRESH_MARGIN.total_seconds()

    def _refresh(self) -> None:
        if not self._is_oauth() or not self._credentials.get("refresh_token"):
            raise ProviderAuthError("The Nuki sign-in has expired; please connect the Nuki account again.")
        # One refresh per account at a time: Nuki rotates the refresh token, so a worker that
        # finds the account refreshed meanwhile adopts those tokens instead of reusing the old one.
        self.session.refresh_credentials(self._refreshed_credentials)
        logger.info("Nuki access token refreshed for account %s", self.session.account_id)

    def _refreshed_credentials(self, credentials: dict) -> tuple[dict, datetime | None]:
        refresh_token = (credentials or {}).get("refresh_token")
        if (credentials or {}).get("auth") != OAUTH or not refresh_token:
            raise ProviderAuthError("The Nuki sign-in has expired; please connect the Nuki account again.")
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": settings.NUKI_CLIENT_ID,
            "client_secret": settings.NUKI_CLIENT_SECRET,
        }
        return _token_answer(_token_request(form, self.http), previous_refresh_token=refresh_token)

    def keep_alive(self) -> None:
        """OAuth: refresh now (proves and renews the refresh token). API token: read the account,
        so a token destroyed by a password change is noticed before a booking needs it."""
        if self._is_oauth():
            self._refresh()
        else:
            self._call("GET", "account")

    # --- requests -------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, code_write: bool = False, allow: tuple[int, ...] = (), **kwargs) -> requests.Response:
        """One API request with the Bearer token; on 401 the token is refreshed once and the request
        sent again (a 401 means Nuki did nothing). Statuses in `allow` are returned, not raised."""
        response = self.http.request(method, api_url(path), headers=_headers(self._access_token()), **kwargs)
        if response.status_code == 401 and self._is_oauth() and self._credentials.get("refresh_token"):
            self._refresh()
            response = self.http.request(method, api_url(path), headers=_headers(self._access_token()), **kwargs)
        if response.status_code == 401 and not self._is_oauth():
            raise ProviderAuthError(
                "Nuki no longer accepts the API token (Nuki deletes API tokens when the account's password "
                "changes); please paste a new one.",
                vendor_code="401",
            )
        if response.status_code not in allow or refused_for_subscription(response):
            raise_for_status(response, code_write=code_write)
        return response

    # --- locks ----------------------------------------------------------------------------------------
    def list_locks(self) -> list[RemoteLock]:
        try:
            response = self._call("GET", "smartlock")
        except SubscriptionRequired as refused:  # not expected (the guide reads the state here), but worded for a list
            raise SubscriptionRequired(SUBSCRIPTION_REFUSED_LIST, vendor_code=refused.vendor_code) from None
        devices = _json(self.http, response)
        if not isinstance(devices, list):
            raise _malformed("the lock list")
        return [self._remote_lock(device) for device in devices]

    def _remote_lock(self, device: Any) -> RemoteLock:
        if not isinstance(device, dict):
            raise _malformed("a lock")
        lock_id = _id_text(device.get("smartlockId"), "a smart lock id")
        reasons = [NO_KEYPAD] if not _has_keypad(device) else []
        if subscription_ended(device):
            reasons.append(NO_SUBSCRIPTION)
        server_state = device.get("serverState")
        return RemoteLock(
            vendor_lock_id=lock_id,
            name=str(device.get("name") or f"Nuki {lock_id}"),
            supports_remote_codes=not reasons,
            unavailable_reason=" ".join(reasons),
            is_online=server_state == SERVER_STATE_OK if isinstance(server_state, int) else None,
        )

    def _lock(self, vendor_lock_id: str, *, need_keypad: bool) -> dict:
        """The lock as Nuki sees it now; raises when a change could not be applied to it."""
        if not vendor_lock_id.isdigit():  # Nuki ids are numbers: anything else is not in the account
            raise LockNotFound("The lock is no longer in this Nuki account.")
        response = self._call("GET", f"smartlock/{vendor_lock_id}")
        device = _json(self.http, response)
        if not isinstance(device, dict) or _id_text(device.get("smartlockId"), "a smart lock id") != vendor_lock_id:
            raise _malformed("the lock")
        state = device.get("serverState")
        if state != SERVER_STATE_OK:
            reason = SERVER_STATES.get(state, f"state {state}")
            raise LockOffline(f"The Nuki lock cannot be reached through its bridge right now ({reason}).", vendor_code=f"serverState {state}")
        # Not the Smart Hosting state: Nuki's answer to the write decides (see "Smart Hosting").
        if need_keypad and not _has_keypad(device):
            raise OperationNotSupported(NO_KEYPAD)
        return device

    # --- codes ----------------------------------------------------------------------------------------
    def create_code(self, vendor_lock_id: str, spec: CodeSpec) -> IssuedCode:
        code = self._checked_code(spec)
        self._lock(vendor_lock_id, need_keypad=True)
        body = {
            "name": spec.name,
            "type": KEYPAD_CODE,
            "code": code,
            "allowedFromDate": format_date(spec.starts_at),
            "allowedUntilDate": format_date(spec.ends_at),
            "allowedWeekDays": ALL_WEEK_DAYS,
            "allowedFromTime": WHOLE_DAY_FROM,
            "allowedUntilTime": WHOLE_DAY_UNTIL,
            "remoteAllowed": False,
        }
        self._call("PUT", f"smartlock/{vendor_lock_id}/auth", json=body, code_write=True)
        for delay in self.readback_delays:
            self._sleep(delay)
            try:
                auth = self._pick(self._keypad_auths(vendor_lock_id), spec.name, code=code)
            except TransientProviderError as unreadable:
                # The PUT was accepted: whatever the read-back says, a code may now exist.
                raise CodePending(
                    "Nuki accepted the code but could not be asked whether the lock took it; it is looked for before anything is sent again.",
                    retry_after=unreadable.retry_after,
                ) from None
            if auth is None or auth.get("operationId"):
                continue  # not listed yet, or the bridge is still applying it
            if auth.get("error"):
                self._remove_orphan(vendor_lock_id, auth)
                raise self._application_error(auth, "create")
            issued = self._issued(auth)
            if issued is None or (issued.starts_at, issued.ends_at) != (_sent(spec.starts_at), _sent(spec.ends_at)):
                self._remove_orphan(vendor_lock_id, auth)
                raise VendorUnavailable("Nuki stored the code without its validity window; it was removed and is tried again later.")
            return issued
        # Accepted and queued; it may stay unlisted for tens of seconds more: not a failure.
        raise CodePending("Nuki accepted the code and is applying it to the lock; it is looked for again shortly.")

    def update_code(self, vendor_lock_id: str, vendor_code_id: str, spec: CodeSpec) -> IssuedCode:
        self._check_name(spec)
        code = self._checked_code(spec) if spec.pin is not None else None
        self._lock(vendor_lock_id, need_keypad=True)
        # The whole authorization is sent: fields left out are cleared by Nuki [N-UPD].
        body = {
            "name": spec.name,
            "allowedFromDate": format_date(spec.starts_at),
            "allowedUntilDate": format_date(spec.ends_at),
            "allowedWeekDays": ALL_WEEK_DAYS,
            "allowedFromTime": WHOLE_DAY_FROM,
            "allowedUntilTime": WHOLE_DAY_UNTIL,
            "enabled": True,
            "remoteAllowed": False,
        }
        if code is not None:
            body["code"] = code
        response = self._call("POST", f"smartlock/{vendor_lock_id}/auth/{quote(vendor_code_id, safe='')}", json=body, code_write=True, allow=(404,))
        if response.status_code == 404:
            raise CodeNotFound("The code is no longer on the lock.", vendor_code="404")
        wanted = (_sent(spec.starts_at), _sent(spec.ends_at))
        for delay in self.readback_delays:
            self._sleep(delay)
            auth = self._by_id(self._keypad_auths(vendor_lock_id), vendor_code_id)
            if auth is None:
                raise CodeNotFound("The code is no longer on the lock.")
            if auth.get("error"):
                raise self._application_error(auth, "update")
            issued = self._issued(auth)
            if auth.get("operationId") or issued is None or (issued.starts_at, issued.ends_at) != wanted or issued.name != spec.name:
                continue  # the bridge has not applied it yet
            return issued
        raise OutcomeUnknown("Nuki accepted the change but the lock has not confirmed it yet; it is checked again later.")

    def delete_code(self, vendor_lock_id: str, vendor_code_id: str) -> None:
        try:
            self._delete_code(vendor_lock_id, vendor_code_id)
        except SubscriptionRequired as refused:  # the code stays on the lock: say so
            raise SubscriptionRequired(SUBSCRIPTION_REFUSED_REMOVAL, vendor_code=refused.vendor_code) from None

    def _delete_code(self, vendor_lock_id: str, vendor_code_id: str) -> None:
        self._lock(vendor_lock_id, need_keypad=False)
        response = self._call("DELETE", f"smartlock/{vendor_lock_id}/auth/{quote(vendor_code_id, safe='')}", allow=(404,))
        if response.status_code == 404:
            return  # already gone: the lock answered just before, so the 404 is the code's
        for delay in self.readback_delays:
            self._sleep(delay)
            auth = self._by_id(self._keypad_auths(vendor_lock_id), vendor_code_id)
            if auth is None:
                return
            if auth.get("error"):
                raise self._application_error(auth, "delete")
        raise OutcomeUnknown("Nuki accepted the removal but the lock has not confirmed it yet; it is checked again later.")

    def find_code(self, vendor_lock_id: str, name: str) -> IssuedCode | None:
        self._lock(vendor_lock_id, need_keypad=False)
        found = None
        for auth in self._keypad_auths(vendor_lock_id):
            if auth.get("name") != name:
                continue
            issued = self._issued(auth)
            if auth.get("error") or issued is None:
                # Not on the lock (failed) or without a window (would open forever): clear it so the
                # create that follows can use the name and the code.
                self._remove_orphan(vendor_lock_id, auth)
            elif found is None:
                found = issued
        return found

    # --- helpers ---------------------------------------------------------------------------------------
    def _checked_code(self, spec: CodeSpec) -> int:
        """The PIN as the integer Nuki takes, after the checks Nuki would make (no request is sent
        for a PIN or a name Nuki would refuse)."""
        self._check_name(spec)
        if spec.pin is None:
            raise CodeRejected("A Nuki keypad code needs a PIN.")
        problem = self.pin_problem(spec.pin)
        if problem:
            raise CodeRejected(f"Nuki would refuse the PIN: {problem}")
        return int(spec.pin)

    @staticmethod
    def _check_name(spec: CodeSpec) -> None:
        # Our names are deterministic ("<instance>-<code id>") and found again by exact match, so
        # one that does not fit is refused rather than cut.
        if not spec.name or len(spec.name) > NAME_MAX_LENGTH:
            raise PermanentProviderError(f"Nuki code names are 1 to {NAME_MAX_LENGTH} characters.")

    def _keypad_auths(self, vendor_lock_id: str) -> list[dict]:
        response = self._call("GET", f"smartlock/{vendor_lock_id}/auth", params={"types": str(KEYPAD_CODE)})
        auths = _json(self.http, response)
        if not isinstance(auths, list) or not all(isinstance(auth, dict) for auth in auths):
            raise _malformed("the keypad codes")
        # The filter is asked for; other types are skipped anyway (an app user is never ours).
        return [auth for auth in auths if auth.get("type") == KEYPAD_CODE]

    @staticmethod
    def _pick(auths: list[dict], name: str, *, code: int) -> dict | None:
        matches = [auth for auth in auths if auth.get("name") == name and auth.get("code") == code]
        matches.sort(key=lambda auth: bool(auth.get("error")))  # a healthy one first
        return matches[0] if matches else None

    @staticmethod
    def _by_id(auths: list[dict], vendor_code_id: str) -> dict | None:
        return next((auth for auth in auths if str(auth.get("id")) == vendor_code_id), None)

    @staticmethod
    def _issued(auth: dict) -> IssuedCode | None:
        """The auth as an IssuedCode; None when it has no validity window."""
        starts_at, ends_at = parse_date(auth.get("allowedFromDate")), parse_date(auth.get("allowedUntilDate"))
        code = auth.get("code")
        if starts_at is None or ends_at is None:
            return None
        if isinstance(code, bool) or not isinstance(code, int):
            raise _malformed("a keypad code")
        return IssuedCode(
            vendor_code_id=_id_text(auth.get("id"), "an authorization id"),
            pin=str(code),
            starts_at=starts_at,
            ends_at=ends_at,
            name=str(auth.get("name") or ""),
        )

    def _remove_orphan(self, vendor_lock_id: str, auth: dict) -> None:
        auth_id = _id_text(auth.get("id"), "an authorization id")
        self._call("DELETE", f"smartlock/{vendor_lock_id}/auth/{quote(auth_id, safe='')}", allow=(404,))

    @staticmethod
    def _application_error(auth: dict, operation: str) -> ProviderError:
        """The bridge could not apply a change. Nuki's text is classified, never repeated."""
        detail = str(auth.get("error") or "").lower()
        if NO_SUBSCRIPTION_TEXT in detail:
            return SubscriptionRequired(SUBSCRIPTION_REFUSED_REMOVAL if operation == "delete" else SUBSCRIPTION_REFUSED, vendor_code="auth error")
        if operation != "delete" and "code" in detail and any(word in detail for word in ("exist", "duplicate", "already", "used")):
            # Taken, perhaps by our own earlier auth that is queued but not listed yet: PinTaken,
            # so the lifecycle looks for it before choosing another PIN.
            return PinTaken(DUPLICATE_CODE, vendor_code="auth error")
        verb = {"create": "put the code on", "update": "change the code on", "delete": "remove the code from"}[operation]
        return LockOffline(f"Nuki could not {verb} the lock (its bridge did not apply it); it is tried again later.", vendor_code="auth error")
