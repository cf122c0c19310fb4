"""The four vendors whose access tokens lapse, each on its emulator with one account's credentials
and a count of its token requests: for the one-token-request tests and benchmarks/token_requests.py.

`serve_over_http` puts the emulators (`responses` mocks, this process only) behind a real HTTP
server, so worker processes pointed at it (`child_settings`) share one cloud, its tokens and its
token counter with this process.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
import responses
from django.conf import settings

from locks.providers.nuki import client as nuki_client
from tests.vendors.igloohome import CLIENT_ID, CLIENT_SECRET, IgloohomeCloud
from tests.vendors.nuki import NukiCloud
from tests.vendors.tedee import TedeeCloud
from tests.vendors.ttlock import TTLockCloud

# The OAuth clients the token endpoints check (TTLock's emulator takes whatever is set).
CLIENT_SETTINGS = {
    "TEDEE_CLIENT_ID": "nowistay-tedee-client",
    "TEDEE_CLIENT_SECRET": "nowistay-tedee-secret",
    "NUKI_CLIENT_ID": "nowistay-nuki-client",
    "NUKI_CLIENT_SECRET": "nowistay-nuki-secret",
}
# The vendor addresses a worker process is pointed at, all served by `serve_over_http`.
URL_SETTINGS = (
    "TTLOCK_API_URL",
    "TEDEE_API_URL",
    "TEDEE_AUTH_URL",
    "NUKI_API_URL",
    "IGLOOHOME_API_URL",
    "IGLOOHOME_AUTH_URL",
)


@dataclass
class Vendor:
    """One vendor's emulator, started, with an account's credentials and a count of its token requests."""

    slug: str
    credentials: dict
    token_requests: Callable[[], int]
    expire_at_vendor: Callable[[], None]  # every access token issued so far is refused from now on
    fail_token_request: Callable[[], None]  # the next token request fails for a passing reason


def ttlock(stack: ExitStack) -> Vendor:
    cloud = stack.enter_context(TTLockCloud())
    cloud.add_lock(3001, "Front door")
    credentials, _ = cloud.issue_token_expiring("host@example.com")
    return Vendor(
        "ttlock", credentials, lambda: len(cloud.calls_to("/oauth2/token")), cloud.expire_access_tokens,
        lambda: cloud.fail_next("oauth2/token", 90000),  # TTLock's "internal error"
    )


def tedee(stack: ExitStack) -> Vendor:
    cloud = stack.enter_context(TedeeCloud())
    cloud.add_lock(101, "Front door")
    credentials, _ = cloud.credentials_expiring()
    return Vendor(
        "tedee", credentials, lambda: cloud.calls.count(("POST", "token")), cloud.expire_access_tokens,
        lambda: cloud.fail_next("POST", "token", 503),
    )


def nuki(stack: ExitStack) -> Vendor:
    cloud = stack.enter_context(NukiCloud())
    cloud.add_lock(18205286117, "Front door")
    access, refresh = cloud.issue_tokens()
    credentials = {"auth": nuki_client.OAUTH, "access_token": access, "refresh_token": refresh}
    return Vendor(
        "nuki", credentials, lambda: sum(1 for call in cloud.calls if call[1] == "token"), cloud.expire_access_tokens,
        lambda: cloud.fail_next("POST", "token", 503),
    )


def igloohome(stack: ExitStack) -> Vendor:
    cloud = IgloohomeCloud()
    cloud.add_lock("IGP1234567", "Front door")
    rsps = stack.enter_context(responses.RequestsMock(assert_all_requests_are_fired=False))
    cloud.register(rsps)
    token = "eyJ.igloo-access-first.sig"
    cloud.tokens[token] = datetime.now(UTC) + timedelta(hours=1)
    credentials = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "access_token": token, "access_token_lifetime": 3600}
    return Vendor(
        "igloohome", credentials, lambda: cloud.token_requests, cloud.expire_tokens,
        lambda: cloud.fail_next("token", 503, {"message": "Service Unavailable"}),
    )


VENDORS: dict[str, Callable[[ExitStack], Vendor]] = {"ttlock": ttlock, "tedee": tedee, "nuki": nuki, "igloohome": igloohome}


class _Forward(BaseHTTPRequestHandler):
    """`/<SETTING>/<rest>` -> the emulator at `settings.<SETTING>` + `/<rest>`, through `responses`."""

    protocol_version = "HTTP/1.1"
    # One session per serving thread: a requests.Session is not safe to share between threads
    # (a shared one sometimes left a worker's request unanswered until its 20 s timeout under load).
    # The emulators' mocks patch every requests adapter of this process, these sessions' too.
    _sessions = threading.local()

    @property
    def session(self) -> requests.Session:
        if not hasattr(self._sessions, "session"):
            self._sessions.session = requests.Session()
        return self._sessions.session

    def _forward(self) -> None:
        name, _, rest = self.path.lstrip("/").partition("/")
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = raw.decode() if raw else None  # the emulators parse forms from a str body, as requests sends them
        headers = {key: value for key, value in self.headers.items() if key.lower() not in ("host", "content-length", "connection")}
        try:
            answer = self.session.request(self.command, f"{getattr(settings, name).rstrip('/')}/{rest}", data=body, headers=headers)
            status, content, content_type = answer.status_code, answer.content, answer.headers.get("Content-Type", "")
        except Exception as error:
            status, content, content_type = 599, str(error).encode(), "text/plain"
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = _forward

    def log_message(self, *args) -> None:  # quiet
        pass


@contextmanager
def serve_over_http() -> Iterator[str]:
    """Serve this process's started emulators on a local port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Forward)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def child_settings(base_url: str) -> dict[str, str]:
    """The environment that points a worker process's vendors at `serve_over_http`'s server. The
    vendor rate limiter is off there: these workers count token requests, not the limiter's waits."""
    urls = {name: f"{base_url}/{name}" for name in URL_SETTINGS}
    return {**CLIENT_SETTINGS, **urls, "LOCKS_RATE_LIMITS_ENABLED": "false"}
