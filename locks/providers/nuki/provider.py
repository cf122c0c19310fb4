"""The Nuki adapter: one Nuki Web account, its locks and the keypad codes (type-13 authorizations) on them."""

import time
from datetime import timedelta
from typing import Any
from urllib.parse import quote

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
    SubscriptionRequired,
    TransientProviderError,
    VendorUnavailable,
)
from locks.providers.http import VendorHttp, shared_http
from locks.providers.nuki.client import (
    READBACK_DELAYS,
    NukiRequests,
    authorize_url as nuki_authorize_url,
    connect_with_api_token as nuki_connect_with_api_token,
    exchange_code as nuki_exchange_code,
)
from locks.providers.nuki.codes import as_sent, format_date, parse_date
from locks.providers.nuki.errors import (
    DUPLICATE_CODE,
    NO_KEYPAD,
    NO_SUBSCRIPTION,
    NO_SUBSCRIPTION_TEXT,
    SUBSCRIPTION_REFUSED,
    SUBSCRIPTION_REFUSED_LIST,
    SUBSCRIPTION_REFUSED_REMOVAL,
    id_text,
    json_of,
    malformed,
)
from locks.providers.nuki.locks import SERVER_STATE_OK, SERVER_STATES, has_keypad, subscription_ended, time_zone_of
from locks.providers.nuki.pins import nuki_rule
from locks.providers.nuki.read_back import NukiReadBack
from locks.providers.nuki.sign_in import (
    API_TOKEN_METHOD,
    API_TOKEN_REFUSED,
    CONNECT_FINE_PRINT,
    CONNECT_HINT,
    CONNECT_NOTES,
    ELIGIBILITY_HINT,
    METHODS,
    WRONG_TOKEN,
    checked_token,
    refusal as sign_in_refusal_text,
    token_refused,
)

# --- Nuki's constants (sources in the module docstring) ------------------------------------------
KEYPAD_CODE = 13  # auth type "13 .. keypad code"
ALL_WEEK_DAYS = 127  # 64 Monday + 32 + 16 + 8 + 4 + 2 + 1 Sunday
WHOLE_DAY_FROM, WHOLE_DAY_UNTIL = 0, 0  # no daily restriction (see "Decisions")
NAME_MAX_LENGTH = 20


# --- the adapter ------------------------------------------------------------------------------------


