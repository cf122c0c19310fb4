"""Optional error reporting to Sentry (or a service speaking its protocol), on when SENTRY_DSN is set.

Unhandled errors of web requests (Django) and of Celery tasks, and error log lines, are sent with
the recent log lines as breadcrumbs. Three layers keep personal data and secrets out:
- what the SDK collects: no personal data (send_default_pii left off, its default: sentry-sdk 2.76
  deprecates passing it; so no user, cookies, client address or SQL parameters, and the SDK's own
  event scrubber runs), never a request body (API bodies and forms hold guests' names, emails and
  phones), never the local variables of stack frames (a PIN, a booking's guest name, credentials);
- `scrub_event` last, on every event: every secret-named field and every email address, phone
  number, bearer credential and secret query parameter anywhere in it is replaced (nowistay.scrub).
"""

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from nowistay.logs import current_request_id
from nowistay.scrub import scrub


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's before_send (and before_send_transaction): the event without PINs, tokens,
    passwords, secrets or guests' contact details, in its exception, request, breadcrumbs,
    contexts, extras, tags and message alike; tagged with the request id its log lines carry."""
    request_id = current_request_id()
    if request_id is not None:
        event = {**event, "tags": {**event.get("tags", {}), "request_id": request_id}}
    return scrub(event)


def error_reporting_start(*, dsn: str, environment: str, traces_sample_rate: float = 0.0, transport=None) -> None:
    """Start the Sentry SDK for this process (web, worker or beat). `transport` replaces the
    network in tests."""
    options: dict[str, Any] = {}
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        max_request_body_size="never",
        include_local_variables=False,
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        **options,
    )
