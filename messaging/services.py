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
(`waiting_for_code`); `code_ready` makes it due at once and the pass rechecks it as a backstop.
Still waiting when the guest may arrive (the code window's start, else the check-in moment), it
is marked `missed_code` and the host is emailed, once. It is never rendered with a blank.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import BadHeaderError
from django.core.mail.utils import DNS_NAME
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from locks.models import AccessCode, CodeState
from locks.windows import local_to_utc
from messaging import notifications, rendering, schedule
from messaging.models import (
    OPEN_STATUSES,
    Channel,
    CodeChangeNotice,
    DeliveryStatus,
    MessageDelivery,
    MessageTemplate,
    TriggerKind,
)
from nowistay.emails import send_text_and_html

logger = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=10)  # longer than any email backend call should take
WAIT_RECHECK = timedelta(minutes=15)  # backstop for a lost `code_ready`
SEND_RETRY_DELAY = timedelta(minutes=10)
MAX_SEND_ATTEMPTS = 6
CLAIM_BATCH = 200
# Errors the email backend will give again however often we retry.
PERMANENT_SEND_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, BadHeaderError)

SCHEDULED_TRIGGERS = [TriggerKind.BEFORE_CHECK_IN, TriggerKind.ARRIVAL_DAY, TriggerKind.AFTER_CHECK_OUT]


# --- reading a booking and its code ----------------------------------------------------------------

def stay_of(booking: Booking) -> schedule.Stay:
    prop = booking.property
    check_in, check_out = schedule.resolved_times(
        booking.check_in_time, booking.check_out_time, prop.default_check_in_time, prop.default_check_out_time
    )
    return schedule.Stay(
        arrival=booking.arrival_date, departure=booking.departure_date, tz_name=prop.time_zone,
        check_in=check_in, check_out=check_out,
    )


def current_code(booking_id: int) -> AccessCode | None:
    return AccessCode.objects.filter(booking_id=booking_id, is_current=True).first()


def is_usable(code: AccessCode | None) -> bool:
    """A code a message may carry: the booking's current one, on the lock as wanted, PIN known."""
    return code is not None and code.is_current and code.state == CodeState.ACTIVE and bool(code.pin)


def code_values(code: AccessCode) -> rendering.CodeValues:
    # The window the lock holds, when known (igloohome rounds to the hour), else the one wanted.
    return rendering.CodeValues(
        pin=code.pin,
        valid_from=code.lock_starts_at or code.starts_at,
        valid_until=code.lock_ends_at or code.ends_at,
        usage_note=code.usage_note,
    )


def booking_values(booking: Booking, code: AccessCode | None) -> dict[str, str]:
    stay = stay_of(booking)
    return rendering.values_for(
        guest_name=booking.guest_name,
        property_name=booking.property.name,
        arrival=booking.arrival_date,
        departure=booking.departure_date,
        check_in=stay.check_in,
        check_out=stay.check_out,
        tz_name=stay.tz_name,
        code=code_values(code) if is_usable(code) else None,
    )


def templates_for(booking: Booking):
    """The host's active templates that apply to the booking's property."""
    return MessageTemplate.objects.filter(host_id=booking.property.host_id, is_active=True).for_property(booking.property_id)


def wait_deadline(booking: Booking, code: AccessCode | None) -> datetime:
    """When a code message still waiting is missed (the host is emailed, it is never sent): the
    check-in moment. Until then it goes out as soon as the code works, margin or not."""
    return stay_of(booking).check_in_at


def booking_has_messaging(booking_id: int) -> bool:
    """Whether an event for this booking can concern messages at all (one query: it runs for every
    code that becomes ready)."""
    deliveries = MessageDelivery.objects.filter(booking_id=OuterRef("pk"))
    templates = MessageTemplate.objects.filter(is_active=True, host_id=OuterRef("property__host_id"))
    return Booking.objects.filter(pk=booking_id).filter(Exists(deliveries) | Exists(templates)).exists()


