"""TTLock: the TTLock Open Platform cloud API v3, seen through one host's TTLock app account.

Source keys are listed in docs/vendors.md ("Sources"), plus T-FV (the featureValue page,
https://euopen.ttlock.com/document-pages/cloud/lock/featureValue), T-SDKFV (TTLock's Android
SDK `com.ttlock.bl.sdk.constant.FeatureValue`, "Created by TTLock", seen as idx:40189137811) and
the online-state pages, read in their EN and CN versions:
T-GWL   gateway/list      https://euopen.ttlock.com/document-pages/en/cloud/gateway/list
                          https://euopen.ttlock.com/documentPages/htmlPages/cloud/gateway/list.html
T-GWLL  gateway/listLock  https://euopen.ttlock.com/document-pages/en/cloud/gateway/listLock
                          https://euopen.ttlock.com/document-pages/cloud/gateway/listLock
T-GWLBL gateway/listByLock https://euopen.ttlock.com/document-pages/en/cloud/gateway/listByLock
                          https://euopen.ttlock.com/documentPages/htmlPages/cloud/gateway/listByLock.html
T-GWD   gateway/detail    https://euopen.ttlock.com/document-pages/en/cloud/gateway/detail
T-WL    wifiLock/detail   https://euopen.ttlock.com/document-pages/cloud/wifiLock/detail
                          https://euopen.ttlock.com/document/doc?urlName=cloud%2FwifiLock%2FdetailEn.html

Verified facts
--------------
- Sign-in: POST {base}/oauth2/token, form `clientId`, `clientSecret`, `username` and `password`
  = MD5 of the app password, 32 lowercase hex; the documented request carries no `grant_type`
  [T-TOK, CN and EN pages]. Answer `{access_token, uid, refresh_token, expires_in}` (seconds,
  90 days by default) [T-TOK].
- Refresh: same URL, form `clientId`, `clientSecret`, `grant_type=refresh_token`,
  `refresh_token`; answer `{access_token, refresh_token, expires_in}`; refresh tokens live
  10 years [T-REF, EN and CN].
- Every API call carries `clientId`, `accessToken` and `date` (now, ms; ±5 min or errcode
  80000) [T-ADD curl, T-LL, T-ERR]. GET endpoints take them in the query string (lock/list,
  lock/detail, lock/listKeyboardPwd), POST endpoints as form fields (keyboardPwd/add, change,
  delete) [T-LL, T-LD, T-LPWD, T-ADD, T-CHG, T-DEL curl examples].
- Errors: HTTP 200 with a non-zero `errcode` [HT api.py]; the table below is T-ERR (CN page,
  the most complete, checked against the EN page).
- lock/list: pageNo from 1, pageSize ≤ 1000, answer `{list, pageNo, pageSize, pages, total}`,
  only locks the account is top administrator of [T-LL]. lock/detail adds `featureValue`,
  `hasGateway` (1/0) and `timezoneRawOffset` (ms) [T-LD]; `keyboardPwdVersion` (0-4) is not in
  the current table but is on the older EN page (https://euopen.ttlock.com/doc/api/v3/lock/detail)
  and in a real payload [HT tests/const.py]. The detail carries no `lockData` [T-LD].
- featureValue is hex; bit n is `(int(value, 16) >> n) & 1` (the page's worked example reverses
  the bits of each byte, which is the same thing) [T-FV]. Bit 0 = passcodes [T-FV, T-SDKFV];
  bit 56 = WiFi lock, which needs no gateway [T-SDKFV `WIFI_LOCK = 56`, HT models.py].
- Custom passcodes need V4 passcode locks [T-ADD-OLD]; 4-9 digits (-3006), not too simple
  (-2032), unique on the lock (-3007), at most 250 (-3009) [T-ADD, T-ERR].
- keyboardPwd/add: `keyboardPwdType` 3 = period, `addType` 2 = through the gateway or WiFi
  (1, the default, only records the code in the cloud: it never reaches the lock), `startDate`
  and `endDate` in ms, precise to the minute; answer `{keyboardPwdId}` [T-ADD, T-ADD-OLD].
- keyboardPwd/change: `changeType` 2; both dates are required, without `startDate` the call
  succeeds and changes nothing [T-CHG]. keyboardPwd/delete: `deleteType` 2 [T-DEL].
- lock/listKeyboardPwd: pageNo, pageSize ≤ 200 and `orderBy` (required: 0 by name, 1 newest
  first, 2 by name descending); items carry `keyboardPwd` as a String [T-LPWD].
- Online state. No lock-level flag exists in lock/list or lock/detail; `hasGateway` only says a
  gateway is linked [T-LL, T-LD]. What TTLock does say:
  - GET gateway/list: `pageNo`, `pageSize` (≤ 200) and `orderBy` (required, 0 by name) besides
    the signature; answer `{list, pageNo, pageSize, pages, total}`, items `gatewayId`,
    `gatewayMac`, `gatewayName`, `gatewayVersion`, `networkName`, `networkMac`, `lockNum`,
    `isOnline` (Int, 0 no / 1 yes). The cloud keeps a gateway online until its TCP heartbeat
    (8 minutes) lapses [T-GWL, T-GWD].
  - GET gateway/listLock?gatewayId: `{list: [{lockId, lockMac, lockName, lockAlias, rssi,
    updateDate}]}` (no paging) - the locks the gateway reported within the last 30 minutes; a
    gateway and a lock are linked only when they share an administrator account [T-GWLL].
  - GET gateway/listByLock?lockId: `{list: [{gatewayId, gatewayMac, gatewayName, rssi,
    rssiUpdateDate}]}` - no `isOnline` [T-GWLBL]: asking it per lock would still need gateway/list.
  - POST wifiLock/detail, form `lockId` + the signature: `networkName`, `ip`, `wifiMac`,
    `rssiGrade`, `isOnline` (Int 0/1; the page's example writes `true`), `powerSavingMode`, ...;
    errcode -3034 when the WiFi lock has no network configured [T-WL].

Decisions on what the sources leave open
----------------------------------------
- PINs with a leading zero are never given: the CN add page types `keyboardPwd` as Int [T-ADD],
  and whether a leading zero survives `add` is unverified (an open question in TTLock's docs). Other pages point
  the other way (T-LPWD returns "034234"; T-CHG and T-DEL type the passcode as String), but a
  lock keeping "34234" while the guest is told "034234" is a guest at a closed door, and leaving
  out the leading zero costs a tenth of the PIN space. So `pins.ttlock_rule` refuses a leading 0:
  random PINs never draw one, a guest phone ending in one falls back to a random PIN, and
  `create_code` refuses such a PIN before any request. The PIN still travels as its digit string.
- featureValue bit 56 = WiFi comes from TTLock's own SDK constants and HT, not the cloud page
  (whose table is cut in the stored copy).
- `timezoneRawOffset` may be a standard-time offset (the name reads like Java's
  `TimeZone.getRawOffset`); `offset_warning` says so when that would explain a difference.
- Serialisation is per lock: TTLock can route one lock through any of several gateways
  ("many-to-many", best RSSI) [T-GW], so the gateway id is not known before a call. Only calls
  that travel through the gateway are serialised; cloud reads are not [HT api.py GW_LOCK].
- Online state (list_locks) costs one gateway/list, one gateway/listLock per online gateway and
  one wifiLock/detail per WiFi lock, and is read only for locks that can take codes. A lock is
  online when an online gateway lists it or its WiFi says so; offline when every read succeeded
  and no path is online (not listed by any online gateway: none has heard it for 30 minutes, and
  a remote call would fail with -2012/-3002; or -3034); otherwise None. A failed or unreadable
  read is never taken for offline, and the state never decides eligibility. A refused token
  still raises, so the account is asked to reconnect.
- find_code pages through every passcode rather than trusting `searchStr` (a fuzzy name search
  whose exact behaviour is undocumented): a missed match would put a second code on the lock.
- -3007 "same passcode already exists" is PinTaken: after an add whose answer was lost, the
  passcode on the lock may be ours (the gateway finished after our timeout), so the lifecycle
  looks for it before choosing another PIN. Listing delay: the passcode list is the cloud's
  record, written when the gateway answers [T-PL]; three minutes covers a gateway that answered
  after our timeout (TTLock documents no figure).
"""

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any, ContextManager
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.utils import timezone

