"""Guest messages: plan what is due, claim it, send it once, and never send a blank or stale code.

The flow mirrors the code lifecycle (locks.services):

- **Planning** writes a ledger row (`MessageDelivery`) for each (template, booking, trigger
  occurrence) that has fallen due. The unique constraint on that triple makes planning
  idempotent: two passes, or a pass and an event, insert one row.
- **Claiming** takes open rows with a short conditional UPDATE (a lease, as for codes), in
  autocommit; the row is only worked on after that UPDATE has committed.
- **Processing** reads the row, decides (send, wait for the code, missed, skip), sends outside
  any transaction, then records the outcome with an UPDATE conditioned on the claim.

Delivery guarantee: exactly once against repeated or concurrent runs (the claim), and *at least
once* against crashes. A worker that dies after the email left but before the row says "sent"
leaves a claim whose lease expires; the next pass sends again. We chose that over at-most-once
because a guest without their door code at the door is worse than a guest with two copies of
it; the window is the few milliseconds between the email backend returning and one UPDATE, and
each email carries a deterministic Message-ID so mail systems can fold a duplicate.

The code rule: a message that uses a code variable goes out only with the booking's current code
in state ACTIVE, read from the database with its stored PIN. Until then the row waits
(`waiting_for_code`); `codes_ready` makes it due at once and the pass rechecks it as a backstop.
Still waiting when the guest may arrive (the code window's start, else the check-in moment), it
is marked `missed_code` and the host is emailed, once. It is never rendered with a blank.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from bookings.models import Booking
from messaging.channels import CHANNELS
from messaging.delivery import booking_code_change_check, catch_missed_code_changes, process_deliveries, process_delivery
from messaging.ledger import (
    CLAIM_BATCH,
    CLAIM_LEASE,
    SEND_RETRY_DELAY,
    after_commit,
    bookings_with_messaging,
    claim_due,
    current_code,
    enqueue_booking,
    is_usable,
    stay_of,
)
from messaging.models import (
    OPEN_STATUSES,
    CodeChangeNotice,
    DeliveryStatus,
    MessageDelivery,
    MessageTemplate,
)
from messaging.planning import booking_confirmed, plan_booking, plan_due_messages
from messaging.previews import SAMPLE_PIN, Preview, lenient_render, preview_bookings, template_preview

# --- the pass and the per-booking event -----------------------------------------------------------


@dataclass
class PassReport:
    planned: int = 0
    claimed: int = 0
    code_changes: int = 0
    actions: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        parts = [f"{self.planned} planned", f"{self.claimed} due", f"{self.code_changes} code changes"]
        parts += [f"{count} {action}" for action, count in sorted(self.actions.items())]
        return ", ".join(parts)


Dispatch = Callable[[list[int], str], "list[str] | None"]


def run_pass(*, now: datetime | None = None, dispatch: Dispatch) -> PassReport:
    """The beat pass: plan due messages, catch code changes a lost event missed, then claim every
    due row in batches and hand each batch to `dispatch` once the claim is committed."""
    now = now or timezone.now()
    report = PassReport(planned=plan_due_messages(now), code_changes=catch_missed_code_changes(now))
    while True:
        token, ids = claim_due(now=now, limit=CLAIM_BATCH)
        report.claimed += len(ids)
        if ids:
            after_commit(lambda ids=ids, token=token: report.actions.update(dispatch(ids, token) or []))
        if len(ids) < CLAIM_BATCH:
            return report


def process_inline(ids: list[int], token: str) -> list[str]:
    """Dispatch for operators and tests: send now, in this process."""
    return process_deliveries(delivery_ids=ids, claim_token=token)


def booking_messages_send(*, booking_id: int, now: datetime | None = None) -> list[str]:
    """Event-driven (booking confirmed, code ready): compare the code with the ledger, plan the
    booking's due messages, make its waiting ones due, and send what can go now."""
    now = now or timezone.now()
    booking = Booking.objects.select_related("property__host").filter(pk=booking_id).first()
    if booking is None:
        return []
    booking_code_change_check(booking=booking, now=now)
    plan_booking(booking, now)
    MessageDelivery.objects.filter(booking_id=booking_id, status=DeliveryStatus.WAITING_FOR_CODE).update(next_attempt_at=now)
    token, ids = claim_due(now=now, booking_id=booking_id)
    results: list[str] = []
    if ids:
        after_commit(lambda: results.extend(process_deliveries(delivery_ids=ids, claim_token=token)))
    return results


# --- templates and retention ----------------------------------------------------------------------


def message_template_delete(*, template: MessageTemplate) -> int:
    """Delete a template; its messages not sent yet are closed (the ledger of sent ones stays)."""
    with transaction.atomic():
        closed = MessageDelivery.objects.filter(template=template, status__in=OPEN_STATUSES).update(
            status=DeliveryStatus.SKIPPED, note=gettext_noop("The message was deleted."), next_attempt_at=None,
            claim_token="", claimed_until=None, updated_at=timezone.now(),
        )
        template.delete()
    return closed


def deliveries_erase_personal_data(*, departed_before: date) -> int:
    """For stays that ended before `departed_before`: forget the PINs, texts and addresses the
    ledger kept (statuses and times stay). Meant for the retention job (locks.services.housekeeping)."""
    rows = MessageDelivery.objects.filter(booking__departure_date__lt=departed_before).filter(
        Q(pin__isnull=False) | Q(body__isnull=False) | ~Q(recipient="")
    )
    count = rows.update(pin=None, access_link=None, subject=None, body=None, recipient="")
    CodeChangeNotice.objects.filter(booking__departure_date__lt=departed_before).update(
        previous_pin=None, new_pin=None, previous_link=None, new_link=None
    )
    return count


# The names callers (views, receivers, tasks, tests) use, whichever module holds them now.
__all__ = [
    "CLAIM_LEASE",
    "SAMPLE_PIN",
    "SEND_RETRY_DELAY",
    "CHANNELS",
    "PassReport",
    "Preview",
    "booking_code_change_check",
    "booking_confirmed",
    "bookings_with_messaging",
    "booking_messages_send",
    "claim_due",
    "current_code",
    "deliveries_erase_personal_data",
    "enqueue_booking",
    "is_usable",
    "lenient_render",
    "message_template_delete",
    "plan_booking",
    "plan_due_messages",
    "preview_bookings",
    "process_deliveries",
    "process_delivery",
    "process_inline",
    "run_pass",
    "stay_of",
    "template_preview",
]
