from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bookings.models import Property
from locks.providers import registry
from locks.providers.exceptions import OperationNotSupported
from nowistay.crypto import EncryptedJSONField, EncryptedTextField

LEAD_DAYS_MIN, LEAD_DAYS_MAX, LEAD_DAYS_DEFAULT = 1, 14, 5
LADDER_WARN_HOURS_DEFAULT, LADDER_FALLBACK_HOURS_DEFAULT, LADDER_HOURS_MAX = 24, 2, 168
BACKUP_CODES_DEFAULT, BACKUP_CODES_MAX = 2, 5
MARGIN_MINUTES_MIN, MARGIN_MINUTES_MAX, MARGIN_MINUTES_DEFAULT = 0, 240, 30


class Provider:
    """Slugs callers name often. Which vendors exist, and their names, is the registry's to say
    (locks.providers.registry): the `provider` fields take no choices, so a new vendor needs no migration."""

    TTLOCK = "ttlock"
    TEDEE = "tedee"
    NUKI = "nuki"
    IGLOOHOME = "igloohome"


def validate_provider(slug: str) -> None:
    """Only a vendor of the registry (forms, the admin, full_clean)."""
    if slug not in registry.PROVIDER_CLASSES:
        raise ValidationError(f"No lock provider “{slug}” is installed.")


def provider_name(slug: str) -> str:
    """The vendor's name for people (e.g. "TTLock"); the slug itself for a vendor no longer installed."""
    try:
        return registry.provider_class(slug).display_name
    except OperationNotSupported:
        return slug


