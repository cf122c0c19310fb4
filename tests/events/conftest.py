import base64
import hmac

import pytest

from events import services
from events.queue import DELIVER_WEBHOOK
from nowistay import dispatch

URL = "https://pms.example/hooks"


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """The delivery ids handed to workers (after commit), instead of a broker."""
    ids: list[int] = []
    monkeypatch.setitem(dispatch._senders, DELIVER_WEBHOOK, ids.append)
    return ids


@pytest.fixture
def endpoint(host, enqueued):
    def make(**fields):
        fields = {"url": URL, "kinds": [], "read_pins": False, **fields}
        return services.endpoint_create(host=fields.pop("host", host), **fields)

    return make


def verify(secret: str, headers, body: bytes) -> bool:
    """Standard Webhooks verification written apart from events.signing: the spec's steps."""
    key = base64.b64decode(secret.split("_", 1)[1])
    content = b".".join([headers["webhook-id"].encode(), headers["webhook-timestamp"].encode(), body])
    expected = base64.b64encode(hmac.digest(key, content, "sha256")).decode()
    return any(
        version == "v1" and hmac.compare_digest(value, expected)
        for version, _, value in (part.partition(",") for part in headers["webhook-signature"].split(" "))
    )
