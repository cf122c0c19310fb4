"""TTLock's error codes and answers, translated into our error vocabulary [T-ERR]."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import requests
from django.utils import timezone

from locks.providers.exceptions import (
    CodeNotFound,
    CodeRejected,
    CodeStorageFull,
    LockNotFound,
    LockOffline,
    OperationNotSupported,
    PermanentProviderError,
    PinTaken,
    ProviderAuthError,
    ProviderError,
    RateLimited,
    VendorUnavailable,
)
from locks.providers.http import VendorHttp, retry_after_seconds

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
    # An offline (random) code cannot be changed or deleted remotely before its first use [T-ERR, T-GET].
    -3008: (OperationNotSupported, "TTLock cannot change or delete a passcode that was never used on the lock."),
    -3009: (CodeStorageFull, "The lock's passcode memory is full (250 custom passcodes)."),
    # offline (random) codes, keyboardPwd/get [T-ERR CN; see locks.providers.ttlock.offline]
    -1007: (
        OperationNotSupported,
        "TTLock holds no offline-code data for this lock: resetting its passcodes in the TTLock app (which erases them) would restore it.",
    ),
    -1026: (
        CodeRejected,
        "TTLock already issued an offline code for exactly this window and it was deleted: another start or end hour is needed.",
    ),
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


_BEIJING = ZoneInfo("Asia/Shanghai")  # the monthly quota resets on the 1st, Beijing time [T-ERR CN, T-CNT]


def _seconds_until_quota_resets(now: datetime) -> float:
    local = now.astimezone(_BEIJING)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return (datetime(year, month, 1, tzinfo=_BEIJING) - local).total_seconds()


# --- answers -------------------------------------------------------------------------------------


class TokenRejected(Exception):
    """TTLock refused the access token (10003/10004): refresh once, then retry once."""

    def __init__(self, errcode: int):
        super().__init__(errcode)
        self.errcode = errcode


def malformed(what: str = "an answer") -> VendorUnavailable:
    return VendorUnavailable(f"TTLock sent {what} that Nowistay cannot read.", vendor_code=ANSWER_MALFORMED)


def error_for(errcode: int) -> ProviderError:
    error_class, message = ERRCODES.get(errcode, (VendorUnavailable, f"TTLock refused the request (error {errcode})."))
    if errcode == 30007:
        return RateLimited(message, retry_after=_seconds_until_quota_resets(timezone.now()), vendor_code=str(errcode))
    return error_class(message, vendor_code=str(errcode))


def errcode_of(body: dict) -> int:
    try:
        return int(body.get("errcode") or 0)
    except (TypeError, ValueError):
        raise malformed() from None


def read_answer(http: VendorHttp, response: requests.Response, *, token_retry: bool) -> dict:
    """The answer's JSON object, or the error its errcode (or HTTP status) stands for."""
    if response.status_code >= 500:
        raise VendorUnavailable(f"TTLock failed (HTTP {response.status_code}).")
    if response.status_code == 429:
        raise RateLimited("TTLock asked Nowistay to slow down.", retry_after=retry_after_seconds(response))
    try:
        body = http.json(response)
    except VendorUnavailable:
        raise malformed() from None
    if not isinstance(body, dict):
        raise malformed()
    errcode = errcode_of(body)
    if errcode and token_retry and errcode in TOKEN_ERRCODES:
        raise TokenRejected(errcode)
    if errcode:
        raise error_for(errcode)
    if response.status_code != 200:
        raise VendorUnavailable(f"TTLock answered HTTP {response.status_code}.")
    return body


def page_count(body: dict) -> int:
    try:
        return max(int(body.get("pages") or 1), 1)
    except (TypeError, ValueError):
        raise malformed("a page count") from None


def items_of(body: dict) -> list[dict]:
    items = body.get("list")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise malformed("a list")
    return items


def digits_only(value: str, error: PermanentProviderError) -> str:
    if not re.fullmatch(r"[0-9]+", str(value)):
        raise error
    return str(value)
