"""Nuki's answers read and translated into our error vocabulary, Smart Hosting refusals included (see the package docstring)."""

from typing import Any

import requests

from locks.providers.exceptions import (
    CodeRejected,
    LockNotFound,
    OperationNotSupported,
    PermanentProviderError,
    PinTaken,
    ProviderAuthError,
    ProviderError,
    RateLimited,
    SubscriptionRequired,
    VendorUnavailable,
)
from locks.providers.http import VendorHttp, retry_after_seconds

MALFORMED = "malformed"  # vendor_code of a VendorUnavailable raised for an answer we cannot read


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


# --- reading answers --------------------------------------------------------------------------------


def malformed(what: str) -> VendorUnavailable:
    return VendorUnavailable(f"Nuki answered with something unexpected ({what}).", vendor_code=MALFORMED)


def json_of(http: VendorHttp, response: requests.Response) -> Any:
    try:
        return http.json(response)
    except VendorUnavailable:
        raise malformed("not JSON") from None


def id_text(value: Any, what: str) -> str:
    """An id as text, exactly as sent: Nuki's smart-lock ids exceed 32 bits and must never pass
    through a float (a JSON integer is an exact Python int; a float would already have lost digits)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise malformed(what)
    text = str(value).strip()
    if not text:
        raise malformed(what)
    return text


def vendor_detail(response: requests.Response) -> str:
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
        return NO_SUBSCRIPTION_TEXT in vendor_detail(response).lower()
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
        detail = vendor_detail(response).lower()
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
        raise VendorUnavailable(
            "Nuki is having trouble right now; it is tried again later.", retry_after=retry_after_seconds(response), vendor_code=vendor_code
        )
    raise PermanentProviderError(f"Nuki refused the request (HTTP {status}).", vendor_code=vendor_code)
