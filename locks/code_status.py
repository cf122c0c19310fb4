"""A booking's door code in plain words, for the host dashboard.

Pure: no vendor call and no query beyond what the caller loaded (select_related
"lock__account" and "booking__property"). Times read in the property's time zone, and a moment
already past is never worded as one to come. The PIN shown is only ever the one stored on the code.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from bookings.models import Booking, BookingStatus
from locks.code_words import FALLBACK_NOTES, NOT_ELIGIBLE, REASONS, at_text, capitalised, day_text, fix_of, moment_text, until_text
from locks.models import AccessCode, CodeState
from locks.moments import local_time
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


NEW_PIN_KINDS = {"pin_taken", "code_rejected"}  # a refused PIN: "Retry now" chooses another one

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
            return CodeStatus("scheduled", _("being created now"), False)
        day = day_text(code.generate_at.astimezone(zone).date(), now, zone)
        return CodeStatus("scheduled", _("will be created on %(day)s") % {"day": day}, False)
    if state == CodeState.CREATING:
        return _creating(code, now, zone)
    if state == CodeState.ACTIVE:
        return CodeStatus("active", _active(code, zone) + _notes(code) + _read_back(code), False)
    if state == CodeState.UPDATING:
        text = _active(code, zone) + " — " + _("moving to the new times") + _retrying_suffix(code, now, zone) + _notes(code)
        if not _is_retrying(code):
            return CodeStatus("updating", text, False)
        # An update is retried until the access it is for ends (services.outcomes.record_later_failure).
        schedule = _schedule(code, code.ends_at, now, zone, "old_times")
        return _retrying("updating", text, code, now, zone, schedule=schedule)
    if state in (CodeState.REVOKING, CodeState.EXPIRING):
        text = (_("being revoked") if state == CodeState.REVOKING else _("being removed from the lock")) + _retrying_suffix(code, now, zone)
        if not _is_retrying(code):
            return CodeStatus("revoking", text, False)
        # A removal is retried until a week after the access ended (services.outcomes.record_later_failure).
        schedule = _schedule(code, code.ends_at + EXPIRY_CLEANUP_GIVE_UP, now, zone, "")
        return _retrying("revoking", text, code, now, zone, schedule=schedule)
    if state == CodeState.FAILED:
        return _failed(code, booking, has_lock, now)
    if state == CodeState.SUPERSEDED:
        return _unrevocable(code, zone)
    if state == CodeState.REVOKED:
        return CodeStatus("revoked", _("revoked"), False)
    if state == CodeState.EXPIRED:
        return CodeStatus("expired", _("expired"), False)
    return CodeStatus(state, code.get_state_display().lower(), False)  # a state added later


def _unrevocable(code: AccessCode, zone: ZoneInfo) -> CodeStatus:
    values = {"brand": _brand(code), "until": moment_text(code.lock_ends_at or code.ends_at, zone)}
    if not capabilities_of(code.lock).remote_revoke:  # igloohome's algoPINs: by design
        return CodeStatus("unrevocable", _("cannot be revoked remotely (%(brand)s): valid until %(until)s") % values, False)
    # A vendor that can revoke refused to for good (services.outcomes.record_later_failure).
    fix = fix_of(code.last_error_kind, values["brand"])
    if fix:
        hint = _("Delete the code in the %(brand)s app if it must stop working sooner; %(fix)s.") % {**values, "fix": fix}
    else:
        hint = _("Delete the code in the %(brand)s app if it must stop working sooner.") % values
    return CodeStatus("unrevocable", _("could not be revoked (%(brand)s refused): valid until %(until)s") % values, False, hint)


def _creating(code: AccessCode, now: datetime, zone: ZoneInfo) -> CodeStatus:
    brand = _brand(code)
    if code.awaiting_lock_since is not None:
        # Sent, and the vendor may have acted: looked for in its listing, never sent again, not a failure.
        text = _("sent to the lock, waiting for %(brand)s to confirm it") % {"brand": brand}
        return CodeStatus("creating", text, False, _awaiting_hint(code, brand, now, zone))
    if not ((code.attempts > 0 or code.last_error) and code.next_attempt_at is not None):
        return CodeStatus("creating", _("being created now"), False)
    schedule = _schedule(code, code.retry_deadline, now, zone, _email_note(code, now))
    text = _("retrying: %(retry)s") % {"retry": _retry(code, now, zone)}
    return _retrying("retrying", text, code, now, zone, schedule=schedule)


def _awaiting_hint(code: AccessCode, brand: str, now: datetime, zone: ZoneInfo) -> str:
    when = "shortly" if code.next_attempt_at is None else ("now" if _due(code, now) <= now else "at")
    values = {"brand": brand, "time": at_text(_due(code, now), now, zone) if when == "at" else ""}
    taken = code.awaiting_reason == "pin_taken"
    return (_TAKEN_HINTS if taken else _ACCEPTED_HINTS)[when]() % values


# "Nowistay looks again shortly / now / at 11:00", each a whole sentence.
_TAKEN_HINTS = {
    "shortly": lambda: _(
        "%(brand)s says this PIN is already on the lock; Nowistay is checking that it is the code it sent, and looks again shortly."
    ),
    "now": lambda: _(
        "%(brand)s says this PIN is already on the lock; Nowistay is checking that it is the code it sent, and looks again now."
    ),
    "at": lambda: _(
        "%(brand)s says this PIN is already on the lock; Nowistay is checking that it is the code it sent, and looks again at %(time)s."
    ),
}
_ACCEPTED_HINTS = {
    "shortly": lambda: _("%(brand)s accepted the code and is putting it on the lock; Nowistay looks for it again shortly."),
    "now": lambda: _("%(brand)s accepted the code and is putting it on the lock; Nowistay looks for it again now."),
    "at": lambda: _("%(brand)s accepted the code and is putting it on the lock; Nowistay looks for it again at %(time)s."),
}


def _retrying(kind: str, text: str, code: AccessCode, now: datetime, zone: ZoneInfo, *, schedule: str) -> CodeStatus:
    """A code being retried. Its hint: the wait the vendor asked for, until when Nowistay keeps
    trying (`schedule`), and what the host can do about the cause. No "Retry now" while the vendor
    asked to wait: the press could only be refused."""
    waiting = _vendor_wait(code, now)
    values = {"brand": _brand(code), "until": at_text(code.vendor_wait_until, now, zone)} if waiting else {}
    parts = [_("%(brand)s asked Nowistay to wait until %(until)s.") % values] if waiting else []
    parts += [schedule, _retrying_advice(code, now, can_retry=not waiting)]
    return CodeStatus(kind, text, not waiting, " ".join(parts))


def _failed(code: AccessCode, booking: Booking, has_lock: bool, now: datetime) -> CodeStatus:
    still_wanted = code.is_current and booking.status == BookingStatus.CONFIRMED and code.ends_at > now
    # Without a usable lock a retry is refused (see code_retry_now): do not offer it.
    retryable = still_wanted and has_lock and booking.property.is_eligible_for_smart_lock
    stopped = _("Nowistay has stopped trying and emailed you.") if code.failure_notified_at else _("Nowistay has stopped trying.")
    if retryable:
        hint = f"{stopped} {_failed_advice(code, now)}"
    elif still_wanted:
        hint = " ".join([stopped, _("Give the guest another way in.")])
    else:
        hint = ""
    return CodeStatus("failed", _("failed: %(reason)s") % {"reason": code.last_error or _reason(code)}, retryable, hint)


def _failed_advice(code: AccessCode, now: datetime) -> str:
    kind = code.last_error_kind
    if kind in NEW_PIN_KINDS and retry_chooses_a_new_pin(code, now):
        return _("Retry now picks another PIN — or give the guest another way in.")
    fix = fix_of(kind, _brand(code))
    if fix:
        return _("%(fix)s, then use Retry now — or give the guest another way in.") % {"fix": capitalised(fix)}
    return _("Use Retry now, or give the guest another way in.")


def _retrying_advice(code: AccessCode, now: datetime, *, can_retry: bool) -> str:
    kind, brand = code.last_error_kind, _brand(code)
    if kind in NEW_PIN_KINDS and can_retry and retry_chooses_a_new_pin(code, now):
        return _("Retry now picks another PIN.")
    fix = fix_of(kind, brand)
    if fix:
        return f"{capitalised(fix)}."
    if kind == "rate_limited":
        return _("Nothing to do: Nowistay waits as %(brand)s asked.") % {"brand": brand}
    if kind == "pending_on_lock":
        return _("Nothing to do: %(brand)s is still putting the code on the lock.") % {"brand": brand}
    return _("Nothing to do unless it lasts; Retry now tries at once.") if can_retry else _("Nothing to do unless it lasts.")


def _schedule(code: AccessCode, give_up_at: datetime, now: datetime, zone: ZoneInfo, ending: str) -> str:
    """Until when Nowistay keeps trying, and what follows (`ending`: "old_times", an email note, or "")."""
    last = give_up_at <= now
    values = {
        "until": "" if last else until_text(give_up_at, now, zone),
        "alert": at_text(code.alert_at, now, zone) if ending == "alert_at" else "",
    }
    return _SCHEDULES[(last, ending)]() % values


# Each whole sentence: the last try, or trying until a moment; then the old times kept, or the email.
_SCHEDULES = {
    (True, "old_times"): lambda: _("This is the last try; meanwhile the lock keeps the old times."),
    (False, "old_times"): lambda: _("Nowistay keeps trying until %(until)s; meanwhile the lock keeps the old times."),
    (True, ""): lambda: _("This is the last try."),
    (False, ""): lambda: _("Nowistay keeps trying until %(until)s."),
    (True, "emailed"): lambda: _("This is the last try; you were emailed about it."),
    (False, "emailed"): lambda: _("Nowistay keeps trying until %(until)s; you were emailed about it."),
    (True, "alert_at"): lambda: _("This is the last try; if it still fails at %(alert)s, you will be emailed."),
    (False, "alert_at"): lambda: _("Nowistay keeps trying until %(until)s; if it still fails at %(alert)s, you will be emailed."),
    (True, "next_fails"): lambda: _("This is the last try; if the next try fails, you will be emailed."),
    (False, "next_fails"): lambda: _("Nowistay keeps trying until %(until)s; if the next try fails, you will be emailed."),
}


def _email_note(code: AccessCode, now: datetime) -> str:
    """The one email about a creation still failing (services.outcomes.notify_after_failure)."""
    if code.alert_sent_at is not None:
        return "emailed"
    return "alert_at" if code.alert_at > now else "next_fails"


def _vendor_wait(code: AccessCode, now: datetime) -> bool:
    return code.vendor_wait_until is not None and code.vendor_wait_until > now


def _is_retrying(code: AccessCode) -> bool:
    return bool(code.last_error) and code.next_attempt_at is not None


def _brand(code: AccessCode) -> str:
    return code.lock.account.provider_name


def _no_code_text(booking: Booking, has_lock: bool) -> str:
    if booking.status == BookingStatus.PENDING:
        return _("no code: the booking is not confirmed")
    if booking.status == BookingStatus.CANCELLED:
        return _("no code: the booking is cancelled")
    if not booking.property.is_eligible_for_smart_lock:
        return str(NOT_ELIGIBLE)
    if not has_lock:
        return _("no code: no lock is assigned to this property")
    return _("no code yet")


def _active(code: AccessCode, zone: ZoneInfo) -> str:
    starts = code.lock_starts_at or code.starts_at
    ends = code.lock_ends_at or code.ends_at
    values = {"pin": code.pin or _("PIN not known"), "start": moment_text(starts, zone), "end": moment_text(ends, zone)}
    if code.access_link:
        return _("active: %(pin)s, %(start)s → %(end)s, link: %(link)s") % {**values, "link": code.access_link}
    return _("active: %(pin)s, %(start)s → %(end)s") % values


def _notes(code: AccessCode) -> str:
    # The usage note and the warning are stored in English: translated here when they are known sentences.
    fallback = FALLBACK_NOTES.get(code.fallback)
    notes = [str(fallback) if fallback else "", _(code.usage_note) if code.usage_note else "", _(code.warning) if code.warning else ""]
    return "".join(f" — {note}" for note in notes if note)


def _read_back(code: AccessCode) -> str:
    """Whether the lock was seen holding the code (services.reconcile), or why that cannot be known."""
    if capabilities_of(code.lock).lists_codes:
        return "" if code.confirmed_on_lock_at else " — " + _("sent, not yet confirmed on the lock")
    note = registry.provider_class(code.lock.account.provider).not_read_back_note
    return f" — {_(str(note))}" if note else ""


def _reason(code: AccessCode) -> str:
    reason = REASONS.get(code.last_error_kind)
    return str(reason) if reason else code.last_error or _("vendor error")


def _due(code: AccessCode, now: datetime) -> datetime:
    due = code.next_attempt_at
    if _vendor_wait(code, now):
        due = max(due, code.vendor_wait_until)  # nothing is sent before the vendor's wait is over
    return due


def _retry(code: AccessCode, now: datetime, zone: ZoneInfo) -> str:
    due = _due(code, now)
    if due <= now:
        return _("%(reason)s, next try now") % {"reason": _reason(code)}
    return _("%(reason)s, next try %(when)s") % {"reason": _reason(code), "when": at_text(due, now, zone)}


def _retrying_suffix(code: AccessCode, now: datetime, zone: ZoneInfo) -> str:
    if not _is_retrying(code):
        return ""
    return " " + _("(retrying: %(retry)s)") % {"retry": _retry(code, now, zone)}


def ended_access_note(code: AccessCode | None, tz_name: str) -> str:
    """What ending a booking's access did to its code (`booking_end_access` returns the code)."""
    if code is None or code.state == CodeState.EXPIRED:
        return _("There was no working code to revoke.")
    if code.state == CodeState.SUPERSEDED:
        values = {"brand": code.lock.account.provider_name, "until": local_time(code.lock_ends_at or code.ends_at, tz_name)}
        if capabilities_of(code.lock).remote_revoke:
            return _("%(brand)s refused to revoke the code: it keeps working until %(until)s.") % values
        return _("%(brand)s cannot revoke codes remotely: the code keeps working until %(until)s.") % values
    if code.state == CodeState.REVOKING:
        return _("The code is being revoked from the lock.")
    return _("The code was revoked.")
