"""GET /api/v1/events/: the token's host's events after a cursor, oldest first, PINs only with read_pins."""

from datetime import date

import pytest
from django.utils import timezone
from freezegun import freeze_time

from bookings.api.services import api_token_create
from events.models import Event, EventKind
from locks import services
from tests.bookings.api.test_api import Api, document, fresh_rate_limits  # noqa: F401  (fixtures)
from tests.helpers.lifecycle import tick

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(client, document, host):  # noqa: F811
    def make(read_pins=False):
        return Api(client, document, api_token_create(host=host, name="PMS", read_pins=read_pins)[1])

    return make


def events(host, count, code_id=None, kind="access_code.created"):
    return [
        Event.objects.create(host=host, kind=kind, code_id=code_id, booking_id=1, occurred_at=timezone.now(), payload={"state": "active"})
        for _ in range(count)
    ]


def test_pages_through_the_events_in_id_order_with_the_next_cursor(feed, host):
    made = [event.pk for event in events(host, 5)]
    api = feed()
    first = api.get("/events/", limit=2).json()
    assert [item["id"] for item in first["items"]] == made[:2] and first["has_more"] and first["next"] == made[1]
    second = api.get("/events/", after=first["next"], limit=10).json()
    assert [item["id"] for item in second["items"]] == made[2:] and not second["has_more"] and second["next"] == made[-1]
    empty = api.get("/events/", after=second["next"]).json()
    assert empty == {"items": [], "next": made[-1], "has_more": False}


def test_the_envelope_is_the_webhooks(feed, host):
    [event] = events(host, 1)
    [item] = feed().get("/events/").json()["items"]
    assert item["timestamp"].startswith(event.occurred_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert item == {**item, "id": event.pk, "type": "access_code.created", "data": {"event_id": event.pk, "state": "active"}}


def test_only_the_tokens_host_and_no_test_events(feed, host, other_host):
    events(other_host, 2)
    events(host, 1, kind=EventKind.TEST)
    mine = events(host, 1)
    assert [item["id"] for item in feed().get("/events/").json()["items"]] == [mine[0].pk]


@pytest.mark.parametrize("params", [{"after": "abc"}, {"after": -1}, {"limit": 0}, {"limit": 201}, {"after": 2**63}])
def test_a_bad_cursor_or_limit_is_400(feed, params):
    assert feed().get("/events/", **params).status_code == 400


def test_the_pin_only_for_read_pins_tokens(feed, host, assigned_property, book, fake_cloud):
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(assigned_property(), date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        tick()
    code = booking.access_codes.get()
    assert code.pin
    events(host, 1, code_id=code.pk)
    [plain] = feed().get("/events/").json()["items"]
    [with_pin] = feed(read_pins=True).get("/events/").json()["items"]
    assert "pin" not in plain["data"] and with_pin["data"]["pin"] == code.pin


def test_without_a_token_401(feed):
    assert feed().get("/events/", token=None).status_code == 401
