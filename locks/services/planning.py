"""What a booking's code should look like: its window and its moments, from the booking,
its property and the lock assignment. Plain computation over the pure time functions."""

from dataclasses import dataclass
from datetime import datetime

from bookings.models import Booking
from locks import windows
from locks.models import LockAssignment


@dataclass(frozen=True)
class CodePlan:
    starts_at: datetime
    ends_at: datetime
    generate_at: datetime
    retry_deadline: datetime
    alert_at: datetime


def code_plan(booking: Booking, assignment: LockAssignment) -> CodePlan:
    prop = booking.property
    window = windows.validity_window(
        arrival=booking.arrival_date,
        departure=booking.departure_date,
        tz_name=prop.time_zone,
        margin_minutes=assignment.margin_minutes,
        booking_check_in=booking.check_in_time,
        booking_check_out=booking.check_out_time,
        default_check_in=prop.default_check_in_time,
        default_check_out=prop.default_check_out_time,
    )
    return CodePlan(
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        generate_at=windows.generation_moment(
            arrival=booking.arrival_date, lead_days=assignment.lead_days, tz_name=prop.time_zone
        ),
        retry_deadline=windows.retry_deadline(arrival=booking.arrival_date, tz_name=prop.time_zone),
        alert_at=windows.alert_moment(arrival=booking.arrival_date, tz_name=prop.time_zone),
    )
