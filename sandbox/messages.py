"""SMS and WhatsApp provider emulators, so `make run` shows the guest messages Nowistay sends by
SMS and WhatsApp: Twilio-shaped (POST /twilio/2010-04-01/Accounts/{sid}/Messages.json) and Cloud-API-
shaped (POST /whatsapp/v21.0/{phone number id}/messages). Each checks a request as the real API
would (reference integration-conventions §3: credentials, required fields, an E.164 `To`, the body's
length, the template's name and language, its single body parameter and Meta's rule on it), keeps
the message, answers with a provider-shaped id and, in a background thread (never blocking the
answer), posts status callbacks (sent, then delivered) signed as the provider signs them: Twilio to
the request's StatusCallback, WhatsApp to the webhook URL set on /_control/whatsapp/webhook/ (by
default SANDBOX_WHATSAPP_WEBHOOK_URL). /messages/ lists what was recorded, newest first.

Twilio error codes other than 21211 and 20003, and Meta's 100 for a wrong phone number id, follow
the providers' error lists as commonly reported: UNVERIFIED against their own pages.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time

import requests
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sandbox.demo_sign_ins import (
    DEMO_TWILIO_ACCOUNT_SID,
    DEMO_TWILIO_AUTH_TOKEN,
    DEMO_WHATSAPP_ACCESS_TOKEN,
    DEMO_WHATSAPP_APP_SECRET,
    DEMO_WHATSAPP_PHONE_NUMBER_ID,
    DEMO_WHATSAPP_TEMPLATE_NAME,
)
from sandbox.models import RecordedMessage, SandboxSetting

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SMS_MAX_BODY = 1600
WHATSAPP_MAX_BODY = 1024
WHATSAPP_LANGUAGES = {"en", "en_GB", "en_US", "pt_PT", "pt_BR", "es", "fr", "de", "it", "nl"}
# Meta's rule on a template parameter (the Cloud API's error text, netflie/whatsapp-cloud-api#201).
BAD_PARAMETER = re.compile(r"[\n\t]| {5,}")
WEBHOOK_SETTING = "whatsapp_webhook_url"
CALLBACK_PAUSE_SECONDS = float(os.environ.get("SANDBOX_CALLBACK_PAUSE_SECONDS", "1"))
SHOWN = 100


# --- Twilio ---------------------------------------------------------------------------------------


def _twilio_error(status: int, code: int, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
                        status=status)


def _basic_auth(request: HttpRequest) -> tuple[str, str]:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return "", ""
    return user, password


@csrf_exempt
@require_POST
def twilio_messages(request: HttpRequest, account_sid: str) -> HttpResponse:
    user, password = _basic_auth(request)
    if not (user == account_sid == DEMO_TWILIO_ACCOUNT_SID and hmac.compare_digest(password, DEMO_TWILIO_AUTH_TOKEN)):
        return _twilio_error(401, 20003, "Authenticate")
    form = request.POST
    to, body, sender, service = (form.get(name, "") for name in ("To", "Body", "From", "MessagingServiceSid"))
    if not to:
        return _twilio_error(400, 21604, "A 'To' phone number is required.")
    if not E164.match(to):
        return _twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if not (sender or service):
        return _twilio_error(400, 21603, "A 'From' phone number or a MessagingServiceSid is required.")
    if not body:
        return _twilio_error(400, 21602, "Message body is required.")
    if len(body) > SMS_MAX_BODY:
        return _twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
    message = RecordedMessage.objects.create(
        channel=RecordedMessage.SMS, provider_id="SM" + secrets.token_hex(16), to=to, sender=sender or service, body=body,
        callback_data=form.get("StatusCallback", ""),
    )
    if message.callback_data:
        in_background(lambda: _twilio_callbacks(message))
    return JsonResponse({
        "sid": message.provider_id, "account_sid": account_sid, "to": to, "from": sender or None,
        "messaging_service_sid": service or None, "body": body, "status": "accepted" if service else "queued",
        "num_segments": str(1 + len(body) // 160), "direction": "outbound-api", "error_code": None, "error_message": None,
    }, status=201)


def twilio_signature(url: str, params: dict, token: str) -> str:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 of the URL and each POST name and value, sorted by name."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def _twilio_callbacks(message: RecordedMessage) -> None:
    for status in ("sent", "delivered"):
        params = {
            "MessageSid": message.provider_id, "SmsSid": message.provider_id, "AccountSid": DEMO_TWILIO_ACCOUNT_SID,
            "MessageStatus": status, "SmsStatus": status, "To": message.to, "From": message.sender, "ApiVersion": "2010-04-01",
        }
        headers = {"X-Twilio-Signature": twilio_signature(message.callback_data, params, DEMO_TWILIO_AUTH_TOKEN)}
        if not _post_callback(message, status, message.callback_data, data=params, headers=headers):
            return


# --- WhatsApp -------------------------------------------------------------------------------------


def _meta_error(status: int, code: int, message: str) -> JsonResponse:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "sandbox" + secrets.token_hex(6)}
    return JsonResponse({"error": error}, status=status)


@csrf_exempt
@require_POST
def whatsapp_messages(request: HttpRequest, version: str, phone_number_id: str) -> HttpResponse:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not hmac.compare_digest(token, DEMO_WHATSAPP_ACCESS_TOKEN):
        return _meta_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
    if phone_number_id != DEMO_WHATSAPP_PHONE_NUMBER_ID:
        return _meta_error(400, 100, f"Unsupported post request. Object with ID '{phone_number_id}' does not exist")
    try:
        payload = json.loads(request.body)
    except ValueError:
        return _meta_error(400, 100, "The request body is not JSON")
    problem = whatsapp_problem(payload)
    if problem:
        return _meta_error(400, *problem)
    template, to = payload["template"], payload["to"]
    message = RecordedMessage.objects.create(
        channel=RecordedMessage.WHATSAPP, provider_id="wamid." + secrets.token_urlsafe(24), to=to,
        sender=phone_number_id, body=template["components"][0]["parameters"][0]["text"], template_name=template["name"],
        language=template["language"]["code"], callback_data=str(payload.get("biz_opaque_callback_data", ""))[:512],
    )
    in_background(lambda: _whatsapp_callbacks(message))
    return JsonResponse({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
        "messages": [{"id": message.provider_id, "message_status": "accepted"}],
    })


def whatsapp_problem(payload) -> tuple[int, str] | None:
    """What the Cloud API would refuse in a template message, as (error code, message)."""
    if not isinstance(payload, dict) or payload.get("messaging_product") != "whatsapp":
        return 100, "The parameter messaging_product is required and must be whatsapp"
    if not E164.match("+" + str(payload.get("to", "")).lstrip("+")):
        return 131026, "Message undeliverable: the recipient is not a valid WhatsApp number"
    if payload.get("type") != "template":
        return 131047, "Re-engagement message: more than 24 hours have passed since the recipient last replied"
    template = payload.get("template")
    if not isinstance(template, dict) or not template.get("name"):
        return 131008, "Required parameter is missing: template.name"
    language = template.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    if not code:
        return 131008, "Required parameter is missing: template.language.code"
    if template["name"] != DEMO_WHATSAPP_TEMPLATE_NAME or code not in WHATSAPP_LANGUAGES:
        return 132001, f"Template name does not exist in the translation: {template['name']} ({code})"
    components = template.get("components")
    body = [c for c in components if isinstance(c, dict) and c.get("type") == "body"] if isinstance(components, list) else []
    parameters = body[0].get("parameters") if body else None
    if not isinstance(parameters, list) or len(parameters) != 1:
        return 132000, "Number of parameters does not match the expected number of params (1)"
    parameter = parameters[0]
    if not isinstance(parameter, dict) or parameter.get("type") != "text" or not isinstance(parameter.get("text"), str):
        return 131009, "Parameter value is not valid: a text parameter is expected"
    if BAD_PARAMETER.search(parameter["text"]):
        return 131009, "Param text cannot have new-line/tab characters or more than 4 consecutive spaces"
    if len(parameter["text"]) > WHATSAPP_MAX_BODY:
        return 131009, f"Param text is longer than the template body's {WHATSAPP_MAX_BODY} characters"
    return None


def whatsapp_webhook_url() -> str:
    stored = SandboxSetting.objects.filter(name=WEBHOOK_SETTING).values_list("value", flat=True).first()
    return stored or os.environ.get("SANDBOX_WHATSAPP_WEBHOOK_URL", "http://127.0.0.1:8000/messages/status/whatsapp/")


def _whatsapp_callbacks(message: RecordedMessage) -> None:
    url = whatsapp_webhook_url()
    for status in ("sent", "delivered"):
        entry = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": message.sender}, "statuses": [{
            "id": message.provider_id, "status": status, "timestamp": str(int(time.time())),
            "recipient_id": message.to.lstrip("+"), "biz_opaque_callback_data": message.callback_data,
        }]}
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "sandbox-waba", "changes": [
            {"field": "messages", "value": entry},
        ]}]}).encode()
        signature = "sha256=" + hmac.new(DEMO_WHATSAPP_APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}
        if not _post_callback(message, status, url, data=body, headers=headers):
            return


@csrf_exempt  # a script's switch, like the sandbox's other /_control/ endpoints
@require_POST
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    """Where the WhatsApp emulator posts its status webhooks (Meta's app dashboard, in the real world)."""
    SandboxSetting.objects.update_or_create(name=WEBHOOK_SETTING, defaults={"value": request.POST.get("url", "")[:500]})
    return HttpResponse(status=204)


# --- both -----------------------------------------------------------------------------------------


def in_background(work) -> None:
    """Callbacks never hold up the emulator's answer (and a product that is down never blocks it)."""
    threading.Thread(target=_quietly, args=(work,), daemon=True).start()


def _quietly(work) -> None:
    from django.db import connection

    try:
        work()
    finally:
        connection.close()


def _post_callback(message: RecordedMessage, status: str, url: str, **kwargs) -> bool:
    time.sleep(CALLBACK_PAUSE_SECONDS)  # as a real provider, a moment after its answer
    try:
        response = requests.post(url, timeout=5, **kwargs)
        problem = "" if response.status_code < 300 else f"HTTP {response.status_code} from {url}"
    except requests.RequestException as error:
        problem = f"{type(error).__name__} posting to {url}"
    RecordedMessage.objects.filter(pk=message.pk).update(status=status, callback_problem=problem[:300])
    return not problem


def recorded(request: HttpRequest) -> HttpResponse:
    return render(request, "sandbox/messages.html", {"messages_sent": RecordedMessage.objects.all()[:SHOWN]})


def recorded_json(request: HttpRequest) -> JsonResponse:
    fields = ("channel", "provider_id", "to", "sender", "body", "template_name", "language", "callback_data", "status", "callback_problem")
    return JsonResponse({"messages": list(RecordedMessage.objects.values(*fields)[:SHOWN])})


__all__ = ["recorded", "recorded_json", "twilio_messages", "whatsapp_messages", "whatsapp_webhook"]
