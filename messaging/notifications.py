"""Emails to hosts about their guest messages. Plain text, times in the property's time zone.

The door code itself is never written in a host email (as in locks.notifications): the host reads
it on "Bookings and codes" or on the booking's message log.
"""

from django.urls import reverse

from locks.notifications import _send, local_time


def _stay(booking) -> str:
    return f"{booking.guest_name}'s stay at {booking.property.name} ({booking.arrival_date:%-d %b} → {booking.departure_date:%-d %b})"


def _log_path(booking) -> str:
    return reverse("messaging:booking_log", args=[booking.pk])


def message_missed_code(delivery, *, deadline) -> bool:
    booking = delivery.booking
    return _send(
        booking.property.host,
        f"“{delivery.template_name}” not sent to {booking.guest_name}: no door code yet",
        f"The message “{delivery.template_name}” for {_stay(booking)} carries the door code, and the "
        f"code was still not active on the lock at {local_time(deadline, booking.property.time_zone)} "
        "(property time). It has not been sent, and will not be sent without a code.\n\n"
        "Please give the guest their way in yourself. The booking's message log "
        f"({_log_path(booking)}) shows every message of this stay.",
    )


def message_failed(delivery) -> bool:
    booking = delivery.booking
    return _send(
        booking.property.host,
        f"“{delivery.template_name}” could not be sent to {booking.guest_name}",
        f"We could not send the message “{delivery.template_name}” for {_stay(booking)}.\n\n"
        f"Reason: {delivery.note}\n\n"
        f"Please contact the guest another way. The booking's message log ({_log_path(booking)}) "
        "shows every message of this stay.",
    )


def code_changed(notice, *, change_messages: int) -> bool:
    booking = notice.booking
    if change_messages:
        what_now = "Your door code change message is being sent to the guest automatically."
    else:
        what_now = (
            "Please send the guest their new code (you can see it on “Bookings and codes”), or create a "
            "message marked “door code change message” so Nowistay sends it automatically next time."
        )
    return _send(
        booking.property.host,
        f"Door code changed for {booking.guest_name}",
        f"The door code of {_stay(booking)} changed after the guest had received it in a message: "
        "the code they have may no longer open the door.\n\n"
        f"{what_now}\n\nThe booking's message log: {_log_path(booking)}",
    )
