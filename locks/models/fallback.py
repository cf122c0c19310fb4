"""No guest left outside (issue 20): the escalation ladder's steps on a booking, and the backup
codes kept on locks whose vendor cannot issue a code without reaching the lock."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from locks.models.core import AccessCode, Lock
from nowistay.crypto import EncryptedTextField


class LadderStepKind(models.TextChoices):
    HOST_WARNED = "host_warned", _("The host was told the code is not on the lock yet")
    FALLBACK_SENT = "fallback_sent", _("The guest was given an offline or backup code")
    NO_FALLBACK = "no_fallback", _("No offline or backup code could be given")
    HOST_REMINDED = "host_reminded", _("The host was told again at check-in")


class LadderStep(models.Model):
    """One step of the escalation ladder taken for a booking: each at most once, in plain words."""

    booking = models.ForeignKey("bookings.Booking", on_delete=models.CASCADE, related_name="ladder_steps")
    kind = models.CharField(max_length=16, choices=LadderStepKind.choices)
    access_code = models.ForeignKey(AccessCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.CharField(max_length=500, help_text=_("Plain words; never a PIN."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "kind"], name="one_ladder_step_of_a_kind_per_booking"),
            models.CheckConstraint(condition=Q(kind__in=LadderStepKind.values), name="ladder_step_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (booking {self.booking_id})"


class BackupState(models.TextChoices):
    PROGRAMMING = "programming", _("Being put on the lock")
    READY = "ready", _("On the lock, unassigned")
    ASSIGNED = "assigned", _("Given to a guest")
    RETIRING = "retiring", _("Being removed from the lock")
    GONE = "gone", _("Removed")


# States in which a backup code may be on its lock unassigned: its PIN is taken there.
POOL_STATES = [BackupState.PROGRAMMING, BackupState.READY, BackupState.RETIRING]


class BackupCode(models.Model):
    """A code kept on a lock, valid for weeks, given to a guest whose own code did not reach the
    lock in time. Its PIN is never shown before it is assigned; once given it becomes the booking's
    code (`access_code`) and follows that code's life; the pool is then topped up."""

    lock = models.ForeignKey(Lock, on_delete=models.CASCADE, related_name="backup_codes")
    state = models.CharField(max_length=12, choices=BackupState.choices, default=BackupState.PROGRAMMING)
    pin = EncryptedTextField(null=True, blank=True, editable=False)
    vendor_code_id = models.CharField(max_length=64, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    access_code = models.OneToOneField(AccessCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="backup")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["lock_id", "id"]
        indexes = [models.Index(fields=["lock", "state"], name="backup_lock_state_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=BackupState.values), name="backup_state_valid"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="backup_window_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"Backup code {self.pk} ({self.get_state_display()}) on {self.lock}"

    @property
    def vendor_name(self) -> str:
        """Its name on the lock: our prefix, `b` and our id (our codes' names are the prefix and a number)."""
        return f"{settings.INSTANCE_ID}-b{self.pk}"
