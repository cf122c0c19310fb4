"""Processing one claimed ledger row: send it, let it wait for the door code, or close it; and the
door code changes the host (and the guest) are told of. Sending happens outside any transaction;
each outcome is recorded with an UPDATE conditioned on the claim, which also releases it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _, gettext_noop

from bookings.models import Booking, BookingStatus
from locks.models import AccessCode, CodeState
from messaging import ledger, notifications, reach, rendering, rotations, schedule
from messaging.channels import CHANNELS, PermanentSendError, TemporarySendError
from messaging.default_messages import DefaultMessage, default_message
from messaging.ledger import (
    DELIVERY_LEASES,
    MAX_SEND_ATTEMPTS,
    SEND_RETRY_DELAY,
    WAIT_RECHECK,
    after_commit,
    booking_values,
    builtin_deliveries,
    current_code,
    insert_rows,
    is_usable,
    new_deliveries,
    stay_of,
    templates_for,
    wait_deadline,
)
from messaging.models import (
    OPEN_STATUSES,
    PROVIDER_STATUS_RANK,
    BuiltinMessage,
    CodeChangeNotice,
    DeliveryStatus,
    MessageDelivery,
    MessageTemplate,
    TriggerKind,
)
from nowistay import languages

logger = logging.getLogger(__name__)


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
    # The notes the host reads on the booking's message log are written in the host's language.
    with languages.speaking_to(delivery.booking.property.host):
        return _process_claimed(delivery, claim_token, now)


def _process_claimed(delivery: MessageDelivery, claim_token: str, now: datetime) -> str:
    booking, template = delivery.booking, message_of(delivery)
    reason = _skip_reason(delivery, template, now)
    if reason:
        _close(delivery, claim_token, DeliveryStatus.SKIPPED, note=reason)
        return "skipped"

    code = None
    if template.uses_code:
        code = current_code(booking.pk)  # from the database, now: never a PIN remembered earlier
        if not is_usable(code):
            return _wait_or_miss(delivery, claim_token, booking, code, now)
    if delivery.builtin:
        template = template.for_code(code)
    # The guest's language (set, else their phone's country's): its text, else the fallback language's.
    text = template.text_for(booking.effective_guest_language)

    try:
        values = booking_values(booking, code, text.language)
        subject = rendering.one_line(rendering.render(text.subject, values))
        body = rendering.render(text.body, values)
    except rendering.RenderError as error:
        return _failed(delivery, claim_token, f"The message uses a variable that cannot be filled in: {error}.", now)

    channel = CHANNELS[delivery.channel]
    recipient = channel.address(booking)
    if not recipient or not channel.is_configured():
        return _unreachable(delivery, claim_token, booking, code, now)

    what_went = {
        "recipient": recipient, "code": code, "pin": code.pin if code else None,
        "access_link": code.access_link if code else None, "subject": subject, "body": body,
    }
    try:
        result = _send(channel, delivery, recipient, subject, body, text.language)
    except (PermanentSendError, TemporarySendError) as error:
        # The code only: a provider's text may name the guest's number.
        logger.warning("sending message delivery %s by %s failed: %s %s", delivery.pk, delivery.channel, type(error).__name__, error.code)
        if isinstance(error, PermanentSendError) or delivery.attempts + 1 >= MAX_SEND_ATTEMPTS:
            return _failed(delivery, claim_token, str(error.note), now, provider_error=error.code)
        # A request that may have been acted on keeps what it carried: a status callback naming
        # this row before the retry records it as sent (messaging.status_webhooks), never sent twice.
        _retry_later(delivery, claim_token, str(error.note)[:500], now, **(what_went if error.maybe_sent else {}))
        return "retrying"

    recorded = DELIVERY_LEASES.release(
        pk=delivery.pk,
        token=claim_token,
        status=DeliveryStatus.SENT,
        sent_at=now,
        **what_went,
        provider_message_id=result.provider_id,
        provider_error="",
        language=text.language,
        note="",
        attempts=delivery.attempts + 1,
        next_attempt_at=None,
        updated_at=now,
    )
    if result.status:  # forward only: the provider's callback may have come before its answer was recorded
        behind = [name for name, rank in PROVIDER_STATUS_RANK.items() if rank < PROVIDER_STATUS_RANK[result.status]]
        rows = MessageDelivery.objects.filter(pk=delivery.pk, provider_status__in=behind)
        rows.update(provider_status=result.status, provider_status_at=now)
    if not recorded:  # our lease ran out while the backend was sending: another worker may send too
        logger.warning("message delivery %s was sent after its claim expired", delivery.pk)
    if code is not None:
        # A code may have changed while this message was on its way: compare again.
        booking_code_change_check(booking=booking, now=now)
    return "sent"


def message_of(delivery: MessageDelivery) -> MessageTemplate | DefaultMessage | None:
    """What a ledger row sends: its host's template, or one of Nowistay's own messages; None when
    its template was deleted."""
    if delivery.builtin:
        return default_message(delivery.builtin)
    return delivery.template


REPLACED = gettext_noop("A newer door code replaced the one this message was for.")


def _skip_reason(delivery: MessageDelivery, template: MessageTemplate | DefaultMessage | None, now: datetime) -> str:
    booking = delivery.booking
    if template is None:
        return gettext("The message was deleted.")
    if not template.is_active:
        return gettext("The message was switched off.")
    if booking.status != BookingStatus.CONFIRMED:
        return gettext("The booking is no longer confirmed.")
    if not delivery.builtin and not template.properties.filter(pk=booking.property_id).exists() and template.properties.exists():
        return gettext("The message no longer applies to this booking's property.")
    if template.uses_code and booking.access_ended_at is not None:
        return gettext("The guest's access was ended.")
    key = delivery.trigger_key
    if key.startswith(f"{schedule.CODE_CHANGE}:"):
        code = current_code(booking.pk)
        if code is None or not schedule.is_code_change_key_of(key, code.pk, code.vendor_code_id):
            return gettext(REPLACED)
        return ""
    if key.startswith(f"{schedule.FALLBACK}:"):
        code = current_code(booking.pk)
        return "" if code is not None and key == schedule.fallback_key(code.pk) else gettext(REPLACED)
    if template.is_code_change:
        return gettext("The message is now a door code change message.")
    if key == schedule.confirmation_key():
        return "" if template.trigger == TriggerKind.ON_CONFIRMATION else gettext("The message's trigger changed.")
    try:
        occurrence = schedule.occurrence(template.as_trigger(), stay_of(booking))
    except (ValueError, OverflowError):
        return gettext("The booking's dates no longer give a moment for this message.")
    if occurrence.key != key:
        return gettext("The booking's dates or the message's trigger changed; it follows the new ones.")
    return ""


def _wait_or_miss(delivery: MessageDelivery, token: str, booking: Booking, code: AccessCode | None, now: datetime) -> str:
    deadline = wait_deadline(booking, code)
    if now >= deadline:
        missed = DELIVERY_LEASES.release(
            pk=delivery.pk,
            token=token,
            where=Q(status__in=OPEN_STATUSES),
            status=DeliveryStatus.MISSED_CODE,
            host_notified_at=now,
            wait_deadline=deadline,
            note="The door code was not active when the guest could arrive; the host was emailed.",
            next_attempt_at=None,
            updated_at=now,
        )
        if missed:  # the transition happens once, so the email goes once
            delivery.note = ""
            after_commit(lambda: notifications.message_missed_code(delivery, deadline=deadline))
        return "missed_code"
    DELIVERY_LEASES.release(
        pk=delivery.pk,
        token=token,
        status=DeliveryStatus.WAITING_FOR_CODE,
        wait_deadline=deadline,
        next_attempt_at=min(now + WAIT_RECHECK, deadline),
        note=_waiting_note(code),
        updated_at=now,
    )
    return "waiting_for_code"


def _waiting_note(code: AccessCode | None) -> str:
    if code is None:
        return "The booking has no door code yet (is a lock assigned to the property?)."
    return f"The door code is not active yet ({code.get_state_display().lower()})."


def _close(delivery: MessageDelivery, token: str, status: str, *, note: str) -> None:
    DELIVERY_LEASES.release(pk=delivery.pk, token=token, status=status, note=note[:500], next_attempt_at=None, updated_at=timezone.now())


def _failed(delivery: MessageDelivery, token: str, note: str, now: datetime, *, provider_error: str = "", notify: bool = True) -> str:
    closed = DELIVERY_LEASES.release(
        pk=delivery.pk,
        token=token,
        where=Q(status__in=OPEN_STATUSES),
        status=DeliveryStatus.FAILED,
        note=str(note)[:500],
        provider_error=provider_error[:300],
        host_notified_at=now if notify else None,
        attempts=delivery.attempts + 1,
        next_attempt_at=None,
        updated_at=now,
    )
    if closed and notify:
        delivery.note = note[:500]
        after_commit(lambda: notifications.message_failed(delivery))
    return "failed"


def _retry_later(delivery: MessageDelivery, token: str, note: str, now: datetime, **what_went) -> None:
    DELIVERY_LEASES.release(
        pk=delivery.pk,
        token=token,
        status=DeliveryStatus.DUE,
        note=note,
        **what_went,
        attempts=delivery.attempts + 1,
        next_attempt_at=now + SEND_RETRY_DELAY,
        updated_at=now,
    )


def _send(channel, delivery: MessageDelivery, recipient: str, subject: str, body: str, language: str):
    """`language`: the text's (WhatsApp picks its template's translation by it)."""
    try:
        return channel.send(delivery, recipient, subject, body, language or "en")
    except (PermanentSendError, TemporarySendError):
        raise
    except Exception as error:  # a sender's unforeseen error: never crash the batch, try again later
        raise TemporarySendError((_("The message could not be sent yet: %(error)s") % {"error": error})[:500]) from error


def _unreachable(delivery: MessageDelivery, token: str, booking: Booking, code: AccessCode | None, now: datetime) -> str:
    """This row's channel cannot reach the guest: skipped, or failed with the host told (`messaging.reach`)."""
    outcome = reach.unreachable_outcome(delivery, booking, carries_code=code is not None)
    if outcome.fail:
        return _failed(delivery, token, outcome.note, now, notify=outcome.notify)
    _close(delivery, token, DeliveryStatus.SKIPPED, note=outcome.note)
    return "skipped"


