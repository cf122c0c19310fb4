"""Account security records: what happened to an account, when and from where. Never a password,
a token or a PIN."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SecurityEventKind(models.TextChoices):
    SIGNED_IN = "signed_in", _("Signed in")
    SIGN_IN_FAILED = "sign_in_failed", _("Sign-in failed")
    LOCKED_OUT = "locked_out", _("Locked out after failed sign-ins")
    LOCK_OUT_LIFTED = "lock_out_lifted", _("Lock-out lifted")
    SIGNED_OUT = "signed_out", _("Signed out")
    SIGNED_OUT_EVERYWHERE = "signed_out_everywhere", _("Signed out everywhere")
    SESSION_EXPIRED = "session_expired", _("Session ended after inactivity")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    PASSWORD_RESET_REQUESTED = "password_reset_requested", _("Password reset requested")
    PASSWORD_RESET = "password_reset", _("Password reset")
    REAUTHENTICATED = "reauthenticated", _("Identity confirmed again")
    REAUTHENTICATION_FAILED = "reauthentication_failed", _("Identity confirmation failed")
    TWO_FACTOR_ENABLED = "two_factor_enabled", _("Two-factor authentication turned on")
    TWO_FACTOR_DISABLED = "two_factor_disabled", _("Two-factor authentication turned off")
    TWO_FACTOR_FAILED = "two_factor_failed", _("Two-factor code refused")
    RECOVERY_CODES_CREATED = "recovery_codes_created", _("Recovery codes created")
    RECOVERY_CODE_USED = "recovery_code_used", _("Recovery code used")
    API_TOKEN_CREATED = "api_token_created", _("API token created")
    API_TOKEN_REVOKED = "api_token_revoked", _("API token revoked")
    LOCK_ACCOUNT_CONNECTED = "lock_account_connected", _("Lock account connected")
    LOCK_ACCOUNT_DISCONNECTED = "lock_account_disconnected", _("Lock account disconnected")
    CODES_EXPORTED = "codes_exported", _("Door codes exported")


class SecurityEvent(models.Model):
    """One thing that happened to an account's security. `user` is None for a failed sign-in to
    a username that does not exist (the username tried is kept, as typed, cut short)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="security_events")
    username = models.CharField(max_length=150, blank=True, help_text=_("As typed at a failed sign-in; the account's otherwise."))
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


class SignInLockout(models.Model):
    """A lock-out of an account (the username typed, existing or not) and/or a client address after
    too many failed sign-ins (accounts.throttle). It lasts until `ends_at`, unless staff lift it;
    each earlier lock-out of the same account or address still remembered makes the next one longer."""

    username = models.CharField(max_length=255, blank=True, help_text=_("The account locked out; empty when only the address was."))
    ip_address = models.GenericIPAddressField(
        null=True, blank=True, help_text=_("The address locked out; empty when only the account was.")
    )
    locked_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-locked_at", "-id"]
        verbose_name = _("sign-in lock-out")
        indexes = [
            models.Index(fields=["username", "-ends_at"], name="lockout_username_idx"),
            models.Index(fields=["ip_address", "-ends_at"], name="lockout_address_idx"),
        ]

    def __str__(self) -> str:
        whom = [self.username and f"account “{self.username}”", self.ip_address and f"address {self.ip_address}"]
        return " and ".join(filter(None, whom))


class SessionCutoff(models.Model):
    """Sessions of `user` that began before `cutoff` are over ("Sign out everywhere", turning on
    two-factor authentication). Read with the user on every request (accounts.backends)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="session_cutoff")
    cutoff = models.DateTimeField()

    def __str__(self) -> str:
        return f"sessions of user {self.user_id} begun before {self.cutoff}"


class HostPreferences(models.Model):
    """What a host chose for their own pages and emails."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="preferences")
    language = models.CharField(
        max_length=8, blank=True, choices=settings.LANGUAGES,
        help_text=_("Pages and emails in this language; empty: the browser's language."),
    )
    # The browser's language at the last sign-in: the emails' language while `language` is empty.
    browser_language = models.CharField(max_length=8, blank=True, editable=False)

    class Meta:
        verbose_name_plural = _("host preferences")

    def __str__(self) -> str:
        return f"preferences of user {self.user_id}"
