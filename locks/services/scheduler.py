"""The scheduler pass: the backstop that finds every due piece of work, whatever event was missed."""

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, OuterRef
from django.utils import timezone

from bookings.models import SMART_LOCK_ELIGIBILITY, Booking, BookingStatus
from locks.models import AccessCode, AccountStatus, LockAssignment
from locks.services.api_budget import api_budget_warn_hosts
from locks.services.claims import claim_due_codes
from locks.services.codes import booking_reconcile
from locks.services.outcomes import StepResult
from locks.services.read_back_schedule import enqueue_due_read_backs
from locks.services.steps import process_codes

logger = logging.getLogger(__name__)

# Bookings a missed event could have left without a code: the longest lead time, plus a day of
# slack on each side for time zones.
MISSED_EVENT_HORIZON_DAYS = 14 + 1


@dataclass
class PassReport:
    reconciled: int = 0
    claimed: int = 0
    read_backs: int = 0  # locks whose read-back was handed to a worker
    actions: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        parts = [f"{self.claimed} due", f"{self.reconciled} missing codes planned"]
        parts += [f"{self.read_backs} locks read back"] if self.read_backs else []
        parts += [f"{count} {action}" for action, count in sorted(self.actions.items())]
        return ", ".join(parts)


def bookings_missing_a_code(now: datetime):
    today = now.date()
    has_current_code = AccessCode.objects.filter(booking=OuterRef("pk"), is_current=True)
    assigned = LockAssignment.objects.filter(property=OuterRef("property_id")).exclude(
        lock__account__status=AccountStatus.DISCONNECTED
    )
    eligible = {f"property__{name}": value for name, value in SMART_LOCK_ELIGIBILITY.items()}
    return (
        Booking.objects.filter(
            status=BookingStatus.CONFIRMED,
            access_ended_at__isnull=True,
            arrival_date__gte=today - timedelta(days=2),
            arrival_date__lte=today + timedelta(days=MISSED_EVENT_HORIZON_DAYS),
            departure_date__gte=today - timedelta(days=1),
            **eligible,
        )
        .filter(Exists(assigned))
        .exclude(Exists(has_current_code))
        .select_related("property")
    )


def reconcile_missing_codes(now: datetime) -> int:
    count = 0
    for booking in bookings_missing_a_code(now):
        if booking_reconcile(booking=booking, now=now) is not None:
            count += 1
    return count


def run_pass(*, now: datetime | None = None, dispatch: Callable[[list[int], str], list[StepResult] | None]) -> PassReport:
    """Plan missing codes, then claim every due code in batches and hand each batch to `dispatch`;
    then hand the due lock read-backs to workers (locks.services.read_back_schedule).
    Its duration and due count are kept for /metrics (`last_pass`)."""
    started = time.monotonic()
    now = now or timezone.now()
    report = PassReport(reconciled=reconcile_missing_codes(now))
    batch_size = settings.LOCKS_CLAIM_BATCH_SIZE
    while True:
        token, ids = claim_due_codes(now=now, limit=batch_size)
        report.claimed += len(ids)
        for result in dispatch(ids, token) or []:
            report.actions[result.action] += 1
        if len(ids) < batch_size:
            # After the codes' own steps, so creates and deletes go first.
            report.read_backs = enqueue_due_read_backs(now)
            api_budget_warn_hosts(now=now)  # hosts whose account came near its vendor's API limit: once a month
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
    reconciled: int
    finished_at: datetime


def _record_pass(report: PassReport, *, duration_seconds: float) -> None:
    figures = PassFigures(duration_seconds=duration_seconds, due=report.claimed, reconciled=report.reconciled, finished_at=timezone.now())
    try:
        cache.set(LAST_PASS_CACHE_KEY, asdict(figures), timeout=LAST_PASS_KEPT_SECONDS)
    except Exception:  # the pass did its work: a cache that is down only costs the figures
        logger.warning("the scheduler pass's figures could not be stored in the cache", exc_info=True)


def last_pass() -> PassFigures | None:
    """The figures of the last pass any process ran, if the cache still has them."""
    stored = cache.get(LAST_PASS_CACHE_KEY)
    return PassFigures(**stored) if stored else None


def process_inline(ids: list[int], token: str) -> list[StepResult]:
    """Dispatch for operators and tests: do the work now, in this process."""
    size = settings.LOCKS_TASK_BATCH_SIZE
    return [result for start in range(0, len(ids), size) for result in process_codes(code_ids=ids[start : start + size], claim_token=token)]
