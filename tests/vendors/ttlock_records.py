"""The TTLock emulator's read-back side: unlock records (`lockRecord/list`), codes added "in the
TTLock app" (unmanaged), PINs typed on the keypad and the battery, in TTLock's shapes [T-RL, T-PL, T-LD]
(sources in locks.providers.ttlock.read_back).

    cloud.add_unmanaged_code(3001, "739164", "Cleaner")   # a permanent code the host made in the app
    cloud.enter_pin(3001, "582947")                        # a guest types it: a record if it opens
    cloud.set_battery(3001, 12)
"""

import time
from datetime import datetime

from locks.providers.ttlock.times import to_ms
from tests.vendors.ttlock_offline import first_use_lapsed


class TTLockRecordsEmulation:
    """Mixed into TTLockCloud (which owns `locks`, `_ids` and `error_body`)."""

    # --- scripting ------------------------------------------------------------------------------

    def add_unmanaged_code(self, lock_id: int, pin: str, name: str = "Cleaner", starts_at=None, ends_at=None) -> int:
        """A passcode made in the TTLock app: permanent (dates 0) unless a window is given."""
        code_id = next(self._ids)
        self.locks[lock_id].passcodes[code_id] = {
            "keyboardPwdId": code_id,
            "lockId": lock_id,
            "keyboardPwd": pin,
            "keyboardPwdName": name,
            "keyboardPwdType": 3 if starts_at else 2,
            "startDate": to_ms(starts_at) if starts_at else 0,
            "endDate": to_ms(ends_at) if ends_at else 0,
            "sendDate": int(time.time() * 1000),
            "isCustom": 1,
            "senderUsername": "owner@example.com",
        }
        return code_id

    def enter_pin(self, lock_id: int, pin: str, at: datetime | None = None) -> bool:
        """Someone types `pin` on the keypad at `at` (now by default); recorded as TTLock records it."""
        lock = self.locks[lock_id]
        moment = to_ms(at) if at else int(time.time() * 1000)
        code = next((code for code in lock.passcodes.values() if code["keyboardPwd"] == pin), None)
        opens = code is not None and (code["startDate"] or 0) <= moment and (not code["endDate"] or moment < code["endDate"])
        opens = opens and not first_use_lapsed(code, moment)
        if opens and code.get("_offline"):
            code["_used"] = True  # used once: TTLock may now change or delete it [T-ERR -3008]
        lock.records.append(
            {
                "recordId": next(self._ids),
                "lockId": lock_id,
                "recordTypeFromLock": 4 if opens else 7,  # 7: failed, unknown passcode [T-RTL]
                "recordType": 4,
                "success": 1 if opens else 0,
                "username": code["keyboardPwdName"] if code else "",
                "keyboardPwd": pin,
                "lockDate": moment,
                "serverDate": moment + 2_000,
            }
        )
        return opens

    def set_battery(self, lock_id: int, percent) -> None:
        self.locks[lock_id].electric_quantity = percent

    # --- lockRecord/list [T-RL] -------------------------------------------------------------------

    def _lock_records(self, params: dict) -> dict:
        lock = self.locks.get(int(params["lockId"]))
        if lock is None:
            return self.error_body(-1003)
        page, size = int(params["pageNo"]), int(params["pageSize"])
        if page < 1 or not 1 <= size <= 200:
            return self.error_body(-3)
        start, end = int(params.get("startDate") or 0), int(params.get("endDate") or 2**62)
        wanted_type = params.get("recordType")
        records = [
            record
            for record in lock.records
            if start <= record["lockDate"] <= end and (not wanted_type or str(record["recordType"]) == wanted_type)
        ]
        records.sort(key=lambda record: -record["lockDate"])  # newest first, as the app shows them
        return {
            "list": records[(page - 1) * size : page * size],
            "pageNo": page,
            "pageSize": size,
            "pages": max(1, -(-len(records) // size)),
            "total": len(records),
        }
