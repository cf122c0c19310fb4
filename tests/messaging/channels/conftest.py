"""Guest messages by SMS and WhatsApp with the providers emulated by `responses`: every request is
matched field by field, and an unexpected one fails the test (RequestsMock is strict)."""

import base64
import json
from urllib.parse import parse_qsl

import pytest
import responses

from messaging.models import MessageDelivery
from nowistay.celery import app

TWILIO_URL = "https://api.twilio.test"
SID, TOKEN, FROM = "AC" + "1" * 32, "twilio-auth-token", "+15005550006"
MESSAGES_URL = f"{TWILIO_URL}/2010-04-01/Accounts/{SID}/Messages.json"
WHATSAPP_URL = "https://graph.whatsapp.test/v21.0"
WA_TOKEN, PHONE_ID, TEMPLATE, APP_SECRET, VERIFY = "wa-access-token", "1234567890", "guest_message", "wa-app-secret", "wa-verify"
WA_MESSAGES_URL = f"{WHATSAPP_URL}/{PHONE_ID}/messages"
PHONE = "+33612345678"
DUE = "2026-06-10 08:00:00"
SMS_SID = "SM" + "a" * 32
WAMID = "wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI1"


@pytest.fixture(autouse=True)
def eager():
    """Tasks run in this process when sent (as in tests/messaging/test_sending.py)."""
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(saved)


@pytest.fixture
def sms_set_up(settings):
    settings.TWILIO_API_URL, settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = TWILIO_URL, SID, TOKEN
    settings.TWILIO_FROM_NUMBER = FROM


@pytest.fixture
def whatsapp_set_up(settings):
    settings.WHATSAPP_API_URL, settings.WHATSAPP_ACCESS_TOKEN, settings.WHATSAPP_PHONE_NUMBER_ID = WHATSAPP_URL, WA_TOKEN, PHONE_ID
    settings.WHATSAPP_TEMPLATE_NAME, settings.WHATSAPP_APP_SECRET, settings.WHATSAPP_VERIFY_TOKEN = TEMPLATE, APP_SECRET, VERIFY


@pytest.fixture
def providers():
    with responses.RequestsMock() as mock:
        yield mock


def twilio_accepts(providers, sid: str = SMS_SID, status: str = "queued"):
    providers.post(MESSAGES_URL, status=201, json={"sid": sid, "status": status, "account_sid": SID, "error_code": None})


def twilio_refuses(providers, code: int, http_status: int = 400):
    providers.post(MESSAGES_URL, status=http_status, json={"code": code, "message": f"error {code}", "status": http_status})


def whatsapp_accepts(providers, wamid: str = WAMID):
    answer = {"messaging_product": "whatsapp", "contacts": [{"input": PHONE, "wa_id": PHONE[1:]}], "messages": [{"id": wamid}]}
    providers.post(WA_MESSAGES_URL, status=200, json=answer)


def whatsapp_refuses(providers, code: int, http_status: int = 400):
    error = {"message": f"error {code}", "type": "OAuthException", "code": code, "fbtrace_id": "A1"}
    providers.post(WA_MESSAGES_URL, status=http_status, json={"error": error})


def form_of(call) -> dict:
    return dict(parse_qsl(call.request.body, keep_blank_values=True))


def json_of(call) -> dict:
    return json.loads(call.request.body)


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def row(channel: str) -> MessageDelivery:
    return MessageDelivery.objects.get(channel=channel)
