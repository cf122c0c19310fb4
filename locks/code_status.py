"""A booking's door code in plain words, for the host dashboard.

Pure: no vendor call and no query beyond what the caller loaded (select_related
"lock__account" and "booking__property"). Times read in the property's time zone, and a moment
already past is never worded as one to come. The PIN shown is only ever the one stored on the code.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bookings.models import Booking, BookingStatus
from locks.models import AccessCode, CodeState, FallbackKind
from locks.notifications import local_time
from locks.providers import registry
from locks.services.codes import capabilities_of
from locks.services.outcomes import EXPIRY_CLEANUP_GIVE_UP
from locks.services.retry_now import retry_chooses_a_new_pin


@dataclass(frozen=True)
class CodeStatus:
    kind: str  # no_code, scheduled, creating, retrying, active, updating, revoking, revoked, expired, failed, unrevocable
    text: str  # the short plain-words line shown to the host
    can_retry: bool  # whether "Retry now" should be offered
    hint: str = ""  # for a code in trouble: what happens next and what the host can do


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
    "pending_on_lock": "still being put on the lock",
    "pin_taken": "PIN already on the lock",
    "subscription_required": "the lock needs a vendor subscription",
}

NEW_PIN_KINDS = {"pin_taken", "code_rejected"}  # a refused PIN: "Retry now" chooses another one

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
        if code.generate_at <= now:  # due (e.g. confirmed inside its lead time): the next scheduler pass creates it
            return CodeStatus("scheduled", "being created now", False)
        return CodeStatus("scheduled", f"will be created on {_day(code.generate_at, now, zone)}", False)
    if state == CodeState.CREATING:
        return _creating(code, now, zone)
    if state == CodeState.ACTIVE:
        return CodeStatus("active", _active(code, zone) + _notes(code) + _read_back(code), False)
    if state == CodeState.UPDATING:
        text = _active(code, zone) + " — moving to the new times" + _retrying_suffix(code, now, zone) + _notes(code)
        if not _is_retrying(code):
            return CodeStatus("updating", text, False)
        # An update is retried until the access it is for ends (services.outcomes.record_later_failure).
        schedule = f"{_keeps_trying(code.ends_at, now, zone)}; meanwhile the lock keeps the old times."
        return _retrying("updating", text, code, now, zone, schedule=schedule)
    if state in (CodeState.REVOKING, CodeState.EXPIRING):
        text = ("being revoked" if state == CodeState.REVOKING else "being removed from the lock") + _retrying_suffix(code, now, zone)
        if not _is_retrying(code):
            return CodeStatus("revoking", text, False)
        # A removal is retried until a week after the access ended (services.outcomes.record_later_failure).
        schedule = f"{_keeps_trying(code.ends_at + EXPIRY_CLEANUP_GIVE_UP, now, zone)}."
        return _retrying("revoking", text, code, now, zone, schedule=schedule)
    if state == CodeState.FAILED:
        return _failed(code, booking, has_lock, now)
    if state == CodeState.SUPERSEDED:
        return _unrevocable(code, zone)
    if state == CodeState.REVOKED:
        return CodeStatus("revoked", "revoked", False)
    if state == CodeState.EXPIRED:
        return CodeStatus("expired", "expired", False)
    return CodeStatus(state, code.get_state_display().lower(), False)  # a state added later


def _unrevocable(code: AccessCode, zone: ZoneInfo) -> CodeStatus:
    brand = _brand(code)
    until = _moment(code.lock_ends_at or code.ends_at, zone)
    if not capabilities_of(code.lock).remote_revoke:  # igloohome's algoPINs: by design
        return CodeStatus("unrevocable", f"cannot be revoked remotely ({brand}): valid until {until}", False)
    # A vendor that can revoke refused to for good (services.outcomes.record_later_failure).
    fix = _fix(code.last_error_kind, brand)
    hint = f"Delete the code in the {brand} app if it must stop working sooner" + (f"; {fix}." if fix else ".")
    return CodeStatus("unrevocable", f"could not be revoked ({brand} refused): valid until {until}", False, hint)


def _creating(code: AccessCode, now: datetime, zone: ZoneInfo) -> CodeStatus:
    brand = _brand(code)
    if code.awaiting_lock_since is not None:
        # Sent, and the vendor may have acted: looked for in its listing, never sent again, not a failure.
        text = f"sent to the lock, waiting for {brand} to confirm it"
        return CodeStatus("creating", text, False, _awaiting_hint(code, brand, now, zone))
    if not ((code.attempts > 0 or code.last_error) and code.next_attempt_at is not None):
        return CodeStatus("creating", "being created now", False)
    schedule = f"{_keeps_trying(code.retry_deadline, now, zone)}; {_email_note(code, now, zone)}."
    return _retrying("retrying", f"retrying: {_retry(code, now, zone)}", code, now, zone, schedule=schedule)


def _awaiting_hint(code: AccessCode, brand: str, now: datetime, zone: ZoneInfo) -> str:
    again = _looks_again(code, now, zone)
    if code.awaiting_reason == "pin_taken":
        return f"{brand} says this PIN is already on the lock; Nowistay is checking that it is the code it sent, and looks again {again}."
    return f"{brand} accepted the code and is putting it on the lock; Nowistay looks for it again {again}."


def _looks_again(code: AccessCode, now: datetime, zone: ZoneInfo) -> str:
    if code.next_attempt_at is None:
        return "shortly"
    when = _next_try(code, now, zone)
    return when if when == "now" else f"at {when}"


def _retrying(kind: str, text: str, code: AccessCode, now: datetime, zone: ZoneInfo, *, schedule: str) -> CodeStatus:
    """A code being retried. Its hint: the wait the vendor asked for, until when Nowistay keeps
    trying (`schedule`), and what the host can do about the cause. No "Retry now" while the vendor
    asked to wait: the press could only be refused."""
    waiting = _vendor_wait(code, now)
    parts = [f"{_brand(code)} asked Nowistay to wait until {_at(code.vendor_wait_until, now, zone)}."] if waiting else []
    parts += [schedule, _retrying_advice(code, now, can_retry=not waiting)]
    return CodeStatus(kind, text, not waiting, " ".join(parts))


def _failed(code: AccessCode, booking: Booking, has_lock: bool, now: datetime) -> CodeStatus:
    still_wanted = code.is_current and booking.status == BookingStatus.CONFIRMED and code.ends_at > now
    # Without a usable lock a retry is refused (see code_retry_now): do not offer it.
    retryable = still_wanted and has_lock and booking.property.is_eligible_for_smart_lock
    stopped = "Nowistay has stopped trying and emailed you." if code.failure_notified_at else "Nowistay has stopped trying."
    if retryable:
        hint = f"{stopped} {_failed_advice(code, now)}"
    elif still_wanted:
        hint = f"{stopped} Give the guest another way in."
    else:
        hint = ""
    return CodeStatus("failed", f"failed: {code.last_error or _reason(code)}", retryable, hint)


def _failed_advice(code: AccessCode, now: datetime) -> str:
    kind = code.last_error_kind
    if kind in NEW_PIN_KINDS and retry_chooses_a_new_pin(code, now):
        return "Retry now picks another PIN — or give the guest another way in."
    fix = _fix(kind, _brand(code))
    if fix:
        return f"{_sentence(fix)}, then use Retry now — or give the guest another way in."
    return "Use Retry now, or give the guest another way in."


def _retrying_advice(code: AccessCode, now: datetime, *, can_retry: bool) -> str:
    kind, brand = code.last_error_kind, _brand(code)
    if kind in NEW_PIN_KINDS and can_retry and retry_chooses_a_new_pin(code, now):
        return "Retry now picks another PIN."
    fix = _fix(kind, brand)
    if fix:
        return f"{_sentence(fix)}."
    if kind == "rate_limited":
        return f"Nothing to do: Nowistay waits as {brand} asked."
    if kind == "pending_on_lock":
        return f"Nothing to do: {brand} is still putting the code on the lock."
    return "Nothing to do unless it lasts; Retry now tries at once." if can_retry else "Nothing to do unless it lasts."


def _fix(kind: str, brand: str) -> str:
    """What the host can do about the cause of a failure ("" when it passes by itself)."""
    if kind == "subscription_required":
        plan = "Nuki's Smart Hosting subscription" if brand == "Nuki" else f"the {brand} subscription it needs"
        return f"activate {plan} for this lock"
    return {
        "lock_offline": "check that the lock's gateway or bridge has power and Wi-Fi",
        "auth": f"reconnect your {brand} account at Integrations",
        "storage_full": f"remove old codes from the lock in the {brand} app",
        "lock_not_found": f"share the lock with your {brand} account again, or assign another lock at Integrations",
    }.get(kind, "")


def _sentence(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:]


def _keeps_trying(give_up_at: datetime, now: datetime, zone: ZoneInfo) -> str:
    if give_up_at <= now:
        return "This is the last try"
    return f"Nowistay keeps trying until {_until(give_up_at, now, zone)}"


def _email_note(code: AccessCode, now: datetime, zone: ZoneInfo) -> str:
    """The one email about a creation still failing (services.outcomes.notify_after_failure)."""
    if code.alert_sent_at is not None:
        return "you were emailed about it"
    if code.alert_at > now:
        return f"if it still fails at {_at(code.alert_at, now, zone)}, you will be emailed"
    return "if the next try fails, you will be emailed"


def _vendor_wait(code: AccessCode, now: datetime) -> bool:
    return code.vendor_wait_until is not None and code.vendor_wait_until > now


def _is_retrying(code: AccessCode) -> bool:
    return bool(code.last_error) and code.next_attempt_at is not None


def _brand(code: AccessCode) -> str:
    return code.lock.account.provider_name


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
    return _day_text(_local(moment, zone).date(), now, zone)


def _day_text(day: date, now: datetime, zone: ZoneInfo) -> str:
    text = day.strftime(_DAY_MONTH)
    if day.year != _local(now, zone).year:
        text += f" {day.year}"
    return text


def _moment(moment: datetime, zone: ZoneInfo) -> str:
    return _local(moment, zone).strftime(_MOMENT)


def _active(code: AccessCode, zone: ZoneInfo) -> str:
    starts = code.lock_starts_at or code.starts_at
    ends = code.lock_ends_at or code.ends_at
    pin = code.pin or "PIN not known"
    link = f", link: {code.access_link}" if code.access_link else ""
    return f"active: {pin}, {_moment(starts, zone)} → {_moment(ends, zone)}{link}"


FALLBACK_NOTES = {
    FallbackKind.OFFLINE: "an offline code, given because the guest's own code did not reach the lock in time",
    FallbackKind.BACKUP: "a backup code from the lock, given because the guest's own code did not reach the lock in time",
}


def _notes(code: AccessCode) -> str:
    return "".join(f" — {note}" for note in (FALLBACK_NOTES.get(code.fallback), code.usage_note, code.warning) if note)


def _read_back(code: AccessCode) -> str:
    """Whether the lock was seen holding the code (services.reconcile), or why that cannot be known."""
    if capabilities_of(code.lock).lists_codes:
        return "" if code.confirmed_on_lock_at else " — sent, not yet confirmed on the lock"
    note = registry.provider_class(code.lock.account.provider).not_read_back_note
    return f" — {note}" if note else ""


def _reason(code: AccessCode) -> str:
    return REASONS.get(code.last_error_kind) or code.last_error or "vendor error"


def _next_try(code: AccessCode, now: datetime, zone: ZoneInfo) -> str:
    due = code.next_attempt_at
    if _vendor_wait(code, now):
        due = max(due, code.vendor_wait_until)  # nothing is sent before the vendor's wait is over
    if due <= now:
        return "now"
    return _at(due, now, zone)


def _at(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    """The local time ("11:00") on the host's today; with its day ("00:45 on 6 Jun") on another day."""
    local = _local(moment, zone)
    text = local.strftime("%H:%M")
    if local.date() != _local(now, zone).date():
        text += local.strftime(" on %-d %b")
    return text


