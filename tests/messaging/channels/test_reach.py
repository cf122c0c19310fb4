"""The door code rule across channels: a channel that cannot reach the guest is skipped while
another reaches them; when none can, the host is told (once); never a message without its code."""

import pytest
from django.core import mail
from django.utils import timezone
from freezegun import freeze_time

from bookings.models import Booking
from messaging import ledger
from messaging.models import BuiltinMessage, DeliveryStatus, MessageDelivery
from tests.helpers.guest_messages import GUEST
from tests.messaging.channels.conftest import DUE, PHONE, row, twilio_accepts

pytestmark = pytest.mark.django_db


def host_emails():
    return [m.subject for m in mail.outbox if m.to == ["host@example.com"]]


def test_no_phone_skips_the_sms_row_and_email_delivers_the_code(stay, door_code, send, sms_set_up, providers):
    door_code(send_sms=True)
    with freeze_time(DUE):
        stay(guest_phone="")
        send()
    sms, email = row("sms"), row("email")
    assert email.status == DeliveryStatus.SENT and [m.to for m in mail.outbox] == [[GUEST]]
    assert sms.status == DeliveryStatus.SKIPPED
    assert sms.note == "The guest has no mobile phone number in international format. The guest gets it by Email."
    assert sms.pin is None and host_emails() == []


def test_a_channel_not_set_up_is_skipped_while_email_reaches_the_guest(stay, door_code, send, providers):
    door_code(send_whatsapp=True)
    with freeze_time(DUE):
        stay(guest_phone=PHONE)
        send()
    assert row("whatsapp").status == DeliveryStatus.SKIPPED
    assert row("whatsapp").note.startswith("WhatsApp is not set up on this server.")
    assert row("email").status == DeliveryStatus.SENT


def test_no_address_on_any_channel_tells_the_host_once(stay, door_code, send, sms_set_up, providers):
    door_code(send_sms=True)
    with freeze_time(DUE):
        stay(guest_email="", guest_phone="")
        send()
        send()
    email, sms = row("email"), row("sms")
    assert (email.status, sms.status) == (DeliveryStatus.FAILED, DeliveryStatus.FAILED)
    assert email.note == "The guest has no email address. No other channel of this message reaches them either."
    assert sms.note.startswith("The guest has no mobile phone number in international format.")
    assert "no email address" in mail.outbox[0].body  # the host reads why
    assert host_emails() == ["“Door code” could not be sent to Grace Guest"]
    assert email.pin is None and sms.pin is None


def test_sms_only_reaches_a_guest_without_email(stay, door_code, send, sms_set_up, providers):
    door_code(send_sms=True)
    twilio_accepts(providers)
    with freeze_time(DUE):
        stay(guest_email="", guest_phone=PHONE)
        send()
    assert row("email").status == DeliveryStatus.SKIPPED and "gets it by SMS" in row("email").note
    assert row("sms").status == DeliveryStatus.SENT and host_emails() == []


def test_a_message_without_the_code_and_no_address_is_just_skipped(stay, door_code, send, providers):
    door_code(send_sms=True, subject="Welcome", body="See you soon, {{guest_name}}.")
    with freeze_time(DUE):
        stay(guest_email="", guest_phone="")
        send()
    assert set(MessageDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SKIPPED}
    assert host_emails() == []


def test_a_phone_kept_from_before_e164_is_no_sms_address(stay, door_code, send, sms_set_up, providers):
    door_code(send_sms=True)
    with freeze_time(DUE):
        stay(guest_phone="06 12 34 56 78")  # written as it was before bookings stored E.164
        send()
    assert row("sms").status == DeliveryStatus.SKIPPED


def test_nowistays_own_messages_go_by_email_and_the_channels_the_hosts_messages_use(stay, door_code, host):
    door_code(send_sms=True)
    with freeze_time(DUE):
        booking = stay(guest_phone=PHONE)
        now = timezone.now()
        rows = ledger.builtin_deliveries(BuiltinMessage.FALLBACK_CODE, booking, "fallback:1", now, now)
        assert [r.channel for r in rows] == ["email", "sms"]
        Booking.objects.filter(pk=booking.pk).update(guest_phone="")
        booking.refresh_from_db()
        rows = ledger.builtin_deliveries(BuiltinMessage.FALLBACK_CODE, booking, "fallback:1", now, now)
        assert [r.channel for r in rows] == ["email"]  # no phone: no SMS row to skip


def test_planning_writes_a_row_per_channel_and_a_channel_added_later_still_goes(stay, door_code, send, sms_set_up, providers):
    template = door_code()
    twilio_accepts(providers)
    with freeze_time(DUE):
        stay(guest_phone=PHONE)
        send()
        assert list(MessageDelivery.objects.values_list("channel", "status")) == [("email", DeliveryStatus.SENT)]
        template.send_sms = True
        template.save()
        send()
        send()
    assert sorted(MessageDelivery.objects.values_list("channel", "status")) == [
        ("email", DeliveryStatus.SENT), ("sms", DeliveryStatus.SENT),
    ]
    assert len(mail.outbox) == 1 and len(providers.calls) == 1


def test_a_code_change_goes_on_each_channel_of_the_change_message(stay, door_code, send, sms_set_up, providers, after_commit, host):
    from locks import services as lifecycle
    from messaging.models import MessageTemplate
    from tests.helpers.lifecycle import current

    door_code(send_sms=True)
    MessageTemplate.objects.create(
        host=host, name="Code changed", is_code_change=True, subject="New code", body="Your code is now {{smartlock_code}}.",
        send_sms=True,
    )
    twilio_accepts(providers)
    twilio_accepts(providers, sid="SM" + "b" * 32)
    with freeze_time(DUE):
        booking = stay(guest_phone=PHONE)
        send()
        after_commit(lambda: lifecycle.code_regenerate(code_id=current(booking).pk))
        send()
    changes = MessageDelivery.objects.filter(template__is_code_change=True)
    assert sorted(changes.values_list("channel", "status")) == [("email", DeliveryStatus.SENT), ("sms", DeliveryStatus.SENT)]
    assert form_body(providers.calls[-1]).endswith(f"Your code is now {current(booking).pin}.")


def form_body(call) -> str:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(call.request.body))["Body"]
