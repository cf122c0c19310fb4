"""The names of the work the events app hands to workers (events/tasks.py registers them)."""

from nowistay import dispatch

DELIVER_WEBHOOK = "events.deliver_webhook"


def enqueue_deliveries(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        dispatch.enqueue_on_commit(DELIVER_WEBHOOK, delivery_id, robust=True)
