"""The TTLock emulator's offline codes (sources in locks.providers.ttlock, "Offline codes").

`keyboardPwd/get` answers a random period passcode whether or not the lock's gateway is online: the
cloud computes it [T-GET]. The code is listed among the lock's passcodes with `isCustom` 0 [T-PL];
changing or deleting it before its first use on the lock answers -3008 [T-ERR]; unused 24 hours
after its start, the keypad refuses it [T-PG]; asking again for the window of a deleted one answers
-1026 [T-ERR]. Hours: the start is floored [T-GET]; the end's rounding is undocumented and floored
here too, the reading that would show an end not rounded up by the adapter.

    cloud.offline_answers_with_id = False      # answer {"keyboardPwd"} only, as the v2 page shows [T-GET-V2]
    cloud.fail_next("keyboardPwd/get", -1007)  # no passcode data on the lock
    cloud.delete_in_app_by_bluetooth(3001, code_id)  # then its window answers -1026
"""

import hashlib
import time

HOUR_MS = 3_600_000
FIRST_USE_WITHIN_MS = 24 * HOUR_MS  # [T-GET-OLD, T-PG]
MAX_SPAN_MS = 366 * 24 * HOUR_MS  # "at most a year" [T-GET], a leap year's included


def first_use_lapsed(code: dict, moment_ms: int) -> bool:
    """An offline code never used within 24 hours of its start: the lock has suspended it."""
    return bool(code.get("_offline")) and not code.get("_used") and moment_ms >= code["startDate"] + FIRST_USE_WITHIN_MS


def never_used_offline(code: dict) -> bool:
    return bool(code.get("_offline")) and not code.get("_used")


class TTLockOfflineEmulation:
    """Mixed into TTLockCloud (which owns `locks`, `_ids`, `error_body` and `deleted_offline_windows`)."""

    offline_answers_with_id = True  # public clients read keyboardPwdId from the answer; the docs do not show it

    def delete_in_app_by_bluetooth(self, lock_id: int, code_id: int) -> None:
        """The host deletes a code in the TTLock app next to the lock (deleteType 1 [T-DEL]), used or not."""
        self.forget_offline(lock_id, self.locks[lock_id].passcodes.pop(code_id))

    def forget_offline(self, lock_id: int, code: dict) -> None:
        """Remember a deleted offline code's window: TTLock will not issue one for it again (-1026)."""
        if code.get("_offline"):
            self.deleted_offline_windows.add((lock_id, code["startDate"], code["endDate"]))

    def _get_offline_code(self, params: dict) -> dict:
        lock = self.locks.get(int(params["lockId"]))
        if lock is None:
            return self.error_body(-1003)
        if params.get("keyboardPwdType") != "3":
            return self.error_body(-3)  # this emulator only issues period codes
        start, end = params.get("startDate", ""), params.get("endDate", "")
        if not (start.isdigit() and end.isdigit() and int(start) >= 10**12):
            return self.error_body(-3)  # dates are ms since the epoch, startDate required [T-GET]
        start_ms, end_ms = int(start) // HOUR_MS * HOUR_MS, int(end) // HOUR_MS * HOUR_MS
        if not 0 < end_ms - start_ms <= MAX_SPAN_MS:
            return self.error_body(-3)
        if (lock.lock_id, start_ms, end_ms) in self.deleted_offline_windows:
            return self.error_body(-1026)
        code_id = next(self._ids)
        pin = self._offline_pin(lock, start_ms, end_ms, code_id)
        lock.passcodes[code_id] = {
            "keyboardPwdId": code_id,
            "lockId": lock.lock_id,
            "keyboardPwd": pin,
            "keyboardPwdName": params.get("keyboardPwdName", ""),
            "keyboardPwdType": 3,
            "startDate": start_ms,
            "endDate": end_ms,
            "sendDate": int(time.time() * 1000),
            "isCustom": 0,
            "senderUsername": "host@example.com",
            "_offline": True,
            "_used": False,
        }
        return {"keyboardPwd": pin, "keyboardPwdId": code_id} if self.offline_answers_with_id else {"keyboardPwd": pin}

    @staticmethod
    def _offline_pin(lock, start_ms: int, end_ms: int, code_id: int) -> str:
        """Seven digits (TTLock's are 6-9 by type and period [T-PG]), a leading zero possible, none
        another code on the lock holds."""
        taken = {code["keyboardPwd"] for code in lock.passcodes.values()}
        salt = 0
        while True:
            digest = hashlib.sha256(f"{lock.lock_id}:{start_ms}:{end_ms}:{code_id}:{salt}".encode()).hexdigest()
            pin = f"{int(digest, 16) % 10**7:07d}"
            if pin not in taken:
                return pin
            salt += 1
