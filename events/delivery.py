"""Sending one delivery: claim it, keep a code's events in order, POST, record, schedule the retry.

`next_attempt_at` is both the retry schedule and the claim: a worker moves it CLAIM_SECONDS into
the future before sending, so a second worker (a redelivered task, the sweep) finds nothing due.
"""

import json
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from events import http, notifications, queue
from events.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from events.payloads import envelope, pins_of
from events.signing import signature

logger = logging.getLogger(__name__)

CLAIM_SECONDS = 60
# Delay after the nth failed attempt; the last one repeats until the delivery is given up.
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1), timedelta(hours=3), timedelta(hours=6))
GONE = 410  # Standard Webhooks: the receiver asks us to stop
PENDING = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


def retry_delay(failures: int) -> timedelta:
    return BACKOFF[min(failures, len(BACKOFF)) - 1]


def deliver(*, delivery_id: int, now: datetime | None = None) -> str:
    """Send the delivery if it is due, claimed by us, and the earlier events of its code are done."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return "not due"
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    if not delivery.endpoint.active:
        WebhookDelivery.objects.filter(pk=delivery_id).update(status=DeliveryStatus.DEAD, last_error="endpoint disabled")
        return "endpoint disabled"
    earlier_due = _earlier_of_code_due_at(delivery)
    if earlier_due is not None:
        # Parked until the earlier one has had its try; that one's end sends this one at once.
        WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=max(now, earlier_due) + timedelta(seconds=1))
        return "waits for an earlier event of its code"
    answer = _send(delivery, now)
    _record(delivery, answer, now)
    outcome = "delivered" if answer.ok else f"failed: {answer.error}"
    # Ids only: an endpoint's URL may carry a token of the receiver's.
    logger.info("webhook delivery %s (endpoint %s) %s in %d ms", delivery_id, delivery.endpoint_id, outcome, answer.latency_ms)
    return outcome


def _claim(delivery_id: int, now: datetime) -> bool:
    due = WebhookDelivery.objects.filter(pk=delivery_id, status__in=PENDING, next_attempt_at__lte=now)
    return bool(due.update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS)))


def _earlier_of_code_due_at(delivery: WebhookDelivery) -> datetime | None:
    """When the latest still-pending earlier event of the same code is next tried (None: none is)."""
    if delivery.code_id is None:
        return None
    earlier = WebhookDelivery.objects.filter(
        endpoint_id=delivery.endpoint_id, code_id=delivery.code_id, event_id__lt=delivery.event_id, status__in=PENDING
    )
    moments = list(earlier.values_list("next_attempt_at", flat=True)[:100])
    return max(moment or timezone.now() for moment in moments) if moments else None


def _send(delivery: WebhookDelivery, now: datetime) -> http.Answer:
    endpoint, event = delivery.endpoint, delivery.event
    pins = pins_of([event.code_id]) if endpoint.read_pins else None
    body = json.dumps(envelope(event, pins), separators=(",", ":")).encode()
    message_id, timestamp = f"evt_{event.pk}", int(now.timestamp())
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret=endpoint.secret, message_id=message_id, timestamp=timestamp, body=body),
    }
    return http.post(endpoint.url, body, headers)


def _record(delivery: WebhookDelivery, answer: http.Answer, now: datetime) -> None:
    number = delivery.attempts + 1
    fields = {"attempts": number, "last_status_code": answer.status_code, "last_latency_ms": answer.latency_ms, "last_error": answer.error}
    if answer.ok:
        fields.update(status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None)
    elif now - delivery.event.created_at >= timedelta(hours=settings.WEBHOOK_RETRY_HOURS):
        fields.update(status=DeliveryStatus.DEAD, next_attempt_at=None)
    else:
        fields.update(status=DeliveryStatus.FAILED, next_attempt_at=now + retry_delay(number))
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        WebhookAttempt.objects.create(
            delivery=delivery, number=number, at=now, status_code=answer.status_code, latency_ms=answer.latency_ms, error=answer.error
        )
        _endpoint_after(delivery.endpoint, answer, now)
    if fields["status"] != DeliveryStatus.FAILED:
        _send_next_of_code(delivery, now)


def _endpoint_after(endpoint: WebhookEndpoint, answer: http.Answer, now: datetime) -> None:
    if answer.ok:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
        return
    if answer.status_code == GONE:
        endpoint_disable(endpoint=endpoint, reason=gettext_noop("The endpoint answered 410 Gone."), now=now)
        return
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    failing_since = WebhookEndpoint.objects.values_list("failing_since", flat=True).get(pk=endpoint.pk)
    if now - failing_since >= timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS):
        endpoint_disable(endpoint=endpoint, reason=gettext_noop("Every delivery failed for a day."), now=now)


def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str, now: datetime, notify: bool = True) -> bool:
    """Stop sending to the endpoint; its owner is emailed once (after commit)."""
    disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(active=False, disabled_at=now, disabled_reason=reason)
    if disabled and notify:
        transaction.on_commit(lambda: notifications.endpoint_disabled(endpoint_id=endpoint.pk))
    return bool(disabled)


def _send_next_of_code(delivery: WebhookDelivery, now: datetime) -> None:
    if delivery.code_id is None:
        return
    following = WebhookDelivery.objects.filter(
        endpoint_id=delivery.endpoint_id, code_id=delivery.code_id, event_id__gt=delivery.event_id, status__in=PENDING
    ).order_by("event_id")
    next_id = following.values_list("pk", flat=True).first()
    if next_id is not None and WebhookDelivery.objects.filter(pk=next_id, status=DeliveryStatus.PENDING).update(next_attempt_at=now):
        queue.enqueue_deliveries([next_id])


def deliver_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """The sweep: hand each delivery due now to a worker (retries, and any the broker lost)."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(status__in=PENDING, next_attempt_at__lte=now, endpoint__active=True)
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    queue.enqueue_deliveries(ids)
    return len(ids)


def delivery_resend(*, delivery: WebhookDelivery, now: datetime | None = None) -> None:
    """Send a delivery again (a host's "re-send"): pending and due now. Past the event's retry
    window, a failing re-send is given up after that one attempt."""
    now = now or timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING, next_attempt_at=now)
    queue.enqueue_deliveries([delivery.pk])

