"""The TTLock adapter: a host's TTLock app account, its locks, their custom passcodes and offline codes."""

from collections.abc import Callable
from contextlib import AbstractContextManager as ContextManager
from datetime import timedelta
from functools import partial

from django.conf import settings

from locks.providers.base import AccountSession, Capabilities, CodeSpec, ConnectResult, IssuedCode, LockProvider
from locks.providers.exceptions import (
    CodeNotFound,
    CodeRejected,
    LockNotFound,
    OutcomeUnknown,
    ProviderError,
)
from locks.providers.http import VendorHttp, shared_http
from locks.providers.ttlock.client import TTLockRequests, credentials_from, one_call_per_lock, password_digest, token_request
from locks.providers.ttlock.errors import digits_only, malformed
from locks.providers.ttlock.locks import TTLockLockListing
from locks.providers.ttlock.offline import TTLockOfflineCodes
from locks.providers.ttlock.pins import ttlock_rule
from locks.providers.ttlock.read_back import TTLockReadBack
from locks.providers.ttlock.sign_in import (
    CONNECT_FINE_PRINT,
    CONNECT_HINT,
    CONNECT_NOTES,
    ELIGIBILITY_HINT,
    METHODS,
    PASSWORD,
    refusal as sign_in_refusal_text,
)
from locks.providers.ttlock.times import from_ms, to_ms

PERIOD_PASSCODE = 3  # keyboardPwdType: 2 permanent, 3 period [T-ADD]
VIA_GATEWAY = 2  # addType / changeType / deleteType: 2 = gateway or WiFi; 1 = cloud record only [T-ADD]
NEWEST_FIRST = 1  # listKeyboardPwd orderBy; our codes are usually recent [T-LPWD]


# --- the adapter -----------------------------------------------------------------------------------


class TTLockProvider(TTLockOfflineCodes, TTLockReadBack, TTLockLockListing, TTLockRequests, LockProvider):
    """A host's TTLock account: locks with a gateway (or WiFi) and V4 passcodes take guest codes."""

    slug = "ttlock"
    display_name = "TTLock"
    pin_rule = staticmethod(ttlock_rule)
    sign_in_methods = METHODS
    connect_hint = CONNECT_HINT
    connect_notes = CONNECT_NOTES
    connect_fine_print = CONNECT_FINE_PRINT
    eligibility_hint = ELIGIBILITY_HINT
    capabilities = Capabilities(
        chosen_pins=True,
        remote_revoke=True,
        update_in_place=True,
        listing_delay=timedelta(minutes=3),
        lists_codes=True,
        access_log=True,
        reports_health=True,
        offline_fallback=True,  # random period passcodes, computed in the cloud (offline.py)
        fixed_offset_clock=True,  # the lock reads windows with its own `timezoneRawOffset` [T-LD]
    )

    LOCK_PAGE_SIZE = 100  # lock/list allows up to 1000 [T-LL]
    GATEWAY_PAGE_SIZE = 200  # the documented maximum [T-GWL]
    PASSCODE_PAGE_SIZE = 200  # the documented maximum [T-LPWD]
    MAX_PAGES = 100  # a cloud answering `pages` wrongly must not keep us looping
    REFRESH_MARGIN = timedelta(minutes=10)
    KEEP_ALIVE_MARGIN = timedelta(days=1)  # the keep-alive task runs every few hours

    def __init__(
        self,
        session: AccountSession,
        *,
        http: VendorHttp | None = None,
        call_guard: Callable[[str], ContextManager[None]] | None = None,
    ):
        super().__init__(session)
        self.http = http or shared_http(self.display_name)
        # One call in flight per lock, serialised as the account session says (see `one_call_per_lock`).
        self.call_guard = call_guard or partial(one_call_per_lock, serialise=session.serialise)
        self._refreshed = False

    # --- connecting -----------------------------------------------------------------------------

    @classmethod
    def sign_in(cls, username: str, password: str, *, http: VendorHttp | None = None) -> ConnectResult:
        """Sign in with the host's TTLock app account; the password is used once and never kept."""
        form = {
            "clientId": settings.TTLOCK_CLIENT_ID,
            "clientSecret": settings.TTLOCK_CLIENT_SECRET,
            "username": username,
            "password": password_digest(password),
        }
        body = token_request(http or shared_http(cls.display_name), form)
        credentials, expires_at = credentials_from(body, username=username)
        return ConnectResult(credentials=credentials, expires_at=expires_at, display_name=username)

    @classmethod
    def sign_in_with(cls, method: str, values: dict[str, str], *, http: VendorHttp | None = None) -> ConnectResult:
        if method != PASSWORD:
            return super().sign_in_with(method, values)
        return cls.sign_in(values["username"], values["password"], http=http)

    @classmethod
    def sign_in_refusal(cls, error: Exception) -> str:
        return sign_in_refusal_text(error) if isinstance(error, ProviderError) else super().sign_in_refusal(error)

    def keep_alive(self) -> None:
        if self._expires_within(self.KEEP_ALIVE_MARGIN):
            self._refresh()

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
        code_id = self._passcode_id(lock_id, vendor_code_id)
        if code_id is None:
            raise CodeNotFound("The passcode is no longer on the lock.")
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
        code_id = self._passcode_id(lock_id, vendor_code_id)
        if code_id is None:
            return None  # not an id of a code on the lock: nothing of ours to remove
        try:
            self._call(
                "POST",
                "keyboardPwd/delete",
                {"lockId": lock_id, "keyboardPwdId": code_id, "deleteType": VIA_GATEWAY},
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
            raise malformed("a passcode") from None

    def _checked_pin(self, pin: str | None) -> str:
        if not pin:
            raise CodeRejected("TTLock codes need a PIN chosen by Nowistay.")
        problem = self.pin_problem(pin)
        if problem:
            raise CodeRejected(problem)
        return pin

    @staticmethod
    def _lock_id(vendor_lock_id: str) -> str:
        return digits_only(vendor_lock_id, LockNotFound("The lock is no longer in this TTLock account."))