# --- planning --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Applicable:
    template: MessageTemplate
    property_ids: frozenset[int]  # empty: every property of the host

    def applies_to(self, booking: Booking) -> bool:
        return not self.property_ids or booking.property_id in self.property_ids


def _applicable(templates: Iterable[MessageTemplate]) -> list[_Applicable]:
    return [_Applicable(t, frozenset(p.pk for p in t.properties.all())) for t in templates]


def _delivery(template: MessageTemplate, booking: Booking, key: str, due_at: datetime, now: datetime) -> MessageDelivery:
    return MessageDelivery(
        booking=booking, template=template, template_name=template.name, trigger_key=key,
        channel=template.channel, status=DeliveryStatus.DUE, due_at=due_at, next_attempt_at=now,
    )


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
        if (template.pk, booking.pk, occurrence.key) in existing:
            continue
        rows.append(_delivery(template, booking, occurrence.key, occurrence.due_at, now))
    return rows


def _insert(rows: list[MessageDelivery]) -> int:
    # The unique (template, booking, trigger_key) constraint turns a concurrent duplicate into a no-op.
    if rows:
        MessageDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _scheduled_templates():
    return (
        MessageTemplate.objects.filter(is_active=True, is_code_change=False, trigger__in=SCHEDULED_TRIGGERS)
        .prefetch_related("properties")
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
            MessageDelivery.objects.filter(booking_id__in=[b.pk for b in chunk], template_id__in=template_ids)
            .values_list("template_id", "booking_id", "trigger_key")
        )
        rows = [row for booking in chunk for row in _due_rows(booking, by_host[booking.property.host_id], now, existing)]
        planned += _insert(rows)
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
    templates = _applicable(
        _scheduled_templates().filter(host_id=booking.property.host_id).for_property(booking.property_id)
    )
    existing = set(MessageDelivery.objects.filter(booking=booking).values_list("template_id", "booking_id", "trigger_key"))
    return _insert(_due_rows(booking, templates, now, existing))


def booking_confirmed(*, booking: Booking, now: datetime | None = None) -> int:
    """A booking became confirmed: its "on confirmation" messages are due now, and the booking's
    other due messages are looked at at once. Runs inside the saving transaction, so the rows
    exist exactly when the confirmation does."""
    now = now or timezone.now()
    templates = templates_for(booking).filter(trigger=TriggerKind.ON_CONFIRMATION, is_code_change=False)
    rows = [_delivery(t, booking, schedule.confirmation_key(), now, now) for t in templates]
    planned = _insert(rows)
    if planned or templates_for(booking).exists():
        enqueue_booking(booking.pk)
    return planned


# --- claiming ------------------------------------------------------------------------------------------

def _claimable(now: datetime) -> Q:
    return Q(status__in=OPEN_STATUSES, next_attempt_at__lte=now) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


def claim_due(*, now: datetime, limit: int = CLAIM_BATCH, booking_id: int | None = None) -> tuple[str, list[int]]:
    """Claim up to `limit` open rows that are due, for one lease. The UPDATE repeats the due
    condition, so of two concurrent claims on a row exactly one matches it (PostgreSQL re-checks
    the condition on the row it waited for; SQLite has one writer at a time)."""
    token = secrets.token_hex(8)
    due = MessageDelivery.objects.filter(_claimable(now))
    if booking_id is not None:
        due = due.filter(booking_id=booking_id)
    ids = list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    if not ids:
        return token, []
    claimed = MessageDelivery.objects.filter(_claimable(now), pk__in=ids).update(claim_token=token, claimed_until=now + CLAIM_LEASE)
    if claimed < len(ids):
        ids = list(MessageDelivery.objects.filter(pk__in=ids, claim_token=token).values_list("pk", flat=True))
    return token, ids


def _after_commit(work: Callable[[], None]) -> None:
    """Run `work` once the claim is committed: at once in autocommit (tasks), else at commit."""
    transaction.on_commit(work)


