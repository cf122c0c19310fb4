"""Fixtures of the API's action and idempotency tests: a host's API client checked against the
committed OpenAPI document, with fresh rate limits, and a pushed booking R1."""

import json

import pytest
import schemathesis
from django.core.cache import cache
from freezegun import freeze_time

from bookings.api.services import api_token_create
from bookings.models import Booking
from tests.bookings.api.test_api import Api, booking_body
from tests.helpers.lifecycle import tick
from tests.helpers.openapi import SNAPSHOT

BEFORE_ARRIVAL = "2026-06-10 08:00:00"  # the stay is 11-13 June (Paris); its code is made at once


@pytest.fixture
def snapshot_document():
    return schemathesis.openapi.from_dict(json.loads(SNAPSHOT.read_text()))


@pytest.fixture
def host_api(client, snapshot_document, host) -> Api:
    """The host's PMS, with rate limits fresh before and after the test."""
    cache.clear()
    yield Api(client, snapshot_document, api_token_create(host=host, name="PMS")[1])
    cache.clear()


@pytest.fixture
def other_api(client, snapshot_document, other_host) -> Api:
    return Api(client, snapshot_document, api_token_create(host=other_host, name="Other PMS")[1])


@pytest.fixture
def pushed_booking(host_api, assigned_property, fake_cloud):
    """The PMS's booking R1 (11-13 June, Paris) after one scheduler pass; `fault` fails the create."""

    def push(fault=None):
        prop = assigned_property()
        if fault is not None:
            fake_cloud.fail_next("create_code", fault)
        with freeze_time(BEFORE_ARRIVAL):
            host_api.put("/bookings/R1/", booking_body(prop, arrival_date="2026-06-11", departure_date="2026-06-13"))
            tick()
        return Booking.objects.get()

    return push
