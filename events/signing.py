"""Standard Webhooks signatures (HMAC-SHA256, `v1,<base64>`), and the secrets they are keyed with.

Written here rather than taken from the `standardwebhooks` package: its 1.x wheel pulls in an
HTTP client stack (httpx, attrs, Deprecated, dateutil) for a dozen lines of hashing.
"""

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header of `body` sent as `message_id` at `timestamp` (Unix seconds)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
