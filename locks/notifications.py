"""Emails to hosts about their codes and accounts. Plain text, in the property's time zone."""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail

from nowistay.validators import without_control_characters

logger = logging.getLogger(__name__)


def local_time(moment: datetime, tz_name: str) -> str:
    """A moment as a host reads it: property time, e.g. "11:30 on 15 March 2026"."""
    return moment.astimezone(ZoneInfo(tz_name)).strftime("%H:%M on %-d %B %Y")


def _send(host, subject: str, body: str) -> bool:
    if not host.email:
        logger.warning("host %s has no email address; not sent: %s", host.pk, subject)
        return False
    # A guest name stored before control characters were refused must not break (or inject) a header.
    send_mail(without_control_characters(subject), body, settings.DEFAULT_FROM_EMAIL, [host.email])
    return True


def _booking_line(code) -> str:
    booking = code.booking
    return f"{booking.guest_name}'s stay at {booking.property.name} ({booking.arrival_date:%-d %b} → {booking.departure_date:%-d %b})"


def code_still_failing(code) -> bool:
    tz_name = code.booking.property.time_zone
    return _send(
        code.booking.property.host,
        f"Door code not created yet for {code.booking.guest_name}",
        f"We could not create the door code for {_booking_line(code)} yet.\n\n"
        f"Reason: {code.last_error}\n\n"
        f"We keep trying every hour until {local_time(code.retry_deadline, tz_name)} (property time). "
        "Please check that the lock and its gateway or bridge are online.",
    )


def code_failed(code) -> bool:
    return _send(
        code.booking.property.host,
        f"Door code could not be created for {code.booking.guest_name}",
        f"We could not create the door code for {_booking_line(code)}.\n\n"
        f"Reason: {code.last_error}\n\n"
        "We have stopped retrying. Please give the guest another way in, or fix the cause and "
        "edit the booking to try again.",
    )


def account_needs_reconnect(account) -> bool:
    name = account.get_provider_display()
    return _send(
        account.host,
        f"Reconnect your {name} account",
        f"{name} no longer accepts Nowistay's access to your account {account.display_name!s}.\n\n"
        f"Reason: {account.last_error}\n\n"
        f"No door codes can be created or changed on your {name} locks until you reconnect it "
        "from Integrations. Work that came due meanwhile resumes as soon as you do.",
    )


def code_cannot_be_revoked(code, *, refusal: str = "") -> bool:
    brand = code.lock.account.get_provider_display()
    until = local_time(code.lock_ends_at or code.ends_at, code.booking.property.time_zone)
    why = f"{brand} refused to remove it: {refusal}" if refusal else f"{brand} codes cannot be revoked remotely"
    return _send(
        code.booking.property.host,
        f"A {brand} code keeps working until {until}",
        f"The door code of {_booking_line(code)} is no longer wanted, but {why.rstrip('.')}: it keeps "
        f"opening the door until {until} (property time).\n\n"
        "If that is a problem, change the lock's codes on the lock itself.",
    )
