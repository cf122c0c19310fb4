"""Permanent and retryable provider errors, and exactly once per channel: replayed passes, and a
provider that answers after our client gave up."""

import pytest
import requests
from django.core import mail
from django.utils import timezone
from freezegun import freeze_time

from messaging import services
from messaging.models import DeliveryStatus, MessageDelivery
from tests.messaging.channels.conftest import (
    DUE,
    MESSAGES_URL,
    PHONE,
    SMS_SID,
    WA_MESSAGES_URL,
    row,
    twilio_accepts,
    twilio_refuses,
    whatsapp_accepts,
    whatsapp_refuses,
)
from tests.messaging.channels.test_status_webhooks import post_twilio

pytestmark = pytest.mark.django_db

FAILED_SUBJECT = "“Door code” could not be sent to Grace Guest"


def host_emails():
    return [m.subject for m in mail.outbox if m.to == ["host@example.com"]]


@pytest.mark.parametrize(("code", "words"), [(21211, "not a valid number"), (21614, "not a mobile number"), (21610, "STOP")])
def test_a_permanent_twilio_error_fails_the_sms_and_tells_the_host_once(stay, door_code, send, sms_set_up, providers, code, words):
    door_code(send_email=False, send_sms=True)
    twilio_refuses(providers, code)
    with freeze_time(DUE) as frozen:
        stay(guest_phone=PHONE)
        send()
        frozen.tick(services.SEND_RETRY_DELAY * 3)
        send()  # never again
    assert len(providers.calls) == 1
    sms = row("sms")
    assert (sms.status, sms.provider_error) == (DeliveryStatus.FAILED, str(code))
    assert f"Twilio {code}" in sms.note and words in sms.note
    assert host_emails() == [FAILED_SUBJECT]


@pytest.mark.parametrize(("code", "words"), [(131026, "cannot receive WhatsApp"), (132001, "not approved"), (190, "access token")])
def test_a_permanent_whatsapp_error_fails_and_tells_the_host_once(stay, door_code, send, whatsapp_set_up, providers, code, words):
    door_code(send_email=False, send_whatsapp=True)
    whatsapp_refuses(providers, code, http_status=401 if code == 190 else 400)
    with freeze_time(DUE) as frozen:
        stay(guest_phone=PHONE)
        send()
        frozen.tick(services.SEND_RETRY_DELAY * 3)
        send()
    assert len(providers.calls) == 1
    delivery = row("whatsapp")
    assert delivery.status == DeliveryStatus.FAILED and f"WhatsApp {code}" in delivery.note and words in delivery.note
    assert host_emails() == [FAILED_SUBJECT]


@pytest.mark.parametrize(
    "refuse",
    [
        lambda providers: providers.post(MESSAGES_URL, status=503, body="unavailable"),
        lambda providers: twilio_refuses(providers, 20429, http_status=429),
        lambda providers: twilio_refuses(providers, 30003),
        lambda providers: providers.post(MESSAGES_URL, body=requests.ConnectTimeout("connect timed out")),
    ],
    ids=["5xx", "rate-limited", "handset-unreachable", "connect-timeout"],
)
def test_a_passing_sms_failure_is_retried_later_and_then_sent_once(stay, door_code, send, sms_set_up, providers, refuse):
    door_code(send_email=False, send_sms=True)
    refuse(providers)
    with freeze_time(DUE) as frozen:
        stay(guest_phone=PHONE)
        send()
        sms = row("sms")
        assert (sms.status, sms.attempts) == (DeliveryStatus.DUE, 1) and "could not" in sms.note
        send()  # not before the retry delay
        assert len(providers.calls) == 1
        twilio_accepts(providers)
        frozen.tick(services.SEND_RETRY_DELAY)
        send()
        send()
    assert len(providers.calls) == 2
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.provider_message_id, sms.note) == (DeliveryStatus.SENT, 2, SMS_SID, "")
    assert host_emails() == []