# --- the pass and the per-booking event -------------------------------------------------------------

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
    report = PassReport(planned=plan_due_messages(now), code_changes=_catch_missed_code_changes(now))
    while True:
        token, ids = claim_due(now=now, limit=CLAIM_BATCH)
        report.claimed += len(ids)
        if ids:
            _after_commit(lambda ids=ids, token=token: report.actions.update(dispatch(ids, token) or []))
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
        _after_commit(lambda: results.extend(process_deliveries(delivery_ids=ids, claim_token=token)))
    return results


def enqueue_booking(booking_id: int) -> None:
    """Hand the booking to a worker once the surrounding transaction has committed. `robust`: a
    broker that is down must not fail the booking's save; the beat pass is the backstop."""
    from messaging import tasks  # tasks import services

    transaction.on_commit(lambda: tasks.send_booking_messages.delay(booking_id), robust=True)


# --- processing one claimed row ----------------------------------------------------------------------

def process_deliveries(*, delivery_ids: list[int], claim_token: str) -> list[str]:
    results = []
    for delivery_id in delivery_ids:
        try:
            results.append(process_delivery(delivery_id=delivery_id, claim_token=claim_token))
        except Exception:  # one broken row must not hold back the batch; its lease expires, it is retried
            logger.exception("processing message delivery %s failed", delivery_id)
            results.append("error")
    return results


def process_delivery(*, delivery_id: int, claim_token: str, now: datetime | None = None) -> str:
    """Take the one step a claimed row needs: send it, let it wait for the code, or close it."""
    now = now or timezone.now()
    delivery = (
        MessageDelivery.objects.select_related("booking__property__host", "template")
        .filter(pk=delivery_id, claim_token=claim_token, claimed_until__gt=now, status__in=OPEN_STATUSES)
        .first()
    )
    if delivery is None:
        return "skipped"  # not ours (any more), or already closed
    booking, template = delivery.booking, delivery.template
    reason = _skip_reason(delivery, now)
    if reason:
        _close(delivery, claim_token, DeliveryStatus.SKIPPED, note=reason)
        return "skipped"

    code = None
    if template.uses_code:
        code = current_code(booking.pk)  # from the database, now: never a PIN remembered earlier
        if not is_usable(code):
            return _wait_or_miss(delivery, claim_token, booking, code, now)

    try:
        values = booking_values(booking, code)
        subject = rendering.one_line(rendering.render(template.subject, values))
        body = rendering.render(template.body, values)
    except rendering.RenderError as error:
        return _failed(delivery, claim_token, f"The message uses a variable that cannot be filled in: {error}.", now)

    recipient = booking.guest_email.strip()
    if not recipient:
        note = "The guest has no email address."
        if code is not None:  # the guest would be left without their door code: tell the host
            return _failed(delivery, claim_token, note, now)
        _close(delivery, claim_token, DeliveryStatus.SKIPPED, note=note)
        return "skipped"

    try:
        _SENDERS[delivery.channel](delivery, recipient, subject, body)
    except Exception as error:  # the backend's errors vary (SMTP, API backends): classify, never crash the batch
        logger.warning("sending message delivery %s failed: %s", delivery.pk, error)
        if isinstance(error, PERMANENT_SEND_ERRORS) or delivery.attempts + 1 >= MAX_SEND_ATTEMPTS:
            return _failed(delivery, claim_token, f"The email could not be sent: {error}"[:500], now)
        _retry_later(delivery, claim_token, f"The email could not be sent yet: {error}"[:500], now)
        return "retrying"

    recorded = MessageDelivery.objects.filter(pk=delivery.pk, claim_token=claim_token).update(
        status=DeliveryStatus.SENT, sent_at=now, recipient=recipient, code=code, pin=code.pin if code else None,
        subject=subject, body=body, note="", attempts=delivery.attempts + 1,
        claim_token="", claimed_until=None, next_attempt_at=None, updated_at=now,
    )
    if not recorded:  # our lease ran out while the backend was sending: another worker may send too
        logger.warning("message delivery %s was sent after its claim expired", delivery.pk)
    if code is not None:
        # A code may have changed while this message was on its way: compare again.
        booking_code_change_check(booking=booking, now=now)
    return "sent"


