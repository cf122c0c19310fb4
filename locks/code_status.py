"""A booking's door code in plain words, for the host dashboard.

Pure: no vendor call and no query beyond what the caller loaded (select_related
"lock__account" and "booking__property"). Times read in the property's time zone. The PIN shown
is only ever the one stored on the code.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bookings.models import Booking, BookingStatus
from locks.models import AccessCode, CodeState
from locks.notifications import local_time


@dataclass(frozen=True)
class CodeStatus:
    kind: str  # no_code, scheduled, creating, retrying, active, updating, revoking, revoked, expired, failed, unrevocable
    text: str  # the plain-words line shown to the host
    can_retry: bool  # whether "Retry now" should be offered


# Short reasons for the error kinds of locks.providers.exceptions (their `kind` names).
REASONS = {
    "lock_offline": "lock or gateway offline",
    "rate_limited": "vendor busy",
    "vendor_unavailable": "vendor unreachable",
    "outcome_unknown": "no answer from the vendor",
    "transient": "temporary vendor error",
    "auth": "account needs reconnecting",
    "code_rejected": "PIN refused by the lock",
    "lock_not_found": "lock no longer in the account",
    "code_not_found": "code no longer on the lock",
    "storage_full": "lock's code memory is full",
    "not_supported": "not supported by the vendor",
}

NOT_ELIGIBLE = "no code: this property cannot have a smart lock (needs the Nowistay PMS and an active AI Assistant subscription)"

_DAY_MONTH = "%-d %B"
_MOMENT = "%H:%M %-d %b"


def code_to_show(codes: Iterable[AccessCode]) -> AccessCode | None:
    """Of a booking's codes (newest first): the current one, else the newest superseded one (it
    still works), else the newest one, else None."""
    codes = list(codes)
    for code in codes:
        if code.is_current:
            return code
    for code in codes:
        if code.state == CodeState.SUPERSEDED:
            return code
    return codes[0] if codes else None


def describe_code(code: AccessCode | None, *, booking: Booking, has_lock: bool, now: datetime) -> CodeStatus:
    zone = ZoneInfo(booking.property.time_zone)
    if code is None:
        return CodeStatus("no_code", _no_code_text(booking, has_lock), False)
    state = code.state
    if state == CodeState.SCHEDULED:
        return CodeStatus("scheduled", f"will be created on {_day(code.generate_at, now, zone)}", False)
    if state == CodeState.CREATING:
        if (code.attempts > 0 or code.last_error) and code.next_attempt_at is not None:
            return CodeStatus("retrying", f"retrying: {_retry(code, now, zone)}", True)
        return CodeStatus("creating", "being created now", False)
    if state == CodeState.ACTIVE:
        return CodeStatus("active", _active(code, zone) + _notes(code), False)
    if state == CodeState.UPDATING:
        retrying = bool(code.last_error)
        text = _active(code, zone) + " — moving to the new times" + _retrying_suffix(code, now, zone) + _notes(code)
        return CodeStatus("updating", text, retrying)
    if state in (CodeState.REVOKING, CodeState.EXPIRING):
        text = "being revoked" if state == CodeState.REVOKING else "being removed from the lock"
        return CodeStatus("revoking", text + _retrying_suffix(code, now, zone), bool(code.last_error))
    if state == CodeState.FAILED:
        retryable = (
            code.is_current
            and booking.status == BookingStatus.CONFIRMED
            and code.ends_at > now
            # Without a usable lock a retry is refused (see code_retry_now): do not offer it.
            and has_lock
            and booking.property.is_eligible_for_smart_lock
        )
        return CodeStatus("failed", f"failed: {code.last_error or _reason(code)}", retryable)
    if state == CodeState.SUPERSEDED:
        brand = code.lock.account.get_provider_display()
        until = _moment(code.lock_ends_at or code.ends_at, zone)
        return CodeStatus("unrevocable", f"cannot be revoked remotely ({brand}): valid until {until}", False)
    if state == CodeState.REVOKED:
        return CodeStatus("revoked", "revoked", False)
    if state == CodeState.EXPIRED:
        return CodeStatus("expired", "expired", False)
    return CodeStatus(state, code.get_state_display().lower(), False)  # a state added later


def _no_code_text(booking: Booking, has_lock: bool) -> str:
    if booking.status == BookingStatus.PENDING:
        return "no code: the booking is not confirmed"
    if booking.status == BookingStatus.CANCELLED:
        return "no code: the booking is cancelled"
    if not booking.property.is_eligible_for_smart_lock:
        return NOT_ELIGIBLE
    if not has_lock:
        return "no code: no lock is assigned to this property"
    return "no code yet"


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)


def _day(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    local = _local(moment, zone)
    text = local.strftime(_DAY_MONTH)
    if local.year != _local(now, zone).year:
        text += f" {local.year}"
    return text


def _moment(moment: datetime, zone: ZoneInfo) -> str:
    return _local(moment, zone).strftime(_MOMENT)


def _active(code: AccessCode, zone: ZoneInfo) -> str:
    starts = code.lock_starts_at or code.starts_at
    ends = code.lock_ends_at or code.ends_at
    pin = code.pin or "PIN not known"
    return f"active: {pin}, {_moment(starts, zone)} → {_moment(ends, zone)}"


def _notes(code: AccessCode) -> str:
    return "".join(f" — {note}" for note in (code.usage_note, code.warning) if note)


def _reason(code: AccessCode) -> str:
    return REASONS.get(code.last_error_kind) or code.last_error or "vendor error"


def _next_try(code: AccessCode, now: datetime, zone: ZoneInfo) -> str:
    if code.next_attempt_at <= now:
        return "now"
    local = _local(code.next_attempt_at, zone)
    text = local.strftime("%H:%M")
    if local.date() != _local(now, zone).date():
        text += local.strftime(" on %-d %b")
    return text


def _retry(code: AccessCode, now: datetime, zone: ZoneInfo) -> str:
    return f"{_reason(code)}, next try {_next_try(code, now, zone)}"


def _retrying_suffix(code: AccessCode, now: datetime, zone: ZoneInfo) -> str:
    if not code.last_error or code.next_attempt_at is None:
        return ""
    return f" (retrying: {_retry(code, now, zone)})"


def ended_access_note(code: AccessCode | None, tz_name: str) -> str:
    """What ending a booking's access did to its code (`booking_end_access` returns the code)."""
    if code is None or code.state == CodeState.EXPIRED:
        return "There was no working code to revoke."
    if code.state == CodeState.SUPERSEDED:
        brand = code.lock.account.get_provider_display()
        until = local_time(code.lock_ends_at or code.ends_at, tz_name)
        return f"{brand} cannot revoke codes remotely: the code keeps working until {until}."
    if code.state == CodeState.REVOKING:
        return "The code is being revoked from the lock."
    return "The code was revoked."
