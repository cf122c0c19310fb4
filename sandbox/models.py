"""Virtual vendor accounts, locks and codes, with the faults a test or a host can switch on."""

from datetime import UTC, datetime

from django.core import signing
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

GUEST_LINK_SALT = "sandbox.homeit.key-link"  # signs a homeit key's invitation link (sandbox/vendors/homeit.py)
# A code without a window (permanent, as codes made in a vendor's app often are) is stored between these.
ALWAYS_FROM = datetime(1970, 1, 1, tzinfo=UTC)
ALWAYS_UNTIL = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


class Vendor(models.TextChoices):
    TTLOCK = "ttlock", "TTLock"
    TEDEE = "tedee", "Tedee"
    NUKI = "nuki", "Nuki"
    IGLOOHOME = "igloohome", "igloohome"
    HOMEIT = "homeit", "homeit"


class Faults(models.Model):
    """Switchable misbehaviour; both accounts and locks carry it (a lock's adds to its account's)."""

    offline = models.BooleanField(default=False, help_text="Gateway, bridge or lock unreachable.")
    server_errors = models.PositiveIntegerField(default=0, help_text="Answer the next N requests with a 5xx.")
    timeouts = models.PositiveIntegerField(default=0, help_text="Hang the next N requests past the client's timeout.")
    rate_limited = models.PositiveIntegerField(default=0, help_text="Answer the next N requests with 429 and Retry-After.")
    retry_after_seconds = models.PositiveIntegerField(default=60)
    lose_responses = models.PositiveIntegerField(default=0, help_text="Act on the next N writes, then break the answer.")
    latency_ms = models.PositiveIntegerField(default=0)
    # Probabilistic switches, for chaos runs (benchmarks/chaos.py): each request rolls the dice.
    failure_rate = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of requests (0-1), drawn at random, answered with a transient failure (5xx or 429) without acting.",
    )
    loss_rate = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of writes (0-1), drawn at random, acted on and then their answer lost.",
    )
    slow_rate = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of writes (0-1), drawn at random, answered late: the vendor waits up to slow_seconds "
        "(drawn at random), then acts and answers; a wait past the client's timeout leaves the outcome unknown.",
    )
    slow_seconds = models.FloatField(default=0.0, validators=[MinValueValidator(0.0)], help_text="The longest wait of a slow write.")
    apply_delay_seconds = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0)],
        help_text="Asynchronous applies (TTLock via its gateway, Nuki via its bridge): a code created, its window "
        "changed or the code deleted is accepted at once, but on the lock, and in its listing, only this many seconds later.",
    )

    class Meta:
        abstract = True


class VirtualAccount(Faults):
    vendor = models.CharField(max_length=16, choices=Vendor.choices)
    login = models.CharField(max_length=200, help_text="Username / email / client id, as the vendor names it.")
    password = models.CharField(max_length=200, blank=True, help_text="Sandbox only: a demo secret, shown on purpose.")
    display_name = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vendor", "login"], name="sandbox_one_login_per_vendor")]

    def __str__(self) -> str:
        return f"{self.get_vendor_display()} {self.login}"


class VirtualToken(models.Model):
    account = models.ForeignKey(VirtualAccount, on_delete=models.CASCADE, related_name="tokens")
    access_token = models.CharField(max_length=200, unique=True)
    refresh_token = models.CharField(max_length=200, unique=True)
    expires_at = models.DateTimeField()
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:  # never the token itself
        return f"token {self.pk} of account {self.account_id}"


class VirtualLock(Faults):
    account = models.ForeignKey(VirtualAccount, on_delete=models.CASCADE, related_name="locks")
    vendor_lock_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=40, help_text="eligible, no_gateway, old_passcodes, no_keypad, offline, not_admin")
    has_gateway = models.BooleanField(default=True)
    has_keypad = models.BooleanField(default=True)
    is_admin = models.BooleanField(default=True)
    passcode_version = models.PositiveSmallIntegerField(default=4)
    time_zone = models.CharField(max_length=64, default="Europe/Paris")
    capacity = models.PositiveIntegerField(default=150)
    battery_percent = models.PositiveSmallIntegerField(default=87, validators=[MaxValueValidator(100)])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "vendor_lock_id"], name="sandbox_one_lock_id")]
        ordering = ["account_id", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.account.get_vendor_display()})"


class VirtualCodeQuerySet(models.QuerySet):
    def applied(self):
        """The codes on the lock now: without those accepted but not applied yet, nor those whose
        removal has been applied (asynchronous applies; sandbox.faults.settle_applies)."""
        now = timezone.now()
        return self.exclude(applies_at__gt=now).exclude(removes_at__lte=now)


