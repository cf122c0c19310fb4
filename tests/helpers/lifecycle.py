"""Small helpers the lifecycle tests share: instants, a scheduler pass, a booking's current code."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from locks.models import AccessCode
from locks.services import missing_codes, scheduler


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def tick():
    """What beat runs every sweep period, inline: the missing codes pass, then the scheduler pass
    with every claimed code processed as a worker would. The scheduler pass's report."""
    missing_codes.missing_codes_pass(timezone.now())
    return scheduler.run_pass(dispatch=scheduler.process_inline)


def current(booking) -> AccessCode:
    """The booking's current code, read afresh."""
    return AccessCode.objects.get(booking=booking, is_current=True)


def current_or_none(booking) -> AccessCode | None:
    """The booking's current code read afresh, or None when it has none."""
    return AccessCode.objects.filter(booking=booking, is_current=True).first()


def on_lock(cloud, vendor_lock_id="L1"):
    """The codes the fake cloud holds on one lock."""
    return cloud.codes_on(vendor_lock_id)


def passes(first: datetime, last: datetime, every: timedelta = timedelta(minutes=15)):
    """Beat's instants: every `every` from `first` to `last` inclusive."""
    moment = first
    while moment <= last:
        yield moment
        moment += every