def _skip_reason(delivery: MessageDelivery, now: datetime) -> str:
    template, booking = delivery.template, delivery.booking
    if template is None:
        return "The message was deleted."
    if not template.is_active:
        return "The message was switched off."
    if booking.status != BookingStatus.CONFIRMED:
        return "The booking is no longer confirmed."
    if not template.properties.filter(pk=booking.property_id).exists() and template.properties.exists():
        return "The message no longer applies to this booking's property."
    if template.uses_code and booking.access_ended_at is not None:
        return "The guest's access was ended."
    key = delivery.trigger_key
    if key.startswith("code_change:"):
        code = current_code(booking.pk)
        if code is None or schedule.code_change_key(code.pk) != key:
            return "A newer door code replaced the one this message was for."
        return ""
    if template.is_code_change:
        return "The message is now a door code change message."
    if key == schedule.confirmation_key():
        return "" if template.trigger == TriggerKind.ON_CONFIRMATION else "The message's trigger changed."
    try:
        occurrence = schedule.occurrence(template.as_trigger(), stay_of(booking))
    except (ValueError, OverflowError):
        return "The booking's dates no longer give a moment for this message."
    if occurrence.key != key:
        return "The booking's dates or the message's trigger changed; it follows the new ones."
    return ""


def _wait_or_miss(delivery: MessageDelivery, token: str, booking: Booking, code: AccessCode | None, now: datetime) -> str:
    deadline = wait_deadline(booking, code)
    if now >= deadline:
        missed = MessageDelivery.objects.filter(pk=delivery.pk, claim_token=token, status__in=OPEN_STATUSES).update(
            status=DeliveryStatus.MISSED_CODE, host_notified_at=now, wait_deadline=deadline,
            note="The door code was not active when the guest could arrive; the host was emailed.",
            claim_token="", claimed_until=None, next_attempt_at=None, updated_at=now,
        )
        if missed:  # the transition happens once, so the email goes once
            delivery.note = ""
            _after_commit(lambda: notifications.message_missed_code(delivery, deadline=deadline))
        return "missed_code"
    MessageDelivery.objects.filter(pk=delivery.pk, claim_token=token).update(
        status=DeliveryStatus.WAITING_FOR_CODE, wait_deadline=deadline,
        next_attempt_at=min(now + WAIT_RECHECK, deadline), note=_waiting_note(code),
        claim_token="", claimed_until=None, updated_at=now,
    )
    return "waiting_for_code"


def _waiting_note(code: AccessCode | None) -> str:
    if code is None:
        return "The booking has no door code yet (is a lock assigned to the property?)."
    return f"The door code is not active yet ({code.get_state_display().lower()})."


def _close(delivery: MessageDelivery, token: str, status: str, *, note: str) -> None:
    MessageDelivery.objects.filter(pk=delivery.pk, claim_token=token).update(
        status=status, note=note[:500], claim_token="", claimed_until=None, next_attempt_at=None, updated_at=timezone.now()
    )


def _failed(delivery: MessageDelivery, token: str, note: str, now: datetime) -> str:
    closed = MessageDelivery.objects.filter(pk=delivery.pk, claim_token=token, status__in=OPEN_STATUSES).update(
        status=DeliveryStatus.FAILED, note=note[:500], host_notified_at=now, attempts=delivery.attempts + 1,
        claim_token="", claimed_until=None, next_attempt_at=None, updated_at=now,
    )
    if closed:
        delivery.note = note[:500]
        _after_commit(lambda: notifications.message_failed(delivery))
    return "failed"


