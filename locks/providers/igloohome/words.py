"""What the host and the guest are told about an algoPIN: its first-use deadline, a moved start, a window outliving the stay."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from locks.providers.base import (
    CodeSpec,
)
from locks.providers.igloohome.slots import DAILY_MIN_DAYS, FIRST_USE_WINDOW, AlgoPinWindow, local_words
from locks.providers.usage_notes import first_use_note


def usage_note(window: AlgoPinWindow, zone: ZoneInfo) -> str:
    if window.ends_at - window.starts_at <= FIRST_USE_WINDOW:
        return ""
    return first_use_note(window.starts_at + FIRST_USE_WINDOW, zone)


def hour_words(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def full_slots_words(full: list[AlgoPinWindow], zone: ZoneInfo) -> str:
    """What igloohome has used up, e.g. "igloohome has already issued three codes starting at 15:00
    and at 14:00 on this lock"."""
    if full[0].kind == "daily":
        day = full[0].starts_at.astimezone(zone).strftime("%-d %B %Y")
        return f"igloohome has already issued three codes for stays over 28 days starting on {day} on this lock"
    hours = [f"at {hour_words(window.starts_at, zone)}" for window in full]
    listed = hours[0] if len(hours) == 1 else ", ".join(hours[:-1]) + " and " + hours[-1]
    return f"igloohome has already issued three codes starting {listed} on this lock"


def past_words(wanted: AlgoPinWindow, window: AlgoPinWindow) -> str:
    return ", and a code cannot start in the past" if window.starts_at > wanted.starts_at else ""


def moved_start_warning(wanted: AlgoPinWindow, window: AlgoPinWindow, full: list[AlgoPinWindow], zone: ZoneInfo) -> str:
    if window.starts_at == wanted.starts_at:
        return ""
    hours = round(abs(window.starts_at - wanted.starts_at) / timedelta(hours=1))
    direction = "later" if window.starts_at > wanted.starts_at else "earlier"
    shift = f"{'an hour' if hours == 1 else f'{hours} hours'} {direction}"
    return (
        f"{full_slots_words(full, zone)}{past_words(wanted, window)}, so this code starts {shift} "
        f"than wanted, at {local_words(window.starts_at, zone)}."
    )


def outlives_stay_warning(window: AlgoPinWindow, spec: CodeSpec, zone: ZoneInfo) -> str:
    if window.kind != "daily":
        return ""
    return (
        f"igloohome codes for stays over 28 days last whole days (at least {DAILY_MIN_DAYS}), so this "
        f"code works until {local_words(window.ends_at, zone)}, after the stay ends."
    )
