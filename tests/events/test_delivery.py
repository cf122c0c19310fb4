import json
from datetime import timedelta

import pytest
import requests
import responses
from django.core import mail
from django.utils import timezone
from freezegun import freeze_time

from events import delivery, outbox
from events.models import DeliveryStatus, Event, WebhookDelivery
from events.signing import new_secret, signature
from tests.events.conftest import URL, verify

pytestmark = pytest.mark.django_db

START = "2026-06-01 08:00:00"


def make_event(host, code_id=7, kind="access_code.created"):
    payload = {"state": "active"}
    return Event.objects.create(host=host, kind=kind, code_id=code_id, booking_id=3, occurred_at=timezone.now(), payload=payload)


def deliveries_of(host, django_capture_on_commit_callbacks, *events_args):
    with django_capture_on_commit_callbacks(execute=True):
        return outbox.fan_out([make_event(host, *args) for args in events_args])


def test_signature_verifies_with_an_independent_implementation():
    secret = new_secret()
    body = b'{"type":"access_code.created"}'
    headers = {"webhook-id": "evt_1", "webhook-timestamp": "1780000000"}
    headers["webhook-signature"] = signature(secret=secret, message_id="evt_1", timestamp=1780000000, body=body)
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body + b" ")
    assert not verify(new_secret(), headers, body)


def test_secrets_are_whsec_and_24_random_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 32 and secret != new_secret()


@responses.activate
@freeze_time(START)
def test_a_delivery_posts_the_signed_envelope(host, endpoint, enqueued, django_capture_on_commit_callbacks):
    hook = endpoint()
    responses.post(URL, status=204)
    [row] = deliveries_of(host, django_capture_on_commit_callbacks, (7,))
    assert enqueued == [row.pk]
    assert delivery.deliver(delivery_id=row.pk) == "delivered"
    sent = responses.calls[0].request
    assert verify(hook.secret, sent.headers, sent.body)
    assert sent.headers["webhook-id"] == f"evt_{row.event_id}"
    assert sent.headers["webhook-timestamp"] == str(int(timezone.now().timestamp()))
    body = json.loads(sent.body)
    assert body["type"] == "access_code.created" and body["data"]["state"] == "active" and "pin" not in body["data"]
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.DELIVERED, 1, 204)
    assert row.attempt_log.get().number == 1


@responses.activate
def test_failures_back_off_30s_2min_10min_1h_then_give_up_after_3_days(host, endpoint, django_capture_on_commit_callbacks, settings):
    settings.WEBHOOK_DISABLE_AFTER_HOURS = 1000  # this test is about one delivery's schedule
    responses.post(URL, status=500)
    with freeze_time(START) as clock:
        endpoint()
        [row] = deliveries_of(host, django_capture_on_commit_callbacks, (7,))
        waits = []
        for _ in range(40):
            delivery.deliver(delivery_id=row.pk)
            row.refresh_from_db()
            if row.status == DeliveryStatus.DEAD:
                break
            waits.append(row.next_attempt_at - timezone.now())
            clock.move_to(row.next_attempt_at)
    assert waits[:4] == [timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1)]
    assert max(waits) == timedelta(hours=6)
    assert row.status == DeliveryStatus.DEAD and row.next_attempt_at is None
    assert row.attempt_log.count() == row.attempts == len(waits) + 1


@responses.activate
def test_a_redirect_is_a_failure_and_not_followed(host, endpoint, django_capture_on_commit_callbacks):
    responses.post(URL, status=302, headers={"location": "https://elsewhere.example/"})
    endpoint()
    [row] = deliveries_of(host, django_capture_on_commit_callbacks, (7,))
    assert delivery.deliver(delivery_id=row.pk) == "failed: HTTP 302"
    assert len(responses.calls) == 1


@responses.activate
def test_an_endpoint_failing_for_a_day_is_disabled_and_its_owner_emailed(host, endpoint, django_capture_on_commit_callbacks):
    responses.post(URL, status=503)
    with freeze_time(START) as clock:
        hook = endpoint()
        [row] = deliveries_of(host, django_capture_on_commit_callbacks, (7,))
        for _ in range(30):
            with django_capture_on_commit_callbacks(execute=True):
                delivery.deliver(delivery_id=row.pk)
            hook.refresh_from_db()
            if not hook.active:
                break
            row.refresh_from_db()
            clock.move_to(row.next_attempt_at)
        assert hook.disabled_at - hook.failing_since >= timedelta(hours=24)
    assert hook.disabled_reason and len(mail.outbox) == 1
    assert mail.outbox[0].to == [host.email] and hook.url in mail.outbox[0].body and hook.secret not in mail.outbox[0].body


@responses.activate
def test_a_success_clears_the_failing_clock(host, endpoint, django_capture_on_commit_callbacks):
    responses.post(URL, status=500)
    hook = endpoint()
    first, second = deliveries_of(host, django_capture_on_commit_callbacks, (1,), (2,))
    delivery.deliver(delivery_id=first.pk)
    hook.refresh_from_db()
    assert hook.failing_since is not None
    responses.replace(responses.POST, URL, status=200)
    delivery.deliver(delivery_id=second.pk)
    hook.refresh_from_db()
    assert hook.failing_since is None


@responses.activate
def test_410_disables_the_endpoint_at_once(host, endpoint, django_capture_on_commit_callbacks):
    responses.post(URL, status=410)
    hook = endpoint()
    [row] = deliveries_of(host, django_capture_on_commit_callbacks, (7,))
    with django_capture_on_commit_callbacks(execute=True):
        delivery.deliver(delivery_id=row.pk)
    hook.refresh_from_db()
    assert not hook.active and len(mail.outbox) == 1