from locks.providers.base import AccountSession, Capabilities, CodeSpec, ConnectResult, IssuedCode, LockProvider, RemoteLock
from locks.providers.exceptions import (
    CodeNotFound,
    CodeRejected,
    CodeStorageFull,
    LockNotFound,
    LockOffline,
    OperationNotSupported,
    OutcomeUnknown,
    PermanentProviderError,
    PinTaken,
    ProviderAuthError,
    ProviderError,
    RateLimited,
    VendorUnavailable,
)
from locks.providers.http import VendorHttp, shared_http, retry_after_seconds
from locks.providers.serialise import one_at_a_time, one_at_a_time_in_process

logger = logging.getLogger(__name__)

RECONNECT = "TTLock no longer accepts this connection: reconnect the TTLock account."
WRONG_REGION = 30008
# Our marker in `vendor_code` when TTLock's answer could not be read (not a TTLock errcode).
ANSWER_MALFORMED = "malformed"

# errcode -> (our error, plain message). Source: T-ERR; comments say why when it is not obvious.
ERRCODES: dict[int, tuple[type[ProviderError], str]] = {
    # account, application and tokens
    1: (VendorUnavailable, "TTLock reported that the operation failed."),
    -3: (VendorUnavailable, "TTLock refused a parameter of the request."),
    10000: (ProviderAuthError, "TTLock does not know Nowistay's application id."),
    10001: (ProviderAuthError, "TTLock refused Nowistay's application credentials."),
    10003: (ProviderAuthError, RECONNECT),  # token unknown: refreshed once before this is raised
    10004: (ProviderAuthError, RECONNECT),  # token expired or revoked: refreshed once first [T-TOK]
    10007: (ProviderAuthError, "TTLock did not accept this username and password."),
    10011: (ProviderAuthError, RECONNECT),  # refresh token refused: only a new sign-in helps
    20002: (LockNotFound, "This TTLock account is not an administrator of the lock."),
    -2018: (LockNotFound, "This TTLock account has no rights on the lock."),
    30006: (RateLimited, "TTLock is limiting how many requests Nowistay may send."),
    30007: (RateLimited, "Nowistay's monthly TTLock request quota is used up."),
    WRONG_REGION: (
        ProviderAuthError,
        "This TTLock account belongs to TTLock's mainland-China service, which Nowistay does not connect to.",
    ),
    80000: (VendorUnavailable, "TTLock refused the request time: the server clock may be off."),
    80002: (VendorUnavailable, "TTLock could not read the request."),
    90000: (VendorUnavailable, "TTLock had an internal error."),
    # locks
    -1003: (LockNotFound, "The lock is no longer in this TTLock account."),
    -2025: (VendorUnavailable, "The lock is frozen in TTLock: unfreeze it in the TTLock app."),
    -4043: (OperationNotSupported, "This TTLock lock does not support the operation."),
    -4056: (CodeStorageFull, "The lock's storage is full."),
    # passcodes
    -2009: (CodeNotFound, "The passcode is no longer on the lock."),
    -2032: (CodeRejected, "TTLock refused the PIN as too simple (consecutive or repeated digits)."),
    -3006: (CodeRejected, "TTLock refused the PIN's length: 4 to 9 digits."),
    -3007: (PinTaken, "The lock already holds this PIN."),  # maybe ours, landed late: looked for first
    -3008: (OperationNotSupported, "TTLock cannot change a passcode that was never used on the lock."),
    -3009: (CodeStorageFull, "The lock's passcode memory is full (250 custom passcodes)."),
    # gateways and WiFi locks: hasGateway=1 does not prove the gateway is online [T-GW]
    -2012: (LockOffline, "No TTLock gateway near the lock is online."),
    -3002: (LockOffline, "The lock's TTLock gateway is offline."),
    -3003: (VendorUnavailable, "The lock's TTLock gateway is busy."),
    -3034: (LockOffline, "The WiFi lock has no network configured."),
    -3035: (LockOffline, "The WiFi lock is in power-saving mode: turn it off in the TTLock app."),
    -3036: (LockOffline, "The lock is offline."),
    -3037: (VendorUnavailable, "The lock is busy."),
    -4037: (LockOffline, "The lock's TTLock gateway no longer exists."),
}
# Answered with a refresh and one retry before anything is raised.
TOKEN_ERRCODES = {10003, 10004}