# --- door code changes ----------------------------------------------------------------------------


def booking_code_change_check(*, booking: Booking, now: datetime | None = None) -> CodeChangeNotice | None:
    """If the guest's last message carried a PIN (or a door link) other than the current active
    code's, tell the host (once per new code, a code created again on its lock counting as new)
    and plan the host's door code change messages."""
    now = now or timezone.now()
    code = current_code(booking.pk)
    if not is_usable(code):
        return None
    last = (
        MessageDelivery.objects.filter(booking_id=booking.pk, status=DeliveryStatus.SENT, pin__isnull=False)
        .order_by("-sent_at", "-pk")
        .first()
    )
    if last is None or not _code_changed(last, code):
        return None
    try:
        with transaction.atomic():
            notice = CodeChangeNotice.objects.create(
                booking=booking,
                previous_code_id=last.code_id,
                previous_pin=last.pin,
                new_code=code,
                new_vendor_code_id=code.vendor_code_id,  # a row's PIN or link changes only with a new vendor code
                new_pin=code.pin,
                previous_link=last.access_link,
                new_link=code.access_link,
                host_notified_at=now,
            )
            templates = templates_for(booking).filter(is_code_change=True)
            key = schedule.code_change_key(code.pk, code.vendor_code_id)
            rows = [row for t in templates for row in new_deliveries(t, booking, key, now, now)]
            default = not rows and rotations.sends_default_message(code)
            if default:  # a host's rotation: the guest gets the new code even without a message of the host's
                rows = builtin_deliveries(BuiltinMessage.CODE_CHANGE, booking, key, now, now)
            notice.change_messages = insert_rows(rows)
            notice.save(update_fields=["change_messages"])
    except IntegrityError:
        return None  # another worker saw this change first and told the host
    after_commit(lambda: notifications.code_changed(notice, change_messages=notice.change_messages, default_message=default))
    if notice.change_messages:
        ledger.enqueue_booking(booking.pk)
    return notice


