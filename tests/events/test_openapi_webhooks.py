"""The API's OpenAPI document describes the webhooks (3.1 `webhooks`): one POST per event kind with
the Standard Webhooks headers and the envelope's schema, so generated clients get the payload types."""

import json

import jsonschema
import pytest

from events.models import EventKind
from tests.helpers.repository import ROOT

SNAPSHOT = ROOT / "tests" / "fixtures" / "openapi-v1.json"


def document() -> dict:
    return json.loads(SNAPSHOT.read_text())


def test_every_event_kind_is_a_webhook_with_the_signature_headers():
    webhooks = document()["webhooks"]
    assert set(webhooks) == set(EventKind.values)
    for kind, item in webhooks.items():
        operation = item["post"]
        assert {p["name"] for p in operation["parameters"] if p["in"] == "header" and p["required"]} == {
            "webhook-id", "webhook-timestamp", "webhook-signature",
        }
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert {"$ref": "#/components/schemas/WebhookEnvelope"} in body["allOf"]
        assert {"properties": {"type": {"const": kind}}} in body["allOf"]
        assert "2XX" in operation["responses"]


def test_a_delivered_envelope_matches_the_documented_schema():
    full = document()
    schema = {**full["webhooks"]["access_code.created"]["post"]["requestBody"]["content"]["application/json"]["schema"],
              "components": full["components"]}
    payload = {"id": 7, "type": "access_code.created", "timestamp": "2026-06-01T08:00:00Z", "data": {"event_id": 7, "access_code_id": 3}}
    jsonschema.validate(payload, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**payload, "type": "access_code.removed"}, schema)