def _retry_later(delivery: MessageDelivery, token: str, note: str, now: datetime) -> None:
    MessageDelivery.objects.filter(pk=delivery.pk, claim_token=token).update(
        status=DeliveryStatus.DUE, note=note, attempts=delivery.attempts + 1, next_attempt_at=now + SEND_RETRY_DELAY,
        claim_token="", claimed_until=None, updated_at=now,
    )


def _send_email(delivery: MessageDelivery, recipient: str, subject: str, body: str) -> None:
    """The rendered message as text (exactly `body`) and HTML (`body` escaped, its line breaks as
    paragraphs): the host's text is a value in the email templates, never template source."""
    host = delivery.booking.property.host
    send_text_and_html(
        subject=subject,
        template_name="guest_message",
        context={"body": body},
        to=[recipient],
        reply_to=[host.email] if host.email else None,
        # The same id on every attempt of this row, so a mail system can fold an at-least-once duplicate.
        headers={"Message-ID": f"<nowistay-{settings.INSTANCE_ID}-delivery-{delivery.pk}@{DNS_NAME}>"},
    )


_SENDERS: dict[str, Callable[[MessageDelivery, str, str, str], None]] = {Channel.EMAIL: _send_email}


# --- door code changes ------------------------------------------------------------------------------

def booking_code_change_check(*, booking: Booking, now: datetime | None = None) -> CodeChangeNotice | None:
    """If the guest's last message carried a PIN other than the current active code's, tell the
    host (once per new code) and plan the host's door code change messages."""
    now = now or timezone.now()
    code = current_code(booking.pk)
    if not is_usable(code):
        return None
    last = (
        MessageDelivery.objects.filter(booking_id=booking.pk, status=DeliveryStatus.SENT, pin__isnull=False)
        .order_by("-sent_at", "-pk")
        .first()
    )
    if last is None or last.pin == code.pin:
        return None
    try:
        with transaction.atomic():
            notice = CodeChangeNotice.objects.create(
                booking=booking, previous_code_id=last.code_id, previous_pin=last.pin,
                new_code=code, new_pin=code.pin, host_notified_at=now,
            )
            templates = templates_for(booking).filter(is_code_change=True)
            rows = [_delivery(t, booking, schedule.code_change_key(code.pk), now, now) for t in templates]
            notice.change_messages = _insert(rows)
            notice.save(update_fields=["change_messages"])
    except IntegrityError:
        return None  # another worker saw this change first and told the host
    _after_commit(lambda: notifications.code_changed(notice, change_messages=notice.change_messages))
    if notice.change_messages:
        enqueue_booking(booking.pk)
    return notice


def _catch_missed_code_changes(now: datetime) -> int:
    """Backstop for a lost `code_ready`: stays not over whose last code message carried another
    code than the current one are checked again."""
    since = now.date() - timedelta(days=1)
    sent = (
        MessageDelivery.objects.filter(status=DeliveryStatus.SENT, code__isnull=False, booking__departure_date__gte=since)
        .order_by("booking_id", "sent_at", "pk")
        .values_list("booking_id", "code_id")
    )
    last_code: dict[int, int] = {}
    for booking_id, code_id in sent:
        last_code[booking_id] = code_id
    if not last_code:
        return 0
    current = dict(
        AccessCode.objects.filter(booking_id__in=last_code, is_current=True, state=CodeState.ACTIVE).values_list("booking_id", "pk")
    )
    changed = [booking_id for booking_id, code_id in current.items() if last_code[booking_id] != code_id]
    count = 0
    for booking in Booking.objects.filter(pk__in=changed).select_related("property__host"):
        if booking_code_change_check(booking=booking, now=now) is not None:
            count += 1
    return count


# --- templates, preview, log ------------------------------------------------------------------------

