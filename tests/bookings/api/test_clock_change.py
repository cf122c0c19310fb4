"""Clock changes and lock clocks in the PMS API: a booking's `clock_change` and its code's
`clock_warning` (docs/product.md, "Clock changes and lock clocks"), every answer checked against
the committed OpenAPI document."""

import json
from datetime import UTC, datetime

import pytest
import schemathesis
from django.core.cache import cache
from django.utils.dateparse import parse_datetime
from freezegun import freeze_time

from bookings.api.services import api_token_create
from locks.models import AccessCode, CodeState, Lock
from tests.helpers.lifecycle import tick
from tests.helpers.openapi import SNAPSHOT, conform

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document() -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_dict(json.loads(SNAPSHOT.read_text()))


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(client, document, host):
    token = api_token_create(host=host, name="PMS")[1]

    def call(method: str, path: str, body=None):
        url = "/api/v1" + path
        kwargs = {"headers": {"authorization": f"Bearer {token}"}}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        response = getattr(client, method.lower())(url, **kwargs)
        conform(document, method, url, response)
        assert response.status_code in (200, 201), response.content
        return response.json()

    return call


def body(prop, arrival: str, departure: str, **fields) -> dict:
    return {"property": prop.pk, "guest_name": "Grace Guest", "arrival_date": arrival, "departure_date": departure,
            "status": "confirmed", **fields}


class TestClockChange:
    def test_a_stay_without_a_lock_names_its_change_with_check_in_and_check_out(self, api, make_property):
        prop = make_property()  # Paris, no lock
        booking = api("PUT", "/bookings/R1/", body(prop, "2027-10-29", "2027-11-01"))
        change = booking["clock_change"]
        assert parse_datetime(change["at"]) == datetime(2027, 10, 31, 1, tzinfo=UTC)
        assert (change["from_offset"], change["to_offset"]) == ("+02:00", "+01:00")
        assert change["message"] == (
            "This stay crosses the clock change on Sun 31 Oct (03:00 → 02:00). "
            "Check-in at 15:00 and check-out at 11:00 are local times on both sides of the change."
        )
        assert booking["code"]["clock_warning"] == ""

    def test_a_code_across_the_change_says_what_nowistay_did(self, api, assigned_property):
        prop = assigned_property()  # Paris, fake TTLock cloud, margin 30
        with freeze_time("2027-03-24 10:00:00"):
            api("PUT", "/bookings/R1/", body(prop, "2027-03-26", "2027-03-30"))
            tick()
            booking = api("GET", "/bookings/R1/")
            listed = api("GET", "/bookings/")["items"][0]
        assert booking["code"]["state"] == "active"
        assert booking["clock_change"]["message"].endswith(
            "The code is set in exact times, so the door opens at 14:30 and closes at 11:30 local time on both sides of the change."
        )
        assert listed["clock_change"] == booking["clock_change"]

    def test_a_stay_inside_one_offset_has_none(self, api, make_property):
        assert api("PUT", "/bookings/R1/", body(make_property(), "2027-06-10", "2027-06-14"))["clock_change"] is None

    def test_a_lock_keeping_another_zones_time_is_a_warning_on_the_code(self, api, assigned_property):
        prop = assigned_property(provider="tedee")
        with freeze_time("2027-06-08 10:00:00"):
            api("PUT", "/bookings/R1/", body(prop, "2027-06-10", "2027-06-14"))
            tick()
            Lock.objects.update(vendor_time_zone="America/New_York")
            code = api("GET", "/bookings/R1/")["code"]
            Lock.objects.update(vendor_time_zone="Europe/Berlin")
            same_clock = api("GET", "/bookings/R1/")["code"]
        assert code["state"] == "active" and code["clock_warning"].startswith(
            "The lock's time zone is America/New_York, but the property is in Europe/Paris: on 2027-06-10"
        )
        assert same_clock["clock_warning"] == ""

    def test_a_code_that_no_longer_opens_the_door_has_no_warning(self, api, assigned_property):
        prop = assigned_property()
        with freeze_time("2027-06-08 10:00:00"):
            api("PUT", "/bookings/R1/", body(prop, "2027-06-10", "2027-06-14"))
            tick()
        Lock.objects.update(vendor_utc_offset_minutes=-300)
        AccessCode.objects.update(state=CodeState.EXPIRED, next_attempt_at=None)
        assert api("GET", "/bookings/R1/")["code"]["clock_warning"] == ""
