"""Writing events: one INSERT per signal, then one delivery per interested endpoint."""

from dataclasses import replace

from django.db.models import Q

from events import queue
from events.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from locks.models import AccessCode
from locks.signals import CodeEvent

CODE_FIELDS = ("pk", "state", "starts_at", "ends_at", "lock_id", "booking__property__host_id", "booking__external_ref__ref")


# After these, the booking's code works on its lock with the times wanted: its messages may go
# (the `codes_ready` moment), announced as the booking's event too, in the same INSERT.
READY_KINDS = frozenset({"created", "changed", "fallback_sent"})
BOOKING_CODE_READY = "booking.code_ready"


def record_code_events(events: list[CodeEvent]) -> list[Event]:
    """Store `events` (codes since deleted are left out) and hand them to the endpoints."""
    events = [*events, *(replace(event, kind=BOOKING_CODE_READY) for event in events if event.kind in READY_KINDS)]
    codes = {row["pk"]: row for row in AccessCode.objects.filter(pk__in={e.code_id for e in events}).values(*CODE_FIELDS)}
    rows = [_event_row(event, codes[event.code_id]) for event in events if event.code_id in codes]
    if not rows:
        return []
    created = Event.objects.bulk_create(rows)
    fan_out(created)
    return created


def _event_row(event: CodeEvent, code: dict) -> Event:
    payload = {
        "access_code_id": event.code_id,
        "booking_id": event.booking_id,
        "booking_ref": code["booking__external_ref__ref"],
        "lock_id": code["lock_id"],
        "state": code["state"],
        "starts_at": code["starts_at"].isoformat(),
        "ends_at": code["ends_at"].isoformat(),
        **event.data,
    }
    return Event(
        host_id=code["booking__property__host_id"],
        kind=event.kind if event.kind == BOOKING_CODE_READY else f"access_code.{event.kind}",
        booking_id=event.booking_id,
        code_id=event.code_id,
        occurred_at=event.occurred_at,
        payload=payload,
    )


def fan_out(events: list[Event]) -> list[WebhookDelivery]:
    """A delivery of each event to each active endpoint of its host (or platform-wide) wanting it."""
    hosts = {event.host_id for event in events}
    endpoints = list(WebhookEndpoint.objects.filter(Q(host_id__in=hosts) | Q(host__isnull=True), active=True))
    rows = [
        WebhookDelivery(endpoint=endpoint, event=event, code_id=event.code_id, next_attempt_at=event.created_at)
        for event in events
        for endpoint in endpoints
        if endpoint.host_id in (None, event.host_id) and endpoint.wants(event.kind)
    ]
    if not rows:
        return []
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)  # ids not returned: read back below
    pending = list(WebhookDelivery.objects.filter(event__in=events, status=DeliveryStatus.PENDING).order_by("event_id", "endpoint_id"))
    queue.enqueue_deliveries([row.pk for row in pending])
    return pending