@responses.activate
def test_events_of_one_code_are_delivered_in_order(host, endpoint, enqueued, django_capture_on_commit_callbacks):
    responses.post(URL, status=500)
    endpoint()
    first, second, other_code = deliveries_of(host, django_capture_on_commit_callbacks, (7,), (7,), (8,))
    assert delivery.deliver(delivery_id=second.pk) == "waits for an earlier event of its code"
    assert delivery.deliver(delivery_id=other_code.pk).startswith("failed")
    assert delivery.deliver(delivery_id=first.pk).startswith("failed")
    assert len(responses.calls) == 2
    responses.replace(responses.POST, URL, status=200)
    enqueued.clear()
    first.refresh_from_db()
    with freeze_time(first.next_attempt_at - timedelta(seconds=5)):
        assert delivery.deliver(delivery_id=second.pk) == "waits for an earlier event of its code"
    second.refresh_from_db()
    assert second.next_attempt_at == first.next_attempt_at + timedelta(seconds=1)  # parked behind the first's retry
    with freeze_time(timezone.now() + timedelta(minutes=1)):
        with django_capture_on_commit_callbacks(execute=True):
            assert delivery.deliver(delivery_id=first.pk) == "delivered"
        assert enqueued == [second.pk]  # the next event of that code is sent as soon as the first is done
        assert delivery.deliver(delivery_id=second.pk) == "delivered"
    order = [json.loads(call.request.body)["id"] for call in responses.calls if call.response.status_code == 200]
    assert order == [first.event_id, second.event_id]


@responses.activate
def test_a_claimed_delivery_is_not_sent_twice(host, endpoint, django_capture_on_commit_callbacks):
    responses.post(URL, status=500)
    endpoint()
    [row] = deliveries_of(host, django_capture_on_commit_callbacks, (7,))
    delivery.deliver(delivery_id=row.pk)
    assert delivery.deliver(delivery_id=row.pk) == "not due"
    assert len(responses.calls) == 1


@responses.activate
def test_pin_is_sent_only_to_endpoints_that_may_read_pins(host, endpoint, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr("events.delivery.pins_of", lambda ids: {7: "4321"})
    responses.post(URL, status=200)
    responses.post("https://pins.example/", status=200)
    endpoint()
    endpoint(url="https://pins.example/", read_pins=True)
    for row in deliveries_of(host, django_capture_on_commit_callbacks, (7,)):
        delivery.deliver(delivery_id=row.pk)
    bodies = {call.request.url: json.loads(call.request.body)["data"] for call in responses.calls}
    assert "pin" not in bodies[URL] and bodies["https://pins.example/"]["pin"] == "4321"


@responses.activate
def test_resend_sends_a_delivered_event_again(host, endpoint, enqueued, django_capture_on_commit_callbacks):
    responses.post(URL, status=200)
    endpoint()
    [row] = deliveries_of(host, django_capture_on_commit_callbacks, (7,))
    delivery.deliver(delivery_id=row.pk)
    with django_capture_on_commit_callbacks(execute=True):
        delivery.delivery_resend(delivery=row)
    assert delivery.deliver(delivery_id=row.pk) == "delivered"
    assert WebhookDelivery.objects.get(pk=row.pk).attempts == 2 and len(responses.calls) == 2


def test_endpoints_get_only_their_host_and_kinds(host, other_host, endpoint, django_capture_on_commit_callbacks):
    mine = endpoint(kinds=["access_code.failed"])
    everything = endpoint(url="https://all.example/")
    endpoint(host=other_host)
    platform = endpoint(host=None, url="https://platform.example/")
    rows = deliveries_of(host, django_capture_on_commit_callbacks, (7, "access_code.created"), (7, "access_code.failed"))
    got = {(row.endpoint_id, row.event.kind) for row in rows}
    assert got == {
        (everything.pk, "access_code.created"), (everything.pk, "access_code.failed"), (mine.pk, "access_code.failed"),
        (platform.pk, "access_code.created"), (platform.pk, "access_code.failed"),
    }


@responses.activate
def test_timeouts_bound_the_call_and_a_transport_error_is_a_retried_failure(host, endpoint, django_capture_on_commit_callbacks):
    responses.post(URL, body=requests.ConnectionError("refused by https://pms.example/hooks?token=abc"))
    endpoint()
    [row] = deliveries_of(host, django_capture_on_commit_callbacks, (7,))
    assert delivery.deliver(delivery_id=row.pk) == "failed: ConnectionError"
    assert responses.calls[0].request.req_kwargs["timeout"] == (5, 10)  # (redirects: test_a_redirect_is_a_failure...)
    row.refresh_from_db()
    assert (row.status, row.last_status_code, row.last_error) == (DeliveryStatus.FAILED, None, "ConnectionError")


@responses.activate
@freeze_time(START)
def test_a_name_resolving_to_a_private_address_is_never_called(host, endpoint, enqueued, django_capture_on_commit_callbacks, monkeypatch):
    import socket

    internal = "https://hooks.internal.example/in"
    hook = endpoint(url=internal)
    responses.post(internal, status=204)
    monkeypatch.setattr(socket, "getaddrinfo", lambda name, *args, **kwargs: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 0))])
    [row] = deliveries_of(host, django_capture_on_commit_callbacks, (7,))
    delivery.deliver(delivery_id=row.pk)
    row.refresh_from_db()
    assert len(responses.calls) == 0 and row.status == DeliveryStatus.FAILED  # retried later, never sent
    assert "private address" in row.last_error and hook.url == internal
