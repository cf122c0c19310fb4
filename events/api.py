"""GET /api/v1/events/: the host's events, oldest first, after a cursor (added in bookings/api/api.py)."""

from django.http import HttpRequest
from ninja import Query, Router

from bookings.api.schemas import ErrorOut, ValidationErrorOut
from events import openapi  # noqa: F401  (adds the webhooks to the API's document)
from events.models import Event, EventKind
from events.payloads import envelope, pins_of
from events.schemas import EventPage

MAX_LIMIT = 200
MAX_CURSOR = 2**63 - 1

router = Router(tags=["events"])
RESPONSES = {200: EventPage, 400: ValidationErrorOut, 401: ErrorOut, 429: ErrorOut}


@router.get("/", response=RESPONSES, summary="Your events after a cursor", operation_id="list_events")
def list_events(
    request: HttpRequest,
    after: int = Query(0, ge=0, le=MAX_CURSOR, description="Events with a greater id; 0: from the oldest kept."),
    limit: int = Query(50, ge=1, le=MAX_LIMIT, description="At most this many."),
):
    """Your events in the order they happened (ascending `id`), the same as the webhooks' payloads.
    Keep the last `next` and pass it as `after` to read only newer events; events are kept 30 days
    by default. `data.pin` appears only for tokens with the `read_pins` scope (the PIN now)."""
    token = request.auth
    rows = Event.objects.filter(host=token.host, id__gt=after).exclude(kind=EventKind.TEST).order_by("id")
    events = list(rows[: limit + 1])
    page = events[:limit]
    pins = pins_of(event.code_id for event in page) if token.read_pins else None
    return {"items": [envelope(event, pins) for event in page], "next": page[-1].pk if page else after, "has_more": len(events) > limit}
