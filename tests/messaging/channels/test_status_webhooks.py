"""The providers' status callbacks: signed, forward only, and a failure of a code message tells
the host once. The signatures are computed here from the providers' documented rules."""

import base64
import hashlib
import hmac
import json

import pytest
from django.core import mail
from django.urls import reverse
from freezegun import freeze_time

from messaging.models import DeliveryStatus
from tests.messaging.channels.conftest import (
    APP_SECRET,
    DUE,
    PHONE,
    SMS_SID,
    TOKEN,
    VERIFY,
    WAMID,
    row,
    twilio_accepts,
    whatsapp_accepts,
)

pytestmark = pytest.mark.django_db

FAILED_SUBJECT = "“Door code” could not be sent to Grace Guest"


def post_twilio(client, delivery_id: int, params: dict, *, token: str = TOKEN):
    path = f"{reverse('messaging:status_twilio')}?delivery={delivery_id}"
    url = f"http://127.0.0.1:8000{path}"  # SITE_URL + path: what Twilio was given
    signed = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    signature = base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def post_whatsapp(client, statuses: list[dict], *, secret: str = APP_SECRET):
    body = json.dumps({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp", "statuses": statuses}}]}],
    }).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(reverse("messaging:status_whatsapp"), body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=signature)


@pytest.fixture
def sent_sms(stay, door_code, send, sms_set_up, providers):
    door_code(send_email=False, send_sms=True)
    twilio_accepts(providers)
    with freeze_time(DUE):
        stay(guest_phone=PHONE)
        send()
    return row("sms")


@pytest.fixture
def sent_whatsapp(stay, door_code, send, whatsapp_set_up, providers):
    door_code(send_email=False, send_whatsapp=True)
    whatsapp_accepts(providers)
    with freeze_time(DUE):
        stay(guest_phone=PHONE)
        send()
    return row("whatsapp")


def test_a_signed_twilio_callback_moves_the_status_forward_only(client, sent_sms):
    for status in ("sent", "delivered", "sent", "delivered", "queued"):  # duplicates, out of order
        assert post_twilio(client, sent_sms.pk, {"MessageSid": SMS_SID, "MessageStatus": status, "AccountSid": "AC"}).status_code == 204
    sent_sms.refresh_from_db()
    assert (sent_sms.status, sent_sms.provider_status) == (DeliveryStatus.SENT, "delivered")


def test_a_badly_signed_twilio_callback_is_refused_and_changes_nothing(client, sent_sms):
    response = post_twilio(client, sent_sms.pk, {"MessageSid": SMS_SID, "MessageStatus": "failed"}, token="not-the-token")
    assert response.status_code == 403
    unsigned = client.post(f"{reverse('messaging:status_twilio')}?delivery={sent_sms.pk}", {"MessageStatus": "failed"})
    assert unsigned.status_code == 403
    sent_sms.refresh_from_db()
    assert sent_sms.provider_status == "queued" and mail.outbox == []


def test_a_callback_for_another_message_id_changes_nothing(client, sent_sms):
    post_twilio(client, sent_sms.pk, {"MessageSid": "SM" + "f" * 32, "MessageStatus": "failed"})
    sent_sms.refresh_from_db()
    assert sent_sms.provider_status == "queued"


def test_undelivered_code_sms_tells_the_host_once(client, sent_sms, after_commit):
    for _ in range(2):
        undelivered = {"MessageSid": SMS_SID, "MessageStatus": "undelivered", "ErrorCode": "30006"}
        after_commit(lambda: post_twilio(client, sent_sms.pk, undelivered))  # noqa: B023 - called at once
    post_twilio(client, sent_sms.pk, {"MessageSid": SMS_SID, "MessageStatus": "delivered"})  # failed is final
    sent_sms.refresh_from_db()
    assert (sent_sms.status, sent_sms.provider_status, sent_sms.provider_error) == (DeliveryStatus.FAILED, "undelivered", "Twilio 30006")
    assert sent_sms.note == "SMS reported the message undelivered (Twilio 30006)."
    assert [m.subject for m in mail.outbox] == [FAILED_SUBJECT]


def test_whatsapp_statuses_by_callback_data_forward_only_and_failed_tells_the_host_once(client, sent_whatsapp, after_commit):
    delivery = sent_whatsapp
    read = {
        "id": WAMID, "status": "read", "timestamp": "1781078400", "recipient_id": PHONE[1:], "biz_opaque_callback_data": str(delivery.pk),
    }
    delivered = {**read, "status": "delivered"}
    assert post_whatsapp(client, [read, delivered, delivered]).status_code == 200
    delivery.refresh_from_db()
    assert delivery.provider_status == "read"
    failed = {**read, "status": "failed", "errors": [{"code": 131026, "title": "Message undeliverable"}]}
    after_commit(lambda: post_whatsapp(client, [failed]))
    after_commit(lambda: post_whatsapp(client, [failed]))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_status) == (DeliveryStatus.FAILED, "failed")
    assert delivery.provider_error == "WhatsApp 131026: Message undeliverable"
    assert [m.subject for m in mail.outbox] == [FAILED_SUBJECT]


def test_a_badly_signed_whatsapp_webhook_is_refused(client, sent_whatsapp):
    status = {"id": WAMID, "status": "failed", "timestamp": "1781078400"}
    assert post_whatsapp(client, [status], secret="wrong").status_code == 403
    response = client.post(reverse("messaging:status_whatsapp"), b"{}", content_type="application/json")
    assert response.status_code == 403
    sent_whatsapp.refresh_from_db()
    assert sent_whatsapp.provider_status == "queued"


def test_the_whatsapp_subscription_handshake(client, whatsapp_set_up):
    url = reverse("messaging:status_whatsapp")
    good = client.get(url, {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"})
    assert (good.status_code, good.content) == (200, b"1158201444")
    assert client.get(url, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}).status_code == 403


def test_an_oversized_callback_is_refused(client, sent_whatsapp):
    response = client.post(reverse("messaging:status_whatsapp"), b"{" + b" " * 300_000 + b"}", content_type="application/json")
    assert response.status_code == 413


def test_the_log_page_shows_each_channel_its_provider_status_and_failure(client, host, sent_sms, stay):
    client.force_login(host)
    post_twilio(client, sent_sms.pk, {"MessageSid": SMS_SID, "MessageStatus": "undelivered", "ErrorCode": "30006"})
    page = client.get(reverse("messaging:booking_log", args=[sent_sms.booking_id])).content.decode()
    assert "SMS" in page and "Undelivered" in page and "Twilio 30006" in page
    assert "SMS reported the message undelivered (Twilio 30006)." in page
