"""Planning guest messages: a ledger row for each (template, booking, trigger occurrence, channel)
that has fallen due. The unique constraint on those makes planning idempotent: two passes, or a
pass and an event, insert one row per channel.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from messaging import ledger, schedule
from messaging.ledger import SCHEDULED_TRIGGERS, insert_rows, new_deliveries, stay_of, templates_for
from messaging.models import (
    MessageDelivery,
    MessageTemplate,
    TriggerKind,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Applicable:
    template: MessageTemplate
    property_ids: frozenset[int]  # empty: every property of the host

    def applies_to(self, booking: Booking) -> bool:
        return not self.property_ids or booking.property_id in self.property_ids


def _applicable(templates: Iterable[MessageTemplate]) -> list[_Applicable]:
    return [_Applicable(t, frozenset(p.pk for p in t.properties.all())) for t in templates]


def _due_rows(booking: Booking, templates: list[_Applicable], now: datetime, existing: set) -> list[MessageDelivery]:
    try:
        stay = stay_of(booking)
        stay.check_in_at  # noqa: B018 - an impossible stay raises here, not half-way through the templates
    except (ValueError, OverflowError):  # check-out not after check-in; dates near year 1 or 9999
        logger.warning("booking %s has no usable check-in moment; its messages are not planned", booking.pk)
        return []
    rows = []
    for applicable in templates:
        template = applicable.template
        if not applicable.applies_to(booking):
            continue
        occurrence = schedule.occurrence(template.as_trigger(), stay)
        if not occurrence.due_at <= now < occurrence.expires_at:
            continue
        for row in new_deliveries(template, booking, occurrence.key, occurrence.due_at, now):
            if (template.pk, booking.pk, occurrence.key, row.channel) not in existing:  # a channel added later still goes
                rows.append(row)
    return rows


def _scheduled_templates():
    return MessageTemplate.objects.filter(is_active=True, is_code_change=False, trigger__in=SCHEDULED_TRIGGERS).prefetch_related(
        "properties"
    )


def plan_due_messages(now: datetime) -> int:
    """Write a ledger row for every scheduled message that has fallen due. Idempotent."""
    templates = _applicable(_scheduled_templates())
    if not templates:
        return 0
    by_host: dict[int, list[_Applicable]] = defaultdict(list)
    for applicable in templates:
        by_host[applicable.template.host_id].append(applicable)
    triggers = [applicable.template.as_trigger() for applicable in templates]
    today = now.date()  # UTC; a day of slack each side covers every property's own "today"
    dates = Q()
    if any(t.kind != TriggerKind.AFTER_CHECK_OUT for t in triggers):
        ahead = max(schedule.lookahead_days(t) for t in triggers)
        dates |= Q(arrival_date__gte=today - timedelta(days=1), arrival_date__lte=today + timedelta(days=ahead + 1))
    if any(t.kind == TriggerKind.AFTER_CHECK_OUT for t in triggers):
        back = max(schedule.lookback_days(t) for t in triggers)
        dates |= Q(departure_date__gte=today - timedelta(days=back + 1), departure_date__lte=today + timedelta(days=1))
    bookings = (
        Booking.objects.filter(dates, status=BookingStatus.CONFIRMED, property__host_id__in=by_host)
        .select_related("property")
        .order_by("pk")
    )
    planned = 0
    for chunk in _chunks(bookings.iterator(chunk_size=500), 500):
        template_ids = [a.template.pk for a in templates]
        existing = set(
            MessageDelivery.objects.filter(booking_id__in=[b.pk for b in chunk], template_id__in=template_ids).values_list(
                "template_id", "booking_id", "trigger_key", "channel"
            )
        )
        rows = [row for booking in chunk for row in _due_rows(booking, by_host[booking.property.host_id], now, existing)]
        planned += insert_rows(rows)
    return planned


def _chunks(iterable, size: int):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def plan_booking(booking: Booking, now: datetime) -> int:
    """The scheduled messages of one booking that are due now (a late confirmation, a code ready)."""
    if booking.status != BookingStatus.CONFIRMED:
        return 0
    templates = _applicable(_scheduled_templates().filter(host_id=booking.property.host_id).for_property(booking.property_id))
    existing = set(MessageDelivery.objects.filter(booking=booking).values_list("template_id", "booking_id", "trigger_key", "channel"))
    return insert_rows(_due_rows(booking, templates, now, existing))


def booking_confirmed(*, booking: Booking, now: datetime | None = None) -> int:
    """A booking became confirmed: its "on confirmation" messages are due now, and the booking's
    other due messages are looked at at once. Runs inside the saving transaction, so the rows
    exist exactly when the confirmation does."""
    now = now or timezone.now()
    templates = templates_for(booking).filter(trigger=TriggerKind.ON_CONFIRMATION, is_code_change=False)
    rows = [row for t in templates for row in new_deliveries(t, booking, schedule.confirmation_key(), now, now)]
    planned = insert_rows(rows)
    if planned or templates_for(booking).exists():
        ledger.enqueue_booking(booking.pk)
    return planned
