"""Reading a Tedee lock back: every PIN on it, its PIN openings, its battery and bridge connection.

Sources (TD = https://github.com/tedee-com/tedee-api-doc @73d0883, under `docs/source/`; published at
https://tedee-tedee-api-doc.readthedocs-hosted.com/en/latest/):
- PINs: `GET my/lock/{id}/pin` gives `id` and `alias` only (with `listVersion`); the value and
  window need `GET my/lock/{id}/pin/{pinId}`: `pin` (string), `startDate`, `endDate` (null when
  unrestricted), `dayStartTime`, `dayEndTime`, `weekDays` [TD endpoints/lockpin/get-all.rst,
  get-single.rst, howtos/manage-lock-pin-list.rst]. Both reads go to the device through the
  bridge: 408, 409 and 428 as for writes [same pages].
- Activity: `GET my/deviceactivity?deviceId=&elements=&lastElemDate=`, `elements` at most 200,
  newest first; the next page is asked with the date of the last item of the previous one as
  `lastElemDate` (UTC); scope `DeviceActivity.Read` [TD endpoints/deviceactivity/get-all.rst,
  howtos/authenticate.rst "Scopes"]. Items: `id`, `deviceId`, `userId`, `userName` ("if known"; the
  page's sample spells it `username`), `event`, `source`, `date` (UTC, the sample without an
  offset) [TD datastructures/device-activity.rst]. Openings by PIN: 61 UnlockByPin, 63
  PullSpringByPin, 64 PartiallyOpenByPin, 68 LockForceUnlockedByPin, 76 PulledAutoByPin; not
  openings: 62 IncorrectPin, 65/66 locked from the keypad, 75 UnauthorizedPin (outside its
  period) [TD enums/event-type.rst].
- Health: a lock's `deviceState.batteryLevel` (a number; example 18), `isCharging`, and
  `isConnected` ("is lock connected to bridge") [TD datastructures/lock.rst, lock-state.rst,
  endpoints/lock/get-single.rst]; `deviceState` was `lockProperties` before API v1.35
  [TD release-notes.rst], so both are read.

UNVERIFIED, and what is done about it:
- Which PIN opened: no PIN id or alias field is documented on an activity. Whether `userName` of a
  PIN event carries the PIN's alias is not documented (a user reports the app's history shows it:
  https://github.com/home-assistant/home-assistant.io/issues/33034). A use is given with the
  activity's `userName` as `name` (our codes' aliases are our names) and no id or PIN; a use whose
  name is empty names no code.
- How many PINs a lock holds: create answers 412 when full, the number is not documented: code
  capacity is None.
- What a connection lacking `DeviceActivity.Read` (accounts connected before it was asked for)
  gets: 403 is taken to mean it, OperationNotSupported asking to reconnect.

Cost (700 requests per hour per account [TD api-rate-limiting.rst]): list_codes is one list call
plus one call per PIN, or the list call alone when its `listVersion` has not moved since the lock's
last listing (304 "List version is up to date"; every create, update and delete bumps it [TD
endpoints/lockpin/get-all.rst, howtos/manage-lock-pin-list.rst]); code_uses one call per 200
activities (at most MAX_ACTIVITY_PAGES);
lock_health one call.
"""

import re
import time
from datetime import datetime
from typing import Any

from locks.providers.base import CodeUse, ListedCode, Listing, LockHealth
from locks.providers.exceptions import OperationNotSupported, VendorUnavailable
from locks.providers.tedee.codes import parse_date

PIN_OPENINGS = frozenset({61, 63, 64, 68, 76})  # [TD enums/event-type.rst]
ACTIVITY_PAGE = 200  # the documented maximum and default [TD deviceactivity/get-all.rst]
DETAIL_RETRIES = 2  # per PIN of a listing, after a busy device or a failed cloud
MAX_ACTIVITY_PAGES = 25  # 5000 activities: a log answering pages forever must not keep us looping
NAME_LENGTH = 200
NO_ACTIVITY_SCOPE = (
    "This Tedee connection may not read the lock's activity: reconnect the Tedee account so Nowistay can see when codes are used."
)

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def clean_text(value: Any) -> str:
    """A vendor's name as we keep it: text, without NULs or control characters, of bounded length."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return ""
    return _CONTROL_CHARACTERS.sub("", str(value)).strip()[:NAME_LENGTH]


def tedee_date(value: Any) -> datetime | None:
    if value is not None and not isinstance(value, str):
        raise VendorUnavailable("Tedee answered with a date it could not have meant.")
    return parse_date(value)


def listed_code(pin_id: str, details: dict, alias: Any) -> ListedCode:
    pin = details.get("pin")
    return ListedCode(
        vendor_code_id=pin_id,
        name=clean_text(details.get("alias", alias)),
        pin=pin if isinstance(pin, str) and pin.isdigit() else None,
        starts_at=tedee_date(details.get("startDate")),
        ends_at=tedee_date(details.get("endDate")),
    )


def battery_percent(state: Any) -> int | None:
    level = state.get("batteryLevel") if isinstance(state, dict) else None
    if isinstance(level, bool) or not isinstance(level, int | float):
        return None
    return int(level) if 0 <= level <= 100 else None


def _event(activity: dict) -> int | None:
    try:
        return int(activity.get("event"))
    except (TypeError, ValueError):
        return None


def _activity_date(activity: dict) -> datetime | None:
    """An activity's date; None when unreadable (one odd entry does not hide the rest of the log)."""
    try:
        return tedee_date(activity.get("date"))
    except VendorUnavailable:
        return None


