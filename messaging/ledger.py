"""The ledger of guest messages (`MessageDelivery`): what a booking and its code read as, writing
rows, claiming them for one lease (the shared engine, `locks.services.leases`) and handing a
booking to a worker. The flow is described in `messaging.services`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q

from bookings.models import Booking, Property
from locks.models import AccessCode, CodeState, FallbackKind
from locks.services.leases import Leases
from messaging import rendering, schedule
from messaging.channels import CHANNELS
from messaging.models import (
    CHANNEL_FIELDS,
    OPEN_STATUSES,
    BuiltinMessage,
    Channel,
    DeliveryStatus,
    MessageDelivery,
    MessageTemplate,
    TriggerKind,
)
from messaging.usage_notes import usage_note_in
from nowistay import dispatch

CLAIM_LEASE = timedelta(minutes=10)  # longer than any email backend call should take


WAIT_RECHECK = timedelta(minutes=15)  # backstop for a lost `codes_ready`


SEND_RETRY_DELAY = timedelta(minutes=10)


MAX_SEND_ATTEMPTS = 6


CLAIM_BATCH = 200


SCHEDULED_TRIGGERS = [TriggerKind.BEFORE_CHECK_IN, TriggerKind.ARRIVAL_DAY, TriggerKind.AFTER_CHECK_OUT]


# --- reading a booking and its code ---------------------------------------------------------------


def stay_of(booking: Booking) -> schedule.Stay:
    prop = booking.property
    check_in, check_out = schedule.resolved_times(
        booking.check_in_time, booking.check_out_time, prop.default_check_in_time, prop.default_check_out_time
    )
    return schedule.Stay(
        arrival=booking.arrival_date,
        departure=booking.departure_date,
        tz_name=prop.time_zone,
        check_in=check_in,
        check_out=check_out,
    )


def current_code(booking_id: int) -> AccessCode | None:
    return AccessCode.objects.filter(booking_id=booking_id, is_current=True).first()


def is_usable(code: AccessCode | None) -> bool:
    """A code a message may carry: the booking's current one, on the lock as wanted, PIN known.
    A backup code given to a guest already opens for the whole stay while it is being narrowed."""
    if code is None or not code.is_current or not code.pin:
        return False
    return code.state == CodeState.ACTIVE or (code.state == CodeState.UPDATING and _backup_covers_stay(code))


def _backup_covers_stay(code: AccessCode) -> bool:
    if code.fallback != FallbackKind.BACKUP or code.lock_starts_at is None or code.lock_ends_at is None:
        return False
    return code.lock_starts_at <= code.starts_at and code.lock_ends_at >= code.ends_at


def code_values(code: AccessCode, language: str = "") -> rendering.CodeValues:
    # The window the lock holds, when known (igloohome rounds to the hour), else the one wanted;
    # a backup code is the guest's for their stay, whatever longer window it had in the pool.
    backup = code.fallback == FallbackKind.BACKUP
    return rendering.CodeValues(
        pin=code.pin,
        valid_from=code.starts_at if backup else code.lock_starts_at or code.starts_at,
        valid_until=code.ends_at if backup else code.lock_ends_at or code.ends_at,
        usage_note=usage_note_in(code.usage_note, language),
        access_link=code.access_link or "",
    )


def booking_values(booking: Booking, code: AccessCode | None, language: str = "") -> dict[str, str]:
    """The variables' values, written in `language`: the language of the text they go into
    (MessageTemplate.text_for), so an English text keeps English dates ("" is English)."""
    stay = stay_of(booking)
    return rendering.values_for(
        guest_name=booking.guest_name,
        property_name=booking.property.name,
        arrival=booking.arrival_date,
        departure=booking.departure_date,
        check_in=stay.check_in,
        check_out=stay.check_out,
        tz_name=stay.tz_name,
        code=code_values(code, language) if is_usable(code) else None,
        language=language,
    )


def templates_for(booking: Booking):
    """The host's active templates that apply to the booking's property."""
    return MessageTemplate.objects.filter(host_id=booking.property.host_id, is_active=True).for_property(booking.property_id)


def wait_deadline(booking: Booking, code: AccessCode | None) -> datetime:
    """When a code message still waiting is missed (the host is emailed, it is never sent): the
    check-in moment. Until then it goes out as soon as the code works, margin or not."""
    return stay_of(booking).check_in_at


def bookings_with_messaging(booking_ids) -> list[int]:
    """Of these bookings, those an event can concern messages for at all: with a message planned,
    or a host with an active template. One query, whatever their number (it runs for every batch
    of codes that become ready).

    Written in SQL: compiling the ORM's two correlated EXISTS cost the worker more CPU than the rest
    of a created code's queries together (benchmarks/lifecycle.py)."""
    ids = sorted({int(booking_id) for booking_id in booking_ids})
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_BOOKINGS_WITH_MESSAGING.format(ids=", ".join(["%s"] * len(ids))), ids)
        return [row[0] for row in cursor.fetchall()]


