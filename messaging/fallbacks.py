"""A guest given a fallback code (an offline or backup code, locks.services.ladder) because theirs
did not reach the lock in time always hears of it: by the host's messages that carry the code
when there are any for the booking, else by Nowistay's own door code message, once per code."""

from django.db.models import Q
from django.utils import timezone

from locks.models import AccessCode
from messaging import rendering, schedule
from messaging.ledger import builtin_deliveries, insert_rows
from messaging.models import OPEN_STATUSES, BuiltinMessage, DeliveryStatus, MessageDelivery


def plan_fallback_message(*, code_id: int, booking_id: int) -> bool:
    """Plan Nowistay's door code message for a fallback code no message of the host's carries."""
    code = AccessCode.objects.filter(pk=code_id, booking_id=booking_id, is_current=True).exclude(fallback="").first()
    if code is None or hosts_messages_carry_the_code(booking_id):
        return False
    now = timezone.now()
    rows = builtin_deliveries(BuiltinMessage.FALLBACK_CODE, code.booking, schedule.fallback_key(code.pk), now, now)
    return bool(insert_rows(rows))


def hosts_messages_carry_the_code(booking_id: int) -> bool:
    """Whether a message of the host's that carries the code went, or will go, to this guest."""
    rows = MessageDelivery.objects.filter(booking_id=booking_id, template__isnull=False)
    rows = rows.filter(Q(status=DeliveryStatus.SENT) | Q(status__in=OPEN_STATUSES)).select_related("template")
    return any(rendering.uses_code(row.template.subject, row.template.body) for row in rows)
