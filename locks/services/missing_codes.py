"""Planning the codes of bookings that have none, set-based: the backstop for a missed booking or
settings event, a beat task of its own (`locks.tasks.missing_codes_pass`) beside the scheduler pass.

A handful of queries whatever their number: one reads the bookings lacking a code with their
property, assignment, lock and account; the plans are computed here (the time-zone arithmetic of
`planning.code_plan`, the same as for an event); one INSERT writes the new codes. When one is due already, the task
asks for a scheduler pass at once, which claims it like any other due code.

The bookings read are row-locked (`FOR UPDATE ... SKIP LOCKED`) until the codes are written, as
`codes.booking_reconcile` locks its booking: a cancellation or change arriving meanwhile waits and
then finds the new code (a booking being changed right now is skipped: its own event plans it).
The one-current-code-per-booking constraint settles any other race (`ignore_conflicts`).
"""

import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from bookings.models import SMART_LOCK_ELIGIBILITY, Booking, BookingStatus
from locks.models import AccessCode, AccountStatus, CodeState
from locks.services.codes import set_plan
from locks.services.planning import code_plan
from locks.signals import CodeEvent, send_code_events

logger = logging.getLogger(__name__)

# Bookings a missed event could have left without a code: the longest lead time, plus a day of
# slack on each side for time zones.
MISSED_EVENT_HORIZON_DAYS = 14 + 1

# An assignment whose account is going away gets no new code (as `codes.usable_assignment`).
_GOING_AWAY = (AccountStatus.DISCONNECTING, AccountStatus.DISCONNECTED)


def bookings_missing_a_code(now: datetime):
    """Confirmed bookings near enough to need a code, on an assigned eligible property, with no
    current code; each with its property, assignment, lock and account loaded."""
    today = now.date()
    has_current_code = AccessCode.objects.filter(booking=OuterRef("pk"), is_current=True)
    eligible = {f"property__{name}": value for name, value in SMART_LOCK_ELIGIBILITY.items()}
    return (
        Booking.objects.filter(
            status=BookingStatus.CONFIRMED,
            access_ended_at__isnull=True,
            arrival_date__gte=today - timedelta(days=2),
            arrival_date__lte=today + timedelta(days=MISSED_EVENT_HORIZON_DAYS),
            departure_date__gte=today - timedelta(days=1),
            property__lock_assignment__isnull=False,
            **eligible,
        )
        .exclude(property__lock_assignment__lock__account__status__in=_GOING_AWAY)
        .exclude(Exists(has_current_code))
        .select_related("property__lock_assignment__lock__account")
        .order_by()
    )


def plan_missing_codes(now: datetime) -> int:
    """Give every booking lacking a code the code it should have; how many were planned."""
    return len(_plan(now))


@dataclass(frozen=True)
class MissingCodesFigures:
    planned: int
    due: int  # of them, due at once
    duration_seconds: float
    finished_at: datetime


def missing_codes_pass(now: datetime) -> MissingCodesFigures:
    """The backstop's run: plan the missing codes; its figures are kept for /metrics."""
    started = time.monotonic()
    codes = _plan(now)
    figures = MissingCodesFigures(
        planned=len(codes),
        due=sum(1 for code in codes if code.next_attempt_at is not None and code.next_attempt_at <= now),
        duration_seconds=time.monotonic() - started,
        finished_at=timezone.now(),
    )
    try:
        cache.set(LAST_RUN_CACHE_KEY, asdict(figures), timeout=LAST_RUN_KEPT_SECONDS)
    except Exception:  # the codes are planned: a cache that is down only costs the figures
        logger.warning("the missing codes pass's figures could not be stored in the cache", exc_info=True)
    return figures


LAST_RUN_CACHE_KEY = "locks:missing-codes:last-run"
LAST_RUN_KEPT_SECONDS = 7 * 24 * 3600


def last_missing_codes_pass() -> MissingCodesFigures | None:
    """The figures of the last run any process made, if the cache still has them."""
    stored = cache.get(LAST_RUN_CACHE_KEY)
    return MissingCodesFigures(**stored) if stored else None


def _plan(now: datetime) -> list[AccessCode]:
    with transaction.atomic():
        bookings = bookings_missing_a_code(now).select_for_update(skip_locked=True, of=("self",))
        codes = [code for code in (_new_code(booking, now) for booking in bookings) if code is not None]
        AccessCode.objects.bulk_create(codes, ignore_conflicts=True)
        _announce_scheduled(codes, now)
    return codes


def _announce_scheduled(codes: list[AccessCode], now: datetime) -> None:
    """The `scheduled` event of each code written (one query for their ids: an INSERT that ignores
    conflicts returns none)."""
    if not codes:
        return
    written = AccessCode.objects.filter(booking_id__in=[code.booking_id for code in codes], is_current=True, created_at__gte=now)
    send_code_events([
        CodeEvent("scheduled", code_id, booking_id, now, {"generate_at": generate_at.isoformat()})
        for code_id, booking_id, generate_at in written.values_list("pk", "booking_id", "generate_at")
    ])


def _new_code(booking: Booking, now: datetime) -> AccessCode | None:
    assignment = booking.property.lock_assignment
    plan = code_plan(booking, assignment)
    if plan.ends_at <= now:  # the stay is over: nothing to give (as `codes.decide`)
        return None
    code = AccessCode(booking=booking, lock=assignment.lock, state=CodeState.SCHEDULED, next_attempt_at=plan.generate_at)
    set_plan(code, plan)
    return code
