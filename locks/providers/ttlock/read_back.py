"""Reading a TTLock lock back: every passcode on it, its keypad openings, its battery and online state.

Sources (keys resolve in the package docstring):
- Passcodes: `GET lock/listKeyboardPwd` pages random and custom codes alike; items carry
  `keyboardPwdId`, `keyboardPwd` (a String, leading zeros kept), `keyboardPwdName`,
  `keyboardPwdType` (sent as a string although typed Int), `startDate`/`endDate` (ms; 0 for a
  permanent code), `isCustom` (1/0) [T-PL]. It is the cloud's record: codes typed on the keypad
  reach it only when an app uploads them [T-UPV].
- Openings: `GET lockRecord/list` with `lockId`, `pageNo` (from 1), `pageSize` (at most 200; 100
  on the older page, so 100 here), `startDate`/`endDate` (ms) and `recordType` (4 = passcode
  unlock) [T-RL, T-RL-OLD]. Items: `recordId`, `recordType`, `success` (1/0), `username` (for a
  passcode record: the passcode's name), `keyboardPwd` (the code), `lockDate` (the lock's clock,
  ms), `serverDate` (upload time) [T-RL]. Records reach the cloud through the gateway or an app
  [T-RG]: a use may show minutes (or, without a gateway, days) late. The answer's order is not
  documented, so uses are sorted here.
- Health: `lock/detail` carries `electricQuantity` ("lock battery", e.g. 85: a percentage by
  inference from the examples) as last reported to the cloud [T-LD]; online state as in
  `TTLockLockListing` (gateway/list, gateway/listLock, wifiLock/detail). Capacity: at most 250
  custom passcodes (-3009) [T-ADD, T-ERR]; the limit of random codes is per start time [T-PG] and
  not counted here.

Decisions: a listing entry without an id makes the listing unreadable (a reconciliation must not
take an unreadable code for a missing one); names lose NULs and control characters; a record
without a date, or not a successful passcode unlock, is skipped. A TTLock record names the code by
name and PIN, never by id, so `CodeUse.vendor_code_id` stays empty.
"""

import re
from datetime import datetime
from typing import Any

from locks.providers.base import CodeUse, ListedCode, Listing, LockHealth
from locks.providers.exceptions import TransientProviderError
from locks.providers.ttlock.errors import malformed
from locks.providers.ttlock.times import from_ms, now_ms, to_ms

PASSCODE_UNLOCK = 4  # lockRecord recordType: unlock with a passcode [T-RL, T-RL-OLD, HT]
SUCCEEDED = 1  # lockRecord `success` [T-RL]
CUSTOM_PASSCODE_CAPACITY = 250  # -3009 "custom passcode storage is full" [T-ADD, T-ERR]
NEWEST_FIRST = 1  # listKeyboardPwd orderBy [T-PL]
RECORD_PAGE_SIZE = 100  # 200 on the current page, 100 on the older one [T-RL, T-RL-OLD]
NAME_LENGTH = 200

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def clean_text(value: Any) -> str:
    """A vendor's name as we keep it: text, without NULs or control characters, of bounded length."""
    if value is None or isinstance(value, dict | list):
        return ""
    return _CONTROL_CHARACTERS.sub("", str(value)).strip()[:NAME_LENGTH]


def _pin(value: Any) -> str | None:
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    return text if text.isdigit() else None


def _moment(value: Any) -> datetime | None:
    """A TTLock date (ms) as aware UTC; None for 0 (no bound: a permanent code) or nonsense."""
    try:
        milliseconds = int(value)
    except (TypeError, ValueError):
        return None
    if milliseconds <= 0:
        return None
    try:
        return from_ms(milliseconds)
    except OverflowError:
        return None


def listed_code(entry: dict) -> ListedCode:
    code_id = entry.get("keyboardPwdId")
    if isinstance(code_id, bool) or not str(code_id or "").isdigit():
        raise malformed("a passcode without an id")
    return ListedCode(
        vendor_code_id=str(code_id),
        name=clean_text(entry.get("keyboardPwdName")),
        pin=_pin(entry.get("keyboardPwd")),
        starts_at=_moment(entry.get("startDate")),
        ends_at=_moment(entry.get("endDate")),
    )


def code_use(record: dict, since: datetime) -> CodeUse | None:
    """The record as a keypad opening at or after `since`; None for anything else."""
    if str(record.get("recordType")) != str(PASSCODE_UNLOCK) or str(record.get("success")) != str(SUCCEEDED):
        return None
    at = _moment(record.get("lockDate"))
    if at is None or at < since:
        return None
    return CodeUse(at=at, name=clean_text(record.get("username")), pin=_pin(record.get("keyboardPwd")) or "")


def battery_percent(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        percent = int(float(value))
    except ValueError:
        return None
    return percent if 0 <= percent <= 100 else None


class TTLockReadBack:
    """`list_codes`, `code_uses` and `lock_health` of a TTLockProvider."""

    def list_codes(self, vendor_lock_id: str, previous: Listing | None = None) -> Listing:
        """Every passcode the cloud holds for the lock: one call per page of 200 [T-PL]."""
        return Listing(tuple(listed_code(entry) for entry in self._passcode_entries(self._lock_id(vendor_lock_id))))

    def code_uses(self, vendor_lock_id: str, since: datetime) -> list[CodeUse]:
        """Successful passcode unlocks since `since`, oldest first: one call per page of 100 records."""
        params = {
            "lockId": self._lock_id(vendor_lock_id),
            "startDate": to_ms(since),
            "endDate": now_ms(),
            "recordType": PASSCODE_UNLOCK,
        }
        uses = (code_use(record, since) for record in self._pages("lockRecord/list", params, RECORD_PAGE_SIZE))
        return sorted((use for use in uses if use is not None), key=lambda use: use.at)

    def lock_health(self, vendor_lock_id: str) -> LockHealth:
        """Battery (last reported to the cloud), online state and custom-passcode room. An offline
        lock still answers: its online state is False and its codes are not counted."""
        lock_id = self._lock_id(vendor_lock_id)
        details = {**self._call("GET", "lock/detail", {"lockId": lock_id}), "lockId": lock_id}
        is_online = self._current_online_state(details)
        return LockHealth(
            is_online=is_online,
            battery_percent=battery_percent(details.get("electricQuantity")),
            code_capacity=CUSTOM_PASSCODE_CAPACITY,
            codes_held=self._custom_codes_held(lock_id) if is_online is not False else None,
        )

    def _passcode_entries(self, lock_id: str):
        return self._pages("lock/listKeyboardPwd", {"lockId": lock_id, "orderBy": NEWEST_FIRST}, self.PASSCODE_PAGE_SIZE)

    def _custom_codes_held(self, lock_id: str) -> int | None:
        try:
            return sum(1 for entry in self._passcode_entries(lock_id) if str(entry.get("isCustom", 1)) != "0")
        except TransientProviderError:
            return None  # the battery and online state still stand
