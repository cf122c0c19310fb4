"""TTLock offline codes: a random period passcode that TTLock's cloud computes without reaching the
lock (`POST keyboardPwd/get`, keyboardPwdType 3), for when a custom code cannot reach it in time.

What the sources say, what stays UNVERIFIED and what this module does about it: the package
docstring, "Offline codes". The window functions are pure; `TTLockOfflineCodes` is mixed into
TTLockProvider (which gives it `_call`, `_lock_id` and `_passcode_entries`).
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

from locks.providers.base import CodeSpec, IssuedCode
from locks.providers.exceptions import CodeRejected, OutcomeUnknown
from locks.providers.ttlock.errors import ANSWER_MALFORMED, malformed
from locks.providers.ttlock.times import to_ms
from locks.providers.usage_notes import first_use_note

OFFLINE_PERIOD = 3  # keyboardPwd/get keyboardPwdType, V4: 1 one-time, 2 permanent, 3 period [T-GET, T-GET-V2]
RANDOM_CODE = "0"  # listKeyboardPwd `isCustom`: 0 random (offline), 1 custom [T-PL]
MAX_SPAN = timedelta(days=365)  # "at most one year" [T-GET]; 365 days is within every reading of it
FIRST_USE_WITHIN = timedelta(hours=24)  # unused by then, the lock suspends the code [T-GET-OLD, T-PG]
HOUR = timedelta(hours=1)
# The vendor_code_id of a code whose answer gave no keyboardPwdId: its name, looked up when needed.
NAME_ID_PREFIX = "name:"

_OFFLINE_PIN = re.compile(r"[0-9]{6,9}")  # 6 to 9 digits [T-GET, T-PG]; ASCII only (\d takes any script)
_CODE_ID = re.compile(r"[0-9]{1,18}")  # keyboardPwdId is a Long [T-PL]: 18 digits stay below 2**63


# --- the window (pure functions) ------------------------------------------------------------------


@dataclass(frozen=True)
class OfflineWindow:
    starts_at: datetime  # whole UTC hours, as sent to TTLock and kept in its passcode list
    ends_at: datetime
    first_use_by: datetime  # the earliest moment the lock may suspend the code if it was never used


def floor_to_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_to_hour(moment: datetime) -> datetime:
    floored = floor_to_hour(moment)
    return floored if floored == moment else floored + HOUR


def floor_to_local_hour(moment: datetime, zone: ZoneInfo) -> datetime:
    """The start of `moment`'s hour on the clock of `zone`: a half hour earlier than the UTC hour in
    Asia/Kolkata (UTC+05:30), the same instant in zones a whole number of hours from UTC."""
    local = moment.astimezone(zone)
    return (moment - timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)).astimezone(UTC)


def offline_window(starts_at: datetime, ends_at: datetime, zone: ZoneInfo, now: datetime) -> OfflineWindow:
    """The whole hours to ask TTLock for so that the code covers [starts_at, ends_at).

    The start is floored to the hour, and never before the current hour: the lock suspends a code
    not used within 24 hours of its start, so a start in the past would shorten that day or end it.
    The end is ceiled to the hour (so the guest is never shut out early), and one hour later still
    when flooring it to the lock's local hour would fall before `ends_at` (half-hour zones). The
    first-use deadline counts from the earlier of the UTC and the local reading of the start.
    """
    if ends_at <= starts_at:
        raise CodeRejected("The code's window ends before it starts.")
    if ends_at <= now:
        raise CodeRejected("The code's window is already over.")
    start = max(floor_to_hour(starts_at), floor_to_hour(now))
    end = ceil_to_hour(ends_at)
    if floor_to_local_hour(end, zone) < ends_at:
        end += HOUR
    if end - start > MAX_SPAN:
        raise CodeRejected("TTLock offline codes last at most 365 days (in whole hours); this stay is longer.")
    return OfflineWindow(start, end, min(start, floor_to_local_hour(start, zone)) + FIRST_USE_WITHIN)


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CodeRejected(f"The property's time zone “{name}” is not known.") from None


# --- what the guest and the host are told -----------------------------------------------------------


def local_words(moment: datetime, zone: ZoneInfo) -> str:
    """As hosts and guests read it, e.g. "14:00 on 3 June 2026" (as igloohome's notes say it)."""
    return moment.astimezone(zone).strftime("%H:%M on %-d %B %Y")


def usage_note(window: OfflineWindow, zone: ZoneInfo) -> str:
    """The first-use rule, worded as igloohome's usage note; "" when the code ends before it matters."""
    if window.first_use_by >= window.ends_at:
        return ""
    return first_use_note(window.first_use_by, zone)


def host_warning(window: OfflineWindow, spec: CodeSpec, zone: ZoneInfo) -> str:
    sentences = [
        "Issued offline: TTLock's cloud computed this code without reaching the lock.",
        "It cannot be changed or deleted remotely until it has been used on the lock.",
        f"TTLock counts it in whole hours: it works from {local_words(window.starts_at, zone)} "
        f"until {local_words(window.ends_at, zone)}.",
    ]
    if window.starts_at > floor_to_hour(spec.starts_at):
        sentences.append("It starts at the current hour, not at the stay's start: its first use is due within 24 hours of its start.")
    early = (window.starts_at - floor_to_local_hour(window.starts_at, zone)) // timedelta(minutes=1)
    if early:
        sentences.append(
            f"{zone.key} is not a whole number of hours from UTC: if the lock counts whole hours on its own "
            f"clock, the code starts {early} minutes earlier."
        )
    if window.first_use_by < window.ends_at:
        sentences.append(f"Unless it is used before {local_words(window.first_use_by, zone)}, the lock suspends it.")
    return " ".join(sentences)


# --- TTLock's answer ---------------------------------------------------------------------------------


def _unreadable() -> OutcomeUnknown:
    # The cloud may have issued the code all the same: it is in the passcode list under its name.
    return OutcomeUnknown(
        "TTLock's answer could not be read; an offline code may have been issued all the same.", vendor_code=ANSWER_MALFORMED
    )


def pin_and_id(answer: dict, name: str) -> tuple[str, str]:
    """The code's PIN and its vendor_code_id from a keyboardPwd/get answer.

    `keyboardPwd` is taken only as a string of 6-9 ASCII digits (a String [T-GET-V2, T-PL]: a number
    may have lost a leading zero). `keyboardPwdId`, when there, must be a non-negative Long; when
    absent the id is NAME_ID_PREFIX + the code's name (see the package docstring).
    """
    pin = answer.get("keyboardPwd")
    if not isinstance(pin, str) or not _OFFLINE_PIN.fullmatch(pin):
        raise _unreadable()
    code_id: Any = answer.get("keyboardPwdId")
    if code_id is None or code_id == "":
        if not name:
            raise _unreadable()
        return pin, NAME_ID_PREFIX + name
    if isinstance(code_id, bool) or not isinstance(code_id, int | str) or not _CODE_ID.fullmatch(str(code_id)):
        raise _unreadable()
    return pin, str(code_id)


# --- the adapter's side ---------------------------------------------------------------------------


class TTLockOfflineCodes:
    """`issue_offline_code` of a TTLockProvider, and the passcode id behind a code's vendor_code_id."""

    def issue_offline_code(self, vendor_lock_id: str, spec: CodeSpec) -> IssuedCode:
        """A random period passcode for the stay, computed by TTLock's cloud whether or not the lock or
        its gateway is online: one keyboardPwd/get [T-GET]."""
        lock_id = self._lock_id(vendor_lock_id)
        zone = zone_named(spec.time_zone)
        window = offline_window(spec.starts_at, spec.ends_at, zone, timezone.now())
        # Not through `call_guard`: the gateway is not involved, and a custom-code call held up by an
        # offline gateway must not hold up the code meant to stand in for it.
        answer = self._call(
            "POST",
            "keyboardPwd/get",
            {
                "lockId": lock_id,
                "keyboardPwdType": OFFLINE_PERIOD,
                "keyboardPwdName": spec.name,
                "startDate": to_ms(window.starts_at),
                "endDate": to_ms(window.ends_at),
            },
        )
        pin, code_id = pin_and_id(answer, spec.name)
        return IssuedCode(
            vendor_code_id=code_id,
            pin=pin,
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            name=spec.name,
            usage_note=usage_note(window, zone),
            warning=host_warning(window, spec, zone),
        )

    def _passcode_id(self, lock_id: str, vendor_code_id: str) -> str | None:
        """TTLock's keyboardPwdId behind `vendor_code_id`: itself when TTLock gave it; for an offline
        code whose answer gave none, the id of the random code of that name in the passcode list
        (newest first) [T-PL]; None when there is no such code (any longer)."""
        vendor_code_id = str(vendor_code_id)
        if re.fullmatch(r"[0-9]+", vendor_code_id):
            return vendor_code_id
        name = vendor_code_id.removeprefix(NAME_ID_PREFIX)
        if name == vendor_code_id or not name:
            return None  # not an id this adapter gives
        for entry in self._passcode_entries(lock_id):
            if entry.get("keyboardPwdName") == name and str(entry.get("isCustom")) == RANDOM_CODE:
                found = entry.get("keyboardPwdId")
                if isinstance(found, bool) or not _CODE_ID.fullmatch(str(found)):
                    raise malformed("a passcode without an id")
                return str(found)
        return None
