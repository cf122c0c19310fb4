"""Small helpers the lifecycle tests share."""

from datetime import datetime, timezone as dt_timezone

from locks.services import scheduler


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=dt_timezone.utc)


def tick():
    """One scheduler pass with every claimed code processed inline, as a worker would."""
    return scheduler.run_pass(dispatch=scheduler.process_inline)
