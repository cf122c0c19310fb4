"""Emails to hosts about their codes and accounts, in the property's time zone.

Each is sent as text and HTML from templates/emails/<name>.txt and .html (nowistay.emails). The
door code itself is never written in a host email: the host reads it on "Bookings and codes".
"""

import logging
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from nowistay.emails import send_text_and_html
from nowistay.validators import without_control_characters

logger = logging.getLogger(__name__)


def local_time(moment: datetime, tz_name: str) -> str:
    """A moment as a host reads it: property time, e.g. "11:30 on 15 March 2026"."""
    return moment.astimezone(ZoneInfo(tz_name)).strftime("%H:%M on %-d %B %Y")


def utc_time(moment: datetime) -> str:
    """A moment not tied to a property, e.g. "16:00 UTC on 31 December 2026"."""
    return moment.astimezone(ZoneInfo("UTC")).strftime("%H:%M UTC on %-d %B %Y")


def send_to_host(host, subject: str, template_name: str, context: Mapping) -> bool:
    """Email `host` the email `template_name` with `context`; False when they have no address."""
    if not host.email:
        logger.warning("host %s has no email address; not sent: %s", host.pk, subject)
        return False
    # A guest name stored before control characters were refused must not break (or inject) a header.
    send_text_and_html(subject=without_control_characters(subject), template_name=template_name, context=context, to=[host.email])
    return True


def stay_line(booking) -> str:
    """The stay an email is about, e.g. "Grace's stay at Seaside Flat (11 Jun → 13 Jun)"."""
    return f"{booking.guest_name}'s stay at {booking.property.name} ({booking.arrival_date:%-d %b} → {booking.departure_date:%-d %b})"


def code_still_failing(code) -> bool:
    tz_name = code.booking.property.time_zone
    return send_to_host(
        code.booking.property.host,
        f"Door code not created yet for {code.booking.guest_name}",
        "code_still_failing",
        {"stay": stay_line(code.booking), "reason": code.last_error, "until": local_time(code.retry_deadline, tz_name)},
    )


def code_failed(code) -> bool:
    return send_to_host(
        code.booking.property.host,
        f"Door code could not be created for {code.booking.guest_name}",
        "code_failed",
        {"stay": stay_line(code.booking), "reason": code.last_error},
    )


def account_needs_reconnect(account) -> bool:
    name = account.provider_name
    return send_to_host(
        account.host,
        f"Reconnect your {name} account",
        "account_needs_reconnect",
        {"brand": name, "account_name": str(account.display_name), "reason": account.last_error},
    )


def code_cannot_be_revoked(code, *, refusal: str = "") -> bool:
    brand = code.lock.account.provider_name
    until = local_time(code.lock_ends_at or code.ends_at, code.booking.property.time_zone)
    why = f"{brand} refused to remove it: {refusal}" if refusal else f"{brand} codes cannot be revoked remotely"
    return send_to_host(
        code.booking.property.host,
        f"A {brand} code keeps working until {until}",
        "code_cannot_be_revoked",
        {"stay": stay_line(code.booking), "why": why.rstrip("."), "until": until},
    )


def api_budget_near(account, *, brand: str, paragraphs: list[str]) -> bool:
    """Once a month per account (locks.services.api_budget): near the vendor's call limit."""
    return send_to_host(
        account.host,
        f"Your {brand} account is close to its API limit",
        "api_budget_near",
        {"brand": brand, "account_name": str(account.display_name), "paragraphs": paragraphs},
    )


# --- read back from the locks (issue 19) --------------------------------------------------------
def guest_first_entry(code) -> bool:
    booking = code.booking
    return send_to_host(
        booking.property.host,
        f"{booking.guest_name} has arrived at {booking.property.name}",
        "guest_first_entry",
        {"stay": stay_line(booking), "at": local_time(code.first_used_at, booking.property.time_zone)},
    )


def code_unused(code) -> bool:
    booking = code.booking
    return send_to_host(
        booking.property.host,
        f"{booking.guest_name}'s door code was not used on check-in day",
        "code_unused",
        {"stay": stay_line(booking), "brand": code.lock.account.provider_name},
    )


def lock_repaired(lock, *, details: list[str]) -> bool:
    return send_to_host(
        lock.account.host,
        f"Nowistay checked your lock {lock.name} and repaired what had changed",
        "lock_repaired",
        {"lock": lock.name, "details": details},
    )


def lock_needs_attention(lock, *, problems: list[str], properties: list[str], stays: list[str]) -> bool:
    return send_to_host(
        lock.account.host,
        f"Your lock {lock.name} needs attention",
        "lock_needs_attention",
        {"lock": lock.name, "problems": problems, "properties": properties, "stays": stays, "brand": lock.account.provider_name},
    )


# --- the escalation ladder (locks.services.ladder) ---------------------------------------------------
def _ladder_email(code, subject: str, paragraphs: list[str]) -> bool:
    return send_to_host(code.booking.property.host, subject, "ladder_step", {"stay": stay_line(code.booking), "paragraphs": paragraphs})


def ladder_warning(code, check_in: datetime) -> bool:
    tz_name = code.booking.property.time_zone
    return _ladder_email(
        code,
        f"Door code not on the lock yet for {code.booking.guest_name}",
        [
            f"The door code is not on the lock yet; check-in is at {local_time(check_in, tz_name)} (property time).",
            f"Reason: {code.last_error or 'it has not been created yet'}",
            "Nowistay keeps trying. Please check that the lock and its gateway or bridge are online.",
        ],
    )


def fallback_given(code, detail: str) -> bool:
    return _ladder_email(code, f"Fallback door code given to {code.booking.guest_name}", [detail, _guest_contact(code.booking)])


def no_fallback(code, detail: str) -> bool:
    return _ladder_email(
        code,
        f"Urgent: no door code for {code.booking.guest_name}",
        [detail, "Please let the guest in another way, or check the lock now.", _guest_contact(code.booking)],
    )


def check_in_reminder(code, *, steps) -> bool:
    sent = [step.detail for step in steps if step.kind in ("fallback_sent", "no_fallback")]
    return _ladder_email(
        code,
        f"Check-in now: {code.booking.guest_name}'s door code",
        [
            "Check-in time has come and the guest's own door code is not on the lock.",
            *(sent or ["No fallback code was given to the guest."]),
            _guest_contact(code.booking),
        ],
    )


def _guest_contact(booking) -> str:
    return f"Guest's phone: {booking.guest_phone or 'not known'}."