class VirtualCode(models.Model):
    lock = models.ForeignKey(VirtualLock, on_delete=models.CASCADE, related_name="codes")
    vendor_code_id = models.CharField(max_length=64)
    name = models.CharField(max_length=100)
    pin = models.CharField(max_length=12)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    revocable = models.BooleanField(default=True)
    added_in_app = models.BooleanField(default=False, help_text="Made in the vendor's app (a drift switch): not Nowistay's.")
    created_at = models.DateTimeField(auto_now_add=True)
    # Asynchronous applies (Faults.apply_delay_seconds): a write accepted, on the lock only later.
    applies_at = models.DateTimeField(
        null=True, blank=True, help_text="Created, not on the lock until then: neither listed nor opening."
    )
    removes_at = models.DateTimeField(null=True, blank=True, help_text="Deleted, still on the lock until then.")
    window_changes_at = models.DateTimeField(
        null=True, blank=True, help_text="Its window changed to next_starts_at/next_ends_at, on the lock only then."
    )
    next_starts_at = models.DateTimeField(null=True, blank=True)
    next_ends_at = models.DateTimeField(null=True, blank=True)

    objects = VirtualCodeQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.vendor_code_id}) on lock {self.lock_id}"

    def opens_at(self, moment) -> bool:
        return self.starts_at <= moment < self.ends_at

    @property
    def starts_always(self) -> bool:
        return self.starts_at <= ALWAYS_FROM

    @property
    def ends_never(self) -> bool:
        return self.ends_at.year >= ALWAYS_UNTIL.year  # the vendors' "no end" sentinels all fall in year 9999

    @property
    def guest_token(self) -> str:
        """The token of a homeit key's invitation link: the code's id, signed, so links cannot be guessed."""
        return signing.Signer(salt=GUEST_LINK_SALT).sign(str(self.pk))


class VirtualCodeUse(models.Model):
    """A PIN typed on a virtual lock's keypad (door page or /_control): what the vendors' access logs
    answer. Refused PINs are kept too, as the vendors log them (the adapters skip them)."""

    lock = models.ForeignKey(VirtualLock, on_delete=models.CASCADE, related_name="uses")
    code = models.ForeignKey(VirtualCode, on_delete=models.SET_NULL, null=True, blank=True, related_name="uses")
    vendor_code_id = models.CharField(max_length=64, blank=True, help_text="Kept when the code is deleted later.")
    name = models.CharField(max_length=100, blank=True, help_text="The code's name when it was typed.")
    pin = models.CharField(max_length=12)
    at = models.DateTimeField()
    opened = models.BooleanField()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.pin} on lock {self.lock_id} at {self.at:%Y-%m-%d %H:%M} ({'opened' if self.opened else 'refused'})"


class ReceivedWebhook(models.Model):
    """A delivery the sandbox's webhook receiver got (sandbox/webhooks.py)."""

    received_at = models.DateTimeField(auto_now_add=True)
    webhook_id = models.CharField(max_length=100, blank=True)
    event_type = models.CharField(max_length=100, blank=True)
    body = models.TextField()
    verified = models.BooleanField()
    problem = models.CharField(max_length=200, blank=True, help_text="Why the signature does not hold.")

    def __str__(self) -> str:
        return f"{self.event_type or 'webhook'} {self.webhook_id} ({'verified' if self.verified else 'refused'})"


class WebhookReceiverSwitch(models.Model):
    """One row: whether the receiver is down (answers 503 to every delivery)."""

    down = models.BooleanField(default=False)

    def __str__(self) -> str:
        return "down" if self.down else "up"

    @classmethod
    def is_down(cls) -> bool:
        return cls.objects.filter(pk=1, down=True).exists()

    @classmethod
    def set_down(cls, down: bool) -> None:
        cls.objects.update_or_create(pk=1, defaults={"down": down})


class RecordedMessage(models.Model):
    """An SMS or WhatsApp message the sandbox's provider emulators accepted (sandbox/messages.py)."""

    SMS, WHATSAPP = "sms", "whatsapp"

    created_at = models.DateTimeField(auto_now_add=True)
    channel = models.CharField(max_length=16, choices=[(SMS, "SMS"), (WHATSAPP, "WhatsApp")])
    provider_id = models.CharField(max_length=128, unique=True)
    to = models.CharField(max_length=32)
    sender = models.CharField(max_length=64, blank=True)
    body = models.TextField()
    template_name = models.CharField(max_length=512, blank=True)
    language = models.CharField(max_length=16, blank=True)
    callback_data = models.CharField(max_length=512, blank=True, help_text="Twilio's StatusCallback; WhatsApp's biz_opaque_callback_data.")
    status = models.CharField(max_length=16, default="queued", help_text="The last status posted back.")
    callback_problem = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.to} ({self.status})"


class SandboxSetting(models.Model):
    """Values the sandbox's control endpoints set, e.g. where the WhatsApp emulator posts its status webhooks."""

    name = models.CharField(max_length=64, unique=True)
    value = models.CharField(max_length=500)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
