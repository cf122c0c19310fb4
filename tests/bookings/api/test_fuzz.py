"""Fuzzing the PMS API from its own OpenAPI document (schemathesis, through the WSGI app).

Every operation gets generated requests, valid and invalid (bounded: 25 per operation and phase,
deterministic, no deadline), sent with a valid token. Each answer must not be a server error and
must match the document: a documented status code, content type, headers and body schema.

A generated property id is mapped onto ids that matter (the host's property with a lock, another
host's property, a missing one), and some references onto a booking that exists, so the requests
reach the services and the code lifecycle rather than stopping at "no such property".
"""

from datetime import date, timedelta

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bookings.api.services import api_token_set_fixed
from bookings.models import ExternalBookingRef

TOKEN = "nwk_fuzz_" + "f" * 40
KNOWN_REF = "KNOWN-1"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260620,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large", "large_base_example"],
        "generation": {"max-examples": 25, "deterministic": True, "database": "none", "mode": "all"},
        "phases": {"stateful": {"enabled": False}},
    }
)


# Loaded at collection (the schema view touches no database). `schemathesis.pytest.from_fixture`
# would be the lazy way, but with pytest 9 it fails on `request.node._nodeid` (schemathesis 4.32.5).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application(), config=CONFIG)


@pytest.fixture
def test_connection_kept():
    """The real WSGI handler closes "old" connections when a request starts and ends, which would
    close the test's connection (in its transaction) on PostgreSQL; Django's test client does the
    same disconnection."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def world(test_connection_kept, host, other_host, assigned_property, make_property, book, settings):
    """The host's property with a lock, one booking known by reference, another host's property."""
    settings.API_RATE_LIMIT = "1000000/minute"
    settings.API_AUTH_FAILURE_LIMIT = "1000000/minute"
    cache.clear()
    mine = assigned_property()
    theirs = make_property(host=other_host, name="Theirs")
    today = timezone.localdate()
    booking = book(mine, today + timedelta(days=1), today + timedelta(days=3))
    ExternalBookingRef.objects.create(host=host, ref=KNOWN_REF, booking=booking)
    api_token_set_fixed(host=host, name="Fuzz", plain=TOKEN, read_pins=False)
    return {"property_ids": [mine.pk, theirs.pk, theirs.pk + 1000], "today": today}


def _day(value) -> date | None:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _property_id(generated: int, world) -> int:
    mine, theirs, missing = world["property_ids"]
    return {0: mine, 1: mine, 2: theirs, 3: missing}[generated % 4]


def aim(case, world) -> None:
    """Point some generated ids and references at objects that exist, and move two stays in three
    around today in the right order (random dates are mostly refused, which is tested too)."""
    body = case.body
    if isinstance(body, dict) and type(body.get("property")) is int:
        body["property"] = _property_id(body["property"], world)
    if isinstance(body, dict):
        arrival, departure = _day(body.get("arrival_date")), _day(body.get("departure_date"))
        if arrival and departure and arrival.toordinal() % 3:
            arrival = world["today"] + timedelta(days=arrival.toordinal() % 30 - 3)
            body["arrival_date"] = arrival.isoformat()
            body["departure_date"] = (arrival + timedelta(days=1 + departure.toordinal() % 5)).isoformat()
    path = case.path_parameters or {}
    if type(path.get("property_id")) is int:
        path["property_id"] = _property_id(path["property_id"], world)
    ref = path.get("external_ref")
    if isinstance(ref, str) and len(ref) % 3 == 0:
        path["external_ref"] = KNOWN_REF


@schema.parametrize()
# The world (and the database) is meant to persist across the examples of one operation.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_answers_as_documented(case, world):
    aim(case, world)
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)
