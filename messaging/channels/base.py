"""What every guest message channel offers (`messaging.channels.CHANNELS`), and the two errors
`messaging.delivery` decides on: a `PermanentSendError` fails the row and tells the host; a
`TemporarySendError` is tried again later (up to `ledger.MAX_SEND_ATTEMPTS`).

Exactly once per channel rests on the ledger (one row per channel, claimed for one lease). A call
that timed out after the request left (`maybe_sent`) has an unknown outcome: neither Twilio nor the
WhatsApp Cloud API takes an idempotency key, so the row is tried again after `SEND_RETRY_DELAY`,
unless the provider's status callback names the row first (the callback URL carries the row's id
for Twilio, `biz_opaque_callback_data` for WhatsApp): then the row is recorded as sent and never
sent again (`messaging.status_webhooks`).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass

import requests
from django.conf import settings
from django.utils.translation import gettext_lazy as _

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class SendResult:
    provider_id: str = ""  # the provider's id of the message (Twilio's SID, WhatsApp's wamid)
    status: str = ""  # what it answered (ProviderStatus), "" for email


class SendError(Exception):
    """`note`: what the host reads on the message log (never a secret); `code`: the provider's error code."""

    def __init__(self, note: str, *, code: str = ""):
        super().__init__(note)
        self.note = note
        self.code = code

    def __reduce__(self):
        return (self.__class__, (self.note,), {"code": self.code})


class PermanentSendError(SendError):
    """Sending again gives the same answer (a bad number, a missing template, bad credentials)."""


class TemporarySendError(SendError):
    """A 5xx, a rate limit, a timeout: try again later. `maybe_sent`: the request may have been acted on."""

    def __init__(self, note: str, *, code: str = "", maybe_sent: bool = False):
        super().__init__(note, code=code)
        self.maybe_sent = maybe_sent

    def __reduce__(self):
        return (self.__class__, (self.note,), {"code": self.code, "maybe_sent": self.maybe_sent})


class GuestChannel(ABC):
    name: str
    label: str

    @abstractmethod
    def address(self, booking) -> str:
        """The guest's address on this channel, or "" when there is none."""

    @abstractmethod
    def is_configured(self) -> bool:
        """Whether this server has what the channel needs to send (provider credentials)."""

    @abstractmethod
    def send(self, delivery, address: str, subject: str, body: str, language: str) -> SendResult:
        """Send one rendered message; raise `PermanentSendError` or `TemporarySendError`."""

    def reaches(self, booking) -> bool:
        return self.is_configured() and bool(self.address(booking))


class PhoneChannel(GuestChannel):
    """A channel that reaches the guest's phone (SMS, WhatsApp)."""

    def address(self, booking) -> str:
        return phone_of(booking)


def phone_of(booking) -> str:
    """The guest's phone in E.164 (bookings store it so); a number kept from before that is not is no address."""
    phone = (booking.guest_phone or "").strip()
    return phone if E164.match(phone) else ""


def text_of(subject: str, body: str) -> str:
    """SMS and WhatsApp have no subject: it leads the text, so what it carries (a code) is never lost."""
    return f"{subject}\n\n{body}".strip() if subject else body.strip()


def provider_message(message) -> str:
    """A provider's own error text for the host's note: short, without phone numbers (Twilio's name
    the `To` number; notes outlive the retention of guests' contact details)."""
    return re.sub(r"\+?\d[\d \-]{5,}\d", "…", str(message or ""))[:200]


def timeouts() -> tuple[float, float]:
    seconds = settings.CHANNEL_HTTP_TIMEOUT_SECONDS
    return (seconds, seconds)


_session = requests.Session()  # the providers' connections, kept open between messages
_session.headers["User-Agent"] = "Nowistay"


def post(url: str, *, provider: str, **kwargs) -> requests.Response:
    """One request; transport failures become our errors (a read timeout: the message may have gone)."""
    try:
        return _session.post(url, timeout=timeouts(), **kwargs)
    except requests.ReadTimeout:
        note = _("%(provider)s did not answer in time; it may have sent the message.") % {"provider": provider}
        raise TemporarySendError(note, maybe_sent=True) from None
    except requests.RequestException as error:  # a connect timeout too: nothing left
        note = _("%(provider)s could not be reached (%(error)s).") % {"provider": provider, "error": type(error).__name__}
        raise TemporarySendError(note) from None


def json_object(response: requests.Response) -> dict:
    """The answer's JSON object, or {} for anything else (an HTML error page, a list)."""
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
