"""The scheduler pass: the backstop that finds every due piece of work, whatever event was missed.

Bookings left without a code by a missed event have a backstop of their own
(`missing_codes.missing_codes_pass`, its own beat task): reading every upcoming booking costs far
more than claiming the due codes, and the pass stays a claim and a dispatch whatever the tables' size."""

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from locks.services.claims import claim_due_codes_by_vendor
from locks.services.outcomes import StepResult
from locks.services.steps import process_codes

logger = logging.getLogger(__name__)

@dataclass
class PassReport:
    claimed: int = 0
    actions: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        parts = [f"{self.claimed} due"]
        parts += [f"{count} {action}" for action, count in sorted(self.actions.items())]
        return ", ".join(parts)


# dispatch(code ids, claim token, vendor slug): hand a claimed batch of one vendor's codes to a worker.
Dispatch = Callable[[list[int], str, str], list[StepResult] | None]


def run_pass(*, now: datetime | None = None, dispatch: Dispatch) -> PassReport:
    """Claim every due code in batches and hand each batch to `dispatch`, by vendor: one query per
    batch whatever the tables' size. Lock read-backs and missing codes have passes of their own
    (`read_back_schedule.enqueue_due_read_backs`, `missing_codes.missing_codes_pass`). Its duration
    and due count are kept for /metrics (`last_pass`)."""
    started = time.monotonic()
    now = now or timezone.now()
    report = PassReport()
    batch_size = settings.LOCKS_CLAIM_BATCH_SIZE
    while True:
        token, by_vendor = claim_due_codes_by_vendor(now=now, limit=batch_size)
        claimed = sum(len(ids) for ids in by_vendor.values())
        report.claimed += claimed
        for vendor, ids in by_vendor.items():
            for result in dispatch(ids, token, vendor) or []:
                report.actions[result.action] += 1
        if claimed < batch_size:
            _record_pass(report, duration_seconds=time.monotonic() - started)
            return report


# --- the last pass's figures, for /metrics (nowistay.metrics) ---------------------------------------

# In the cache every process shares (Redis in production, as for the API's rate limits), since the
# pass runs in a worker and /metrics is answered by the web server.
LAST_PASS_CACHE_KEY = "locks:scheduler:last-pass"
LAST_PASS_KEPT_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class PassFigures:
    duration_seconds: float
    due: int
    finished_at: datetime


def _record_pass(report: PassReport, *, duration_seconds: float) -> None:
    figures = PassFigures(duration_seconds=duration_seconds, due=report.claimed, finished_at=timezone.now())
    try:
        cache.set(LAST_PASS_CACHE_KEY, asdict(figures), timeout=LAST_PASS_KEPT_SECONDS)
    except Exception:  # the pass did its work: a cache that is down only costs the figures
        logger.warning("the scheduler pass's figures could not be stored in the cache", exc_info=True)


def last_pass() -> PassFigures | None:
    """The figures of the last pass any process ran, if the cache still has them."""
    stored = cache.get(LAST_PASS_CACHE_KEY)
    if not stored:
        return None
    return PassFigures(**{name: stored[name] for name in PassFigures.__dataclass_fields__ if name in stored})


def process_inline(ids: list[int], token: str, vendor: str = "") -> list[StepResult]:
    """Dispatch for operators and tests: do the work now, in this process."""
    size = settings.LOCKS_TASK_BATCH_SIZE
    return [result for start in range(0, len(ids), size) for result in process_codes(code_ids=ids[start : start + size], claim_token=token)]
