"""POST /api/v1/bookings/{external_ref}/rotate-code/: 202 with the booking and its `code_rotation`,
the three steps in plain words and never a PIN; safe to retry (409 while under way or just done,
nothing rotated twice); 409 for a booking whose code cannot be rotated; 404 for another host's.
Every answer is checked against the committed OpenAPI document (tests/bookings/api/test_api.py)."""

import json
from datetime import date

import pytest
import schemathesis
from django.core.cache import cache
from freezegun import freeze_time

from bookings.api.services import api_token_create
from bookings.models import BookingStatus, ExternalBookingRef
from locks.models import AccessCode, CodeRotation, CodeState, RotationSource
from tests.bookings.api.test_api import Api, booking_body
from tests.helpers.lifecycle import current, tick
from tests.helpers.openapi import SNAPSHOT

pytestmark = pytest.mark.django_db

BEFORE_ARRIVAL = "2026-06-10 08:00:00"  # the stay is 11-13 June (Paris); its code is made at once


@pytest.fixture
def document():
    return schemathesis.openapi.from_dict(json.loads(SNAPSHOT.read_text()))


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(client, document, host) -> Api:
    return Api(client, document, api_token_create(host=host, name="PMS")[1])


@pytest.fixture
def pushed(api, assigned_property):
    """The PMS's booking R1 with its code active on the lock."""

    def push(provider="ttlock"):
        prop = assigned_property(provider=provider)
        with freeze_time(BEFORE_ARRIVAL):
            api.put("/bookings/R1/", booking_body(prop, arrival_date="2026-06-11", departure_date="2026-06-13"))
            tick()
        code = AccessCode.objects.get()
        assert code.state == CodeState.ACTIVE
        return code

    return push


def rotate(api):
    return api.post("/bookings/R1/rotate-code/")


def test_the_code_is_rotated_and_followed_on_the_booking(api, pushed, fake_cloud):
    old = pushed()
    with freeze_time(BEFORE_ARRIVAL):
        response = rotate(api)
        tick()
        later = api.get("/bookings/R1/")
    assert response.status_code == 202
    body = response.json()
    rotation = body["code_rotation"]
    assert rotation == {
        "state": "in_progress",
        "description": "new PIN on the lock: pending: being created now; old code: being revoked; "
        "guest: waiting for the new code to be on the lock",
        "started_at": "2026-06-10T08:00:00Z",
        "requested_via": "api",
        "new_pin": {"state": "pending", "description": "pending: being created now"},
        "old_code": {"state": "being_revoked", "description": "being revoked"},
        "guest": {"state": "waiting", "description": "waiting for the new code to be on the lock"},
    }
    assert body["code"]["state"] == "scheduled"
    new = current(old.booking)
    assert new.state == CodeState.ACTIVE and new.pin != old.pin
    assert [issued.pin for issued in fake_cloud.codes_on("L1")] == [new.pin]
    done = later.json()["code_rotation"]
    assert (done["state"], done["new_pin"]["state"], done["old_code"]["state"]) == ("done", "done", "revoked")
    assert done["guest"]["state"] == "not_needed"
    for answer in (response, later):
        assert old.pin not in answer.content.decode() and new.pin not in answer.content.decode()
    assert CodeRotation.objects.get().requested_via == RotationSource.API


def test_a_retried_request_never_rotates_twice(api, pushed, fake_cloud):
    """The first answer was lost and the PMS sends the request again: while the rotation is under
    way, and for two minutes after, the answer is 409 and nothing changes."""
    old = pushed()
    with freeze_time(BEFORE_ARRIVAL) as frozen:
        assert rotate(api).status_code == 202
        again = rotate(api)
        tick()
        frozen.tick(60)
        after_done = rotate(api)
    assert again.status_code == after_done.status_code == 409
    assert again.json()["detail"].startswith("A rotation of this code is already in progress (started at 10:00): new PIN on the lock:")
    assert after_done.json()["detail"] == (
        "The code was rotated at 10:00, a moment ago: you can rotate it again in 60 seconds. Nothing was changed."
    )
    assert CodeRotation.objects.count() == 1 and AccessCode.objects.filter(booking=old.booking).count() == 2
    assert fake_cloud.calls["create_code"] == 2  # the first code and the rotated one


def test_an_igloohome_code_says_until_when_it_still_works(api, pushed, fake_cloud):
    pushed(provider="igloohome")
    with freeze_time(BEFORE_ARRIVAL):
        rotate(api)
        tick()
        rotation = api.get("/bookings/R1/").json()["code_rotation"]
    assert rotation["old_code"] == {"state": "unrevocable", "description": "unrevocable until 11:30 13 Jun: igloohome cannot revoke it"}
    assert rotation["state"] == "done"


@pytest.mark.parametrize(
    "status, detail",
    [
        ("pending", "The booking is not confirmed: it has no door code to rotate."),
        ("cancelled", "The booking is cancelled: it has no door code to rotate."),
    ],
)
def test_a_booking_that_is_not_confirmed_is_refused(api, assigned_property, status, detail):
    prop = assigned_property()
    with freeze_time(BEFORE_ARRIVAL):
        api.put("/bookings/R1/", booking_body(prop, arrival_date="2026-06-11", departure_date="2026-06-13", status=status))
        response = rotate(api)
    assert response.status_code == 409 and response.json() == {"detail": detail}
    assert not CodeRotation.objects.exists()


def test_a_booking_without_a_lock_is_refused(api, make_property):
    with freeze_time(BEFORE_ARRIVAL):
        api.put("/bookings/R1/", booking_body(make_property(), arrival_date="2026-06-11", departure_date="2026-06-13"))
        response = rotate(api)
    assert response.status_code == 409 and response.json()["detail"] == "The booking has no door code to rotate."


def test_a_code_not_on_the_lock_yet_is_refused(api, assigned_property):
    with freeze_time("2026-06-01 08:00:00"):  # ten days before arrival: the code is made in five
        api.put("/bookings/R1/", booking_body(assigned_property(), arrival_date="2026-06-11", departure_date="2026-06-13"))
        response = rotate(api)
    assert response.status_code == 409 and "not on the lock yet" in response.json()["detail"]


def test_another_hosts_booking_or_an_unknown_one_is_404(api, other_host, make_property, book, fake_cloud):
    theirs = book(make_property(host=other_host, name="Theirs"), date(2026, 6, 20), date(2026, 6, 22))
    ExternalBookingRef.objects.create(host=other_host, ref="R1", booking=theirs)
    with freeze_time(BEFORE_ARRIVAL):
        assert rotate(api).status_code == 404
        assert api.post("/bookings/NOPE/rotate-code/").status_code == 404
    assert theirs.status == BookingStatus.CONFIRMED and not CodeRotation.objects.exists()


def test_the_booking_list_shows_each_bookings_latest_rotation(api, pushed):
    pushed()
    with freeze_time(BEFORE_ARRIVAL):
        rotate(api)
        tick()
        listed = api.get("/bookings/").json()["items"]
    assert [item["code_rotation"]["state"] for item in listed] == ["done"]
