"""Reading a Nuki lock back: every keypad code on it, its keypad openings, its battery and server state.

Sources (keys resolve in the package docstring; N-LOGS and N-LOGM below):
- Codes: `GET /smartlock/{id}/auth?types=13` answers a plain array (no paging) of auths with `id`
  (string), `name`, `code` (int, keypad codes only), `allowedFromDate`/`allowedUntilDate`
  (UTC), `enabled`, `operationId`, `error` [N-SW smartlockAuthSchema]. An auth with an `error`
  was never applied to the lock [N-204], so it is not listed as on the lock.
- Log: `GET /smartlock/{id}/log` with `fromDate`/`toDate` (RFC 3339), `id` (entries older than this
  id), `limit` (default 20, at most 50) [N-LOGS, N-SW]. Entries: `id`, `smartlockId`, `authId`
  (string, "id of the linked smartlock auth"), `name`, `action` (1 unlock, 2 lock, 3 unlatch,
  4 lock'n'go, 5 lock'n'go with unlatch), `trigger` (255 keypad, 253 keypad error), `state`
  (0 success, 224 invalid code), `source` (0 default, 1 keypad code, 2 fingerprint), `date`
  [N-SW smartlockLogSchema, N-LOGM].
- Health: a smart lock's `state.batteryCharge` (percent), `state.batteryCritical`,
  `serverState` (0 ok … 4 offline) [N-SW smartlockSchema, smartlockStateSchema].
N-LOGS https://app.unpkg.com/@dodi-smart/nuki-graphql-api@1.2.0/files/dist/api/services/SmartlockLogService.js
N-LOGM https://app.unpkg.com/@dodi-smart/nuki-graphql-api@1.2.0/files/dist/schema/smartlock-log.js

UNVERIFIED, and what is done about it:
- That a log entry's `authId` is the auth's string `id` (the schema's wording says so, no example
  shows both): a use gives it as `vendor_code_id` and the entry's `name` beside it.
- The API's log retention (the app keeps the last 1000 actions:
  https://support.nuki.io/hc/en-us/articles/360019158057): at most MAX_LOG_PAGES pages are read.
- Keypad capacity: 100 or 200 codes, sources disagree
  (https://support.nuki.io/hc/en-us/articles/4407512064785 against
  https://wiki.beds24.com/index.php?title=Nuki.io): code capacity is None.
- What a token without the log scope gets: 403 is taken to mean it (OperationNotSupported asking to
  reconnect); an OAuth connection made before `smartlock.log` was asked for lacks it.
Decision: a lock that reports only `batteryCritical: true` (older models give no percentage) is
reported at CRITICAL_BATTERY_PERCENT, so it reads as low wherever a threshold is drawn.
Cost: list_codes and lock_health one call each, code_uses one call per 50 log entries.
"""

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from locks.providers.base import CodeUse, ListedCode, Listing, LockHealth
from locks.providers.exceptions import LockNotFound, OperationNotSupported, VendorUnavailable
from locks.providers.nuki.codes import format_date, parse_date
from locks.providers.nuki.errors import id_text, json_of, malformed
from locks.providers.nuki.locks import SERVER_STATE_OK

