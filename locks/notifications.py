"""Emails to hosts about their codes and accounts, in the property's time zone.

Each is sent as text and HTML from templates/emails/<name>.txt and .html (nowistay.emails). The
door code itself is never written in a host email: the host reads it on "Bookings and codes".
Each email is written in its host's language (`nowistay.languages.speaking_to`): its subject, its
text and its dates are made while that language is active.
"""

import logging
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import translation
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from nowistay import languages
from nowistay.emails import send_text_and_html
from nowistay.validators import without_control_characters

logger = logging.getLogger(__name__)


def local_time(moment: datetime, tz_name: str) -> str:
    """A moment as a host reads it: property time, e.g. "11:30 on 15 March 2026" (the active
    language's words and month names)."""
    local = moment.astimezone(ZoneInfo(tz_name))
    return _("%(time)s on %(day)s") % {"time": date_format(local, "H:i"), "day": date_format(local, "j F Y")}


def utc_time(moment: datetime) -> str:
    """A moment not tied to a property, e.g. "16:00 UTC on 31 December 2026"."""
    utc = moment.astimezone(ZoneInfo("UTC"))
    return _("%(time)s UTC on %(day)s") % {"time": date_format(utc, "H:i"), "day": date_format(utc, "j F Y")}


def send_to_host(host, subject: str, template_name: str, context: Mapping) -> bool:
    """Email `host` the email `template_name` with `context`; False when they have no address.
    Call it inside `languages.speaking_to(host)`, with the subject and context made there: the
    email says which language it is written in (Content-Language, and the HTML part's lang)."""
    if not host.email:
        logger.warning("host %s has no email address; not sent: %s", host.pk, subject)
        return False
    # A guest name stored before control characters were refused must not break (or inject) a header.
    send_text_and_html(
        subject=without_control_characters(subject), template_name=template_name, context=context, to=[host.email],
        headers={"Content-Language": translation.get_language() or "en"},
    )
    return True


def stay_line(booking) -> str:
    """The stay an email is about, e.g. "Grace's stay at Seaside Flat (11 Jun → 13 Jun)"."""
    return _("%(guest)s's stay at %(property)s (%(arrival)s → %(departure)s)") % {
        "guest": booking.guest_name, "property": booking.property.name,
        "arrival": date_format(booking.arrival_date, "j M"), "departure": date_format(booking.departure_date, "j M"),
    }


def code_still_failing(code) -> bool:
    host = code.booking.property.host
    with languages.speaking_to(host):
        until = local_time(code.retry_deadline, code.booking.property.time_zone)
        return send_to_host(
            host,
            _("Door code not created yet for %(guest)s") % {"guest": code.booking.guest_name},
            "code_still_failing",
            {"stay": stay_line(code.booking), "reason": code.last_error, "until": until},
        )


def code_failed(code) -> bool:
    host = code.booking.property.host
    with languages.speaking_to(host):
        return send_to_host(
            host,
            _("Door code could not be created for %(guest)s") % {"guest": code.booking.guest_name},
            "code_failed",
            {"stay": stay_line(code.booking), "reason": code.last_error},
        )


def account_needs_reconnect(account) -> bool:
    name = account.provider_name
    with languages.speaking_to(account.host):
        return send_to_host(
            account.host,
            _("Reconnect your %(brand)s account") % {"brand": name},
            "account_needs_reconnect",
            {"brand": name, "account_name": str(account.display_name), "reason": account.last_error},
        )


def code_cannot_be_revoked(code, *, refusal: str = "") -> bool:
    host = code.booking.property.host
    brand = code.lock.account.provider_name
    with languages.speaking_to(host):
        until = local_time(code.lock_ends_at or code.ends_at, code.booking.property.time_zone)
        return send_to_host(
            host,
            _("A %(brand)s code keeps working until %(until)s") % {"brand": brand, "until": until},
            "code_cannot_be_revoked",
            {"stay": stay_line(code.booking), "brand": brand, "refused": bool(refusal), "refusal": refusal.rstrip("."), "until": until},
        )


