"""What an event looks like outside: the same envelope for webhooks and the API's feed."""

from events.models import Event
from locks.models import AccessCode


def envelope(event: Event, pins: dict[int, str | None] | None = None) -> dict:
    """`{"type", "timestamp", "data"}`; `pins` (code id → PIN) only for readers allowed PINs."""
    data = {"event_id": event.pk, **event.payload}
    if pins is not None and event.code_id is not None:
        data["pin"] = pins.get(event.code_id)
    return {"id": event.pk, "type": event.kind, "timestamp": event.occurred_at.isoformat(), "data": data}


def pins_of(code_ids) -> dict[int, str | None]:
    """The codes' PINs now, in one query (a code's PIN may have changed since the event)."""
    ids = {code_id for code_id in code_ids if code_id is not None}
    return dict(AccessCode.objects.filter(pk__in=ids).values_list("pk", "pin")) if ids else {}