KEYPAD_TRIGGER = 255  # log `trigger` [N-SW]
SUCCESS = 0  # log `state`
OPENING_ACTIONS = frozenset({1, 3, 5})  # unlock, unlatch, lock'n'go with unlatch [N-SW]
KEYPAD_SOURCES = frozenset({None, 0, 1})  # not 2 fingerprint, 3 tap to unlock [N-SW]
LOG_PAGE = 50  # the documented maximum of `limit`
MAX_LOG_PAGES = 40  # 2000 entries, twice what the app keeps
CRITICAL_BATTERY_PERCENT = 5
NAME_LENGTH = 200
NO_LOG_SCOPE = (
    "This Nuki connection may not read the lock's activity log: reconnect the Nuki account (or give its API token the log permission)."
)

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def clean_text(value: Any) -> str:
    """A vendor's name as we keep it: text, without NULs or control characters, of bounded length."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return ""
    return _CONTROL_CHARACTERS.sub("", str(value)).strip()[:NAME_LENGTH]


def listed_code(auth: dict) -> ListedCode:
    code = auth.get("code")
    return ListedCode(
        vendor_code_id=id_text(auth.get("id"), "an authorization id"),
        name=clean_text(auth.get("name")),
        pin=str(code) if isinstance(code, int) and not isinstance(code, bool) and code >= 0 else None,
        starts_at=parse_date(auth.get("allowedFromDate")),
        ends_at=parse_date(auth.get("allowedUntilDate")),
    )


def code_use(entry: dict, since: datetime) -> CodeUse | None:
    """The log entry as a keypad opening at or after `since`; None for anything else."""
    if entry.get("trigger") != KEYPAD_TRIGGER or entry.get("state") != SUCCESS:
        return None
    if entry.get("action") not in OPENING_ACTIONS or entry.get("source") not in KEYPAD_SOURCES:
        return None
    at = _entry_date(entry)
    if at is None or at < since:
        return None
    auth_id = entry.get("authId")
    return CodeUse(at=at, vendor_code_id=clean_text(auth_id) if auth_id is not None else "", name=clean_text(entry.get("name")))


def battery_percent(state: Any) -> int | None:
    if not isinstance(state, dict):
        return None
    charge = state.get("batteryCharge")
    if isinstance(charge, int | float) and not isinstance(charge, bool) and 0 <= charge <= 100:
        return int(charge)
    return CRITICAL_BATTERY_PERCENT if state.get("batteryCritical") is True else None


def _entry_date(entry: dict) -> datetime | None:
    """An entry's date; None when unreadable (one odd entry does not hide the rest of the log)."""
    try:
        return parse_date(entry.get("date"))
    except VendorUnavailable:
        return None


class NukiReadBack:
    """`list_codes`, `code_uses` and `lock_health` of a NukiProvider."""

    def list_codes(self, vendor_lock_id: str, previous: Listing | None = None) -> Listing:
        """Every keypad code Nuki holds for the lock, but those whose application failed: one call."""
        self._checked_lock_id(vendor_lock_id)
        return Listing(tuple(listed_code(auth) for auth in self._keypad_auths(vendor_lock_id) if not auth.get("error")))

    def code_uses(self, vendor_lock_id: str, since: datetime) -> list[CodeUse]:
        """Keypad openings since `since`, oldest first: one call per 50 log entries."""
        self._checked_lock_id(vendor_lock_id)
        uses: dict[str, CodeUse] = {}
        older_than = None
        for _ in range(MAX_LOG_PAGES):
            page = self._log_page(vendor_lock_id, since, older_than)
            for entry in page:
                use = code_use(entry, since)
                if use is not None:
                    uses.setdefault(clean_text(entry.get("id")) or f"{use.at.isoformat()} {use.vendor_code_id}", use)
            last_id = page[-1].get("id") if page else None
            if len(page) < LOG_PAGE or last_id in (None, older_than):
                break
            older_than = last_id
        return sorted(uses.values(), key=lambda use: use.at)

    def lock_health(self, vendor_lock_id: str) -> LockHealth:
        """Battery and server state (reachable through its bridge or not): one call; capacity unknown."""
        self._checked_lock_id(vendor_lock_id)
        device = json_of(self.http, self._call("GET", f"smartlock/{vendor_lock_id}"))
        if not isinstance(device, dict):
            raise malformed("the lock")
        server_state = device.get("serverState")
        return LockHealth(
            is_online=server_state == SERVER_STATE_OK if isinstance(server_state, int) and not isinstance(server_state, bool) else None,
            battery_percent=battery_percent(device.get("state")),
        )

    def _log_page(self, vendor_lock_id: str, since: datetime, older_than: Any) -> list[dict]:
        params = {"fromDate": format_date(since), "limit": LOG_PAGE}
        if older_than is not None:
            params["id"] = older_than
        response = self._call("GET", f"smartlock/{quote(vendor_lock_id, safe='')}/log", params=params, allow=(403,))
        if response.status_code == 403:
            raise OperationNotSupported(NO_LOG_SCOPE, vendor_code="403")
        entries = json_of(self.http, response)
        if not isinstance(entries, list):
            raise malformed("the lock's log")
        return [entry for entry in entries if isinstance(entry, dict)]

    @staticmethod
    def _checked_lock_id(vendor_lock_id: str) -> None:
        if not vendor_lock_id.isdigit():  # Nuki ids are numbers: anything else is not in the account
            raise LockNotFound("The lock is no longer in this Nuki account.")