class NukiProvider(NukiReadBack, NukiRequests, LockProvider):
    """One Nuki Web account: its locks and the keypad codes (type-13 authorizations) on them."""

    slug = "nuki"
    display_name = "Nuki"
    pin_rule = staticmethod(nuki_rule)
    sign_in_methods = METHODS
    connect_hint = CONNECT_HINT
    connect_notes = CONNECT_NOTES
    connect_fine_print = CONNECT_FINE_PRINT
    eligibility_hint = ELIGIBILITY_HINT

    @classmethod
    def sign_in_with(cls, method: str, values: dict[str, str], *, http: VendorHttp | None = None) -> ConnectResult:
        if method != API_TOKEN_METHOD:
            return super().sign_in_with(method, values)
        try:
            return nuki_connect_with_api_token(token=checked_token(values["token"]), http=http)
        except ProviderError as error:
            if token_refused(error):
                raise ProviderAuthError(WRONG_TOKEN, vendor_code=API_TOKEN_REFUSED) from None
            raise

    @classmethod
    def authorization_url(cls, *, state: str, code_challenge: str | None, redirect_uri: str) -> str:
        return nuki_authorize_url(state=state, redirect_uri=redirect_uri, code_challenge=code_challenge)

    @classmethod
    def exchange_code(cls, *, code: str, code_verifier: str | None, redirect_uri: str, http: VendorHttp | None = None) -> ConnectResult:
        return nuki_exchange_code(code=code, redirect_uri=redirect_uri, code_verifier=code_verifier, http=http)

    @classmethod
    def sign_in_refusal(cls, error: Exception) -> str:
        return sign_in_refusal_text(error) if isinstance(error, ProviderError) else super().sign_in_refusal(error)

    # "Call the GET /smartlock/auth endpoint within a few minutes to validate" [N-204].
    capabilities = Capabilities(
        chosen_pins=True,
        remote_revoke=True,
        update_in_place=True,
        find_codes=True,
        listing_delay=timedelta(minutes=5),
        lists_codes=True,
        access_log=True,
        reports_health=True,
    )
    readback_delays: tuple[float, ...] = READBACK_DELAYS

    def __init__(self, session: AccountSession, *, http: VendorHttp | None = None, sleep=time.sleep):
        super().__init__(session)
        self.http = http or shared_http("Nuki")
        self._sleep = sleep

    # --- locks ----------------------------------------------------------------------------------------
    def list_locks(self) -> list[RemoteLock]:
        try:
            response = self._call("GET", "smartlock")
        except SubscriptionRequired as refused:  # not expected (the guide reads the state here), but worded for a list
            raise SubscriptionRequired(SUBSCRIPTION_REFUSED_LIST, vendor_code=refused.vendor_code) from None
        devices = json_of(self.http, response)
        if not isinstance(devices, list):
            raise malformed("the lock list")
        return [self._remote_lock(device) for device in devices]

    def _remote_lock(self, device: Any) -> RemoteLock:
        if not isinstance(device, dict):
            raise malformed("a lock")
        lock_id = id_text(device.get("smartlockId"), "a smart lock id")
        reasons = [NO_KEYPAD] if not has_keypad(device) else []
        if subscription_ended(device):
            reasons.append(NO_SUBSCRIPTION)
        server_state = device.get("serverState")
        return RemoteLock(
            vendor_lock_id=lock_id,
            name=str(device.get("name") or f"Nuki {lock_id}"),
            supports_remote_codes=not reasons,
            unavailable_reason=" ".join(reasons),
            is_online=server_state == SERVER_STATE_OK if isinstance(server_state, int) else None,
            time_zone=time_zone_of(device),
        )

    def _lock(self, vendor_lock_id: str, *, need_keypad: bool) -> dict:
        """The lock as Nuki sees it now; raises when a change could not be applied to it."""
        if not vendor_lock_id.isdigit():  # Nuki ids are numbers: anything else is not in the account
            raise LockNotFound("The lock is no longer in this Nuki account.")
        response = self._call("GET", f"smartlock/{vendor_lock_id}")
        device = json_of(self.http, response)
        if not isinstance(device, dict) or id_text(device.get("smartlockId"), "a smart lock id") != vendor_lock_id:
            raise malformed("the lock")
        state = device.get("serverState")
        if state != SERVER_STATE_OK:
            reason = SERVER_STATES.get(state, f"state {state}")
            raise LockOffline(
                f"The Nuki lock cannot be reached through its bridge right now ({reason}).", vendor_code=f"serverState {state}"
            )
        # Not the Smart Hosting state: Nuki's answer to the write decides (see "Smart Hosting").
        if need_keypad and not has_keypad(device):
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
                    "Nuki accepted the code but could not be asked whether the lock took it; "
                    "it is looked for before anything is sent again.",
                    retry_after=unreadable.retry_after,
                ) from None
            if auth is None or auth.get("operationId"):
                continue  # not listed yet, or the bridge is still applying it
            if auth.get("error"):
                self._remove_orphan(vendor_lock_id, auth)
                raise self._application_error(auth, "create")
            issued = self._issued(auth)
            if issued is None or (issued.starts_at, issued.ends_at) != (as_sent(spec.starts_at), as_sent(spec.ends_at)):
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
        response = self._call(
            "POST", f"smartlock/{vendor_lock_id}/auth/{quote(vendor_code_id, safe='')}", json=body, code_write=True, allow=(404,)
        )
        if response.status_code == 404:
            raise CodeNotFound("The code is no longer on the lock.", vendor_code="404")
        wanted = (as_sent(spec.starts_at), as_sent(spec.ends_at))
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
        auths = json_of(self.http, response)
        if not isinstance(auths, list) or not all(isinstance(auth, dict) for auth in auths):
            raise malformed("the keypad codes")
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
            raise malformed("a keypad code")
        return IssuedCode(
            vendor_code_id=id_text(auth.get("id"), "an authorization id"),
            pin=str(code),
            starts_at=starts_at,
            ends_at=ends_at,
            name=str(auth.get("name") or ""),
        )

    def _remove_orphan(self, vendor_lock_id: str, auth: dict) -> None:
        auth_id = id_text(auth.get("id"), "an authorization id")
        self._call("DELETE", f"smartlock/{vendor_lock_id}/auth/{quote(auth_id, safe='')}", allow=(404,))

    @staticmethod
    def _application_error(auth: dict, operation: str) -> ProviderError:
        """The bridge could not apply a change. Nuki's text is classified, never repeated."""
        detail = str(auth.get("error") or "").lower()
        if NO_SUBSCRIPTION_TEXT in detail:
            return SubscriptionRequired(
                SUBSCRIPTION_REFUSED_REMOVAL if operation == "delete" else SUBSCRIPTION_REFUSED, vendor_code="auth error"
            )
        if operation != "delete" and "code" in detail and any(word in detail for word in ("exist", "duplicate", "already", "used")):
            # Taken, perhaps by our own earlier auth that is queued but not listed yet: PinTaken,
            # so the lifecycle looks for it before choosing another PIN.
            return PinTaken(DUPLICATE_CODE, vendor_code="auth error")
        verb = {"create": "put the code on", "update": "change the code on", "delete": "remove the code from"}[operation]
        return LockOffline(
            f"Nuki could not {verb} the lock (its bridge did not apply it); it is tried again later.", vendor_code="auth error"
        )
