"""End to end, `make run`'s way: guest messages by SMS and WhatsApp go from Nowistay to the
sandbox's provider emulators over HTTP, the sandbox records them, and its signed status callbacks
come back to Nowistay's status endpoints (a live server here), which record them as delivered."""

import pytest
import requests
from django.utils import timezone

from bookings.models import BookingStatus
from messaging import services
from messaging.models import DeliveryStatus, MessageDelivery, MessageTemplate, TriggerKind
from sandbox.demo_sign_ins import channel_settings
from tests.helpers.guest_messages import ARRIVAL, DEPARTURE
from tests.helpers.processes import wait_until

PHONE = "+33612345678"


@pytest.mark.django_db(transaction=True)
def test_sms_and_whatsapp_through_the_sandbox_and_back(sandbox_url, live_server, settings, host, make_property, book):
    for name, value in channel_settings(sandbox_url).items():
        setattr(settings, name, value)
    settings.SITE_URL = live_server.url
    requests.post(f"{sandbox_url}/_control/whatsapp/webhook/", data={"url": f"{live_server.url}/messages/status/whatsapp/"}, timeout=5)
    MessageTemplate.objects.create(
        host=host, name="Welcome", trigger=TriggerKind.ON_CONFIRMATION, subject="Welcome to {{property_name}}",
        body="Hello {{guest_name}},\nsee you on {{arrival_date}}.", send_email=False, send_sms=True, send_whatsapp=True,
    )
    booking = book(make_property(), ARRIVAL, DEPARTURE, status=BookingStatus.CONFIRMED, guest_phone=PHONE, guest_email="")
    if not MessageDelivery.objects.exists():
        services.booking_confirmed(booking=booking)
    services.run_pass(dispatch=services.process_inline, now=timezone.now())
    sms, whatsapp = (MessageDelivery.objects.get(channel=channel) for channel in ("sms", "whatsapp"))
    assert (sms.status, whatsapp.status) == (DeliveryStatus.SENT, DeliveryStatus.SENT)
    wait_until(
        lambda: set(MessageDelivery.objects.values_list("provider_status", flat=True)) == {"delivered"},
        "the sandbox's status callbacks to reach Nowistay",
    )
    recorded = {m["channel"]: m for m in requests.get(f"{sandbox_url}/_control/messages/", timeout=5).json()["messages"]}
    assert recorded["sms"]["body"] == "Welcome to Seaside Flat\n\nHello Grace Guest,\nsee you on Thursday 11 June 2026."
    assert recorded["whatsapp"]["body"] == "Welcome to Seaside Flat · Hello Grace Guest, · see you on Thursday 11 June 2026."
    assert (recorded["sms"]["callback_problem"], recorded["whatsapp"]["callback_problem"]) == ("", "")

