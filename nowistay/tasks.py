from celery import shared_task

from bookings.models import Property
from nowistay import retention


@shared_task(acks_late=True)
def ping() -> dict:
    """A round trip through the broker and the database, for health checks and tests."""
    return {"pong": True, "properties": Property.objects.count()}


@shared_task(acks_late=True)
def prune_old_data() -> str:
    return retention.prune_old_data()
