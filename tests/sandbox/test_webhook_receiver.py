"""The sandbox's webhook receiver (sandbox/webhooks.py), so `make run` shows webhooks arriving: it
keeps each delivery, checks its Standard Webhooks signature with the demo secret, refuses stale or
forged ones, and its "down" switch answers 503 so retries can be watched. Judged over HTTP against
the sandbox's own process; the deliveries here are signed by the test's own code."""

import base64
import hashlib
import hmac
import json
import time

import pytest
import requests

from sandbox.demo_sign_ins import DEMO_WEBHOOK_SECRET, WEBHOOK_RECEIVER_PATH


def signed(body: bytes, *, message_id: str, secret: str = DEMO_WEBHOOK_SECRET, sent_at: int | None = None) -> dict:
    stamp = str(int(time.time()) if sent_at is None else sent_at)
    key = base64.b64decode(secret.split("_", 1)[1])
    digest = hmac.new(key, message_id.encode() + b"." + stamp.encode() + b"." + body, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
        "content-type": "application/json",
    }


@pytest.fixture
def receiver(sandbox_url):
    url = sandbox_url + WEBHOOK_RECEIVER_PATH
    requests.post(sandbox_url + "/_control/webhooks/", data={"down": "0"}, timeout=5)
    return url


def page(url: str) -> str:
    return requests.get(url, timeout=5).text


def test_a_signed_delivery_is_kept_as_verified(receiver):
    body = json.dumps({"type": "access_code.created", "data": {"code_id": 7}}).encode()
    response = requests.post(receiver, data=body, headers=signed(body, message_id="msg_verified_1"), timeout=5)
    assert response.status_code == 204
    shown = page(receiver)
    assert "msg_verified_1" in shown and "access_code.created" in shown and "verified" in shown


@pytest.mark.parametrize(
    ("case", "headers_of"),
    [
        ("forged", lambda body: signed(body, message_id="msg_forged", secret="whsec_" + base64.b64encode(b"another key").decode())),
        ("stale", lambda body: signed(body, message_id="msg_stale", sent_at=int(time.time()) - 600)),
        ("tampered", lambda body: signed(body + b" ", message_id="msg_tampered")),
        ("unsigned", lambda body: {"webhook-id": "msg_unsigned", "content-type": "application/json"}),
    ],
)
def test_a_delivery_whose_signature_does_not_hold_is_refused_and_kept_as_refused(receiver, case, headers_of):
    body = json.dumps({"type": "access_code.changed"}).encode()
    headers = headers_of(body)
    assert requests.post(receiver, data=body, headers=headers, timeout=5).status_code == 400
    shown = page(receiver)
    assert headers["webhook-id"] in shown and "refused" in shown


def test_while_down_every_delivery_gets_503_and_nothing_is_kept_then_it_comes_back(receiver, sandbox_url):
    requests.post(sandbox_url + "/_control/webhooks/", data={"down": "1"}, timeout=5)
    body = json.dumps({"type": "access_code.removed"}).encode()
    assert requests.post(receiver, data=body, headers=signed(body, message_id="msg_while_down"), timeout=5).status_code == 503
    assert "msg_while_down" not in page(receiver) and "every delivery gets 503" in page(receiver)
    requests.post(sandbox_url + "/_control/webhooks/", data={"down": "0"}, timeout=5)
    assert requests.post(receiver, data=body, headers=signed(body, message_id="msg_while_down"), timeout=5).status_code == 204
    assert "msg_while_down" in page(receiver)


def test_an_oversized_delivery_is_refused(receiver):
    body = b"{" + b" " * (1024 * 1024) + b"}"
    assert requests.post(receiver, data=body, headers=signed(body, message_id="msg_big"), timeout=10).status_code in (400, 413)
    assert "msg_big" not in page(receiver)
