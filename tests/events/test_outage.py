"""The issue's outside check, in miniature and compressed time: a receiver that verifies signatures
goes down for an hour while codes are created, changed and removed, then comes back. Every event
must reach it exactly once, verified, and each code's events in the order they happened.

The lifecycle runs for real (fake lock cloud, scheduler passes); the receiver is an HTTP fake
(`responses`) that answers 503 during the outage; a worker is simulated minute by minute: it
sends what was handed to it and runs the retry sweep, as `events.tasks` do."""

import json
from collections import defaultdict
from datetime import date, timedelta

import pytest
import responses
from django.utils import timezone
from freezegun import freeze_time

from bookings.models import BookingStatus
from events import delivery
from events.models import DeliveryStatus, Event, WebhookDelivery
from locks import services
from tests.events.conftest import URL, verify
from tests.helpers.lifecycle import tick

pytestmark = pytest.mark.django_db


class Receiver:
    """A customer's server: refuses unsigned or forged deliveries, keeps what it accepted."""

    def __init__(self, secret: str):
        self.secret, self.down = secret, True
        self.accepted: list[tuple[str, str, int]] = []  # (webhook-id, type, code id)
        self.refused_while_down = 0

    def __call__(self, request):
        if self.down:
            self.refused_while_down += 1
            return 503, {}, "down"
        body = request.body if isinstance(request.body, bytes) else request.body.encode()
        if not verify(self.secret, request.headers, body):
            return 400, {}, "bad signature"
        envelope = json.loads(body)
        self.accepted.append((request.headers["webhook-id"], envelope["type"], envelope["data"].get("access_code_id")))
        return 204, {}, ""


def work(enqueued: list[int], now, capture) -> None:
    """A worker: the sweep hands it the retries due (after commit), then it sends what it was handed."""
    with capture(execute=True):
        delivery.deliver_due(now=now)
    while enqueued:
        with capture(execute=True):
            delivery.deliver(delivery_id=enqueued.pop(0), now=now)


@responses.activate
def test_an_hour_long_outage_loses_nothing_duplicates_nothing_and_keeps_each_codes_order(
    host, endpoint, enqueued, assigned_property, book, fake_cloud, django_capture_on_commit_callbacks
):
    hook = endpoint()
    receiver = Receiver(hook.secret)
    responses.add_callback(responses.POST, URL, callback=receiver)
    props = [assigned_property(vendor_lock_id=f"L{n}") for n in range(3)]
    with freeze_time("2026-06-01 08:00:00") as clock:
        bookings = []
        for n, prop in enumerate(props):  # during the outage: codes made, moved and removed
            with django_capture_on_commit_callbacks(execute=True):
                bookings.append(book(prop, date(2026, 6, 2), date(2026, 6, 4), guest_name=f"Guest {n}"))
                services.booking_created(booking=bookings[-1])
                tick()
            work(enqueued, timezone.now(), django_capture_on_commit_callbacks)
            clock.tick(timedelta(minutes=5))
        for booking in bookings[:2]:
            with django_capture_on_commit_callbacks(execute=True):
                booking.departure_date = date(2026, 6, 5)
                booking.save()
                services.booking_changed(booking=booking)
                tick()
            work(enqueued, timezone.now(), django_capture_on_commit_callbacks)
        with django_capture_on_commit_callbacks(execute=True):
            bookings[2].status = BookingStatus.CANCELLED
            bookings[2].save()
            services.booking_cancelled(booking=bookings[2])
            tick()
        work(enqueued, timezone.now(), django_capture_on_commit_callbacks)
        clock.move_to("2026-06-01 09:00:00")  # an hour after the first event: the receiver is back
        receiver.down = False
        for _ in range(4 * 60):  # four hours of a worker's minutes
            work(enqueued, timezone.now(), django_capture_on_commit_callbacks)
            clock.tick(timedelta(minutes=1))

    events = list(Event.objects.filter(host=host).order_by("id"))
    assert receiver.refused_while_down > 0 and len(events) >= 3 * 3  # scheduled, created, code ready at least
    # Every event exactly once, each verified (unsigned or forged ones would have been refused).
    received_ids = [webhook_id for webhook_id, _, _ in receiver.accepted]
    assert sorted(received_ids) == sorted(f"evt_{event.pk}" for event in events)
    assert len(received_ids) == len(set(received_ids))
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    # Each code's events in the order they happened.
    received_by_code, happened_by_code = defaultdict(list), defaultdict(list)
    for webhook_id, _, code_id in receiver.accepted:
        received_by_code[code_id].append(int(webhook_id.removeprefix("evt_")))
    for event in events:
        happened_by_code[event.code_id].append(event.pk)
    assert received_by_code == happened_by_code
    kinds = {kind for _, kind, _ in receiver.accepted}
    assert {"access_code.scheduled", "access_code.created", "booking.code_ready", "access_code.changed", "access_code.removed"} <= kinds
