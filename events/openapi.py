"""The webhooks in the API's OpenAPI document (3.1 `webhooks`): one per event kind, each a POST of
the signed envelope, so generated clients get the payload types. Registered with the document
when the feed's router is imported (events.api)."""

from typing import Any

from bookings.api.openapi import extend_document
from events.models import EventKind
from events.schemas import WebhookEnvelope

SIGNATURE_HEADERS = {
    "webhook-id": "The event's id, `evt_<id>`: the same on every retry, to drop duplicates.",
    "webhook-timestamp": "When this attempt was signed (Unix seconds); refuse one more than five minutes from now.",
    "webhook-signature": (
        "`v1,<base64 HMAC-SHA256>` of `<webhook-id>.<webhook-timestamp>.<body>`, keyed with the base64 part of "
        "the endpoint's `whsec_` secret (Standard Webhooks); several may be sent, space-separated."
    ),
}


@extend_document
def webhooks(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["WebhookEnvelope"] = WebhookEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
    document["webhooks"] = {kind.value: _webhook(kind) for kind in EventKind}


def _webhook(kind: EventKind) -> dict[str, Any]:
    body = {"allOf": [{"$ref": "#/components/schemas/WebhookEnvelope"}, {"properties": {"type": {"const": kind.value}}}]}
    return {
        "post": {
            "operationId": "webhook_" + kind.value.replace(".", "_"),
            "summary": kind.label,
            "tags": ["webhooks"],
            "parameters": [
                {"name": name, "in": "header", "required": True, "description": text, "schema": {"type": "string"}}
                for name, text in SIGNATURE_HEADERS.items()
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {
                "2XX": {"description": "Received. Any other answer, or none within 10 s, is retried with backoff for 3 days."},
                "410": {"description": "Gone: the endpoint is disabled at once and its owner emailed."},
            },
        }
    }