PERIOD_PASSCODE = 3  # keyboardPwdType: 2 permanent, 3 period [T-ADD]
VIA_GATEWAY = 2  # addType / changeType / deleteType: 2 = gateway or WiFi; 1 = cloud record only [T-ADD]
NEWEST_FIRST = 1  # listKeyboardPwd orderBy; our codes are usually recent [T-LPWD]
BY_NAME = 0  # gateway/list orderBy, a required parameter [T-GWL]
V4_PASSCODES = 4
FEATURE_PASSCODE = 0  # [T-FV]
FEATURE_WIFI_LOCK = 56  # [T-SDKFV, HT models.py]
NO_GATEWAY = "No gateway: link the lock to a TTLock gateway"
OLD_PASSCODES = "Keypad passcodes older than V4 are not supported"
NO_KEYPAD = "The lock has no keypad"
UNKNOWN_PASSCODES = "TTLock did not say which keypad passcode version the lock has (V4 is needed)"
NO_DETAILS = "TTLock did not give this account the lock's details (administrators only)"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BEIJING = ZoneInfo("Asia/Shanghai")  # the monthly quota resets on the 1st, Beijing time [T-ERR CN, T-CNT]


# --- time --------------------------------------------------------------------------------------

def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, exactly (TTLock's unit for every date) [T-ADD]."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_ms(value: Any) -> datetime:
    return _EPOCH + timedelta(milliseconds=int(value))


def _now_ms() -> int:
    return int(time.time() * 1000)


def offset_warning(lock_offset_minutes: int | None, property_tz: str, *, on: date) -> str:
    """A plain warning when the lock's UTC offset is not its property's on `on`; "" when they agree.

    The lock checks code windows against its own clock and zone [T-LD, SEAM-T]; a wrong zone is
    the usual cause of codes that open hours off.
    """
    if lock_offset_minutes is None:
        return ""
    noon = datetime.combine(on, clock_time(12), tzinfo=ZoneInfo(property_tz))
    expected = int(noon.utcoffset().total_seconds()) // 60
    if lock_offset_minutes == expected:
        return ""
    standard = expected - int((noon.dst() or timedelta()).total_seconds()) // 60
    why = " (it may not follow daylight saving time)" if lock_offset_minutes == standard else ""
    return (
        f"The lock is set to {_utc_label(lock_offset_minutes)}{why}, but {property_tz} is at "
        f"{_utc_label(expected)} on {on.isoformat()}: guest codes may open at the wrong hour. "
        "Set the lock's time zone in the TTLock app."
    )


def _utc_label(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def _seconds_until_quota_resets(now: datetime) -> float:
    local = now.astimezone(_BEIJING)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return (datetime(year, month, 1, tzinfo=_BEIJING) - local).total_seconds()


# --- one call in flight per lock ---------------------------------------------------------------

LOCK_SCOPE = "ttlock-lock"  # advisory keys: nowistay:ttlock-lock:<vendor lock id>


def one_call_per_lock_in_process(vendor_lock_id: str) -> ContextManager[None]:
    """Serialise calls to one lock among the threads of this process."""
    return one_at_a_time_in_process(LOCK_SCOPE, vendor_lock_id)


def one_call_per_lock(vendor_lock_id: str) -> ContextManager[None]:
    """Serialise calls to one lock across threads and worker processes.

    On PostgreSQL a session-level advisory lock (held by this thread's connection, released
    explicitly, never tied to a transaction); elsewhere a lock shared by this process's threads.
    A gateway answers one request at a time and says -3003 "busy" otherwise [T-ERR, HT GW_LOCK].
    """
    return one_at_a_time(LOCK_SCOPE, vendor_lock_id)


# --- answers -------------------------------------------------------------------------------------

class _TokenRejected(Exception):
    """TTLock refused the access token (10003/10004): refresh once, then retry once."""

    def __init__(self, errcode: int):
        super().__init__(errcode)
        self.errcode = errcode


def _malformed(what: str = "an answer") -> VendorUnavailable:
    return VendorUnavailable(f"TTLock sent {what} that Nowistay cannot read.", vendor_code=ANSWER_MALFORMED)


def _error_for(errcode: int) -> ProviderError:
    error_class, message = ERRCODES.get(errcode, (VendorUnavailable, f"TTLock refused the request (error {errcode})."))
    if errcode == 30007:
        return RateLimited(message, retry_after=_seconds_until_quota_resets(timezone.now()), vendor_code=str(errcode))
    return error_class(message, vendor_code=str(errcode))


def _errcode(body: dict) -> int:
    try:
        return int(body.get("errcode") or 0)
    except (TypeError, ValueError):
        raise _malformed() from None


def _read(http: VendorHttp, response: requests.Response, *, token_retry: bool) -> dict:
    """The answer's JSON object, or the error its errcode (or HTTP status) stands for."""
    if response.status_code >= 500:
        raise VendorUnavailable(f"TTLock failed (HTTP {response.status_code}).")
    if response.status_code == 429:
        raise RateLimited("TTLock asked Nowistay to slow down.", retry_after=retry_after_seconds(response))
    try:
        body = http.json(response)
    except VendorUnavailable:
        raise _malformed() from None
    if not isinstance(body, dict):
        raise _malformed()
    errcode = _errcode(body)
    if errcode and token_retry and errcode in TOKEN_ERRCODES:
        raise _TokenRejected(errcode)
    if errcode:
        raise _error_for(errcode)
    if response.status_code != 200:
        raise VendorUnavailable(f"TTLock answered HTTP {response.status_code}.")
    return body


def _page_count(body: dict) -> int:
    try:
        return max(int(body.get("pages") or 1), 1)
    except (TypeError, ValueError):
        raise _malformed("a page count") from None


def _items(body: dict) -> list[dict]:
    items = body.get("list")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise _malformed("a list")
    return items


def _has_feature(feature_value: Any, bit: int) -> bool | None:
    """Whether featureValue (hex) has `bit`; None when TTLock did not say."""
    if not isinstance(feature_value, str) or not feature_value.strip():
        return None
    try:
        return bool((int(feature_value, 16) >> bit) & 1)
    except ValueError:
        return None


def _flag(value: Any) -> bool | None:
    """TTLock's 0/1 flags; the wifiLock/detail example writes `true` for an Int field [T-WL]."""
    if value in (1, "1", True):
        return True
    if value in (0, "0", False):
        return False
    return None


def _via_gateway(details: dict) -> bool:
    return details.get("hasGateway") in (1, "1")


class _GatewayReach:
    """Which locks the account's online gateways reach, and whether every read succeeded."""

    def __init__(self):
        self.lock_ids: set[str] = set()
        self.complete = True

    def incomplete(self) -> "_GatewayReach":
        self.complete = False
        return self

    def add(self, locks: list[dict]) -> None:
        self.lock_ids |= {str(lock.get("lockId")) for lock in locks}

    def state_of(self, lock_id: str) -> bool | None:
        # Not listed by any online gateway: none has heard the lock for 30 minutes [T-GWLL], and a
        # remote call would fail with -2012 or -3002. Only said when every read succeeded.
        if lock_id in self.lock_ids:
            return True
        return False if self.complete else None


def _digits(value: str, error: PermanentProviderError) -> str:
    if not re.fullmatch(r"[0-9]+", str(value)):
        raise error
    return str(value)


# --- tokens ----------------------------------------------------------------------------------------

def _token_url() -> str:
    return f"{settings.TTLOCK_API_URL.rstrip('/')}/oauth2/token"


def _token_request(http: VendorHttp, form: dict) -> dict:
    try:
        response = http.request("POST", _token_url(), data=form)
    except OutcomeUnknown:  # a token request changes nothing that must be looked for afterwards
        raise VendorUnavailable("TTLock did not answer in time.") from None
    return _read(http, response, token_retry=False)


def _credentials_from(body: dict, *, username: str, previous_refresh_token: str = "") -> tuple[dict, datetime]:
    """What we keep of a token answer: the tokens, their expiry and the username, nothing else."""
    access_token = body.get("access_token")
    refresh_token = body.get("refresh_token") or previous_refresh_token
    try:
        lifetime = int(body.get("expires_in"))
    except (TypeError, ValueError):
        raise _malformed("a sign-in answer") from None
    if not isinstance(access_token, str) or not access_token or not isinstance(refresh_token, str) or lifetime <= 0:
        raise _malformed("a sign-in answer")
    expires_at = timezone.now() + timedelta(seconds=lifetime)
    credentials = {
        "access_token": access_token,
        "refresh_token": refresh_token,
        "expires_at": expires_at.isoformat(),
        "username": username,
    }
    return credentials, expires_at


def _password_digest(password: str) -> str:
    # TTLock takes the MD5 of the app password, 32 lowercase hex, never the password [T-TOK].
    return hashlib.md5(password.encode("utf-8")).hexdigest()


# --- the adapter -----------------------------------------------------------------------------------

class TTLockProvider(LockProvider):
    """A host's TTLock account: locks with a gateway (or WiFi) and V4 passcodes take guest codes."""

    slug = "ttlock"
    display_name = "TTLock"
    capabilities = Capabilities(chosen_pins=True, remote_revoke=True, update_in_place=True, listing_delay=timedelta(minutes=3))

    LOCK_PAGE_SIZE = 100  # lock/list allows up to 1000 [T-LL]
    GATEWAY_PAGE_SIZE = 200  # the documented maximum [T-GWL]
    PASSCODE_PAGE_SIZE = 200  # the documented maximum [T-LPWD]
    MAX_PAGES = 100  # a cloud answering `pages` wrongly must not keep us looping
    REFRESH_MARGIN = timedelta(minutes=10)
    KEEP_ALIVE_MARGIN = timedelta(days=1)  # the keep-alive task runs every few hours

    @classmethod
    def clock_warning(cls, lock_offset_minutes: int | None, property_tz: str, *, on: date) -> str:
        return offset_warning(lock_offset_minutes, property_tz, on=on)

    def __init__(
        self,
        session: AccountSession,
        *,
        http: VendorHttp | None = None,
        call_guard: Callable[[str], ContextManager[None]] | None = None,
    ):
        super().__init__(session)
        self.http = http or shared_http(self.display_name)
        self.call_guard = call_guard or one_call_per_lock
        self._refreshed = False

    # --- connecting -----------------------------------------------------------------------------

    @classmethod
    def sign_in(cls, username: str, password: str, *, http: VendorHttp | None = None) -> ConnectResult:
        """Sign in with the host's TTLock app account; the password is used once and never kept."""
        form = {
            "clientId": settings.TTLOCK_CLIENT_ID,
            "clientSecret": settings.TTLOCK_CLIENT_SECRET,
            "username": username,
            "password": _password_digest(password),
        }
        body = _token_request(http or shared_http(cls.display_name), form)
        credentials, expires_at = _credentials_from(body, username=username)
        return ConnectResult(credentials=credentials, expires_at=expires_at, display_name=username)

    def keep_alive(self) -> None:
        if self._expires_within(self.KEEP_ALIVE_MARGIN):
            self._refresh()

    # --- locks ------------------------------------------------------------------------------------

    def list_locks(self) -> list[RemoteLock]:
        described = [self._described(entry) for entry in self._pages("lock/list", {}, self.LOCK_PAGE_SIZE)]
        eligible = [details for details, reasons in described if not reasons]
        reach = self._gateway_reach() if any(_via_gateway(details) for details in eligible) else None
        return [
            self._remote_lock(details, reasons, is_online=None if reasons else self._is_online(details, reach))
            for details, reasons in described
        ]

    def _described(self, entry: dict) -> tuple[dict, list[str]]:
        """The lock's list entry with its details, and why it cannot take codes (empty if it can)."""
        lock_id = str(entry.get("lockId", ""))
        if not lock_id:
            raise _malformed("a lock without an id")
        try:
            details = {**entry, **self._call("GET", "lock/detail", {"lockId": lock_id})}
        except LockNotFound:
            return {**entry, "lockId": lock_id}, [NO_DETAILS]
        return {**details, "lockId": lock_id}, self._unavailable_reasons(details)

    @staticmethod
    def _remote_lock(details: dict, reasons: list[str], *, is_online: bool | None) -> RemoteLock:
        lock_id = details["lockId"]
        offset = details.get("timezoneRawOffset")
        return RemoteLock(
            vendor_lock_id=lock_id,
            name=str(details.get("lockAlias") or details.get("lockName") or f"TTLock {lock_id}"),
            supports_remote_codes=not reasons,
            unavailable_reason="; ".join(reasons),
            is_online=is_online,
            utc_offset_minutes=round(int(offset) / 60000) if isinstance(offset, int | float) else None,
        )

    # --- online state: read, never a reason to refuse a lock ---------------------------------------

    def _is_online(self, details: dict, reach: "_GatewayReach | None") -> bool | None:
        """True when a path to the lock is online, False when every path is known to be offline,
        None when TTLock did not say (a failed read is never taken for "offline")."""
        states = []
        if reach is not None and _via_gateway(details):
            states.append(reach.state_of(details["lockId"]))
        if _has_feature(details.get("featureValue"), FEATURE_WIFI_LOCK):
            states.append(self._wifi_online(details["lockId"]))
        if True in states:
            return True
        return False if states and all(state is False for state in states) else None

    def _gateway_reach(self) -> "_GatewayReach":
        """The locks an online gateway of the account reaches: one gateway/list, then one
        gateway/listLock per online gateway (gateway/listByLock carries no online flag) [T-GWL, T-GWLL]."""
        reach = _GatewayReach()
        try:
            gateways = list(self._pages("gateway/list", {"orderBy": BY_NAME}, self.GATEWAY_PAGE_SIZE))
        except ProviderAuthError:
            raise
        except ProviderError:
            return reach.incomplete()
        for gateway in gateways:
            online, gateway_id = _flag(gateway.get("isOnline")), str(gateway.get("gatewayId", ""))
            if online is False:
                continue
            if online is None or not gateway_id.isdigit():
                reach.complete = False  # the locks it may serve can be called neither online nor offline
                continue
            try:
                reach.add(_items(self._call("GET", "gateway/listLock", {"gatewayId": gateway_id})))
            except ProviderAuthError:
                raise
            except ProviderError:
                reach.complete = False
        return reach

    def _wifi_online(self, lock_id: str) -> bool | None:
        try:
            answer = self._call("POST", "wifiLock/detail", {"lockId": lock_id})
        except ProviderAuthError:
            raise
        except LockOffline as offline:
            # -3034 is the page's own answer for a WiFi lock with no network configured [T-WL].
            return False if offline.vendor_code == "-3034" else None
        except ProviderError:
            return None
        return _flag(answer.get("isOnline"))

    @staticmethod
    def _unavailable_reasons(details: dict) -> list[str]:
        reasons = []
        if _has_feature(details.get("featureValue"), FEATURE_PASSCODE) is False:
            reasons.append(NO_KEYPAD)
        reachable = _via_gateway(details) or _has_feature(details.get("featureValue"), FEATURE_WIFI_LOCK)
        if not reachable:
            reasons.append(NO_GATEWAY)
        version = details.get("keyboardPwdVersion")
        if version in (None, ""):
            reasons.append(UNKNOWN_PASSCODES)
        elif str(version) != str(V4_PASSCODES):
            reasons.append(OLD_PASSCODES)
        return reasons

    # --- codes ------------------------------------------------------------------------------------

    def create_code(self, vendor_lock_id: str, spec: CodeSpec) -> IssuedCode:
        pin = self._checked_pin(spec.pin)
        lock_id = self._lock_id(vendor_lock_id)
        answer = self._call(
            "POST",
            "keyboardPwd/add",
            {
                "lockId": lock_id,
                "keyboardPwd": pin,  # the digit string as is (never one with a leading zero: see the docstring)
                "keyboardPwdName": spec.name,
                "keyboardPwdType": PERIOD_PASSCODE,
                "startDate": to_ms(spec.starts_at),
                "endDate": to_ms(spec.ends_at),
                "addType": VIA_GATEWAY,  # the default (1) stores the code in the cloud only [T-ADD]
            },
            lock_id=lock_id,
        )
        code_id = answer.get("keyboardPwdId")
        if code_id in (None, ""):  # TTLock acted but did not say on what: look for it before retrying
            raise OutcomeUnknown("TTLock accepted the code without giving its id.")
        return IssuedCode(str(code_id), pin, spec.starts_at, spec.ends_at, name=spec.name)

    def update_code(self, vendor_lock_id: str, vendor_code_id: str, spec: CodeSpec) -> IssuedCode:
        lock_id = self._lock_id(vendor_lock_id)
        code_id = _digits(vendor_code_id, CodeNotFound("The passcode is no longer on the lock."))
        self._call(
            "POST",
            "keyboardPwd/change",
            {
                "lockId": lock_id,
                "keyboardPwdId": code_id,
                "keyboardPwdName": spec.name,
                # Both dates, always: without startDate TTLock answers success and changes nothing [T-CHG].
                "startDate": to_ms(spec.starts_at),
                "endDate": to_ms(spec.ends_at),
                "changeType": VIA_GATEWAY,
            },
            lock_id=lock_id,
        )
        return IssuedCode(code_id, spec.pin or "", spec.starts_at, spec.ends_at, name=spec.name)

    def delete_code(self, vendor_lock_id: str, vendor_code_id: str) -> None:
        lock_id = self._lock_id(vendor_lock_id)
        if not re.fullmatch(r"[0-9]+", str(vendor_code_id)):
            return None  # not an id TTLock could have given: nothing of ours to remove
        try:
            self._call(
                "POST",
                "keyboardPwd/delete",
                {"lockId": lock_id, "keyboardPwdId": vendor_code_id, "deleteType": VIA_GATEWAY},
                lock_id=lock_id,
            )
        except CodeNotFound:
            return None  # already gone counts as removed
        return None

    def find_code(self, vendor_lock_id: str, name: str) -> IssuedCode | None:
        lock_id = self._lock_id(vendor_lock_id)
        params = {"lockId": lock_id, "orderBy": NEWEST_FIRST}
        for entry in self._pages("lock/listKeyboardPwd", params, self.PASSCODE_PAGE_SIZE):
            if entry.get("keyboardPwdName") == name:
                return self._issued(entry)
        return None

    @staticmethod
    def _issued(entry: dict) -> IssuedCode:
        try:
            return IssuedCode(
                vendor_code_id=str(entry["keyboardPwdId"]),
                pin=str(entry["keyboardPwd"]),
                starts_at=from_ms(entry["startDate"]),
                ends_at=from_ms(entry["endDate"]),
                name=str(entry.get("keyboardPwdName", "")),
            )
        except (KeyError, TypeError, ValueError):
            raise _malformed("a passcode") from None

    def _checked_pin(self, pin: str | None) -> str:
        if not pin:
            raise CodeRejected("TTLock codes need a PIN chosen by Nowistay.")
        problem = self.pin_problem(pin)
        if problem:
            raise CodeRejected(problem)
        return pin

    @staticmethod
    def _lock_id(vendor_lock_id: str) -> str:
        return _digits(vendor_lock_id, LockNotFound("The lock is no longer in this TTLock account."))

    # --- requests ---------------------------------------------------------------------------------

    def _pages(self, path: str, params: dict, page_size: int) -> Iterator[dict]:
        page = 1
        while True:
            answer = self._call("GET", path, {**params, "pageNo": page, "pageSize": page_size})
            items = _items(answer)
            yield from items
            if page >= min(_page_count(answer), self.MAX_PAGES) or not items:
                return
            page += 1

    def _call(self, method: str, path: str, params: dict, *, lock_id: str | None = None) -> dict:
        """One API call with fresh tokens; a refused token is refreshed once and the call retried once."""
        # Once per adapter at most: tokens living less than the margin must not be renewed on every call.
        if not self._refreshed and self._expires_within(self.REFRESH_MARGIN):
            self._refresh()
        with self.call_guard(lock_id) if lock_id is not None else nullcontext():
            try:
                return self._send(method, path, params)
            except _TokenRejected:
                self._refresh()
            try:
                return self._send(method, path, params)
            except _TokenRejected as rejected:
                raise ProviderAuthError(RECONNECT, vendor_code=str(rejected.errcode)) from None

    def _send(self, method: str, path: str, params: dict) -> dict:
        signed = {
            "clientId": settings.TTLOCK_CLIENT_ID,
            "accessToken": self._access_token(),
            **params,
            "date": _now_ms(),
        }
        url = f"{settings.TTLOCK_API_URL.rstrip('/')}/v3/{path}"
        if method == "GET":
            response = self.http.request("GET", url, params=signed)
        else:
            response = self.http.request("POST", url, data=signed)
        return _read(self.http, response, token_retry=True)

    # --- tokens -----------------------------------------------------------------------------------

    def _access_token(self) -> str:
        token = self.session.credentials.get("access_token")
        if not token:
            raise ProviderAuthError(RECONNECT)
        return token

    def _expires_within(self, margin: timedelta) -> bool:
        try:
            expires_at = datetime.fromisoformat(self.session.credentials["expires_at"])
        except (KeyError, TypeError, ValueError):
            return False  # unknown expiry: an expired-token errcode will tell
        return expires_at - timezone.now() <= margin

    def _refresh(self) -> None:
        """New tokens, one refresh per account at a time: a refresh token is good for one use, so
        a worker that finds the account refreshed meanwhile adopts those tokens instead."""
        self.session.refresh_credentials(self._refreshed_credentials)
        self._refreshed = True

    def _refreshed_credentials(self, credentials: dict) -> tuple[dict, datetime | None]:
        refresh_token = credentials.get("refresh_token")
        if not refresh_token:
            raise ProviderAuthError(RECONNECT)
        form = {
            "clientId": settings.TTLOCK_CLIENT_ID,
            "clientSecret": settings.TTLOCK_CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        try:
            body = _token_request(self.http, form)
        except ProviderAuthError as refused:
            raise ProviderAuthError(RECONNECT, vendor_code=refused.vendor_code) from None
        return _credentials_from(body, username=credentials.get("username", ""), previous_refresh_token=refresh_token)


# urllib3 logs each request line, query string included, at DEBUG; TTLock's GET calls carry the
# access token there [T-LL], so it is masked before any handler sees it.
_TOKEN_IN_URL = re.compile(r"(accessToken|access_token|refresh_token|clientSecret)=[^&\s\"]*")


class _MaskTokensInUrls(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_URL.sub(r"\1=[redacted]", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_URL.sub(r"\1=[redacted]", record.msg)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_MaskTokensInUrls())
