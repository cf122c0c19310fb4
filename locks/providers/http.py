"""The one HTTP seam every vendor adapter goes through: one session, timeouts, a User-Agent,
transport failures turned into our error vocabulary, and logs that never carry a secret.

Adapters build URLs from settings (so tests and the sandbox can point them elsewhere) and call
`VendorHttp.request`; they interpret vendor answers themselves.
"""

import email.utils
import logging
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any

import requests
from django.conf import settings
from urllib3.exceptions import NameResolutionError, NewConnectionError

from locks.providers import rate_limits
from locks.providers.exceptions import OutcomeUnknown, VendorUnavailable

logger = logging.getLogger("locks.providers.http")

USER_AGENT = "Nowistay-SmartLocks/1.0 (+https://nowistay.example)"
# Keys whose values never reach a log line, an audit row or an exception message.
SECRET_KEYS = re.compile(r"token|password|secret|passwd|pin|keyboardpwd|code_verifier|authorization|^code$", re.I)
REDACTED = "[redacted]"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with every secret-looking field's value replaced."""
    if isinstance(value, dict):
        return {key: REDACTED if SECRET_KEYS.search(str(key)) else redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


_attempts = threading.local()


def requests_attempted() -> int:
    """How many requests this thread has handed to the network so far, whatever became of them.

    `audited_call` compares it before and after a vendor call: a call that failed without any
    attempt was refused by our own checks (a PIN or name the vendor would refuse), not by the vendor.
    """
    return getattr(_attempts, "count", 0)


def note_request_attempted() -> None:
    """Count one request leaving this thread (VendorHttp does; so does a test double standing in for a cloud)."""
    _attempts.count = requests_attempted() + 1


def _nothing_sent(error: requests.RequestException) -> bool:
    """True when the request cannot have reached the vendor (refused, DNS, TLS, connect timeout)."""
    if isinstance(error, (requests.ConnectTimeout, requests.exceptions.SSLError, requests.exceptions.InvalidURL)):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, (NewConnectionError, NameResolutionError))


class VendorHttp:
    """A requests.Session for one vendor, shared by the adapter's calls in this process."""

    def __init__(self, vendor: str, *, timeout: float | None = None):
        self.vendor = vendor
        self._timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    @property
    def timeout(self) -> float:
        return self._timeout if self._timeout is not None else settings.VENDOR_HTTP_TIMEOUT_SECONDS

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        """Send one request. Raises RateLimitedLocally when our own rate limit holds it back (nothing
        sent), VendorUnavailable when nothing can have happened at the vendor, OutcomeUnknown when
        the request may have been carried out but the answer was lost."""
        method = method.upper()
        rate_limits.admit(self.vendor)
        started = time.monotonic()
        note_request_attempted()
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            self._log(method, url, f"failed: {type(error).__name__}", started)
            if _nothing_sent(error):
                raise VendorUnavailable(f"{self.vendor} could not be reached.") from None
            if method in SAFE_METHODS:
                raise VendorUnavailable(f"{self.vendor} did not answer in time.") from None
            # A timeout or a connection broken after sending: the vendor may have acted.
            raise OutcomeUnknown(f"{self.vendor} did not answer in time; the request may have been carried out.") from None
        self._log(method, url, str(response.status_code), started)
        return response

    def json(self, response: requests.Response) -> Any:
        """The answer's JSON; a vendor answering garbage is a (transient) vendor failure."""
        try:
            return response.json()
        except ValueError:
            raise VendorUnavailable(f"{self.vendor} answered with something that is not JSON.") from None

    def _log(self, method: str, url: str, outcome: str, started: float) -> None:
        # The query string is dropped: some vendors (TTLock) put the access token there.
        logger.info("%s %s %s -> %s in %d ms", self.vendor, method, url.split("?", 1)[0], outcome, (time.monotonic() - started) * 1000)


_shared: dict[str, VendorHttp] = {}


def shared_http(vendor: str) -> VendorHttp:
    """The process-wide seam for one vendor: one session (and its connection pool) reused by
    every adapter instance, rather than a new one per task."""
    if vendor not in _shared:
        _shared[vendor] = VendorHttp(vendor)
    return _shared[vendor]


def retry_after_seconds(response: requests.Response) -> float | None:
    """A 429's Retry-After in seconds, given as seconds or as an HTTP date (RFC 9110 §10.2.3)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # "-0000" dates parse naive; they mean UTC
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