def _code_changed(last: MessageDelivery, code: AccessCode) -> bool:
    """Whether what the guest was sent no longer opens the door: another PIN, or, for a vendor that
    gives links, another link (a code created again keeps its PIN but gets a new link)."""
    if last.pin != code.pin:
        return True
    return bool(last.access_link) and last.access_link != code.access_link


def catch_missed_code_changes(now: datetime) -> int:
    """Backstop for a lost `codes_ready`: stays not over whose current code may not be the one their
    last code message carried are checked again: another code row, or the same row written on its
    lock since (created again, it may have a new PIN or link)."""
    since = now.date() - timedelta(days=1)
    sent = (
        MessageDelivery.objects.filter(status=DeliveryStatus.SENT, code__isnull=False, booking__departure_date__gte=since)
        .order_by("booking_id", "sent_at", "pk")
        .values_list("booking_id", "code_id", "sent_at")
    )
    last_sent: dict[int, tuple[int, datetime]] = {}
    for booking_id, code_id, sent_at in sent:
        last_sent[booking_id] = (code_id, sent_at)
    if not last_sent:
        return 0
    current = AccessCode.objects.filter(booking_id__in=last_sent, is_current=True, state=CodeState.ACTIVE).values_list(
        "booking_id", "pk", "updated_at"
    )
    changed = [booking_id for booking_id, code_id, updated_at in current if _may_differ(last_sent[booking_id], code_id, updated_at)]
    count = 0
    for booking in Booking.objects.filter(pk__in=changed).select_related("property__host"):
        if booking_code_change_check(booking=booking, now=now) is not None:
            count += 1
    return count


def _may_differ(last_sent: tuple[int, datetime], code_id: int, updated_at: datetime) -> bool:
    """Whether the current code may not be the one last sent (checked exactly, PINs and links
    decrypted, only for these): another row, or one written since the message went."""
    sent_code_id, sent_at = last_sent
    return code_id != sent_code_id or updated_at >= sent_at
