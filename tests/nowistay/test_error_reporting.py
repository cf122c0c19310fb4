"""Error reports (Sentry, on with SENTRY_DSN): PINs, tokens, passwords, secrets and guests' contact
details are scrubbed from events, breadcrumbs and request data. No network: the SDK's transport is
replaced by one that keeps what would have been sent."""

import json
import logging
import os
import subprocess
import sys

import pytest
import sentry_sdk
from celery import shared_task
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from sentry_sdk.transport import Transport

from nowistay.celery import app
from nowistay.error_reporting import error_reporting_start, scrub_event
from nowistay.settings import BASE_DIR

# What a report must never hold, whatever the field.
SECRETS = (
    "482913",  # a PIN
    "grace@example.com",
    "Grace Guest",
    "+33 6 12 34 56 78",
    "+33612345678",
    "tok-live-1",  # a vendor access token
    "api-token-2",  # a PMS API bearer token
    "hunter2-password",
    "client-secret-3",
    "oauth-code-4",
    "oauth-state-5",
    "session-6",
    "csrf-7",
)


def assert_nothing_secret(report) -> None:
    written = json.dumps(report)
    for secret in SECRETS:
        assert secret not in written, secret


def realistic_event() -> dict:
    """An event as the Django, logging and stdlib integrations build it for a failed API request."""
    return {
        "event_id": "5d1e6c4f0a2b4c3d9e8f7a6b5c4d3e2f",
        "level": "error",
        "platform": "python",
        "message": "Creating the code for grace@example.com failed",
        "logentry": {"message": "Creating the code for %s failed", "params": ["grace@example.com"]},
        "exception": {
            "values": [
                {
                    "type": "CodeRejected",
                    "value": "TTLock refused keyboardPwd=482913 for guest Grace's phone +33612345678",
                    "module": "locks.providers.exceptions",
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": "locks/services/work.py",
                                "function": "_create",
                                "lineno": 360,
                                "context_line": "        issued, found = _find_or_create(provider, code, spec, looked_before, now)",
                                "vars": {"pin": "482913", "spec": "CodeSpec(name='nw-5', pin='482913', starts_at=...)",
                                         "credentials": {"access_token": "tok-live-1", "refresh_token": "tok-live-1"}},
                            }
                        ]
                    },
                }
            ]
        },
        "request": {
            "url": "https://app.nowistay.example/integrations/tedee/callback",
            "method": "PUT",
            "query_string": "code=oauth-code-4&state=oauth-state-5&page=2",
            "headers": {
                "Authorization": "Bearer api-token-2",
                "Cookie": "sessionid=session-6; csrftoken=csrf-7",
                "X-Csrftoken": "csrf-7",
                "X-Request-Id": "0af7651916cd43dd8448eb211c80319c",
                "Content-Type": "application/json",
            },
            "cookies": {"sessionid": "session-6", "csrftoken": "csrf-7"},
            "data": {
                "guest_name": "Grace Guest",
                "guest_email": "grace@example.com",
                "guest_phone": "+33 6 12 34 56 78",
                "arrival_date": "2026-06-11",
                "password": "hunter2-password",
            },
            "env": {"REMOTE_ADDR": "203.0.113.9", "SERVER_NAME": "app.nowistay.example"},
        },
        "user": {"id": "12", "email": "grace@example.com", "ip_address": "203.0.113.9"},
        "breadcrumbs": {
            "values": [
                {"category": "locks.providers.http", "level": "info",
                 "message": "TTLock POST https://euapi.ttlock.com/v3/keyboardPwd/add -> 200 in 120 ms",
                 "data": {"code_id": 5, "booking_id": 9}},
                {"type": "http", "category": "httplib", "data": {"url": "https://euapi.ttlock.com/v3/lock/list", "http.method": "GET",
                 "http.query": "clientId=abc&accessToken=tok-live-1&lockId=1", "status_code": 200}},
                {"category": "messaging.services", "level": "warning",
                 "message": "sending message delivery 3 failed: <grace@example.com>: Recipient address rejected",
                 "data": {"delivery_ids": [3], "guest_email": "grace@example.com"}},
                {"category": "query", "message": 'UPDATE "locks_accesscode" SET "pin" = %s WHERE "id" = %s'},
            ]
        },
        "contexts": {"celery-job": {"task_name": "locks.tasks.process_code", "args": [5], "kwargs": {"pin": "482913"}}},
        "extra": {"sys.argv": ["celery", "-A", "nowistay", "worker"], "client_secret": "client-secret-3"},
        "tags": {"request_id": "0af7651916cd43dd8448eb211c80319c", "guest": "Grace Guest"},
    }


