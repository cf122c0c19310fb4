"""The Tedee emulator's read-back side: the device activity log (`GET my/deviceactivity`), PINs added
"in the Tedee app" (unmanaged), PINs typed on the keypad and the battery, in Tedee's shapes
(sources in locks.providers.tedee.read_back).

    cloud.add_unmanaged_pin(101, "864293", "Cleaner")    # a PIN the host made in the app, no window
    cloud.enter_pin(101, "582947")                       # 61 UnlockByPin if it opens, else 62 IncorrectPin
    cloud.set_battery(101, 12)

Which PIN opened is not documented on an activity; this emulator puts the PIN's alias in `userName`
(what the adapter assumes, UNVERIFIED).
"""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from locks.providers.tedee.codes import format_date

UNLOCK_BY_PIN, INCORRECT_PIN = 61, 62  # [TD enums/event-type.rst]


def _activity_date(moment: datetime) -> str:
    # As the documented sample writes it: UTC, milliseconds, no offset [TD deviceactivity/get-all.rst].
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


class TedeeActivityEmulation:
    """Mixed into TedeeCloud (which owns `locks`, `_ids`, `_ok` and `_error`)."""

    def add_unmanaged_pin(self, lock_id: int, pin: str, alias: str = "Cleaner", starts_at=None, ends_at=None) -> int:
        lock = self.locks[lock_id]
        pin_id = next(self._ids)
        lock.pins[pin_id] = {
            "id": pin_id,
            "alias": alias,
            "pin": pin,
            "startDate": format_date(starts_at) if starts_at else None,
            "endDate": format_date(ends_at) if ends_at else None,
            "dayStartTime": None,
            "dayEndTime": None,
            "weekDays": None,
        }
        lock.list_version += 1
        return pin_id

    def enter_pin(self, lock_id: int, pin: str, at: datetime | None = None) -> bool:
        """Someone types `pin` on the lock's keypad at `at` (now by default)."""
        lock = self.locks[lock_id]
        moment = at or datetime.now(UTC)
        found = next((entry for entry in lock.pins.values() if entry["pin"] == pin), None)
        opens = found is not None and _within(found, moment)
        lock.activities.append(
            {
                "id": next(self._ids),
                "deviceId": lock_id,
                "userId": None,
                "userName": found["alias"] if opens else None,
                "event": UNLOCK_BY_PIN if opens else INCORRECT_PIN,
                "source": 0,
                "date": _activity_date(moment),
            }
        )
        return opens

    def set_battery(self, lock_id: int, level) -> None:
        self.locks[lock_id].battery_level = level

    def _get_activity(self, request):
        query = {key: values[0] for key, values in parse_qs(urlsplit(request.url).query).items()}
        lock = self.locks.get(int(query["deviceId"])) if query.get("deviceId", "").isdigit() else None
        if lock is None:
            return self._error(404, "Device not found.")  # the status for a foreign device is not documented
        elements = int(query.get("elements", 200))
        if not 1 <= elements <= 200:
            return self._error(400, "elements must be between 1 and 200.")
        newest_first = sorted(lock.activities, key=lambda activity: activity["date"], reverse=True)
        if query.get("lastElemDate"):
            older_than = _parsed(query["lastElemDate"])
            newest_first = [activity for activity in newest_first if _parsed(activity["date"]) < older_than]
        return self._ok(newest_first[:elements])


def _parsed(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _within(pin: dict, moment: datetime) -> bool:
    starts, ends = pin.get("startDate"), pin.get("endDate")
    return (not starts or _parsed(starts) <= moment) and (not ends or moment < _parsed(ends))
