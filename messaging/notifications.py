"""Emails to hosts about their guest messages, times in the property's time zone.

Sent as text and HTML from templates/emails/ (see locks.notifications.send_to_host). The door code
itself is never written in a host email (as in locks.notifications): the host reads it on
"Bookings and codes" or on the booking's message log.
"""

from django.urls import reverse

from locks.notifications import local_time, send_to_host, stay_line


def _log_path(booking) -> str:
    return reverse("messaging:booking_log", args=[booking.pk])


def message_missed_code(delivery, *, deadline) -> bool:
    booking = delivery.booking
    return send_to_host(
        booking.property.host,
        f"“{delivery.template_name}” not sent to {booking.guest_name}: no door code yet",
        "message_missed_code",
        {
            "message_name": delivery.template_name, "stay": stay_line(booking),
            "deadline": local_time(deadline, booking.property.time_zone), "log_path": _log_path(booking),
        },
    )


def message_failed(delivery) -> bool:
    booking = delivery.booking
    return send_to_host(
        booking.property.host,
        f"“{delivery.template_name}” could not be sent to {booking.guest_name}",
        "message_failed",
        {"message_name": delivery.template_name, "stay": stay_line(booking), "reason": delivery.note, "log_path": _log_path(booking)},
    )


def code_changed(notice, *, change_messages: int, default_message: bool = False) -> bool:
    """`default_message`: the guest is sent Nowistay's default door code change message (a
    rotation, the host having none of their own)."""
    booking = notice.booking
    link_only = notice.only_the_link_changed
    context = {
        "stay": stay_line(booking), "link_only": link_only, "change_messages": bool(change_messages),
        "default_message": default_message, "log_path": _log_path(booking),
    }
    subject = f"Door {'link' if link_only else 'code'} changed for {booking.guest_name}"
    return send_to_host(booking.property.host, subject, "code_changed", context)
