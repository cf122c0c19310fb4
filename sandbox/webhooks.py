"""A webhook receiver, so `make run` shows Nowistay's webhooks arriving: it keeps each delivery and
checks its signature as a customer's server would, by the Standard Webhooks specification
(https://www.standardwebhooks.com/, "Verifying webhooks"), written here independently of the
product's signing: HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}" keyed with the
base64-decoded secret, base64-encoded, among the space-separated "v1,<signature>" of
`webhook-signature`; a timestamp more than five minutes from now is refused (replays).

Its "down" switch answers 503 to every delivery, to watch Nowistay retry and catch up.
"""

import base64
import hashlib
import hmac
import json
import time

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from sandbox.demo_sign_ins import DEMO_WEBHOOK_SECRET
from sandbox.models import ReceivedWebhook, WebhookReceiverSwitch

TOLERANCE_SECONDS = 5 * 60
MAX_BODY_BYTES = 1024 * 1024
SHOWN = 100
KEPT = 1000


def signature_problem(headers, body: bytes, secret: str, *, now: float | None = None) -> str:
    """Why the delivery's signature does not hold, or "" when it does."""
    message_id, stamp, signatures = (headers.get(name, "") for name in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (message_id and stamp and signatures):
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    try:
        sent_at = int(stamp)
    except ValueError:
        return "webhook-timestamp is not a number of seconds"
    if abs((now if now is not None else time.time()) - sent_at) > TOLERANCE_SECONDS:
        return "webhook-timestamp is more than five minutes away from now"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return ""
    return "no v1 signature matches"


@csrf_exempt
@require_http_methods(["GET", "POST"])
def receiver(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "sandbox/webhooks.html", {
            "received": ReceivedWebhook.objects.order_by("-id")[:SHOWN], "down": WebhookReceiverSwitch.is_down(),
        })
    if WebhookReceiverSwitch.is_down():
        return HttpResponse("The receiver is down (sandbox switch).", status=503)
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return HttpResponse(status=413)
    problem = signature_problem(request.headers, body, DEMO_WEBHOOK_SECRET)
    kept = ReceivedWebhook.objects.create(
        webhook_id=request.headers.get("webhook-id", "")[:100],
        event_type=_event_type(body)[:100],
        body=body.decode("utf-8", errors="replace"),
        verified=not problem,
        problem=problem,
    )
    ReceivedWebhook.objects.filter(id__lte=kept.id - KEPT).delete()  # a development tool: the latest only
    return HttpResponse(status=204 if not problem else 400)


@csrf_exempt  # a script's switch, like the sandbox's other /_control/ endpoints
@require_POST
def switch(request: HttpRequest) -> HttpResponse:
    """Bring the receiver down or up (the page's button, or a script: POST down=1 / down=0)."""
    WebhookReceiverSwitch.set_down(request.POST.get("down") == "1")
    return redirect("webhooks")


def _event_type(body: bytes) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return ""
    return str(parsed.get("type", "")) if isinstance(parsed, dict) else ""
