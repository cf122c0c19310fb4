"""The sandbox's SMS (Twilio-shaped) and WhatsApp (Cloud-API-shaped) emulators, over HTTP against
the sandbox's own process: they refuse what the real APIs refuse, record what they accept, list
it on /messages/, and post signed status callbacks. The signatures are checked here from the
providers' documented rules, independently of the sandbox's and the product's code."""

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
import requests

from sandbox.demo_sign_ins import (
    DEMO_TWILIO_ACCOUNT_SID,
    DEMO_TWILIO_AUTH_TOKEN,
    DEMO_WHATSAPP_ACCESS_TOKEN,
    DEMO_WHATSAPP_APP_SECRET,
    DEMO_WHATSAPP_PHONE_NUMBER_ID,
    DEMO_WHATSAPP_TEMPLATE_NAME,
    channel_settings,
)
from tests.helpers.processes import free_port, wait_until

PHONE = "+33612345678"


@pytest.fixture
def callbacks():
    """A local server standing in for Nowistay's status endpoints: it keeps every request."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}", received
    server.shutdown()


@pytest.fixture
def urls(sandbox_url):
    settings = channel_settings(sandbox_url)
    return {
        "sms": f"{settings['TWILIO_API_URL']}/2010-04-01/Accounts/{DEMO_TWILIO_ACCOUNT_SID}/Messages.json",
        "whatsapp": f"{settings['WHATSAPP_API_URL']}/{DEMO_WHATSAPP_PHONE_NUMBER_ID}/messages",
        "page": f"{sandbox_url}/messages/",
        "recorded": f"{sandbox_url}/_control/messages/",
        "webhook": f"{sandbox_url}/_control/whatsapp/webhook/",
    }


def send_sms(urls, auth=(DEMO_TWILIO_ACCOUNT_SID, DEMO_TWILIO_AUTH_TOKEN), **fields):
    data = {"To": PHONE, "From": "+15005550006", "Body": "Your door code is 123456."} | fields
    return requests.post(urls["sms"], data={k: v for k, v in data.items() if v is not None}, auth=auth, timeout=5)


def template_message(text="Your door code is 123456.", **changes):
    payload = {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": PHONE, "type": "template",
        "template": {
            "name": DEMO_WHATSAPP_TEMPLATE_NAME, "language": {"policy": "deterministic", "code": "pt_PT"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": text}]}],
        },
        "biz_opaque_callback_data": "42",
    }
    payload.update(changes)
    return payload


def send_whatsapp(urls, payload, token=DEMO_WHATSAPP_ACCESS_TOKEN):
    return requests.post(urls["whatsapp"], json=payload, headers={"Authorization": f"Bearer {token}"}, timeout=5)


def recorded(urls) -> list[dict]:
    return requests.get(urls["recorded"], timeout=5).json()["messages"]


@pytest.mark.parametrize(
    ("fields", "auth", "status", "code"),
    [
        ({}, ("AC" + "9" * 32, DEMO_TWILIO_AUTH_TOKEN), 401, 20003),
        ({}, (DEMO_TWILIO_ACCOUNT_SID, "wrong"), 401, 20003),
        ({"To": "0612345678"}, None, 400, 21211),
        ({"To": None}, None, 400, 21604),
        ({"From": None}, None, 400, 21603),
        ({"Body": None}, None, 400, 21602),
        ({"Body": "x" * 1601}, None, 400, 21617),
    ],
    ids=["other-account", "wrong-token", "not-e164", "no-to", "no-sender", "no-body", "too-long"],
)
def test_the_sms_emulator_refuses_what_twilio_refuses(urls, fields, auth, status, code):
    before = len(recorded(urls))
    response = send_sms(urls, auth=auth or (DEMO_TWILIO_ACCOUNT_SID, DEMO_TWILIO_AUTH_TOKEN), **fields)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert len(recorded(urls)) == before


def test_an_accepted_sms_is_recorded_listed_and_its_signed_callbacks_posted(urls, callbacks):
    receiver, received = callbacks
    callback_url = f"{receiver}/messages/status/twilio/?delivery=7"
    response = send_sms(urls, StatusCallback=callback_url, Body="Your code:\n123456")
    assert response.status_code == 201
    answer = response.json()
    assert answer["sid"].startswith("SM") and len(answer["sid"]) == 34 and answer["status"] == "queued"
    wait_until(lambda: len(received) == 2, "the sent and delivered callbacks")
    for callback, status in zip(received, ("sent", "delivered"), strict=True):
        params = dict(parse_qsl(callback["body"].decode()))
        assert (params["MessageSid"], params["MessageStatus"]) == (answer["sid"], status)
        signed = callback_url + "".join(f"{name}{params[name]}" for name in sorted(params))
        expected = base64.b64encode(hmac.new(DEMO_TWILIO_AUTH_TOKEN.encode(), signed.encode(), hashlib.sha1).digest()).decode()
        assert callback["headers"]["X-Twilio-Signature"] == expected
    page = requests.get(urls["page"], timeout=5).text
    assert "Your code:\n123456" in page and PHONE in page


@pytest.mark.parametrize(
    ("payload", "token", "status", "code"),
    [
        (template_message(), "not-the-token", 401, 190),
        (template_message(type="text", text={"body": "hi"}), None, 400, 131047),
        (template_message(to="0612"), None, 400, 131026),
        (template_message(template={"name": "other", "language": {"code": "pt_PT"}, "components": []}), None, 400, 132001),
        (template_message(template={"name": DEMO_WHATSAPP_TEMPLATE_NAME, "components": []}), None, 400, 131008),
        (template_message(template={"name": DEMO_WHATSAPP_TEMPLATE_NAME, "language": {"code": "pt"}, "components": []}), None, 400, 132001),
        (template_message(template={"name": DEMO_WHATSAPP_TEMPLATE_NAME, "language": {"code": "en"}, "components": []}), None, 400, 132000),
        (template_message("Line one\nLine two"), None, 400, 131009),
        (template_message("tab\there"), None, 400, 131009),
        (template_message("five     spaces"), None, 400, 131009),
    ],
    ids=["token", "not-a-template", "not-a-number", "unknown-template", "no-language", "unknown-language", "no-parameter",
         "newline", "tab", "spaces"],
)
def test_the_whatsapp_emulator_refuses_what_the_cloud_api_refuses(urls, payload, token, status, code):
    before = len(recorded(urls))
    response = send_whatsapp(urls, payload, token=token or DEMO_WHATSAPP_ACCESS_TOKEN)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert len(recorded(urls)) == before


def test_an_accepted_whatsapp_message_is_recorded_and_its_signed_webhooks_posted(urls, callbacks):
    receiver, received = callbacks
    requests.post(urls["webhook"], data={"url": f"{receiver}/messages/status/whatsapp/"}, timeout=5)
    response = send_whatsapp(urls, template_message("Your door code is 654321. · See you soon"))
    assert response.status_code == 200
    wamid = response.json()["messages"][0]["id"]
    assert wamid.startswith("wamid.") and response.json()["contacts"] == [{"input": PHONE, "wa_id": PHONE[1:]}]
    wait_until(lambda: len(received) == 2, "the sent and delivered webhooks")
    for callback, status in zip(received, ("sent", "delivered"), strict=True):
        expected = "sha256=" + hmac.new(DEMO_WHATSAPP_APP_SECRET.encode(), callback["body"], hashlib.sha256).hexdigest()
        assert callback["headers"]["X-Hub-Signature-256"] == expected
        (entry,) = json.loads(callback["body"])["entry"]
        (item,) = entry["changes"][0]["value"]["statuses"]
        assert (item["id"], item["status"], item["biz_opaque_callback_data"]) == (wamid, status, "42")
    (latest, *_) = recorded(urls)
    assert (latest["channel"], latest["language"], latest["body"]) == ("whatsapp", "pt_PT", "Your door code is 654321. · See you soon")
    assert "Your door code is 654321." in requests.get(urls["page"], timeout=5).text


def test_a_product_that_is_down_never_blocks_the_emulator(urls, callbacks):
    response = send_sms(urls, StatusCallback=f"http://127.0.0.1:{free_port()}/nowhere/")
    assert response.status_code == 201
    wait_until(lambda: recorded(urls)[0]["callback_problem"], "the failed callback to be noted")
    assert "ConnectionError" in recorded(urls)[0]["callback_problem"]


def test_the_sandbox_index_links_the_messages_page(sandbox_url):
    assert 'href="/messages/"' in requests.get(sandbox_url + "/", timeout=5).text
