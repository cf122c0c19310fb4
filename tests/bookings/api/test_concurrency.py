"""Two PMS pushes of the same new booking at the same moment: one booking, one reference, one code.

Real concurrent transactions need PostgreSQL (SQLite's in-memory test database is not shared by
the connections of other threads, and it has no row locks)."""

import json
import threading
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from bookings.api.services import api_token_create
from bookings.models import Booking, ExternalBookingRef
from locks.models import AccessCode

THREADS = 2

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite's in-memory test database is not shared by connections in other "
    "threads and has no row locks; run with DATABASE_URL=postgres://...",
)


@pytest.fixture
def no_broker(monkeypatch):
    """Work enqueued on commit would go to the real broker: record it instead."""
    from locks.services import codes

    sent: list[int] = []
    monkeypatch.setattr(codes, "enqueue_code", sent.append)
    return sent


@pytest.fixture
def both_create(monkeypatch):
    """Hold each first push inside `booking_create` until both are there: both have looked for the
    reference and found none, so both create, and the reference's unique constraint decides."""
    from bookings import services

    meeting = threading.Barrier(THREADS)
    creates: list[int] = []
    real_create = services.booking_create

    def booking_create(**kwargs):
        creates.append(1)
        if len(creates) <= THREADS:
            meeting.wait(timeout=30)
        return real_create(**kwargs)

    monkeypatch.setattr(services, "booking_create", booking_create)
    return creates


def put_in_threads(path: str, body: dict, token: str, count: int = THREADS) -> list[int]:
    """PUT the same request from `count` threads released together by a barrier; their statuses."""
    barrier = threading.Barrier(count)
    statuses: list[int | None] = [None] * count
    errors: list[BaseException] = []

    def push(index: int) -> None:
        try:
            client = Client()
            barrier.wait(timeout=30)
            response = client.put(path, json.dumps(body), content_type="application/json", headers={"authorization": f"Bearer {token}"})
            statuses[index] = response.status_code
        except BaseException as error:  # re-raised in the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=push, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return statuses


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_first_pushes_make_one_booking(attempt, host, assigned_property, no_broker, both_create):
    cache.clear()
    prop = assigned_property()
    token = api_token_create(host=host, name="PMS")[1]
    arrival = timezone.now().date() + timedelta(days=1)  # code due at once
    body = {
        "property": prop.pk,
        "guest_name": "Grace Guest",
        "arrival_date": arrival.isoformat(),
        "departure_date": (arrival + timedelta(days=2)).isoformat(),
        "status": "confirmed",
    }

    statuses = put_in_threads(f"/api/v1/bookings/RACE-{attempt}/", body, token)

    assert sorted(statuses) == [200, 201]
    assert len(both_create) == THREADS  # both really raced to create
    assert Booking.objects.count() == 1
    assert ExternalBookingRef.objects.filter(host=host, ref=f"RACE-{attempt}").count() == 1
    assert AccessCode.objects.filter(is_current=True).count() == 1
    assert AccessCode.objects.count() == 1  # the loser's planned code was rolled back with it


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_repeat_while_the_first_is_in_flight_is_409_then_replayed(host, assigned_property, no_broker, monkeypatch):
    """Idempotency-Key: the first PUT is held inside the upsert while the same request arrives (409,
    nothing done); once the first has answered, the same request gets its stored answer."""
    from bookings import services

    cache.clear()
    prop = assigned_property()
    token = api_token_create(host=host, name="PMS")[1]
    arrival = timezone.now().date() + timedelta(days=1)
    body = {"property": prop.pk, "guest_name": "Grace Guest", "arrival_date": arrival.isoformat(),
            "departure_date": (arrival + timedelta(days=2)).isoformat(), "status": "confirmed"}
    headers = {"authorization": f"Bearer {token}", "Idempotency-Key": "race-key"}
    inside, answered = threading.Event(), threading.Event()
    real_upsert = services.booking_upsert_external

    def held_upsert(**kwargs):
        inside.set()
        assert answered.wait(timeout=30)
        return real_upsert(**kwargs)

    monkeypatch.setattr(services, "booking_upsert_external", held_upsert)

    def send() -> object:
        return Client().put("/api/v1/bookings/KEYED/", json.dumps(body), content_type="application/json", headers=headers)

    results: list = []
    first = threading.Thread(target=lambda: (results.append(send()), connection.close()))
    first.start()
    assert inside.wait(timeout=30)
    second = send()
    answered.set()
    first.join(60)
    monkeypatch.setattr(services, "booking_upsert_external", real_upsert)
    replay = send()

    assert second.status_code == 409 and "still being answered" in second.json()["detail"]
    assert results[0].status_code == 201
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == results[0].json()
    assert Booking.objects.count() == 1
