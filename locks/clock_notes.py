"""A booking's clock notes, for the host's pages and the API (docs/product.md, "Clock changes and
lock clocks"): whether its stay crosses a clock change and what Nowistay did about it, and whether
the lock of its code keeps another zone's time.

No vendor call and no query beyond what the caller loaded (the booking with its property, the
code with "lock__account"); the words come from locks.clocks.
"""

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bookings.models import Booking
from locks import windows
from locks.clocks import LockClock, clock_change_message, clock_changes, clock_mismatch, offset_label
from locks.models import AccessCode, CodeState, Lock
from locks.providers import registry

# A code in these states no longer opens the door: its window says nothing about the stay.
_OVER = frozenset({CodeState.REVOKED, CodeState.EXPIRED, CodeState.FAILED})


@dataclass(frozen=True)
class ClockChangeNote:
    """The first clock change a stay crosses (the message names every one)."""

    at: datetime  # UTC, the first instant at the new offset
    from_offset: str  # "+01:00"
    to_offset: str  # "+02:00"
    message: str


@dataclass(frozen=True)
class ClockNotes:
    change: ClockChangeNote | None
    lock_warning: str  # "" when the code's lock keeps its property's time (or says nothing of its clock)


def booking_clock_notes(booking: Booking, code: AccessCode | None) -> ClockNotes:
    """The notes of `booking`, whose code on show is `code` (locks.code_status.code_to_show)."""
    live = code if code is not None and code.state not in _OVER else None
    return ClockNotes(stay_clock_change(booking, live), code_clock_warning(live, booking.property.time_zone))


def stay_clock_change(booking: Booking, code: AccessCode | None) -> ClockChangeNote | None:
    """The stay's clock change over the code's window on the lock (a live `code`), else over its
    check-in to check-out; None when it crosses none."""
    zone = booking.property.time_zone
    if code is not None:
        opens, closes = code.lock_starts_at or code.starts_at, code.lock_ends_at or code.ends_at
        lock_clock, brand = lock_clock_of(code.lock), code.lock.account.provider_name
    else:
        stay = _stay_window(booking)
        if stay is None:
            return None
        (opens, closes), lock_clock, brand = stay, None, ""
    changes = clock_changes(opens, closes, zone)
    if not changes:
        return None
    message = clock_change_message(changes, tz_name=zone, opens_at=opens, closes_at=closes, lock_clock=lock_clock, brand=brand)
    first = changes[0]
    return ClockChangeNote(first.at, offset_label(first.before), offset_label(first.after), message)


def code_clock_warning(code: AccessCode | None, time_zone: str) -> str:
    """Why `code` may open at the wrong hour on its lock: the lock's zone over the code's window,
    or its UTC offset at the code's start, is not the property's; "" when they agree."""
    if code is None or code.state in _OVER:
        return ""
    lock = code.lock
    return clock_mismatch(
        lock_zone=lock.vendor_time_zone,
        lock_offset_minutes=lock.vendor_utc_offset_minutes,
        property_tz=time_zone,
        starts_at=code.lock_starts_at or code.starts_at,
        ends_at=code.lock_ends_at or code.ends_at,
        brand=lock.account.provider_name,
    )


def lock_clock_warning(lock: Lock, time_zone: str, *, on: date) -> str:
    """For a lock assigned to a property in `time_zone` (its panel row): its reported offset
    against the property's at noon on `on`, or its reported zone over the year from then."""
    return clock_mismatch(
        lock_zone=lock.vendor_time_zone,
        lock_offset_minutes=lock.vendor_utc_offset_minutes,
        property_tz=time_zone,
        starts_at=datetime.combine(on, time(12), tzinfo=ZoneInfo(time_zone)),
        brand=lock.account.provider_name,
    )


def lock_clock_of(lock: Lock) -> LockClock:
    capabilities = registry.provider_class(lock.account.provider).capabilities
    return LockClock.FIXED_OFFSET if capabilities.fixed_offset_clock else LockClock.EXACT


def _stay_window(booking: Booking) -> tuple[datetime, datetime] | None:
    prop = booking.property
    try:
        stay = windows.validity_window(
            arrival=booking.arrival_date,
            departure=booking.departure_date,
            tz_name=prop.time_zone,
            margin_minutes=0,
            booking_check_in=booking.check_in_time,
            booking_check_out=booking.check_out_time,
            default_check_in=prop.default_check_in_time,
            default_check_out=prop.default_check_out_time,
        )
    except ValueError:  # an empty stay (a same-day booking checking out before it checks in)
        return None
    return stay.starts_at, stay.ends_at