def _until(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    local = _local(moment, zone)
    if local.time() == time(0, 0):  # the end of a day: name the day that ends, not the one that starts
        return f"midnight at the end of {_day_text(local.date() - timedelta(days=1), now, zone)}"
    return _at(moment, now, zone)


def _retry(code: AccessCode, now: datetime, zone: ZoneInfo) -> str:
    return f"{_reason(code)}, next try {_next_try(code, now, zone)}"


def _retrying_suffix(code: AccessCode, now: datetime, zone: ZoneInfo) -> str:
    if not _is_retrying(code):
        return ""
    return f" (retrying: {_retry(code, now, zone)})"


def ended_access_note(code: AccessCode | None, tz_name: str) -> str:
    """What ending a booking's access did to its code (`booking_end_access` returns the code)."""
    if code is None or code.state == CodeState.EXPIRED:
        return "There was no working code to revoke."
    if code.state == CodeState.SUPERSEDED:
        brand = code.lock.account.provider_name
        until = local_time(code.lock_ends_at or code.ends_at, tz_name)
        if capabilities_of(code.lock).remote_revoke:
            return f"{brand} refused to revoke the code: it keeps working until {until}."
        return f"{brand} cannot revoke codes remotely: the code keeps working until {until}."
    if code.state == CodeState.REVOKING:
        return "The code is being revoked from the lock."
    return "The code was revoked."
