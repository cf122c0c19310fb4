"""What reading the locks back finds: findings in plain words, and codes Nowistay does not manage."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from locks.models.core import AccessCode, Lock
from nowistay.crypto import EncryptedTextField


class FindingKind(models.TextChoices):
    MISSING_ON_LOCK = "missing_on_lock", _("Our code was missing on the lock and was put back")
    MODIFIED_EXTERNALLY = "modified_externally", _("Our code was changed outside Nowistay and was restored")
    ORPHAN_REMOVED = "orphan_removed", _("A code named as ours that no booking explains was removed")
    UNMANAGED_CODE = "unmanaged_code", _("A code Nowistay does not manage is on the lock")
    CAPACITY_LOW = "capacity_low", _("The lock is close to its code capacity")
    BATTERY_LOW = "battery_low", _("The lock's battery is low")
    OFFLINE_LONG = "offline_long", _("The lock has been offline for long")


class LockFinding(models.Model):
    """What reading a lock back found, in plain words for the host and staff (one row per finding)."""

    lock = models.ForeignKey(Lock, on_delete=models.CASCADE, related_name="findings")
    access_code = models.ForeignKey(AccessCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings")
    kind = models.CharField(max_length=24, choices=FindingKind.choices)
    detail = models.CharField(max_length=500, help_text=_("Plain words; never a PIN."))
    vendor_code_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    host_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["lock", "kind", "created_at"], name="finding_lock_kind_idx")]
        constraints = [models.CheckConstraint(condition=Q(kind__in=FindingKind.values), name="finding_kind_valid")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.lock}"


class UnmanagedCode(models.Model):
    """A code on a lock that Nowistay did not make (a cleaner's, the owner's): listed for the host,
    never changed or deleted, and its PIN is never chosen for a guest."""

    lock = models.ForeignKey(Lock, on_delete=models.CASCADE, related_name="unmanaged_codes")
    vendor_code_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    pin = EncryptedTextField(null=True, blank=True, help_text=_("Kept only to never give a guest the same PIN."))
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["lock_id", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["lock", "vendor_code_id"], name="one_unmanaged_row_per_vendor_code")]

    def __str__(self) -> str:
        return f"{self.name or 'unnamed code'} on {self.lock}"
