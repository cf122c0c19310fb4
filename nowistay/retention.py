"""The daily retention job across apps: the locks' audit trail and guest data, the guest
messages' ledger (which keeps the PINs and texts sent), and the API's idempotency keys (24 hours)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from bookings.api.idempotency import prune_keys
from locks.services import housekeeping
from messaging.services import deliveries_erase_personal_data


def prune_old_data(*, now: datetime | None = None) -> str:
    now = now or timezone.now()
    report = housekeeping.prune(now=now)
    guest_cutoff = (now - timedelta(days=settings.RETENTION_GUEST_DATA_DAYS)).date()
    messages = deliveries_erase_personal_data(departed_before=guest_cutoff)
    keys = prune_keys(now=now)
    return f"{report.summary()}, {messages} sent messages' texts and PINs erased, {keys} API idempotency keys deleted"
