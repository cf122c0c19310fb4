"""Idempotency-Key on the API's writes (bookings.api.idempotency): the same request with the same key
is answered again from the stored answer (Idempotent-Replayed: true) and done once; the key with
another request is 422; while the first is in flight, 409; bad keys are 400; keys live 24 hours."""

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from bookings import services
from bookings.api.idempotency import IDEMPOTENCY_KEY_LIFETIME, IN_FLIGHT_LEASE
from bookings.api.models import IdempotencyKey
from bookings.api.services import api_token_create
from bookings.models import Booking
from locks.models import CodeRotation
from nowistay.retention import prune_old_data
from tests.bookings.api.conftest import BEFORE_ARRIVAL
from tests.bookings.api.test_api import Api, booking_body

pytestmark = pytest.mark.django_db

KEY = {"Idempotency-Key": "3f1c2b7e-8d4a-4f7e-9c1a-0b2d5e6f7a8b"}


def test_an_action_sent_twice_with_its_key_is_done_once(host_api, pushed_booking):
    booking = pushed_booking()
    with freeze_time(BEFORE_ARRIVAL):
        first = host_api.post("/bookings/R1/end-access/", headers=KEY)
    with freeze_time("2026-06-10 09:00:00"):
        again = host_api.post("/bookings/R1/end-access/", headers=KEY)
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert again.json() == first.json()  # the stored answer, access_ended_at of the first request
    booking.refresh_from_db()
    assert booking.access_ended_at.isoformat() == "2026-06-10T08:00:00+00:00"
    with freeze_time("2026-06-10 09:00:00"):
        assert host_api.post("/bookings/R1/end-access/").status_code == 409  # without the key: refused, as ended


def test_a_rotation_is_not_made_twice(host_api, pushed_booking):
    pushed_booking()
    with freeze_time(BEFORE_ARRIVAL):
        first = host_api.post("/bookings/R1/rotate-code/", headers=KEY)
    with freeze_time("2026-06-10 09:00:00"):  # past the rotation's own two minutes
        again = host_api.post("/bookings/R1/rotate-code/", headers=KEY)
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert CodeRotation.objects.count() == 1


def test_an_upsert_replays_its_201(host_api, assigned_property):
    prop = assigned_property()
    body = booking_body(prop)
    with freeze_time(BEFORE_ARRIVAL):
        first = host_api.put("/bookings/R1/", body, headers=KEY)
        again = host_api.put("/bookings/R1/", body, headers=KEY)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Booking.objects.count() == 1


def test_the_key_with_another_request_is_422(host_api, assigned_property):
    prop = assigned_property()
    with freeze_time(BEFORE_ARRIVAL):
        host_api.put("/bookings/R1/", booking_body(prop), headers=KEY)
        other_body = host_api.put("/bookings/R1/", booking_body(prop, guest_name="Someone Else"), headers=KEY)
        other_path = host_api.put("/bookings/R2/", booking_body(prop), headers=KEY)
    assert other_body.status_code == other_path.status_code == 422
    assert "another request" in other_body.json()["detail"]
    assert list(Booking.objects.values_list("guest_name", flat=True)) == ["Grace Guest"]


def test_a_request_in_flight_is_409_until_its_lease_ends(host_api, pushed_booking):
    booking = pushed_booking()
    with freeze_time(BEFORE_ARRIVAL):
        host_api.post("/bookings/R1/restore-access/", headers=KEY)  # 409: not ended; the answer is stored
    IdempotencyKey.objects.update(status_code=None, response_body="")  # as if the first were still running
    with freeze_time(BEFORE_ARRIVAL):
        busy = host_api.post("/bookings/R1/restore-access/", headers=KEY)
    assert busy.status_code == 409 and "still being answered" in busy.json()["detail"]
    services.booking_end_access(booking=booking)
    with freeze_time(timezone.now() + IN_FLIGHT_LEASE + timedelta(seconds=1)):
        taken_over = host_api.post("/bookings/R1/restore-access/", headers=KEY)
    assert taken_over.status_code == 200 and "Idempotent-Replayed" not in taken_over


def test_a_crash_frees_the_key(host_api, pushed_booking, monkeypatch):
    pushed_booking()

    def crash(**kwargs):
        raise RuntimeError("the worker died")

    monkeypatch.setattr(services, "booking_end_access_checked", crash)
    with freeze_time(BEFORE_ARRIVAL), pytest.raises(RuntimeError):
        host_api.client.post("/api/v1/bookings/R1/end-access/", headers={"authorization": f"Bearer {host_api.token}", **KEY})
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["k" * 256, "with\x01control", "nul\x00byte", "tab\tkey", "café", ""])
def test_a_bad_key_is_400_and_nothing_is_done(host_api, pushed_booking, key):
    booking = pushed_booking()
    with freeze_time(BEFORE_ARRIVAL):
        response = host_api.post("/bookings/R1/end-access/", headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": None, "message": "Idempotency-Key must be 1 to 255 printable ASCII characters."}]
    booking.refresh_from_db()
    assert booking.access_ended_at is None


def test_the_longest_key_is_taken(host_api, pushed_booking):
    pushed_booking()
    with freeze_time(BEFORE_ARRIVAL):
        response = host_api.post("/bookings/R1/end-access/", headers={"Idempotency-Key": "~" * 255})
    assert response.status_code == 200
    assert IdempotencyKey.objects.get().key == "~" * 255


def test_keys_are_per_host(host_api, client, snapshot_document, other_host, assigned_property, make_property):
    mine = assigned_property()
    theirs = make_property(name="Their Flat", host=other_host)
    other = Api(client, snapshot_document, api_token_create(host=other_host, name="Other PMS")[1])
    with freeze_time(BEFORE_ARRIVAL):
        assert host_api.put("/bookings/R1/", booking_body(mine), headers=KEY).status_code == 201
        answer = other.put("/bookings/R1/", booking_body(theirs), headers=KEY)
    assert answer.status_code == 201 and "Idempotent-Replayed" not in answer
    assert Booking.objects.count() == 2


def test_keys_expire_after_24_hours_and_are_pruned(host_api, pushed_booking):
    pushed_booking()
    with freeze_time(BEFORE_ARRIVAL):
        host_api.post("/bookings/R1/end-access/", headers=KEY)
    later = timezone.now() + IDEMPOTENCY_KEY_LIFETIME + timedelta(minutes=1)
    with freeze_time(later):
        fresh = host_api.post("/bookings/R1/end-access/", headers=KEY)  # no longer replayed: refused, as ended
    assert fresh.status_code == 409 and "Idempotent-Replayed" not in fresh
    with freeze_time(later + IDEMPOTENCY_KEY_LIFETIME + timedelta(minutes=1)):
        report = prune_old_data()
    assert not IdempotencyKey.objects.exists()
    assert "1 API idempotency keys deleted" in report


def test_reads_ignore_the_key(host_api, pushed_booking):
    pushed_booking()
    with freeze_time(BEFORE_ARRIVAL):
        assert host_api.get("/bookings/R1/", headers={"Idempotency-Key": "nul\x00byte"}).status_code == 200
    assert not IdempotencyKey.objects.exists()