def message_template_delete(*, template: MessageTemplate) -> int:
    """Delete a template; its messages not sent yet are closed (the ledger of sent ones stays)."""
    with transaction.atomic():
        closed = MessageDelivery.objects.filter(template=template, status__in=OPEN_STATUSES).update(
            status=DeliveryStatus.SKIPPED, note="The message was deleted.", next_attempt_at=None,
            claim_token="", claimed_until=None, updated_at=timezone.now(),
        )
        template.delete()
    return closed


SAMPLE_PIN = "482913"


@dataclass(frozen=True)
class Preview:
    subject: str
    body: str
    problems: list[str]
    notes: list[str]


def template_preview(*, subject: str, body: str, booking: Booking | None, sample_property_name: str = "Seaside Flat", now: datetime | None = None) -> Preview:
    """What a guest would read. Never sends, never changes anything. On a real booking without an
    active code, the code variables show a marker: the real message waits for the code."""
    now = now or timezone.now()
    notes: list[str] = []
    if booking is None:
        values = _sample_values(sample_property_name, now)
        notes.append("Sample booking: Grace Guest, arriving in a week, with a sample door code.")
    else:
        code = current_code(booking.pk)
        values = booking_values(booking, code)
        if not is_usable(code):
            marker = "[door code: not active yet]"
            values.update({name: marker for name in rendering.CODE_VARIABLES if name not in rendering.ALIASES})
            if rendering.uses_code(subject, body):
                notes.append("This booking's door code is not active yet: the real message waits for it.")
    found = rendering.problems(subject) + rendering.problems(body)
    return Preview(
        subject=rendering.one_line(_lenient_render(subject, values)),
        body=_lenient_render(body, values),
        problems=list(dict.fromkeys(found)),
        notes=notes,
    )


def _lenient_render(text: str, values: dict[str, str]) -> str:
    """For the preview only: known variables filled in, anything else left as written."""

    def value_or_written(placeholder: rendering.Placeholder) -> str:
        name = placeholder.name
        key = rendering.ALIASES.get(name, name)
        return values[key] if name in rendering.VARIABLES and key in values else placeholder.written

    return rendering.substitute(text, value_or_written)


def _sample_values(property_name: str, now: datetime) -> dict[str, str]:
    arrival = (now + timedelta(days=7)).date()
    tz_name = "Europe/Paris"
    check_in, check_out = schedule.resolved_times(None, None, None, None)
    return rendering.values_for(
        guest_name="Grace Guest", property_name=property_name,
        arrival=arrival, departure=arrival + timedelta(days=3),
        check_in=check_in, check_out=check_out, tz_name=tz_name,
        code=rendering.CodeValues(
            pin=SAMPLE_PIN,
            valid_from=local_to_utc(arrival, check_in, tz_name, prefer_later=False) - timedelta(minutes=30),
            valid_until=local_to_utc(arrival + timedelta(days=3), check_out, tz_name, prefer_later=True) + timedelta(minutes=30),
            usage_note="",
        ),
    )


def preview_bookings(host, now: datetime | None = None):
    """Bookings a host may preview a message on: current and upcoming, nearest first."""
    now = now or timezone.now()
    return (
        Booking.objects.filter(property__host=host, departure_date__gte=now.date() - timedelta(days=1))
        .exclude(status=BookingStatus.CANCELLED)
        .select_related("property")
        .order_by("arrival_date", "pk")[:50]
    )


# --- retention -------------------------------------------------------------------------------------

def deliveries_erase_personal_data(*, departed_before: date) -> int:
    """For stays that ended before `departed_before`: forget the PINs, texts and addresses the
    ledger kept (statuses and times stay). Meant for the retention job (locks.services.housekeeping)."""
    rows = MessageDelivery.objects.filter(booking__departure_date__lt=departed_before).filter(
        Q(pin__isnull=False) | Q(body__isnull=False) | ~Q(recipient="")
    )
    count = rows.update(pin=None, subject=None, body=None, recipient="")
    CodeChangeNotice.objects.filter(booking__departure_date__lt=departed_before).update(previous_pin=None, new_pin=None)
    return count
