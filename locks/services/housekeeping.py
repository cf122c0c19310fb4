"""Retention: the audit trail and guests' personal data are kept only as long as they are useful.

- Vendor-call audit rows older than RETENTION_AUDIT_DAYS are deleted.
- Bookings that ended more than RETENTION_GUEST_DATA_DAYS ago lose the guest's name, e-mail and
  phone, and their finished codes lose the stored PIN; the booking and code rows stay (counts,
  dates and states remain for the audit of what happened).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bookings.models import Booking
from locks.models import FINAL_CODE_STATES, AccessCode, VendorCall

REMOVED_GUEST_NAME = "(removed)"
_BATCH = 1000


@dataclass(frozen=True)
class PruneReport:
    audit_rows_deleted: int
    bookings_anonymised: int
    pins_erased: int

    def summary(self) -> str:
        return (
            f"{self.audit_rows_deleted} audit rows deleted, {self.bookings_anonymised} bookings anonymised, "
            f"{self.pins_erased} PINs erased"
        )


def prune(*, now: datetime | None = None) -> PruneReport:
    now = now or timezone.now()
    audit_cutoff = now - timedelta(days=settings.RETENTION_AUDIT_DAYS)
    guest_cutoff = (now - timedelta(days=settings.RETENTION_GUEST_DATA_DAYS)).date()
    return PruneReport(
        audit_rows_deleted=_delete_in_batches(VendorCall.objects.filter(created_at__lt=audit_cutoff)),
        bookings_anonymised=_anonymise_bookings(guest_cutoff),
        pins_erased=_erase_pins(guest_cutoff),
    )


def _delete_in_batches(queryset) -> int:
    """Short transactions: a large first run must not hold locks on the audit table for long."""
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:_BATCH])
        if not ids:
            return total
        with transaction.atomic():
            total += queryset.model.objects.filter(pk__in=ids).delete()[0]


def _anonymise_bookings(cutoff) -> int:
    stale = Booking.objects.filter(departure_date__lt=cutoff).exclude(guest_name=REMOVED_GUEST_NAME, guest_email="", guest_phone="")
    return stale.update(guest_name=REMOVED_GUEST_NAME, guest_email="", guest_phone="")


def _erase_pins(cutoff) -> int:
    finished = AccessCode.objects.filter(booking__departure_date__lt=cutoff, state__in=FINAL_CODE_STATES).filter(
        Q(pin__isnull=False) | Q(access_link__isnull=False)
    )
    return finished.update(pin=None, access_link=None)