def api_budget_near(account, *, brand: str, paragraphs: list[str]) -> bool:
    """Once a month per account (locks.services.api_budget): near the vendor's call limit."""
    with languages.speaking_to(account.host):
        return send_to_host(
            account.host,
            _("Your %(brand)s account is close to its API limit") % {"brand": brand},
            "api_budget_near",
            {"brand": brand, "account_name": str(account.display_name), "paragraphs": paragraphs},
        )


# --- read back from the locks (issue 19) --------------------------------------------------------
def guest_first_entry(code) -> bool:
    booking = code.booking
    host = booking.property.host
    with languages.speaking_to(host):
        return send_to_host(
            host,
            _("%(guest)s has arrived at %(property)s") % {"guest": booking.guest_name, "property": booking.property.name},
            "guest_first_entry",
            {"stay": stay_line(booking), "at": local_time(code.first_used_at, booking.property.time_zone)},
        )


def code_unused(code) -> bool:
    booking = code.booking
    host = booking.property.host
    with languages.speaking_to(host):
        return send_to_host(
            host,
            _("%(guest)s's door code was not used on check-in day") % {"guest": booking.guest_name},
            "code_unused",
            {"stay": stay_line(booking), "brand": code.lock.account.provider_name},
        )


def lock_repaired(lock, *, details: list[str]) -> bool:
    with languages.speaking_to(lock.account.host):
        return send_to_host(
            lock.account.host,
            _("Nowistay checked your lock %(lock)s and repaired what had changed") % {"lock": lock.name},
            "lock_repaired",
            {"lock": lock.name, "details": details},
        )


def lock_needs_attention(lock, *, problems: list[str], properties: list[str], stays: list[str]) -> bool:
    with languages.speaking_to(lock.account.host):
        return send_to_host(
            lock.account.host,
            _("Your lock %(lock)s needs attention") % {"lock": lock.name},
            "lock_needs_attention",
            {"lock": lock.name, "problems": problems, "properties": properties, "stays": stays, "brand": lock.account.provider_name},
        )


# --- the escalation ladder (locks.services.ladder) ---------------------------------------------------
def _ladder_email(code, subject, paragraphs) -> bool:
    """`subject` and `paragraphs` are functions, called in the host's language."""
    host = code.booking.property.host
    with languages.speaking_to(host):
        return send_to_host(host, subject(), "ladder_step", {"stay": stay_line(code.booking), "paragraphs": paragraphs()})


def ladder_warning(code, check_in: datetime) -> bool:
    tz_name = code.booking.property.time_zone
    return _ladder_email(
        code,
        lambda: _("Door code not on the lock yet for %(guest)s") % {"guest": code.booking.guest_name},
        lambda: [
            _("The door code is not on the lock yet; check-in is at %(check_in)s (property time).")
            % {"check_in": local_time(check_in, tz_name)},
            _("Reason: %(reason)s") % {"reason": code.last_error} if code.last_error else _("Reason: it has not been created yet"),
            _("Nowistay keeps trying. Please check that the lock and its gateway or bridge are online."),
        ],
    )


def fallback_given(code, detail: str) -> bool:
    return _ladder_email(
        code,
        lambda: _("Fallback door code given to %(guest)s") % {"guest": code.booking.guest_name},
        lambda: [detail, _guest_contact(code.booking)],
    )


def no_fallback(code, detail: str) -> bool:
    return _ladder_email(
        code,
        lambda: _("Urgent: no door code for %(guest)s") % {"guest": code.booking.guest_name},
        lambda: [detail, _("Please let the guest in another way, or check the lock now."), _guest_contact(code.booking)],
    )


def check_in_reminder(code, *, steps) -> bool:
    sent = [step.detail for step in steps if step.kind in ("fallback_sent", "no_fallback")]
    return _ladder_email(
        code,
        lambda: _("Check-in now: %(guest)s's door code") % {"guest": code.booking.guest_name},
        lambda: [
            _("Check-in time has come and the guest's own door code is not on the lock."),
            *(sent or [_("No fallback code was given to the guest.")]),
            _guest_contact(code.booking),
        ],
    )


def _guest_contact(booking) -> str:
    if booking.guest_phone:
        return _("Guest's phone: %(phone)s.") % {"phone": booking.guest_phone}
    return _("Guest's phone: not known.")
