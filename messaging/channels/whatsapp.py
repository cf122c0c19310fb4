"""WhatsApp through Meta's Cloud API: a template message (the only kind a business may start a
conversation with outside the 24-hour window, reference §3.1) POSTed as JSON to
{WHATSAPP_API_URL}/{WHATSAPP_PHONE_NUMBER_ID}/messages with a Bearer token. The approved template
(WHATSAPP_TEMPLATE_NAME) has one body parameter, the whole rendered message; the guest's language
picks the template's translation. `biz_opaque_callback_data` carries the ledger row's id, which
Meta echoes in status webhooks (messaging.status_webhooks)."""

from __future__ import annotations

import re

import requests
from django.conf import settings
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

MAX_BODY = 1024  # a template's body, parameters filled in (reference §3.1, WA-META)

# Our language codes to Meta's template language codes: Meta names some languages by region only
# (Portuguese is pt_PT or pt_BR, never "pt"). Codes from Meta's supported-languages list
# (developers.facebook.com/docs/whatsapp/api/messages/templates#supported-languages, as mirrored in
# team-telnyx/telnyx-java docs/CreateWhatsappMessageTemplateRequestBody.md); an unknown one gets English.
META_LANGUAGES = {
    "en": "en", "en-gb": "en_GB", "en-us": "en_US", "pt": "pt_PT", "pt-pt": "pt_PT", "pt-br": "pt_BR",
    "es": "es", "fr": "fr", "de": "de", "it": "it", "nl": "nl",
}

# Cloud API error codes (reference §3.1, WA-PYWA errors.py mirroring Meta's list).
PERMANENT_CODES = {
    190: _("The WhatsApp access token has expired or is invalid."),
    368: _("The WhatsApp Business account is restricted."),
    131021: _("The guest's number is the sender's own."),
    131026: _("The guest's number cannot receive WhatsApp messages (not on WhatsApp, or an old app)."),
    131030: _("The guest's number is not in the test account's allowed list."),
    131047: _("WhatsApp refused a message outside the 24-hour window."),
    131050: _("The guest has stopped messages from this business."),
    132000: _("The WhatsApp template's parameters do not match it."),
    132001: _("The WhatsApp template does not exist or is not approved in this language."),
    132015: _("The WhatsApp template is paused."),
    132016: _("The WhatsApp template is disabled."),
    131008: _("A required template parameter is missing."),
    131009: _("A template parameter is not valid."),
}
# Rate and throughput limits, and Meta's "held back for healthy ecosystem engagement": later.
RETRYABLE_CODES = {4, 80007, 130429, 131000, 131048, 131049, 131056}

class WhatsAppChannel(PhoneChannel):
    name = "whatsapp"
    label = _("WhatsApp")

    def is_configured(self) -> bool:
        return bool(settings.WHATSAPP_ACCESS_TOKEN and settings.WHATSAPP_PHONE_NUMBER_ID and settings.WHATSAPP_TEMPLATE_NAME)

    def send(self, delivery, address: str, subject: str, body: str, language: str) -> SendResult:
        text = flatten(text_of(subject, body))
        if len(text) > MAX_BODY:
            note = _("The WhatsApp message would be %(length)s characters, over WhatsApp's %(limit)s: shorten the message.")
            raise PermanentSendError(note % {"length": len(text), "limit": MAX_BODY})
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": address,
            "type": "template",
            "template": {
                "name": settings.WHATSAPP_TEMPLATE_NAME,
                "language": {"policy": "deterministic", "code": meta_language(language)},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": text}]}],
            },
            "biz_opaque_callback_data": str(delivery.pk),
        }
        url = f"{settings.WHATSAPP_API_URL.rstrip('/')}/{settings.WHATSAPP_PHONE_NUMBER_ID}/messages"
        headers = {"Authorization": f"Bearer {settings.WHATSAPP_ACCESS_TOKEN}"}
        response = post(url, provider="WhatsApp", json=payload, headers=headers)
        if response.status_code == 200:
            messages = json_object(response).get("messages")
            if not (isinstance(messages, list) and messages and isinstance(messages[0], dict) and messages[0].get("id")):
                raise TemporarySendError(_("WhatsApp's answer had no message id."), maybe_sent=True)
            return SendResult(provider_id=str(messages[0]["id"]), status="queued")  # accepted, not sent yet
        raise error_of(response)


def meta_language(language: str) -> str:
    code = (language or "en").lower().replace("_", "-")
    return META_LANGUAGES.get(code) or META_LANGUAGES.get(code.split("-")[0], "en")


def flatten(text: str) -> str:
    """Meta refuses a parameter with a line break, a tab or more than four spaces in a row ("Param
    text cannot have new-line/tab characters or more than 4 consecutive spaces", the Cloud API's
    error quoted in netflie/whatsapp-cloud-api#201): lines are joined with " · ", spaces collapsed."""
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.splitlines()]
    return " · ".join(line for line in lines if line)



def error_of(response: requests.Response) -> Exception:
    error = json_object(response).get("error")
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    label = f"WhatsApp {code}" if code else f"HTTP {response.status_code}"
    if code in PERMANENT_CODES:
        note = _("The WhatsApp message was refused (%(label)s): %(reason)s") % {"label": label, "reason": PERMANENT_CODES[code]}
        return PermanentSendError(note, code=str(code))
    if code in RETRYABLE_CODES or response.status_code == 429 or response.status_code >= 500:
        return TemporarySendError(_("The WhatsApp message could not be sent yet (%(label)s).") % {"label": label}, code=str(code or ""))
    message = provider_message(error.get("message"))
    note = _("The WhatsApp message was refused (%(label)s): %(message)s") % {"label": label, "message": message}
    return PermanentSendError(note, code=str(code or ""))
