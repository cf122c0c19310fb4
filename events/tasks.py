"""Thin Celery tasks: ids in, one service call. A delivery's retries live in its row
(`next_attempt_at`), swept every minute, not in Celery's retry machinery."""

from celery import shared_task

from events import delivery, services
from events.queue import DELIVER_WEBHOOK
from nowistay import dispatch


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> str:
    return delivery.deliver(delivery_id=delivery_id)


@shared_task(acks_late=True)
def deliver_due_webhooks() -> int:
    """Beat, every minute: deliveries whose retry came due."""
    return delivery.deliver_due()


@shared_task(acks_late=True)
def prune_events() -> int:
    """Beat, daily: events past EVENTS_RETENTION_DAYS, with their deliveries."""
    return services.events_prune()


def _deliver_webhook(delivery_id: int) -> None:
    deliver_webhook.delay(delivery_id)


dispatch.register(DELIVER_WEBHOOK, _deliver_webhook)
