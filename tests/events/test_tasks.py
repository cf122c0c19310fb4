"""The sweep of due deliveries, retention, and the tasks' wiring."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from freezegun import freeze_time

from events import delivery, services, tasks
from events.models import DeliveryStatus, Event, WebhookDelivery
from events.queue import DELIVER_WEBHOOK
from nowistay import dispatch
from nowistay.celery import app

pytestmark = pytest.mark.django_db


def make_delivery(hook, host, **fields):
    event = Event.objects.create(host=host, kind="access_code.created", occurred_at=timezone.now())
    return WebhookDelivery.objects.create(endpoint=hook, event=event, **fields)


def test_the_sweep_hands_out_due_deliveries_of_active_endpoints_only(host, endpoint, enqueued, django_capture_on_commit_callbacks):
    hook, disabled = endpoint(), endpoint(url="https://off.example/")
    services.endpoint_disable_by_host(endpoint=disabled)
    now = timezone.now()
    due = make_delivery(hook, host, status=DeliveryStatus.FAILED, next_attempt_at=now - timedelta(seconds=1))
    make_delivery(hook, host, status=DeliveryStatus.FAILED, next_attempt_at=now + timedelta(minutes=5))
    make_delivery(hook, host, status=DeliveryStatus.DELIVERED, next_attempt_at=None)
    make_delivery(disabled, host, status=DeliveryStatus.PENDING, next_attempt_at=now)
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.deliver_due(now=now) == 1
    assert enqueued == [due.pk]


def test_a_delivery_to_a_disabled_endpoint_is_given_up(host, endpoint):
    hook = endpoint()
    row = make_delivery(hook, host, next_attempt_at=timezone.now())
    services.endpoint_disable_by_host(endpoint=hook)
    assert delivery.deliver(delivery_id=row.pk) == "endpoint disabled"
    row.refresh_from_db()
    assert row.status == DeliveryStatus.DEAD


def test_events_older_than_the_retention_are_pruned_with_their_deliveries(host, endpoint, settings):
    settings.EVENTS_RETENTION_DAYS = 30
    hook = endpoint()
    with freeze_time("2026-05-01 12:00:00"):
        make_delivery(hook, host)
    with freeze_time("2026-05-20 12:00:00"):
        kept = make_delivery(hook, host)
    with freeze_time("2026-06-01 00:00:00"):
        assert tasks.prune_events() >= 1
    assert list(Event.objects.values_list("pk", flat=True)) == [kept.event_id]
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [kept.pk]


def test_the_tasks_are_registered_and_scheduled():
    assert dispatch._senders[DELIVER_WEBHOOK] is tasks._deliver_webhook
    beat = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"events.tasks.deliver_due_webhooks", "events.tasks.prune_events"} <= beat
    app.loader.import_default_modules()
    assert {"events.tasks.deliver_webhook", "events.tasks.deliver_due_webhooks", "events.tasks.prune_events"} <= set(app.tasks)
