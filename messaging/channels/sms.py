"""SMS through Twilio Programmable Messaging: POST {TWILIO_API_URL}/2010-04-01/Accounts/{sid}/Messages.json,
form-encoded To / From or MessagingServiceSid / Body / StatusCallback, HTTP basic auth sid:token
(reference integration-conventions §3.2, from the `twilio` 9.13.0 package). Twilio answers 201 with
the message (`sid`, `status` queued or accepted) or a 4xx/5xx JSON error with a numeric `code`."""

from __future__ import annotations

import requests
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from messaging.channels.base import (
    PermanentSendError,
    PhoneChannel,
    SendResult,
    TemporarySendError,
    json_object,
    post,
    provider_message,
    text_of,
)

MAX_BODY = 1600  # Twilio's limit for Body

# Twilio error codes that sending again will not change (TW-DOC): recipient and account problems.
PERMANENT_CODES = {
    20003: _("Twilio refused the account's credentials."),
    21211: _("The guest's phone number is not a valid number."),
    21408: _("Twilio may not send SMS to this country from this account."),
    21606: _("The sender number cannot send SMS."),
    21608: _("A trial account can only send to verified numbers."),
    21610: _("The guest has unsubscribed (replied STOP)."),
    21614: _("The guest's phone number is not a mobile number."),
    21635: _("The guest's phone number is a landline."),
    30006: _("The guest's phone number is a landline or its carrier cannot be reached."),
}
# Worth trying again: the handset was off (30003), Twilio's rate limit (20429).
RETRYABLE_CODES = {30003, 20429}

class SmsChannel(PhoneChannel):
    name = "sms"
    label = _("SMS")

    def is_configured(self) -> bool:
        return bool(
            settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN
            and (settings.TWILIO_FROM_NUMBER or settings.TWILIO_MESSAGING_SERVICE_SID)
        )

    def send(self, delivery, address: str, subject: str, body: str, language: str) -> SendResult:
        text = text_of(subject, body)
        if len(text) > MAX_BODY:
            note = _("The SMS would be %(length)s characters, over the %(limit)s an SMS can carry: shorten the message.")
            raise PermanentSendError(note % {"length": len(text), "limit": MAX_BODY})
        sid = settings.TWILIO_ACCOUNT_SID
        data = {"To": address, "Body": text, "StatusCallback": status_callback_url(delivery.pk)}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            data["MessagingServiceSid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            data["From"] = settings.TWILIO_FROM_NUMBER
        url = f"{settings.TWILIO_API_URL.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
        response = post(url, provider="Twilio", data=data, auth=(sid, settings.TWILIO_AUTH_TOKEN))
        if response.status_code in (200, 201):
            answer = json_object(response)
            if not answer.get("sid"):
                raise TemporarySendError(_("Twilio's answer had no message id."), maybe_sent=True)
            return SendResult(provider_id=str(answer["sid"]), status=_initial_status(answer.get("status")))
        raise error_of(response)


def status_callback_url(delivery_id: int) -> str:
    """Where Twilio reports the message's status; the row's id lets a late answer find it."""
    return f"{settings.SITE_URL}{reverse('messaging:status_twilio')}?delivery={delivery_id}"


def _initial_status(status) -> str:
    return "sent" if status == "sent" else "queued"  # queued, accepted, scheduled: not sent yet



def error_of(response: requests.Response) -> Exception:
    answer = json_object(response)
    code = answer.get("code")
    code = code if isinstance(code, int) else None
    label = f"Twilio {code}" if code else f"HTTP {response.status_code}"
    if code in PERMANENT_CODES:
        note = _("The SMS was refused (%(label)s): %(reason)s") % {"label": label, "reason": PERMANENT_CODES[code]}
        return PermanentSendError(note, code=str(code))
    if code in RETRYABLE_CODES or response.status_code == 429 or response.status_code >= 500:
        return TemporarySendError(_("The SMS could not be sent yet (%(label)s).") % {"label": label}, code=str(code or ""))
    message = provider_message(answer.get("message"))
    note = _("The SMS was refused (%(label)s): %(message)s") % {"label": label, "message": message}
    return PermanentSendError(note, code=str(code or ""))  # any other 4xx: the same request gets the same answer
