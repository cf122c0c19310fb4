"""Small helpers the lifecycle tests share."""

from datetime import UTC, datetime, timedelta

from locks.services import scheduler


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def tick():
    """One scheduler pass with every claimed code processed inline, as a worker would."""
    return scheduler.run_pass(dispatch=scheduler.process_inline)


def current(booking):
    """The booking's current code, read afresh."""
    from locks.models import AccessCode

    return AccessCode.objects.get(booking=booking, is_current=True)


def passes(first: datetime, last: datetime, every: timedelta = timedelta(minutes=15)):
    """Beat's instants: every `every` from `first` to `last` inclusive."""
    moment = first
    while moment <= last:
        yield moment
        moment += every
