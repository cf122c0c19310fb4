"""The event feed's schemas (GET /api/v1/events/)."""

from datetime import datetime

from ninja import Schema
from pydantic import Field


class EventOut(Schema):
    id: int = Field(description="The event's id: ascending, the feed's cursor.")
    type: str = Field(description="e.g. access_code.created, access_code.changed, access_code.removed, access_code.failed.")
    timestamp: datetime = Field(description="When it happened (UTC).")
    data: dict = Field(description="Ids, states and times; `pin` only for tokens with the read_pins scope.")


class EventPage(Schema):
    items: list[EventOut]
    next: int = Field(description="Pass as `after` to get the events that follow (the last id, or `after` when none).")
    has_more: bool


class WebhookEnvelope(Schema):
    """What each webhook POSTs (and each feed item carries), signed as Standard Webhooks."""

    id: int = Field(description="The event's id, as in the feed; the webhook-id header is `evt_<id>`.")
    type: str = Field(description="The event's kind, e.g. access_code.created or booking.code_ready.")
    timestamp: datetime = Field(description="When it happened (UTC).")
    data: dict = Field(
        description="event_id, access_code_id, booking_id, booking_ref, lock_id, state, starts_at, ends_at and what the kind adds; "
        "`pin` only for endpoints allowed to read PINs."
    )