class TedeeReadBack:
    """`list_codes`, `code_uses` and `lock_health` of a TedeeProvider."""

    detail_retry_pause = 0.5  # seconds; tests set it to 0

    def list_codes(self, vendor_lock_id: str, previous: Listing | None = None) -> Listing:
        """Every PIN on the lock with its value and window: one list call, then one call per PIN;
        only the list call when it is still `previous` (each write bumps its version, see Cost)."""
        known_version = previous.version if previous is not None else ""
        version, entries = self._versioned_pin_list(vendor_lock_id, known_version=known_version)
        if entries is None:
            return Listing(previous.codes, version, unchanged=True)
        listed = []
        for entry in entries:
            pin_id = str(entry["id"])
            details = self._patient_pin_details(vendor_lock_id, pin_id)
            if details is not None:  # None: removed between the two calls
                listed.append(listed_code(pin_id, details, entry.get("alias")))
        return Listing(tuple(listed), version)

    def _patient_pin_details(self, vendor_lock_id: str, pin_id: str) -> dict | None:
        """One PIN's details, asked again after a pause when the device was busy or the cloud
        failed: one failed read among a lock's many must not cost the whole listing (409 "another
        request is currently being processed" [TD endpoints/lockpin/get-single.rst]). A rate
        limit or an offline lock is not asked again."""
        for attempt in range(DETAIL_RETRIES + 1):
            try:
                return self._pin_details(vendor_lock_id, pin_id)
            except VendorUnavailable:
                if attempt == DETAIL_RETRIES:
                    raise
                time.sleep(self.detail_retry_pause)
        return None  # not reached: the last attempt returns or raises

    def code_uses(self, vendor_lock_id: str, since: datetime) -> list[CodeUse]:
        """Openings by PIN since `since`, oldest first (which PIN: see UNVERIFIED in the docstring)."""
        uses: dict[str, CodeUse] = {}
        last_date = None
        for _ in range(MAX_ACTIVITY_PAGES):
            page = self._activities(vendor_lock_id, last_date)
            for activity in page:
                use = self._use(activity, since)
                if use is not None:
                    uses.setdefault(str(activity.get("id", f"{use.at.isoformat()} {use.name}")), use)
            dates = [_activity_date(activity) for activity in page]
            oldest = min((date for date in dates if date is not None), default=None)
            if len(page) < ACTIVITY_PAGE or oldest is None or oldest < since or page[-1].get("date") == last_date:
                break
            last_date = page[-1].get("date")  # the next page: what is older than the last item
        return sorted(uses.values(), key=lambda use: use.at)

    def lock_health(self, vendor_lock_id: str) -> LockHealth:
        """Battery and bridge connection from the lock's record (one call); capacity unknown."""
        response = self._call("GET", f"my/lock/{vendor_lock_id}")
        self._raise_for_status(response, lock_id=vendor_lock_id)
        lock = self._result(response)
        if not isinstance(lock, dict):
            raise VendorUnavailable("Tedee answered the lock with something unexpected.")
        state = lock.get("deviceState") if lock.get("deviceState") is not None else lock.get("lockProperties")
        connected = lock.get("isConnected")
        return LockHealth(is_online=connected if isinstance(connected, bool) else None, battery_percent=battery_percent(state))

    def _activities(self, vendor_lock_id: str, last_date: str | None) -> list[dict]:
        params = {"deviceId": vendor_lock_id, "elements": ACTIVITY_PAGE}
        if last_date is not None:
            params["lastElemDate"] = last_date
        response = self._call("GET", "my/deviceactivity", params=params)
        if response.status_code == 403:
            raise OperationNotSupported(NO_ACTIVITY_SCOPE, vendor_code="403")
        self._raise_for_status(response, lock_id=vendor_lock_id)
        page = self._result(response)
        if not isinstance(page, list):
            raise VendorUnavailable("Tedee answered the lock's activity with something unexpected.")
        return [activity for activity in page if isinstance(activity, dict)]

    @staticmethod
    def _use(activity: dict, since: datetime) -> CodeUse | None:
        if _event(activity) not in PIN_OPENINGS:
            return None
        at = _activity_date(activity)
        if at is None or at < since:
            return None
        name = activity.get("userName") if activity.get("userName") is not None else activity.get("username")
        return CodeUse(at=at, name=clean_text(name))
