"""Account security records: what happened to an account, when and from where. Never a password,
a token or a PIN."""

from django.conf import settings
from django.db import models


class SecurityEventKind(models.TextChoices):
    SIGNED_IN = "signed_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    LOCKED_OUT = "locked_out", "Locked out after failed sign-ins"
    LOCK_OUT_LIFTED = "lock_out_lifted", "Lock-out lifted"
    SIGNED_OUT = "signed_out", "Signed out"
    SIGNED_OUT_EVERYWHERE = "signed_out_everywhere", "Signed out everywhere"
    SESSION_EXPIRED = "session_expired", "Session ended after inactivity"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
    PASSWORD_RESET = "password_reset", "Password reset"
    REAUTHENTICATED = "reauthenticated", "Identity confirmed again"
    REAUTHENTICATION_FAILED = "reauthentication_failed", "Identity confirmation failed"
    TWO_FACTOR_ENABLED = "two_factor_enabled", "Two-factor authentication turned on"
    TWO_FACTOR_DISABLED = "two_factor_disabled", "Two-factor authentication turned off"
    TWO_FACTOR_FAILED = "two_factor_failed", "Two-factor code refused"
    RECOVERY_CODES_CREATED = "recovery_codes_created", "Recovery codes created"
    RECOVERY_CODE_USED = "recovery_code_used", "Recovery code used"
    API_TOKEN_CREATED = "api_token_created", "API token created"
    API_TOKEN_REVOKED = "api_token_revoked", "API token revoked"
    LOCK_ACCOUNT_CONNECTED = "lock_account_connected", "Lock account connected"
    LOCK_ACCOUNT_DISCONNECTED = "lock_account_disconnected", "Lock account disconnected"
    CODES_EXPORTED = "codes_exported", "Door codes exported"


class SecurityEvent(models.Model):
    """One thing that happened to an account's security. `user` is None for a failed sign-in to
    a username that does not exist (the username tried is kept, as typed, cut short)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="security_events")
    username = models.CharField(max_length=150, blank=True, help_text="As typed at a failed sign-in; the account's otherwise.")
    kind = models.CharField(max_length=32, choices=SecurityEventKind.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="securityevent_user_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=SecurityEventKind.values), name="security_event_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.username or self.user_id})"
