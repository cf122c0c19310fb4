"""The event outbox (also the API's event feed) and the hosts' signed webhooks.

An Event's payload holds ids, states and times, never a PIN: the PIN is read from the code when an
event is delivered to an endpoint (or served to a token) allowed to read PINs.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from nowistay.crypto import EncryptedTextField
from nowistay.fields import SingleLineCharField

URL_MAX_LENGTH = 500
ERROR_MAX_LENGTH = 500


class EventKind(models.TextChoices):
    CODE_SCHEDULED = "access_code.scheduled", _("Code planned (created on its lock at its generation moment)")
    CODE_CREATED = "access_code.created", _("Code created on its lock")
    CODE_CHANGED = "access_code.changed", _("Code's times changed on its lock")
    CODE_REMOVED = "access_code.removed", _("Code removed from its lock")
    CODE_FAILED = "access_code.failed", _("Code could not be set")
    CODE_RETRYING = "access_code.retrying", _("Code failed for now, retried later")
    CODE_UNREVOCABLE = "access_code.unrevocable", _("Code cannot be removed before its end")
    CODE_FIRST_USED = "access_code.first_used", _("Code used for the first time")
    CODE_FALLBACK_SENT = "access_code.fallback_sent", _("Fallback code given")
    CODE_CONFIRMED = "access_code.confirmed_on_lock", _("Code seen on its lock")
    CODE_DRIFT_REPAIRED = "access_code.drift_repaired", _("Code changed or removed on the lock, being put back")
    BOOKING_CODE_READY = "booking.code_ready", _("Booking's code ready for its messages")
    TEST = "webhook.test", _("Test event")


class Event(models.Model):
    """Something that happened to a host's code. The id is the feed's cursor: ascending, never reused."""

    id = models.BigAutoField(primary_key=True)
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=40, choices=EventKind.choices)
    booking_id = models.BigIntegerField(null=True, blank=True)
    code_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["host", "id"], name="event_host_id_idx")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class WebhookEndpoint(models.Model):
    """Where a host's (or, without a host, every host's) events are POSTed, signed with `secret`."""

    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="webhook_endpoints",
        help_text=_("Empty: a platform-wide endpoint receiving every host's events."),
    )
    url = models.URLField(_("URL"), max_length=URL_MAX_LENGTH)
    description = SingleLineCharField(max_length=100, blank=True)
    kinds = models.JSONField(default=list, blank=True, help_text=_("Event kinds sent; empty: all."))
    read_pins = models.BooleanField(_("may receive guests' PINs"), default=False)
    secret = EncryptedTextField(editable=False)
    active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True, help_text=_("Every delivery has failed since then."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed, retried later")
    DEAD = "dead", _("Given up")


class WebhookDelivery(models.Model):
    """One event to one endpoint. `next_attempt_at` both schedules retries and holds a claim:
    a worker moves it into the future before sending."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    code_id = models.BigIntegerField(null=True, blank=True, help_text=_("The event's code: its deliveries go in order."))
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=ERROR_MAX_LENGTH, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = _("webhook deliveries")
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_endpoint_event_uniq")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["endpoint", "code_id", "event"], name="delivery_code_order_idx"),
        ]

    def __str__(self) -> str:
        return f"event {self.event_id} → endpoint {self.endpoint_id}: {self.status}"


class WebhookAttempt(models.Model):
    """One POST of a delivery, for the host's per-endpoint log."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=ERROR_MAX_LENGTH, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.status_code or self.error}"
