"""The Tedee adapter: keypad PINs on Tedee locks through one host's OAuth connection."""

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from locks.providers.base import AccountSession, Capabilities, CodeSpec, ConnectResult, IssuedCode, LockProvider, RemoteLock
from locks.providers.exceptions import (
    CodeNotFound,
    CodeRejected,
    LockNotFound,
    OutcomeUnknown,
    PermanentProviderError,
    ProviderAuthError,
    ProviderError,
    RateLimited,
    VendorUnavailable,
)
from locks.providers.http import VendorHttp, retry_after_seconds, shared_http
from locks.providers.tedee.client import (
    KEEP_ALIVE_AFTER,
    REFRESH_MARGIN,
    api_url,
    authorize_url as tedee_authorize_url,
    exchange_code as tedee_exchange_code,
    refresh_tokens,
)
from locks.providers.tedee.codes import parse_date, pin_body
from locks.providers.tedee.errors import PIN_WRITE_ONLY, STATUS_ERRORS
from locks.providers.tedee.locks import unavailable_reasons
from locks.providers.tedee.pins import tedee_rule
from locks.providers.tedee.read_back import TedeeReadBack
from locks.providers.tedee.sign_in import (
    CONNECT_FINE_PRINT,
    CONNECT_HINT,
    CONNECT_NOTES,
    ELIGIBILITY_HINT,
    METHODS,
    refusal as sign_in_refusal_text,
)
from locks.providers.tokens import expires_within, from_iso, send_with_one_refresh

logger = logging.getLogger(__name__)


JSON_BODY_HEADERS = {"accept": "application/json", "Content-Type": "application/json-patch+json"}  # as in TD examples


# --- the adapter -------------------------------------------------------------------------------------


def list_version(value) -> str:
    """The list's version as we send it back: a whole number, else none (then every list is read whole)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return ""
    return str(value) if str(value).isdigit() and len(str(value)) <= 20 else ""


class TedeeProvider(TedeeReadBack, LockProvider):
    """Tedee locks with a keypad and a bridge, through one host's OAuth connection."""

    slug = "tedee"
    display_name = "Tedee"
    pin_rule = staticmethod(tedee_rule)
    sign_in_methods = METHODS
    connect_hint = CONNECT_HINT
    connect_notes = CONNECT_NOTES
    connect_fine_print = CONNECT_FINE_PRINT
    eligibility_hint = ELIGIBILITY_HINT

    @classmethod
    def authorization_url(cls, *, state: str, code_challenge: str | None, redirect_uri: str) -> str:
        return tedee_authorize_url(state=state, code_challenge=code_challenge, redirect_uri=redirect_uri)

    @classmethod
    def exchange_code(cls, *, code: str, code_verifier: str | None, redirect_uri: str, http: VendorHttp | None = None) -> ConnectResult:
        return tedee_exchange_code(code=code, code_verifier=code_verifier, redirect_uri=redirect_uri, http=http)

    @classmethod
    def sign_in_refusal(cls, error: Exception) -> str:
        return sign_in_refusal_text(error) if isinstance(error, ProviderError) else super().sign_in_refusal(error)

    capabilities = Capabilities(
        chosen_pins=True,
        remote_revoke=True,
        update_in_place=True,
        listing_delay=timedelta(minutes=2),
        lists_codes=True,
        access_log=True,  # which PIN opened is UNVERIFIED: see `read_back`
        reports_health=True,
    )

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
        return self._versioned_pin_list(vendor_lock_id, known_version="")[1] or []

    def _versioned_pin_list(self, vendor_lock_id: str, *, known_version: str) -> tuple[str, list[dict] | None]:
        """The list's version and its entries; None for the entries when it is still `known_version`
        (304 "List version is up to date" [TD lockpin/get-all.rst])."""
        params = {"listVersion": known_version} if known_version else None
        response = self._call("GET", f"my/lock/{vendor_lock_id}/pin", params=params)
        if known_version and response.status_code == 304:
            return known_version, None
        self._raise_for_status(response, lock_id=vendor_lock_id)
        result = self._result(response)
        pins = result.get("pins") if isinstance(result, dict) else None
        if not isinstance(pins, list):
            raise VendorUnavailable("Tedee answered the PIN list with something unexpected.")
        return list_version(result.get("listVersion")), [entry for entry in pins if isinstance(entry, dict) and entry.get("id") is not None]

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
        issued_at = from_iso(self.session.credentials.get("refresh_token_issued_at"))
        if issued_at is None or datetime.now(UTC) - issued_at >= KEEP_ALIVE_AFTER or self._access_token_expiring():
            self._refresh()

    def _access_token_expiring(self) -> bool:
        return expires_within(self.session, REFRESH_MARGIN)

    def _refresh(self) -> None:
        # One refresh per account at a time: Tedee rotates the refresh token, so a worker that
        # finds the account refreshed meanwhile adopts those tokens instead of reusing the old one.
        self.session.refresh_credentials(self._refreshed_credentials)
        logger.info("Tedee tokens refreshed for account %s", self.session.account_id)

    def _refreshed_credentials(self, credentials: dict) -> tuple[dict, datetime | None]:
        return refresh_tokens(credentials, http=self.http)

    # --- HTTP ------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None):
        """One API request with a fresh token; on 401 the token is refreshed once and the request resent."""
        if not self.session.credentials.get("access_token"):
            raise ProviderAuthError("The Tedee account is not connected; please reconnect it.")
        if self._access_token_expiring():
            self._refresh()
        response = send_with_one_refresh(
            lambda: self._send(method, path, params, body), refused=lambda sent: sent.status_code == 401, refresh=self._refresh
        )
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
