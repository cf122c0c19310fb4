"""Whether a ledger row's channel reaches the guest, and what to do when it does not: the door code
rule across channels. A row whose channel cannot reach the guest (no address there, or the channel
not set up on this server) is skipped while another channel of the same message reaches them; a
message carrying the code that no channel can deliver fails and the host is told, once for the
message (a booking's rows are processed by one worker, in order, so the first row to fail tells)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from messaging.channels import CHANNELS
from messaging.models import Channel, DeliveryStatus, MessageDelivery

CLOSED_WITHOUT_SENDING = (DeliveryStatus.FAILED, DeliveryStatus.SKIPPED, DeliveryStatus.MISSED_CODE)


@dataclass(frozen=True)
class Outcome:
    note: str
    fail: bool = False  # False: skipped
    notify: bool = False  # tell the host (with `fail`)


def unreachable_outcome(delivery: MessageDelivery, booking, *, carries_code: bool) -> Outcome:
    note = why_unreachable(delivery.channel, booking)
    siblings = list(
        MessageDelivery.objects.filter(
            booking_id=booking.pk, template_id=delivery.template_id, builtin=delivery.builtin, trigger_key=delivery.trigger_key
        ).exclude(pk=delivery.pk)
    )
    others = [row for row in siblings if row.status not in CLOSED_WITHOUT_SENDING and CHANNELS[row.channel].reaches(booking)]
    if others:
        labels = ", ".join(str(CHANNELS[row.channel].label) for row in others)
        return Outcome(note=str(_("%(note)s The guest gets it by %(channels)s.") % {"note": note, "channels": labels}))
    if carries_code:  # the guest would be left without their door code: tell the host
        if siblings:
            note = str(_("%(note)s No other channel of this message reaches them either.") % {"note": note})
        return Outcome(note=note, fail=True, notify=not any(row.host_notified_at for row in siblings))
    return Outcome(note=note)


def why_unreachable(channel: str, booking) -> str:
    sender = CHANNELS[channel]
    if not sender.address(booking):
        if channel == Channel.EMAIL:
            return str(_("The guest has no email address."))
        return str(_("The guest has no mobile phone number in international format."))
    return str(_("%(channel)s is not set up on this server.") % {"channel": sender.label})
