"""Signal receivers, connected in MessagingConfig.ready(). Quick: at most a few queries, and the
sending itself is handed to a task after commit."""

import logging

from django.db import transaction

from bookings.models import Booking, BookingStatus
from locks.signals import ReadyCode
from messaging import fallbacks, ledger, planning

logger = logging.getLogger(__name__)

# The status a Booking instance had when it was loaded (or last saved), to see it become confirmed.
_LOADED_STATUS = "_messaging_loaded_status"


def booking_loaded(sender, instance: Booking, **kwargs) -> None:
    # __dict__, not the attribute: a deferred `status` must not cost a query per instance.
    setattr(instance, _LOADED_STATUS, instance.__dict__.get("status"))


def booking_saved(sender, instance: Booking, created: bool, raw: bool = False, **kwargs) -> None:
    """A booking that becomes confirmed (created confirmed, or pending → confirmed) gets its
    "on confirmation" messages; an unchanged confirmed booking being edited does not."""
    before = None if created else getattr(instance, _LOADED_STATUS, None)
    setattr(instance, _LOADED_STATUS, instance.status)
    if raw or instance.status != BookingStatus.CONFIRMED or before == BookingStatus.CONFIRMED:
        return
    try:
        with transaction.atomic():  # a savepoint: a messaging failure must not undo the booking's save
            planning.booking_confirmed(booking=instance)
    except Exception:
        logger.exception("planning the confirmation messages of booking %s failed", instance.pk)


def codes_ready(sender, codes: list[ReadyCode], **kwargs) -> None:
    """Codes are on their locks: send their bookings' waiting messages now, and tell each guest
    whose code differs from the one they were sent. One query for the whole batch; a code whose
    `fallback` is "" (the sender knows it is the booking's own code) needs no fallback message."""
    for code in codes:
        if code.fallback != "":
            fallbacks.plan_fallback_message(code_id=code.code_id, booking_id=code.booking_id)
    for booking_id in ledger.bookings_with_messaging({code.booking_id for code in codes}):
        ledger.enqueue_booking(booking_id)