class TestScrubber:
    def test_nothing_secret_is_left_anywhere_in_a_realistic_event(self):
        assert_nothing_secret(scrub_event(realistic_event(), {}))

    def test_what_helps_debugging_is_kept(self):
        event = scrub_event(realistic_event(), {})
        assert event["exception"]["values"][0]["type"] == "CodeRejected"
        assert event["request"]["url"] == "https://app.nowistay.example/integrations/tedee/callback"
        assert event["request"]["query_string"] == "code=[Filtered]&state=[Filtered]&page=2"
        assert event["request"]["headers"]["X-Request-Id"] == "0af7651916cd43dd8448eb211c80319c"
        assert event["request"]["headers"]["Authorization"] == "[Filtered]"
        assert event["request"]["data"]["arrival_date"] == "2026-06-11"
        assert event["request"]["data"]["guest_name"] == "[Filtered]"
        crumbs = event["breadcrumbs"]["values"]
        assert crumbs[0]["data"] == {"code_id": 5, "booking_id": 9}
        assert crumbs[1]["data"]["http.query"] == "clientId=abc&accessToken=[Filtered]&lockId=1"
        assert crumbs[2]["message"] == "sending message delivery 3 failed: <[Filtered]>: Recipient address rejected"
        assert event["exception"]["values"][0]["value"] == "TTLock refused keyboardPwd=[Filtered] for guest Grace's phone [Filtered]"
        assert event["tags"]["request_id"] == "0af7651916cd43dd8448eb211c80319c"


# --- the SDK as started in production, with the network replaced ---------------------------------------

class KeptEnvelopes(Transport):
    sent: list = []

    def capture_envelope(self, envelope) -> None:
        KeptEnvelopes.sent.append(envelope)


def events_sent() -> list[dict]:
    return [item.payload.json for envelope in KeptEnvelopes.sent for item in envelope.items if item.type == "event"]


@pytest.fixture
def reporting():
    KeptEnvelopes.sent = []
    error_reporting_start(dsn="https://public@sentry.example.invalid/1", environment="test", transport=KeptEnvelopes)
    try:
        yield
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)


@csrf_exempt  # as the PMS API is (bearer tokens, no cookies)
def failing_view(request):
    pin = SECRETS[0]  # noqa: F841 (a local variable a report must not carry)
    logging.getLogger("bookings.api").info("booking for %s", "grace@example.com", extra={"guest_phone": "+33 6 12 34 56 78"})
    raise RuntimeError("the PMS sent guest grace@example.com")


urlpatterns = [path("fail", failing_view)]


def wsgi_request(method: str, url: str, **kwargs):
    """Through Django's WSGI handler, as gunicorn calls it (Sentry's Django integration wraps it)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_finished
    from django.db import close_old_connections
    from werkzeug.test import Client

    request_finished.disconnect(close_old_connections)  # as Django's test client does: the test's transaction stays open
    try:
        response = Client(WSGIHandler()).open(url, method=method, **kwargs)
        response.close()  # as the server does once it sent the answer (request_finished)
        return response
    finally:
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_failed_request_is_reported_without_its_body_or_anything_secret(reporting, caplog):
    caplog.set_level(logging.INFO, logger="bookings.api")  # whatever level an earlier test's worker left
    body = {
        "guest_name": "Grace Guest", "guest_email": "grace@example.com", "guest_phone": "+33 6 12 34 56 78", "password": "hunter2-password",
    }
    response = wsgi_request(
        "PUT",
        "http://localhost/fail?code=oauth-code-4&state=oauth-state-5",
        data=json.dumps(body),
        content_type="application/json",
        headers={
            "Authorization": "Bearer api-token-2", "Cookie": "sessionid=session-6; csrftoken=csrf-7",
            "X-Request-ID": "pms-request-00000002",
        },
    )
    assert response.status_code == 500
    (event,) = events_sent()
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["exception"]["values"][-1]["value"] == "the PMS sent guest [Filtered]"
    assert event["request"]["url"] == "http://localhost/fail"
    assert event["request"]["headers"]["X-Request-Id"] == "pms-request-00000002"
    assert event["tags"]["request_id"] == "pms-request-00000002"  # the id of the request's log lines
    assert not event["request"].get("data")  # bodies are never sent
    assert all("vars" not in frame for value in event["exception"]["values"] for frame in value["stacktrace"]["frames"])
    assert any(crumb.get("message") == "booking for [Filtered]" for crumb in event["breadcrumbs"]["values"])
    assert_nothing_secret(event)


@shared_task
def failing_task(booking_id: int, guest_email: str) -> None:
    raise ValueError(f"no code for {guest_email}")


@pytest.mark.django_db
def test_a_failed_task_is_reported_without_anything_secret(reporting):
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        failing_task.delay(booking_id=9, guest_email="grace@example.com")
    finally:
        app.conf.task_always_eager = saved
    (event,) = events_sent()
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert_nothing_secret(event)


def test_reporting_starts_only_with_a_dsn_and_never_sends_personal_data():
    script = (
        "import django, sentry_sdk; django.setup(); client = sentry_sdk.get_client(); print(client.is_active()); "
        "client.is_active() and print(client.should_send_default_pii(), client.options['data_collection']['user_info'], "
        "client.options['data_collection']['stack_frame_variables'], client.options['max_request_body_size'], "
        "client.options['before_send'].__name__)"
    )
    variables = {name: os.environ[name] for name in ("PATH", "HOME", "PYTHONPATH", "VIRTUAL_ENV") if name in os.environ}
    variables.update(DJANGO_SETTINGS_MODULE="nowistay.settings", DEBUG="true")

    def run(**env):
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=BASE_DIR, env={**variables, **env}, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    assert run(SENTRY_DSN="https://public@sentry.example.invalid/1") == ["True", "False", "False", "False", "never", "scrub_event"]
    assert run() == ["False"]