def test_a_whatsapp_5xx_and_throughput_limit_are_retried(stay, door_code, send, whatsapp_set_up, providers):
    door_code(send_email=False, send_whatsapp=True)
    providers.post(WA_MESSAGES_URL, status=500, json={"error": {"code": 1, "message": "unknown"}})
    with freeze_time(DUE) as frozen:
        stay(guest_phone=PHONE)
        send()
        whatsapp_refuses(providers, 130429)
        frozen.tick(services.SEND_RETRY_DELAY)
        send()
        whatsapp_accepts(providers)
        frozen.tick(services.SEND_RETRY_DELAY)
        send()
    assert len(providers.calls) == 3 and row("whatsapp").status == DeliveryStatus.SENT


def test_a_replayed_pass_and_a_replayed_claim_send_each_channel_once(
    stay, door_code, send, sms_set_up, whatsapp_set_up, providers
):
    door_code(send_sms=True, send_whatsapp=True)
    twilio_accepts(providers)
    whatsapp_accepts(providers)
    with freeze_time(DUE):
        stay(guest_phone=PHONE)
        send()
        send()
        rows = list(MessageDelivery.objects.values_list("pk", flat=True))
        for pk in rows:  # a worker replaying its batch with its old claim
            assert services.process_delivery(delivery_id=pk, claim_token="replayed") == "skipped"
        services.plan_due_messages(timezone.now())  # planning again adds nothing
    assert sorted(MessageDelivery.objects.values_list("channel", "status")) == [
        ("email", "sent"), ("sms", "sent"), ("whatsapp", "sent"),
    ]
    assert len(providers.calls) == 2 and len(mail.outbox) == 1


def test_a_provider_that_answers_after_our_timeout_is_not_sent_twice(stay, door_code, send, sms_set_up, providers, client):
    """Twilio took the message but we timed out reading its answer: its status callback, naming
    the row, arrives before the retry, so the row is recorded as sent and never sent again."""
    door_code(send_email=False, send_sms=True)
    providers.post(MESSAGES_URL, body=requests.ReadTimeout("read timed out"))
    with freeze_time(DUE) as frozen:
        booking = stay(guest_phone=PHONE)
        send()
        sms = row("sms")
        assert sms.status == DeliveryStatus.DUE and "may have sent" in sms.note
        assert post_twilio(client, sms.pk, {"MessageSid": SMS_SID, "MessageStatus": "sent"}).status_code == 204
        frozen.tick(services.SEND_RETRY_DELAY)
        send()  # no request registered: a second send would fail the test
    assert len(providers.calls) == 1
    sms.refresh_from_db()
    assert (sms.status, sms.provider_message_id, sms.provider_status) == (DeliveryStatus.SENT, SMS_SID, "sent")
    assert sms.pin == booking.access_codes.get().pin and sms.recipient == PHONE  # what the attempt carried


def test_a_timeout_with_no_word_from_the_provider_is_retried(stay, door_code, send, sms_set_up, providers):
    door_code(send_email=False, send_sms=True)
    providers.post(MESSAGES_URL, body=requests.ReadTimeout("read timed out"))
    with freeze_time(DUE) as frozen:
        stay(guest_phone=PHONE)
        send()
        twilio_accepts(providers)
        frozen.tick(services.SEND_RETRY_DELAY)
        send()
    assert len(providers.calls) == 2 and row("sms").status == DeliveryStatus.SENT


def test_any_other_4xx_is_permanent_and_its_text_keeps_no_phone_number(stay, door_code, send, sms_set_up, providers):
    door_code(send_email=False, send_sms=True)
    providers.post(MESSAGES_URL, status=400, json={"code": 21999, "message": "Something about +33 6 12 34 56 78 went wrong"})
    with freeze_time(DUE):
        stay(guest_phone=PHONE)
        send()
    sms = row("sms")
    assert (sms.status, sms.provider_error) == (DeliveryStatus.FAILED, "21999")
    assert sms.note == "The SMS was refused (Twilio 21999): Something about … went wrong"
