"""The one place the events app speaks HTTP: a POST that follows no redirect and reads little.
(Vendors' HTTP lives in locks/providers; this seam is for receivers we do not know.)"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 10
# The answer's body means nothing to us; reading a little lets the connection be reused.
MAX_BODY_READ = 1024
USER_AGENT = "Nowistay-Webhooks/1"

_session = requests.Session()


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    latency_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    started = time.monotonic()
    if not settings.DEBUG and _resolves_to_a_private_address(urlsplit(url).hostname or ""):
        return Answer(None, 0, "refused: the server's name resolves to a private address")
    try:
        with _session.post(
            url,
            data=body,
            headers={**headers, "content-type": "application/json", "user-agent": USER_AGENT},
            timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
            allow_redirects=False,
            stream=True,
        ) as response:
            response.raw.read(MAX_BODY_READ, decode_content=False)
            code = response.status_code
            return Answer(code, _since(started), "" if 200 <= code < 300 else f"HTTP {code}")
    except requests.RequestException as error:
        # The exception's class only: its text can repeat the URL, which may carry a token.
        return Answer(None, _since(started), type(error).__name__)


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _resolves_to_a_private_address(hostname: str) -> bool:
    """Whether the name leads into this machine or a private network (an endpoint must not reach
    what the internet cannot: SSRF). A name that does not resolve is left to the request to fail.
    A name re-pointed between this check and the request (DNS rebinding) needs an egress proxy."""
    try:
        found = socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return any(not ipaddress.ip_address(entry[4][0].split("%", 1)[0]).is_global for entry in found)
