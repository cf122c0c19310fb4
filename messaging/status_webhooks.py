"""Status callbacks from the SMS and WhatsApp providers: what became of a message after it was
handed over (sent, delivered, read, failed). Each request is checked as the provider signs it
(reference integration-conventions §3): Twilio's `X-Twilio-Signature` (base64 HMAC-SHA1 of the URL
and the POST parameters sorted by name, keyed with the auth token) and Meta's `X-Hub-Signature-256`
("sha256=" and the hex HMAC-SHA256 of the raw body, keyed with the app secret), compared in
constant time. A bad signature is a 403 and changes nothing.

A status only moves forward (queued → sent → delivered → read; failed and undelivered are final),
so a duplicate or a late callback is a no-op. A failure of a message that carried the door code
tells the host, once. A callback for a row still waiting for its retry (the send timed out after
the request left) records it as sent: it is never sent a second time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from messaging import notifications
from messaging.ledger import after_commit
from messaging.models import OPEN_STATUSES, PROVIDER_STATUS_RANK, Channel, DeliveryStatus, MessageDelivery, ProviderStatus

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024

# Twilio's message statuses (reference §3.2) in ours; receiving/received are inbound, ignored.
TWILIO_STATUSES = {
    "queued": "queued", "accepted": "queued", "scheduled": "queued", "sending": "sent", "sent": "sent",
    "delivered": "delivered", "read": "read", "failed": "failed", "undelivered": "undelivered", "canceled": "failed",
    "partially_delivered": "delivered",
}
# WhatsApp's (reference §3.1); "played" is a voice message heard: read.
WHATSAPP_STATUSES = {"sent": "sent", "delivered": "delivered", "read": "read", "played": "read", "failed": "failed"}
FAILURES = (ProviderStatus.FAILED, ProviderStatus.UNDELIVERED)


def provider_status_record(
    *, channel: str, status: str, provider_id: str = "", delivery_id: str = "", error: str = "", at: datetime | None = None
) -> bool:
    """Record what the provider reports of one message; False when it changes nothing."""
    if status not in PROVIDER_STATUS_RANK or not status:
        return False
    rows = MessageDelivery.objects.filter(channel=channel)
    if delivery_id.isdigit():
        rows = rows.filter(pk=int(delivery_id))
    elif provider_id:
        rows = rows.filter(provider_message_id=provider_id)
    else:
        return False
    row = rows.select_related("booking__property__host").first()
    if row is None or (provider_id and row.provider_message_id and row.provider_message_id != provider_id):
        return False  # not ours, or a callback of another message
    now = timezone.now()
    behind = [name for name, rank in PROVIDER_STATUS_RANK.items() if rank < PROVIDER_STATUS_RANK[status]]
    changes = {"provider_status": status, "provider_status_at": at or now, "updated_at": now}
    if provider_id:
        changes["provider_message_id"] = provider_id
    if error:
        changes["provider_error"] = error[:300]
    if row.status in OPEN_STATUSES and status not in FAILURES and PROVIDER_STATUS_RANK[status] >= PROVIDER_STATUS_RANK["queued"]:
        # The send timed out after the request left, and the provider did take it: sent, not again.
        changes.update(status=DeliveryStatus.SENT, sent_at=row.sent_at or now, next_attempt_at=None, note="")
    updated = MessageDelivery.objects.filter(pk=row.pk, provider_status__in=behind).update(**changes)
    if not updated:
        return False  # a duplicate, or behind what is recorded
    if status in FAILURES:
        _failed(row, status, error, now)
    return True


def _failed(row: MessageDelivery, status: str, error: str, now: datetime) -> None:
    label = dict(Channel.choices)[row.channel]
    note = _("%(channel)s reported the message %(status)s") % {"channel": label, "status": ProviderStatus(status).label.lower()}
    note = f"{note} ({error})." if error else f"{note}."
    carried_code = row.pin is not None or row.code_id is not None
    changes = {"status": DeliveryStatus.FAILED, "note": note[:500]}
    if carried_code:
        changes["host_notified_at"] = now
    # Told once: only the update that sets host_notified_at sends the email.
    told = MessageDelivery.objects.filter(pk=row.pk, host_notified_at__isnull=True).filter(
        Q(status=DeliveryStatus.SENT) | Q(status__in=OPEN_STATUSES)
    ).update(**changes)
    if told and carried_code:
        row.note = note[:500]
        after_commit(lambda: notifications.message_failed(row))


# --- Twilio ---------------------------------------------------------------------------------------


def twilio_signature(url: str, params: list[tuple[str, str]], token: str) -> str:
    payload = url + "".join(f"{name}{value}" for name, value in sorted(params, key=lambda item: item[0]))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    token = settings.TWILIO_AUTH_TOKEN
    if not token or _too_big(request):
        return HttpResponse(status=403 if not token else 413)
    # The URL Twilio was given (sms.status_callback_url): the public site's, not what a proxy passed on.
    url = f"{settings.SITE_URL}{request.get_full_path()}"
    params = [(name, value) for name, values in request.POST.lists() for value in values]
    expected = twilio_signature(url, params, token)
    if not hmac.compare_digest(expected, request.headers.get("X-Twilio-Signature", "")):
        return HttpResponse(status=403)
    status = TWILIO_STATUSES.get(request.POST.get("MessageStatus", ""), "")
    error = request.POST.get("ErrorCode", "")
    provider_status_record(
        channel=Channel.SMS, status=status, provider_id=request.POST.get("MessageSid", "")[:128],
        delivery_id=request.GET.get("delivery", ""), error=f"Twilio {error}" if error else "",
    )
    return HttpResponse(status=204)


# --- WhatsApp -------------------------------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_status(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":  # the subscription handshake
        verify = settings.WHATSAPP_VERIFY_TOKEN
        given = request.GET.get("hub.verify_token", "")
        if verify and request.GET.get("hub.mode") == "subscribe" and hmac.compare_digest(given, verify):
            return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
        return HttpResponse(status=403)
    secret = settings.WHATSAPP_APP_SECRET
    if not secret or _too_big(request):
        return HttpResponse(status=403 if not secret else 413)
    body = request.body
    if len(body) > MAX_BODY_BYTES:  # sent without a Content-Length
        return HttpResponse(status=413)
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", "")):
        return HttpResponse(status=403)
    try:
        payload = json.loads(body)
    except ValueError:
        return HttpResponse(status=400)
    for status in _statuses(payload):
        provider_status_record(
            channel=Channel.WHATSAPP, status=WHATSAPP_STATUSES.get(str(status.get("status")), ""),
            provider_id=str(status.get("id") or "")[:128], delivery_id=str(status.get("biz_opaque_callback_data") or ""),
            error=_whatsapp_error(status), at=_moment(status.get("timestamp")),
        )
    return HttpResponse(status=200)  # Meta retries anything else


def _statuses(payload) -> list[dict]:
    found = []
    entries = payload.get("entry") if isinstance(payload, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        for change in entry.get("changes") or [] if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            statuses = value.get("statuses") if isinstance(value, dict) else None
            found += [status for status in statuses or [] if isinstance(status, dict)]
    return found


def _whatsapp_error(status: dict) -> str:
    errors = status.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return f"WhatsApp {errors[0].get('code', '')}: {str(errors[0].get('title', ''))[:150]}".strip(": ")
    return ""


def _moment(stamp) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(stamp), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _too_big(request: HttpRequest) -> bool:
    try:
        return int(request.headers.get("Content-Length") or 0) > MAX_BODY_BYTES
    except ValueError:
        return True
