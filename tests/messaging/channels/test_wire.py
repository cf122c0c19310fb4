"""What goes over the wire to Twilio and to the WhatsApp Cloud API, field by field."""

import pytest
from django.core import mail
from freezegun import freeze_time

from messaging.channels.whatsapp import flatten, meta_language
from messaging.models import DeliveryStatus, MessageDelivery
from tests.helpers.lifecycle import current
from tests.messaging.channels.conftest import (
    DUE,
    FROM,
    MESSAGES_URL,
    PHONE,
    SID,
    SMS_SID,
    TEMPLATE,
    TOKEN,
    WA_MESSAGES_URL,
    WA_TOKEN,
    WAMID,
    basic_auth,
    form_of,
    json_of,
    row,
    twilio_accepts,
    whatsapp_accepts,
)

pytestmark = pytest.mark.django_db


def test_an_sms_is_one_form_encoded_post_with_basic_auth_and_a_status_callback(stay, door_code, send, sms_set_up, providers):
    door_code(send_sms=True)
    twilio_accepts(providers)
    with freeze_time(DUE):
        booking = stay(guest_phone=PHONE)
        send()
    (call,) = providers.calls
    sms = row("sms")
    assert call.request.url == MESSAGES_URL
    assert call.request.headers["Authorization"] == basic_auth(SID, TOKEN)
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    pin = current(booking).pin
    assert form_of(call) == {
        "To": PHONE,
        "From": FROM,
        "Body": (
            "Your door code for Flat L1\n\n"
            f"Hello Grace Guest, your code is {pin} (14:30 on Thursday 11 June 2026 to 11:30 on Saturday 13 June 2026)."
        ),
        "StatusCallback": f"http://127.0.0.1:8000/messages/status/twilio/?delivery={sms.pk}",
    }
    assert (sms.status, sms.recipient, sms.pin, sms.provider_message_id, sms.provider_status) == (
        DeliveryStatus.SENT, PHONE, pin, SMS_SID, "queued",
    )
    assert row("email").status == DeliveryStatus.SENT and len(mail.outbox) == 1  # and by email, on its own row


def test_a_messaging_service_sends_without_a_from_number(stay, door_code, send, sms_set_up, settings, providers):
    settings.TWILIO_FROM_NUMBER, settings.TWILIO_MESSAGING_SERVICE_SID = "", "MG" + "2" * 32
    door_code(send_email=False, send_sms=True)
    twilio_accepts(providers, status="accepted")
    with freeze_time(DUE):
        stay(guest_phone=PHONE)
        send()
    (call,) = providers.calls
    fields = form_of(call)
    assert fields["MessagingServiceSid"] == "MG" + "2" * 32 and "From" not in fields
    assert row("sms").provider_status == "queued"


def test_a_whatsapp_message_is_the_approved_template_with_the_text_as_one_parameter(
    stay, door_code, send, whatsapp_set_up, providers
):
    door_code(send_email=False, send_whatsapp=True, body="Hello {{guest_name}},\n\n\tyour code is {{smartlock_code}}.      Bye")
    whatsapp_accepts(providers)
    with freeze_time(DUE):
        booking = stay(guest_phone=PHONE)
        send()
    (call,) = providers.calls
    delivery = row("whatsapp")
    assert call.request.url == WA_MESSAGES_URL
    assert call.request.headers["Authorization"] == f"Bearer {WA_TOKEN}"
    assert call.request.headers["Content-Type"] == "application/json"
    pin = current(booking).pin
    assert json_of(call) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": PHONE,
        "type": "template",
        "template": {
            "name": TEMPLATE,
            "language": {"policy": "deterministic", "code": "en"},
            "components": [{
                "type": "body",
                "parameters": [{"type": "text", "text": f"Your door code for Flat L1 · Hello Grace Guest, · your code is {pin}. Bye"}],
            }],
        },
        "biz_opaque_callback_data": str(delivery.pk),
    }
    assert (delivery.status, delivery.provider_message_id, delivery.provider_status) == (DeliveryStatus.SENT, WAMID, "queued")
    assert "\n" in delivery.body  # the ledger keeps the message as rendered


@pytest.mark.parametrize(
    ("ours", "meta"),
    [("en", "en"), ("pt", "pt_PT"), ("pt-br", "pt_BR"), ("pt_BR", "pt_BR"), ("en-gb", "en_GB"), ("fr", "fr"), ("de-at", "de"),
     ("xx", "en"), ("", "en")],
)
def test_our_language_codes_become_metas(ours, meta):
    assert meta_language(ours) == meta


def test_flattened_text_has_no_line_break_tab_or_run_of_spaces():
    text = flatten("Line one\r\n\n\tLine  two\t\there     end\n")
    assert text == "Line one · Line two here end"
    assert "\n" not in text and "\t" not in text and "     " not in text


def test_an_sms_over_1600_characters_is_never_sent_and_the_host_is_told(stay, door_code, send, sms_set_up, providers):
    door_code(send_email=False, send_sms=True, body="{{smartlock_code}} " + "x" * 1600)
    with freeze_time(DUE):
        stay(guest_phone=PHONE)
        send()
        send()
    assert len(providers.calls) == 0  # nothing was sent
    sms = MessageDelivery.objects.get()
    assert sms.status == DeliveryStatus.FAILED and "1600" in sms.note and "shorten" in sms.note
    assert [m.subject for m in mail.outbox] == ["“Door code” could not be sent to Grace Guest"]
