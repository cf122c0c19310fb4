from celery import shared_task

from bookings.models import Property


@shared_task(acks_late=True)
def ping() -> dict:
    """A round trip through the broker and the database, for health checks and tests."""
    return {"pong": True, "properties": Property.objects.count()}
