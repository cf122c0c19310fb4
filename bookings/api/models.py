"""API tokens: how a host's PMS authenticates to the booking API (/api/v1/).

Lives in the `bookings` app (imported at the end of bookings/models.py). A token is shown once, at
creation; only its SHA-256 digest is stored, so a database leak gives no working token.
"""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from nowistay.fields import SingleLineCharField


class ApiTokenQuerySet(models.QuerySet):
    def active(self, now: datetime | None = None) -> "ApiTokenQuerySet":
        """Neither revoked nor expired: the tokens the API accepts (and the host's cap counts)."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiToken(models.Model):
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = SingleLineCharField(max_length=100, help_text="What the token is for, e.g. the PMS's name.")
    prefix = models.CharField(max_length=16, editable=False, help_text="The token's first characters, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    read_pins = models.BooleanField("may read guests' PINs", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, editable=False, help_text="Refused from this moment on; empty: never expires.")
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        app_label = "bookings"
        verbose_name = "API token"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["host", "created_at"], name="apitoken_host_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def scopes(self) -> list[str]:
        return ["read_pins"] if self.read_pins else []


class IdempotencyKey(models.Model):
    """A write request sent with an Idempotency-Key header, and the answer it got (bookings.api.idempotency).

    `status_code` is null while the first request is still being answered. Kept 24 hours
    (IDEMPOTENCY_KEY_LIFETIME), then pruned by the daily retention job.
    """

    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=2048)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "bookings"
        constraints = [models.UniqueConstraint(fields=["host", "key"], name="one_idempotency_key_per_host")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"


from bookings.api import checks  # noqa: E402,F401  (registers the API's system check)
