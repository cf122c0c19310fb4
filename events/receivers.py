"""Signal receivers, connected in EventsConfig.ready(): a few queries per signal, whatever its size."""

import logging

from events import outbox
from locks.signals import CodeEvent

logger = logging.getLogger(__name__)


def code_events(sender, events: list[CodeEvent], **kwargs) -> None:
    try:
        outbox.record_code_events(events)
    except Exception:  # the lifecycle step is done and committed: a lost event must not undo or break it
        logger.exception("recording %d code events failed", len(events))
