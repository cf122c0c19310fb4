"""A host's "Rotate code": the booking's code replaced by one with a new PIN, the old one revoked
(or on record as unrevocable), and the guest sent the new one. The record links the rows that do
the work; how far each step got is read from those rows (`locks.rotation_status`,
`messaging.rotations`), never copied here."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from locks.models.core import AccessCode


class RotationSource(models.TextChoices):
    BOOKING_PAGE = "booking_page", _("the booking page")
    API = "api", _("the PMS API")


class CodeRotation(models.Model):
    """One rotation of one booking's code. A code is rotated away at most once (`old_code` is
    unique): a repeated request finds the booking's current code is already the new one."""

    booking = models.ForeignKey("bookings.Booking", on_delete=models.CASCADE, related_name="code_rotations")
    old_code = models.ForeignKey(AccessCode, on_delete=models.CASCADE, related_name="+", help_text=_("The code rotated away."))
    new_code = models.ForeignKey(AccessCode, on_delete=models.CASCADE, related_name="+", help_text=_("The code with the new PIN."))
    requested_via = models.CharField(max_length=16, choices=RotationSource.choices)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["booking", "created_at"], name="rotation_booking_idx")]
        constraints = [
            models.UniqueConstraint(fields=["old_code"], name="one_rotation_per_old_code"),
            models.UniqueConstraint(fields=["new_code"], name="one_rotation_per_new_code"),
            models.CheckConstraint(condition=Q(requested_via__in=RotationSource.values), name="rotation_source_valid"),
            models.CheckConstraint(condition=~Q(old_code=models.F("new_code")), name="rotation_new_code_is_another"),
        ]

    def __str__(self) -> str:
        return f"Code rotation of booking {self.booking_id} ({self.created_at:%Y-%m-%d %H:%M})"