class AccountStatus(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnecting")
    # Codes of upcoming stays being revoked in the background; the credentials go once that is done.
    DISCONNECTING = "disconnecting", _("Disconnecting")
    DISCONNECTED = "disconnected", _("Disconnected")


class ProviderAccount(models.Model):
    """A host's connection to one vendor cloud. Credentials and tokens never leave encrypted."""

    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider_accounts")
    provider = models.CharField(max_length=16, validators=[validate_provider])
    display_name = models.CharField("account name", max_length=200, blank=True)
    credentials = EncryptedJSONField(default=dict, blank=True, editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=AccountStatus.choices, default=AccountStatus.CONNECTED)
    last_error = models.CharField(max_length=500, blank=True)
    disconnect_started_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the last disconnection began (its report counts the codes retired since).")
    )
    disconnect_summary = models.CharField(
        max_length=500, blank=True, help_text=_("What the last disconnection did, for the host; empty once reconnected.")
    )
    budget_warned_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the host was last emailed that the account is near its vendor's API limit (once a month).")
    )
    connected_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["host_id", "provider"]
        constraints = [
            models.UniqueConstraint(fields=["host", "provider"], name="one_account_per_host_and_provider"),
            models.CheckConstraint(condition=Q(status__in=AccountStatus.values), name="account_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_name}: {self.display_name or 'unnamed account'}"

    @property
    def provider_name(self) -> str:
        return provider_name(self.provider)

    @property
    def needs_reconnect(self) -> bool:
        return self.status == AccountStatus.NEEDS_RECONNECT

    @property
    def disconnecting(self) -> bool:
        return self.status == AccountStatus.DISCONNECTING


class Lock(models.Model):
    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="locks")
    # Text, not an integer: Nuki ids exceed 32 bits and igloohome's are strings.
    vendor_lock_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    supports_remote_codes = models.BooleanField(
        default=False, help_text=_("Can take remote, time-limited keypad codes (a prerequisite for assignment).")
    )
    unavailable_reason = models.CharField(max_length=300, blank=True)
    is_online = models.BooleanField(null=True, blank=True, help_text=_("Live state at the last refresh; never blocks assignment."))
    vendor_time_zone = models.CharField(max_length=64, blank=True, help_text=_("The lock's own IANA zone, when reported."))
    vendor_utc_offset_minutes = models.IntegerField(null=True, blank=True, help_text=_("The lock's own UTC offset, when reported."))
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    # Read back from the vendor (issue 19): the lock's health and when its codes were last compared.
    battery_percent = models.PositiveSmallIntegerField(null=True, blank=True, help_text=_("As the vendor last reported it."))
    code_capacity = models.PositiveIntegerField(null=True, blank=True, help_text=_("How many codes the lock can hold, when reported."))
    codes_held = models.PositiveIntegerField(null=True, blank=True, help_text=_("How many codes it held at the last read-back."))
    offline_since = models.DateTimeField(null=True, blank=True, help_text=_("Since when the vendor reports it offline."))
    health_checked_at = models.DateTimeField(null=True, blank=True)
    health_alert_sent_at = models.DateTimeField(null=True, blank=True, help_text=_("Low battery or long offline: the host was emailed."))
    reconciled_at = models.DateTimeField(null=True, blank=True, help_text=_("When its codes were last listed and compared."))
    uses_read_until = models.DateTimeField(null=True, blank=True, help_text=_("The access log is read up to here."))
    read_backs_today = models.PositiveSmallIntegerField(default=0, help_text=_("Listings and log reads on `read_back_day`."))
    read_back_day = models.DateField(null=True, blank=True)
    # The last listing, for vendors that version it (Tedee): an unchanged list is then one call.
    listing_version = models.CharField(max_length=20, blank=True)
    listing_memo = EncryptedJSONField(null=True, blank=True, help_text=_("The codes of that listing, PINs included: encrypted."))

    class Meta:
        ordering = ["account_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "vendor_lock_id"], name="one_lock_per_vendor_id"),
            models.CheckConstraint(
                condition=Q(supports_remote_codes=True) | ~Q(unavailable_reason=""),
                name="unavailable_lock_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def provider(self) -> str:
        return self.account.provider


class CodeSource(models.TextChoices):
    RANDOM = "random", _("Random 6-digit PIN")
    GUEST_PHONE = "guest_phone", _("Last 6 digits of the guest's phone")


class FallbackKind(models.TextChoices):
    """A code given to the guest because theirs could not reach the lock in time (issue 20)."""

    OFFLINE = "offline", _("Offline code (issued by the vendor's cloud without reaching the lock)")
    BACKUP = "backup", _("Backup code (kept on the lock for this)")


class LockAssignment(models.Model):
    """Which lock opens a property. One per property whatever the brand; one property per lock."""

    property = models.OneToOneField(Property, on_delete=models.CASCADE, related_name="lock_assignment")
    lock = models.OneToOneField(Lock, on_delete=models.CASCADE, related_name="assignment")
    lead_days = models.PositiveSmallIntegerField(
        _("generate codes X days before arrival"),
        default=LEAD_DAYS_DEFAULT,
        validators=[MinValueValidator(LEAD_DAYS_MIN), MaxValueValidator(LEAD_DAYS_MAX)],
    )
    margin_minutes = models.PositiveSmallIntegerField(
        _("access margin (minutes)"),
        default=MARGIN_MINUTES_DEFAULT,
        validators=[MinValueValidator(MARGIN_MINUTES_MIN), MaxValueValidator(MARGIN_MINUTES_MAX)],
    )
    code_source = models.CharField(max_length=16, choices=CodeSource.choices, default=CodeSource.RANDOM)
    # Read from the lock's access log (issue 19): what the host asked to be emailed about.
    notify_first_entry = models.BooleanField(_("email me when a guest first enters"), default=False)
    notify_unused_code = models.BooleanField(_("email me when a code was not used by the end of check-in day"), default=False)
    # The escalation ladder (issue 20): what happens while a guest's code is still not on the lock.
    warn_host_hours_before = models.PositiveSmallIntegerField(
        _("email me if the code is not on the lock this many hours before check-in (0: never)"),
        default=LADDER_WARN_HOURS_DEFAULT,
        validators=[MaxValueValidator(LADDER_HOURS_MAX)],
    )
    send_fallback = models.BooleanField(_("send the guest an offline or backup code if theirs is not on the lock in time"), default=True)
    fallback_hours_before = models.PositiveSmallIntegerField(
        _("send it this many hours before check-in"),
        default=LADDER_FALLBACK_HOURS_DEFAULT,
        validators=[MaxValueValidator(LADDER_HOURS_MAX)],
    )
    remind_host_at_check_in = models.BooleanField(_("email me again at check-in if the code is still not on the lock"), default=True)
    backup_codes = models.PositiveSmallIntegerField(
        _("backup codes kept on the lock (locks without offline codes)"),
        default=BACKUP_CODES_DEFAULT,
        validators=[MaxValueValidator(BACKUP_CODES_MAX)],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["property_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lead_days__gte=LEAD_DAYS_MIN, lead_days__lte=LEAD_DAYS_MAX),
                name="assignment_lead_days_1_to_14",
            ),
            models.CheckConstraint(
                condition=Q(margin_minutes__gte=MARGIN_MINUTES_MIN, margin_minutes__lte=MARGIN_MINUTES_MAX),
                name="assignment_margin_0_to_240",
            ),
            models.CheckConstraint(condition=Q(code_source__in=CodeSource.values), name="assignment_code_source_valid"),
            models.CheckConstraint(
                condition=Q(warn_host_hours_before__lte=LADDER_HOURS_MAX, fallback_hours_before__lte=LADDER_HOURS_MAX),
                name="assignment_ladder_hours_in_range",
            ),
            models.CheckConstraint(condition=Q(backup_codes__lte=BACKUP_CODES_MAX), name="assignment_backup_codes_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.lock} → {self.property}"

    def clean(self) -> None:
        super().clean()
        if not (self.property_id and self.lock_id):
            return
        if self.lock.account.host_id != self.property.host_id:
            raise ValidationError({"lock": "This lock belongs to another host's account."})
        if not self.property.is_eligible_for_smart_lock:
            raise ValidationError(
                {"property": "Only properties on the Nowistay PMS with an active AI Assistant subscription can have a smart lock."}
            )
        if not self.lock.supports_remote_codes:
            raise ValidationError({"lock": f"This lock cannot take remote codes: {self.lock.unavailable_reason}"})


class CodeState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")  # waits for its generation moment
    CREATING = "creating", _("Being created")  # due; retried hourly while the vendor fails
    ACTIVE = "active", _("Active")  # on the lock with the window we want
    UPDATING = "updating", _("Being updated")  # on the lock, window or name to change
    REVOKING = "revoking", _("Being revoked")  # to delete from the lock (cancelled, moved)
    EXPIRING = "expiring", _("Being removed")  # window over, to delete from the lock
    SUPERSEDED = "superseded", _("Superseded")  # replaced, but the vendor cannot revoke it: valid until its end
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")
    FAILED = "failed", _("Failed")


# States in which a code may be on a lock now or soon (PIN uniqueness counts these).
LIVE_CODE_STATES = [
    CodeState.SCHEDULED,
    CodeState.CREATING,
    CodeState.ACTIVE,
    CodeState.UPDATING,
    CodeState.REVOKING,
    CodeState.EXPIRING,
    CodeState.SUPERSEDED,
]
FINAL_CODE_STATES = [CodeState.REVOKED, CodeState.EXPIRED, CodeState.FAILED]


ACCESS_LINK_MAX_LENGTH = 2048


class AccessCode(models.Model):
    """One keypad code of one booking on one lock, and the work still to do on it.

    `state` and `next_attempt_at` say what is due and when; `starts_at`/`ends_at` are the window we
    want, `lock_starts_at`/`lock_ends_at` the window the lock holds. A worker owns the row while
    `claimed_until` lies in the future; an expired claim is taken again by the scheduler.
    """

    # No index of their own: accesscode_booking_idx and accesscode_lock_state_idx begin with them.
    booking = models.ForeignKey("bookings.Booking", on_delete=models.CASCADE, related_name="access_codes", db_index=False)
    lock = models.ForeignKey(Lock, on_delete=models.PROTECT, related_name="access_codes", db_index=False)
    state = models.CharField(max_length=12, choices=CodeState.choices, default=CodeState.SCHEDULED)
    is_current = models.BooleanField(default=True, help_text=_("The code the booking's guest should use."))
    pin = EncryptedTextField(null=True, blank=True, editable=False)
    # A link that opens the door, for vendors whose guests get one (`Capabilities.access_links`);
    # a secret like the PIN, so encrypted too. At most ACCESS_LINK_MAX_LENGTH characters.
    access_link = EncryptedTextField(null=True, blank=True, editable=False)
    vendor_code_id = models.CharField(max_length=64, blank=True)
    usage_note = models.CharField(max_length=300, blank=True, help_text=_("For the guest's messages."))
    warning = models.CharField(max_length=500, blank=True, help_text=_("For the host: what this code does that they may not expect."))
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    lock_starts_at = models.DateTimeField(null=True, blank=True)
    lock_ends_at = models.DateTimeField(null=True, blank=True)
    generate_at = models.DateTimeField(help_text=_("When the code is due to be created."))
    retry_deadline = models.DateTimeField(help_text=_("Creation stops being retried here."))
    alert_at = models.DateTimeField(help_text=_("If still failing here, the host is emailed once."))
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    create_outcome_unknown = models.BooleanField(
        default=False, help_text=_("A create was sent and its answer never came: look before creating again.")
    )
    pin_rejections = models.PositiveSmallIntegerField(default=0)
    # A write the vendor may have carried out that its listing does not show yet (Nuki applies
    # writes asynchronously; a timed-out create may land late): looked for, never sent twice.
    awaiting_lock_since = models.DateTimeField(
        null=True, blank=True, help_text=_("Since when a write that may be on the lock is waited for in the vendor's listing.")
    )
    unconfirmed_write_at = models.DateTimeField(null=True, blank=True, help_text=_(
        "When a create that may be on the lock without being listed was last sent "
        "(unanswered, accepted but not applied yet, or refused as already there)."
    ))
    awaiting_reason = models.CharField(max_length=16, blank=True, help_text=_(
        "pending: the vendor accepted it; pin_taken: the vendor said the PIN is already on the lock."
    ))
    variance = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("igloohome: which of the three codes of its start slot this is (1-3).")
    )
    vendor_wait_until = models.DateTimeField(
        null=True, blank=True, help_text=_("The vendor asked for nothing to be sent for this code before then (Retry-After).")
    )
    manual_retry_at = models.DateTimeField(null=True, blank=True, help_text=_("When someone last pressed Retry now."))
    fallback = models.CharField(max_length=8, choices=FallbackKind.choices, blank=True, help_text=_(
        "Given when the guest's code was late."))
    # Read back (issue 19): a write counts as on the lock once a listing shows it.
    confirmed_on_lock_at = models.DateTimeField(null=True, blank=True, help_text=_("When a listing last showed it as it should be."))
    first_used_at = models.DateTimeField(null=True, blank=True, help_text=_("The first keypad opening with this code."))
    last_used_at = models.DateTimeField(null=True, blank=True, help_text=_("The latest keypad opening with this code."))
    first_use_notified_at = models.DateTimeField(null=True, blank=True)
    unused_notified_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_kind = models.CharField(max_length=32, blank=True)
    first_failure_at = models.DateTimeField(null=True, blank=True)
    alert_sent_at = models.DateTimeField(null=True, blank=True)
    failure_notified_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True, help_text=_("Superseded: when it was retired while still working."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="accesscode_due_idx",
                condition=Q(next_attempt_at__isnull=False),
            ),
            models.Index(fields=["lock", "state"], name="accesscode_lock_state_idx"),
            models.Index(fields=["booking", "is_current"], name="accesscode_booking_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["booking"], condition=Q(is_current=True), name="one_current_code_per_booking"
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="code_window_ends_after_start"),
            models.CheckConstraint(condition=Q(state__in=CodeState.values), name="code_state_valid"),
            # A failed code whose last create went unanswered keeps one job: find and remove it.
            models.CheckConstraint(
                condition=~Q(state__in=FINAL_CODE_STATES)
                | Q(next_attempt_at__isnull=True)
                | Q(state=CodeState.FAILED, create_outcome_unknown=True),
                name="final_code_has_no_next_attempt",
            ),
        ]

    def __str__(self) -> str:
        return f"Code {self.pk} ({self.get_state_display()}) for booking {self.booking_id}"

    @property
    def vendor_name(self) -> str:
        """The deterministic name of this code on the lock: instance prefix + our id."""
        return f"{settings.INSTANCE_ID}-{self.pk}"


class CallOutcome(models.TextChoices):
    OK = "ok", _("Succeeded")
    TRANSIENT = "transient", _("Failed, will retry")
    PERMANENT = "permanent", _("Failed, needs attention")
    UNKNOWN = "unknown", _("Outcome unknown")
    LOCAL = "local", _("Refused before sending")  # our own checks refused it: no request left


class VendorCall(models.Model):
    """Audit trail: one row per request to a vendor. Never a secret, token or PIN."""

    account = models.ForeignKey(ProviderAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    provider = models.CharField(max_length=16, validators=[validate_provider])
    operation = models.CharField(max_length=32)
    access_code = models.ForeignKey(AccessCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="vendor_calls")
    lock = models.ForeignKey(Lock, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=12, choices=CallOutcome.choices)
    error_kind = models.CharField(max_length=32, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)  # the call's end (rows are written in batches)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["provider", "created_at"], name="vendorcall_provider_idx"),
            # An account's calls today and this month (locks.services.api_budget): one range per account.
            models.Index(fields=["account", "created_at"], name="vendorcall_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.operation}: {self.outcome}"