_BOOKINGS_WITH_MESSAGING = (
    f"SELECT b.id FROM {Booking._meta.db_table} b JOIN {Property._meta.db_table} p ON p.id = b.property_id "
    "WHERE b.id IN ({ids}) AND ("
    f"EXISTS (SELECT 1 FROM {MessageDelivery._meta.db_table} d WHERE d.booking_id = b.id) OR "
    f"EXISTS (SELECT 1 FROM {MessageTemplate._meta.db_table} t WHERE t.host_id = p.host_id AND t.is_active))"
)


# --- writing, claiming and handing on -------------------------------------------------------------


def new_delivery(
    template: MessageTemplate, booking: Booking, key: str, due_at: datetime, now: datetime, channel: str = Channel.EMAIL
) -> MessageDelivery:
    return MessageDelivery(
        booking=booking,
        template=template,
        template_name=template.name,
        trigger_key=key,
        channel=channel,
        status=DeliveryStatus.DUE,
        due_at=due_at,
        next_attempt_at=now,
    )


def new_deliveries(template: MessageTemplate, booking: Booking, key: str, due_at: datetime, now: datetime) -> list[MessageDelivery]:
    """One ledger row per channel of the template: each channel goes out once, on its own."""
    return [new_delivery(template, booking, key, due_at, now, channel) for channel in template.channels]


def builtin_delivery(
    kind: str, booking: Booking, key: str, due_at: datetime, now: datetime, channel: str = Channel.EMAIL
) -> MessageDelivery:
    """A ledger row of one of Nowistay's own messages (`messaging.default_messages`), no template."""
    return MessageDelivery(
        booking=booking,
        builtin=kind,
        template_name=BuiltinMessage(kind).label,
        trigger_key=key,
        channel=channel,
        status=DeliveryStatus.DUE,
        due_at=due_at,
        next_attempt_at=now,
    )


def builtin_deliveries(kind: str, booking: Booking, key: str, due_at: datetime, now: datetime) -> list[MessageDelivery]:
    """Nowistay's own message goes where the host's messages reach this guest: always by email (the
    channel every installation has, and the one the guest had before channels existed), and also on
    each other channel an active template of the host's for this property uses, when the guest has
    an address there. Whether the channel is set up on this server is decided when sending, where a
    row that cannot go is skipped while another channel reaches the guest (`messaging.delivery`)."""
    used = {Channel.EMAIL}
    for fields in templates_for(booking).values(*CHANNEL_FIELDS.values()).distinct():
        used |= {channel for channel, field in CHANNEL_FIELDS.items() if fields[field]}
    channels = [channel for channel in Channel.values if channel in used]
    reachable = [channel for channel in channels if channel == Channel.EMAIL or CHANNELS[channel].address(booking)]
    return [builtin_delivery(kind, booking, key, due_at, now, channel) for channel in reachable]


def insert_rows(rows: list[MessageDelivery]) -> int:
    # The unique (template or built-in message, booking, trigger_key, channel) constraints turn a concurrent
    # duplicate into a no-op.
    if rows:
        MessageDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _due(now: datetime) -> Q:
    return Q(status__in=OPEN_STATUSES, next_attempt_at__lte=now)


DELIVERY_LEASES = Leases(model=MessageDelivery, due=_due, lease=lambda: CLAIM_LEASE, order_by=("next_attempt_at", "pk"))


def claim_due(*, now: datetime, limit: int = CLAIM_BATCH, booking_id: int | None = None) -> tuple[str, list[int]]:
    """Claim up to `limit` open rows that are due (of one booking, if given), for one lease."""
    within = Q(booking_id=booking_id) if booking_id is not None else None
    return DELIVERY_LEASES.claim_due(now=now, limit=limit, within=within)


def after_commit(work: Callable[[], None]) -> None:
    """Run `work` once the claim is committed: at once in autocommit (tasks), else at commit."""
    transaction.on_commit(work)


SEND_BOOKING_MESSAGES = "messaging.send_booking_messages"  # messaging.tasks sends it


def enqueue_booking(booking_id: int) -> None:
    """Hand the booking to a worker once the surrounding transaction has committed. `robust`: a
    broker that is down must not fail the booking's save; the beat pass is the backstop."""
    dispatch.enqueue_on_commit(SEND_BOOKING_MESSAGES, booking_id, robust=True)
