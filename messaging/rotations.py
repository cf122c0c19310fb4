"""The guest's part of a code rotation (`locks.services.rotation`): told their new code by message.

The message itself goes through the door code change flow every code change takes
(`delivery.booking_code_change_check`: once the new code is active, if the guest's last message
carried another PIN): the host's door code change messages, or, for a rotation when the host has
none that applies, Nowistay's default one (`default_messages`). Exactly once per new code, like
every ledger row, and never without the code.

Here: whether a code gets the default message, what the preview tells the host before a rotation,
and the guest's step afterwards, read from the ledger rows (never copied).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from bookings.models import Booking
from locks.models import AccessCode, CodeRotation
from locks.rotation_status import RotationStep
from messaging import schedule
from messaging.ledger import templates_for
from messaging.models import DeliveryStatus, MessageDelivery

# Machine-readable states of the guest's step (the API documents them).
GUEST_STATES = ("sent", "sending", "waiting", "failed", "not_sent", "not_needed")

_MOMENT = "H:i j M"  # e.g. "14:30 11 Jun" (Django date format: month names in the active language)


def sends_default_message(code: AccessCode) -> bool:
    """Whether the guest is told of this new code with Nowistay's default message when the host
    has no door code change message of their own: the code is a rotation's new code."""
    return CodeRotation.objects.filter(new_code_id=code.pk).exists()


def guest_had_a_code(booking: Booking, *, before: datetime | None = None) -> bool:
    """Whether a message carrying a door code was sent to the guest (before `before`, if given):
    only then does a new code call for a door code change message."""
    sent = MessageDelivery.objects.filter(booking_id=booking.pk, status=DeliveryStatus.SENT, code__isnull=False)
    if before is not None:
        sent = sent.filter(sent_at__lte=before)
    return sent.exists()


def guest_outlook(booking: Booking) -> str:
    """What rotating the booking's code now will send the guest, for the preview."""
    if not guest_had_a_code(booking):
        return _(
            "the guest has not been sent a door code by message, so no change message is sent; "
            "messages still to come carry the new code (if you gave them the code yourself, give them the new one)"
        )
    if not booking.guest_email.strip():
        return _("the guest has no email address: give them the new code yourself")
    names = [template.name for template in templates_for(booking).filter(is_code_change=True)]
    if names:
        which = ", ".join(f"“{name}”" for name in names)
        return _("the guest is sent the new code with your door code change message %(names)s as soon as it is on the lock") % {
            "names": which
        }
    return _(
        "the guest is sent the new code with Nowistay's default door code change message as soon as it is on the lock "
        "(you have no door code change message of your own for this property)"
    )


def rotation_messages(rotation: CodeRotation) -> list[MessageDelivery]:
    """The ledger rows telling the guest this rotation's new code (one per door code change message;
    a code created again on its lock has a key of its own)."""
    key = f"{schedule.CODE_CHANGE}:{rotation.new_code_id}"
    rows = MessageDelivery.objects.filter(booking_id=rotation.booking_id).filter(Q(trigger_key=key) | Q(trigger_key__startswith=f"{key}:"))
    return list(rows.order_by("created_at", "pk"))


def guest_step(rotation: CodeRotation, *, new_pin: RotationStep) -> RotationStep:
    """The guest's step: sent, being sent, waiting for the new code, failed, or not needed."""
    rows = rotation_messages(rotation)
    zone = rotation.booking.property.time_zone
    if rows:
        return _from_rows(rows, zone)
    if new_pin.state in ("failed", "dropped"):
        return RotationStep("not_sent", _("not sent: the new code was not made"))
    if new_pin.state != "done":
        return RotationStep("waiting", _("waiting for the new code to be on the lock"))
    if not guest_had_a_code(rotation.booking, before=rotation.created_at):
        return RotationStep(
            "not_needed",
            _("no change message: the guest had not been sent a door code by message; messages still to come carry the new one"),
        )
    return RotationStep("sending", _("being prepared: it goes out in a moment"))


def _from_rows(rows: list[MessageDelivery], zone: str) -> RotationStep:
    statuses = {row.status for row in rows}
    if statuses == {DeliveryStatus.SENT}:
        last = max(rows, key=lambda row: row.sent_at)
        moment = _moment(last.sent_at, zone)
        if last.recipient:
            return RotationStep("sent", _("sent at %(moment)s to %(recipient)s") % {"moment": moment, "recipient": last.recipient})
        return RotationStep("sent", _("sent at %(moment)s") % {"moment": moment})
    if DeliveryStatus.WAITING_FOR_CODE in statuses:
        return RotationStep("waiting", _("waiting for the new code to be active on the lock"))
    if DeliveryStatus.DUE in statuses:
        return RotationStep("sending", _("being sent"))
    trouble = [row for row in rows if row.status in (DeliveryStatus.FAILED, DeliveryStatus.MISSED_CODE)]
    if trouble:
        return RotationStep("failed", _("failed: %(reason)s") % {"reason": _why(trouble[-1])})
    if DeliveryStatus.SENT in statuses:  # sent, and another message closed without sending
        return _from_rows([row for row in rows if row.status == DeliveryStatus.SENT], zone)
    skipped = rows[-1]
    return RotationStep("not_sent", _("not sent: %(reason)s") % {"reason": _why(skipped)})


def _why(row: MessageDelivery) -> str:
    """The row's note (Nowistay's sentences translated, a mail server's as it came), else its status."""
    return _(row.note) if row.note else str(row.get_status_display())


def _moment(moment: datetime, zone: str) -> str:
    return date_format(moment.astimezone(ZoneInfo(zone)), _MOMENT)
