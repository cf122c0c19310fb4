"""The Nuki emulator's read-back side: the smart lock's log (`GET /smartlock/{id}/log`), keypad codes
added "in the Nuki app" (unmanaged), codes typed on the keypad and the battery, in Nuki's shapes
(sources in locks.providers.nuki.read_back).

    cloud.add_unmanaged_code(18205286116, "864293", "Cleaner")   # no window: always valid
    cloud.enter_pin(18205286116, "582947")                        # trigger 255 if it opens, else 253
    cloud.set_battery(18205286116, charge=12)                     # or critical=True without a charge

A log entry's `authId` is the auth's string `id` here (what the adapter assumes, UNVERIFIED).
"""

import copy
import itertools
import json
import secrets
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from locks.providers import nuki

KEYPAD, KEYPAD_ERROR = 255, 253  # log `trigger`
UNLOCK, SUCCESS, INVALID_CODE = 1, 0, 224  # log `action`, `state`
_log_numbers = itertools.count(1)


def _log_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class NukiLogEmulation:
    """Mixed into NukiCloud (which owns `locks`, `_auth_numbers` and the fixtures)."""

    def add_unmanaged_code(self, smartlock_id: int, pin: str, name: str = "Cleaner", starts_at=None, ends_at=None) -> str:
        lock = self.locks[str(smartlock_id)]
        auth = copy.deepcopy(self.auth_template())
        auth.update(id=secrets.token_hex(12), smartlockId=lock.smartlock_id, authId=next(self._auth_numbers), code=int(pin), name=name)
        for key, moment in (("allowedFromDate", starts_at), ("allowedUntilDate", ends_at)):
            if moment is None:
                auth.pop(key, None)
            else:
                auth[key] = _log_date(moment)
        lock.auths[auth["id"]] = auth
        return auth["id"]

    def enter_pin(self, smartlock_id: int, pin: str, at: datetime | None = None) -> bool:
        """Someone types `pin` on the lock's keypad at `at` (now by default)."""
        lock = self.locks[str(smartlock_id)]
        moment = at or datetime.now(UTC)
        auth = next((auth for auth in lock.auths.values() if str(auth.get("code")) == pin), None)
        opens = auth is not None and auth.get("enabled", True) and not auth.get("error") and _within(auth, moment)
        lock.logs.append(
            {
                "id": f"{next(_log_numbers):024x}",
                "smartlockId": lock.smartlock_id,
                "deviceType": 0,
                "authId": auth["id"] if opens else "",
                "name": auth["name"] if opens else "",
                "action": UNLOCK,
                "trigger": KEYPAD if opens else KEYPAD_ERROR,
                "state": SUCCESS if opens else INVALID_CODE,
                "autoUnlock": False,
                "date": _log_date(moment),
                "source": 1,
            }
        )
        return opens

    def set_battery(self, smartlock_id: int, *, charge: int | None = None, critical: bool = False) -> None:
        lock = self.locks[str(smartlock_id)]
        lock.battery_charge, lock.battery_critical = charge, critical

    def _get_log(self, request, lock_id: str):
        lock = self.locks.get(lock_id)
        if lock is None:
            return 404, {}, ""
        query = {key: values[0] for key, values in parse_qs(urlsplit(request.url).query).items()}
        limit = int(query.get("limit", 20))
        if not 1 <= limit <= 50:
            return 400, {}, json.dumps({"detailMessage": f"The supplied value '{limit}' for parameter 'limit' is not valid."})
        entries = sorted(lock.logs, key=lambda entry: entry["id"], reverse=True)  # newest first
        if query.get("fromDate"):
            entries = [entry for entry in entries if nuki.parse_date(entry["date"]) >= nuki.parse_date(query["fromDate"])]
        if query.get("id"):
            entries = [entry for entry in entries if entry["id"] < query["id"]]
        return 200, {}, json.dumps(entries[:limit])


def _within(auth: dict, moment: datetime) -> bool:
    starts, ends = nuki.parse_date(auth.get("allowedFromDate")), nuki.parse_date(auth.get("allowedUntilDate"))
    return (starts is None or starts <= moment) and (ends is None or moment < ends)
