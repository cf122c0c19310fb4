"""Emails to hosts about their guest messages, times in the property's time zone.

Sent as text and HTML from templates/emails/ (see locks.notifications.send_to_host), in the host's
language (`nowistay.languages.speaking_to`). The door code itself is never written in a host email
(as in locks.notifications): the host reads it on "Bookings and codes" or on the booking's message log.
"""

from django.urls import reverse
from django.utils.translation import gettext as _

from locks.notifications import local_time, send_to_host, stay_line
from nowistay import languages


def _log_path(booking) -> str:
    return reverse("messaging:booking_log", args=[booking.pk])


def message_missed_code(delivery, *, deadline) -> bool:
    booking = delivery.booking
    host = booking.property.host
    with languages.speaking_to(host):
        return send_to_host(
            host,
            _("“%(message)s” not sent to %(guest)s: no door code yet") % {"message": delivery.template_name, "guest": booking.guest_name},
            "message_missed_code",
            {
                "message_name": delivery.template_name, "stay": stay_line(booking),
                "deadline": local_time(deadline, booking.property.time_zone), "log_path": _log_path(booking),
            },
        )


def message_failed(delivery) -> bool:
    booking = delivery.booking
    host = booking.property.host
    with languages.speaking_to(host):
        return send_to_host(
            host,
            _("“%(message)s” could not be sent to %(guest)s") % {"message": delivery.template_name, "guest": booking.guest_name},
            "message_failed",
            # The note is a sentence of Nowistay's (translated if it is a known one) or a mail server's.
            {"message_name": delivery.template_name, "stay": stay_line(booking), "reason": _(delivery.note) if delivery.note else "",
             "log_path": _log_path(booking)},
        )


def code_changed(notice, *, change_messages: int, default_message: bool = False) -> bool:
    """`default_message`: the guest is sent Nowistay's default door code change message (a
    rotation, the host having none of their own)."""
    booking = notice.booking
    host = booking.property.host
    link_only = notice.only_the_link_changed
    with languages.speaking_to(host):
        context = {
            "stay": stay_line(booking), "link_only": link_only, "change_messages": bool(change_messages),
            "default_message": default_message, "log_path": _log_path(booking),
        }
        if link_only:
            subject = _("Door link changed for %(guest)s") % {"guest": booking.guest_name}
        else:
            subject = _("Door code changed for %(guest)s") % {"guest": booking.guest_name}
        return send_to_host(host, subject, "code_changed", context)
