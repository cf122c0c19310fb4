"""Thin Celery tasks: ids in, one service call. Sending is idempotent by the ledger's claims, so
tasks are `acks_late`; retries of a failing email backend live in each row, not here."""

from celery import shared_task

from messaging import services
from messaging.ledger import SEND_BOOKING_MESSAGES
from nowistay import dispatch


@shared_task(acks_late=True)
def send_due_messages() -> str:
    """Beat, every 5 minutes: plan due messages, then fan the claimed rows out in batches."""

    def send_in_batches(ids: list[int], token: str) -> None:
        size = 20
        for start in range(0, len(ids), size):
            send_messages.delay(ids[start : start + size], token)

    return services.run_pass(dispatch=send_in_batches).summary()


@shared_task(acks_late=True)
def send_messages(delivery_ids: list[int], claim_token: str) -> list[str]:
    """A batch claimed by the pass; rows whose claim this worker lost are skipped."""
    return services.process_deliveries(delivery_ids=delivery_ids, claim_token=claim_token)


@shared_task(acks_late=True)
def send_booking_messages(booking_id: int) -> list[str]:
    """Event-driven (booking confirmed, door code ready): this booking's messages, now."""
    return services.booking_messages_send(booking_id=booking_id)


def _send_booking_messages(booking_id: int) -> None:
    """How the services' `enqueue_booking` reaches a worker (looked up at each call, so it can be replaced)."""
    send_booking_messages.delay(booking_id)


dispatch.register(SEND_BOOKING_MESSAGES, _send_booking_messages)
