"""Logs: JSON lines with a request id (kept from a sane X-Request-ID, echoed, carried into tasks),
the lifecycle's booking/code/account ids as fields, and never a secret or a guest's contact."""

import io
import json
import logging
import os
import subprocess
import sys
from datetime import date

import pytest
import requests
from celery import shared_task
from celery.result import AsyncResult
from django.http import JsonResponse
from django.urls import path
from freezegun import freeze_time

from locks import services
from nowistay import logs
from nowistay.celery import app
from nowistay.settings import BASE_DIR
from tests.helpers.lifecycle import tick
from tests.helpers.processes import free_port, wait_until

task_logger = logging.getLogger("tests.nowistay.test_logging.task")


@shared_task
def logging_task(booking_id: int, note: str) -> str:
    task_logger.info("inside the task: %s", note)
    return "done"


def enqueue(request):
    result = logging_task.delay(booking_id=42, note="from a request")
    logging.getLogger("tests.nowistay.test_logging.view").info("enqueued")
    return JsonResponse({"task_id": result.id})


def leak(request):
    logging.getLogger("tests.nowistay.test_logging.view").info(
        "guest grace@example.com, +33 6 12 34 56 78, callback ?code=oauth-code-1&state=oauth-state-1",
        extra={"pin": "482913", "guest_email": "grace@example.com", "guest_name": "Grace Guest", "access_token": "tok-1",
               "request": request, "booking_id": 7, "code_ids": [1, 2]},
    )
    return JsonResponse({})


urlpatterns = [path("enqueue", enqueue), path("leak", leak)]


@pytest.fixture
def json_lines():
    """Records as production writes them: the settings' console handler with LOG_FORMAT=json."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines_of(lines, logger: str) -> list[dict]:
    return [line for line in lines if line["logger"] == logger]


# --- the request id -----------------------------------------------------------------------------------

@pytest.mark.django_db
class TestRequestId:
    def test_every_line_of_a_request_carries_the_id_the_response_echoes(self, client, json_lines):
        response = client.get("/no-such-page/")
        request_id = response["X-Request-ID"]
        assert len(request_id) == 32 and int(request_id, 16) >= 0
        # Django logs the 404 after the middleware returned: still within the request.
        (line,) = lines_of(json_lines(), "django.request")
        assert line["request_id"] == request_id
        assert line["message"] == "Not Found: /no-such-page/"
        assert line["level"] == "WARNING" and line["status_code"] == 404
        assert {"timestamp", "level", "logger", "message"} <= line.keys()

    def test_each_request_gets_its_own_id_and_none_is_left_behind(self, client, json_lines):
        first = client.get("/no-such-page/")["X-Request-ID"]
        second = client.get("/no-such-page/")["X-Request-ID"]
        assert first != second
        logging.getLogger("tests.after").info("between requests")
        assert "request_id" not in lines_of(json_lines(), "tests.after")[0]

    @pytest.mark.parametrize("incoming", ["0af7651916cd43dd8448eb211c80319c", "req-2026.05.09:abc_DEF-1", "a" * 128])
    def test_a_sane_incoming_id_is_kept(self, client, json_lines, incoming):
        response = client.get("/no-such-page/", HTTP_X_REQUEST_ID=incoming)
        assert response["X-Request-ID"] == incoming
        assert lines_of(json_lines(), "django.request")[0]["request_id"] == incoming

    @pytest.mark.parametrize(
        "incoming",
        ["short", "a" * 129, "has space in it", "semi;colon-12345", "new\\nline-123456", "<script>alert(1)</script>", "é" * 10, ""],
    )
    def test_an_insane_incoming_id_is_replaced(self, client, json_lines, incoming):
        response = client.get("/no-such-page/", HTTP_X_REQUEST_ID=incoming)
        replaced = response["X-Request-ID"]
        assert replaced != incoming and len(replaced) == 32
        assert lines_of(json_lines(), "django.request")[0]["request_id"] == replaced

    def test_the_api_answers_with_the_id_too(self, client):
        response = client.get("/api/v1/bookings", HTTP_X_REQUEST_ID="pms-request-00000001")
        assert response["X-Request-ID"] == "pms-request-00000001"


# --- no secret in a line --------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_no_pin_token_or_guest_contact_in_any_field(client, json_lines):
    client.get("/leak?code=oauth-code-2&state=oauth-state-2", HTTP_AUTHORIZATION="Bearer api-token-1")
    (line,) = lines_of(json_lines(), "tests.nowistay.test_logging.view")
    written = json.dumps(line)
    for secret in ("482913", "grace@example.com", "Grace Guest", "tok-1", "+33 6 12 34 56 78", "oauth-code-1",
                   "oauth-state-1", "oauth-code-2", "oauth-state-2", "api-token-1", "WSGIRequest"):
        assert secret not in written, secret
    assert line["pin"] == line["guest_email"] == line["guest_name"] == line["access_token"] == "[Filtered]"
    assert "request" not in line  # an object, never dumped
    assert line["booking_id"] == 7 and line["code_ids"] == [1, 2]
    assert line["message"] == "guest [Filtered], [Filtered], callback ?code=[Filtered]&state=[Filtered]"


def test_a_traceback_is_a_field_of_its_line():
    formatter = logs.JsonFormatter()
    try:
        raise ValueError("bad answer for grace@example.com")
    except ValueError:
        record = logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = json.loads(formatter.format(record))
    assert line["message"] == "failed"
    assert "ValueError: bad answer for [Filtered]" in line["exc_info"]


def test_text_lines_end_with_the_request_id_and_the_bound_ids():
    formatter = logs.TextFormatter()
    record = logging.getLogger("x").makeRecord("x", logging.INFO, __file__, 1, "created on %s", ("TTLock",), None)
    record.request_id, record.code_id, record.booking_id = "abcd1234", 5, 9
    assert formatter.format(record).endswith(" INFO x created on TTLock [request_id=abcd1234 booking_id=9 code_id=5]")


# --- tasks --------------------------------------------------------------------------------------------

@pytest.fixture
def eager():
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = saved


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_task_run_eagerly_keeps_the_request_id_and_binds_its_id_arguments(client, json_lines, eager):
    request_id = client.get("/enqueue", HTTP_X_REQUEST_ID="eager-request-0001")["X-Request-ID"]
    (line,) = lines_of(json_lines(), task_logger.name)
    assert line["request_id"] == request_id == "eager-request-0001"
    assert line["booking_id"] == 42 and line["task_name"] == logging_task.name
    assert "note" not in line  # only id arguments become fields
    assert "booking_id" not in lines_of(json_lines(), "tests.nowistay.test_logging.view")[0]  # unbound after the task


def test_the_request_id_travels_in_the_message_headers_and_is_restored_before_the_task(json_lines):
    headers = {}
    publishing = logs._request_id.set("publisher-request-1")
    logs.add_request_id_to_task(headers=headers)
    logs._request_id.reset(publishing)
    assert headers == {"request_id": "publisher-request-1"}

    # As a worker runs it: no request id around it, the header among the request's.
    logging_task.apply(kwargs={"booking_id": 3, "note": "n"}, headers=headers)
    (line,) = lines_of(json_lines(), task_logger.name)
    assert line["request_id"] == "publisher-request-1" and line["booking_id"] == 3
    assert logs.current_request_id() is None


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis server: set REDIS_URL")
@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_a_worker_logs_the_task_with_the_id_of_the_request_that_enqueued_it(worker, client, json_lines):
    response = client.get("/enqueue", HTTP_X_REQUEST_ID="worker-request-0001")
    assert AsyncResult(response.json()["task_id"], app=app).get(timeout=30) == "done"
    (line,) = lines_of(json_lines(), task_logger.name)
    assert line["request_id"] == "worker-request-0001"
    assert line["booking_id"] == 42 and line["task_id"] == response.json()["task_id"]
    assert line["task_name"] == logging_task.name


# --- the lifecycle's ids --------------------------------------------------------------------------------

@pytest.mark.django_db
def test_lines_logged_during_a_codes_step_name_its_code_booking_and_account(assigned_property, book, fake_cloud, json_lines):
    prop = assigned_property()
    fake_cloud.after_call = lambda: logging.getLogger("tests.vendor").info("vendor answered")
    with freeze_time("2026-06-10 08:00:00"):
        booking = book(prop, date(2026, 6, 11), date(2026, 6, 13))
        services.booking_created(booking=booking)
        tick()
    code = booking.access_codes.get()
    (line,) = lines_of(json_lines(), "tests.vendor")
    assert (line["code_id"], line["booking_id"], line["account_id"]) == (code.pk, booking.pk, code.lock.account_id)


# --- the format in each kind of process ---------------------------------------------------------------

def _run_logging_a_line(debug: str, **env) -> subprocess.CompletedProcess:
    script = "import django, logging; django.setup(); logging.getLogger('probe').warning('hello')"
    variables = {name: os.environ[name] for name in ("PATH", "HOME", "PYTHONPATH", "VIRTUAL_ENV") if name in os.environ}
    variables.update(DJANGO_SETTINGS_MODULE="nowistay.settings", DEBUG=debug, **env)
    return subprocess.run([sys.executable, "-c", script], cwd=BASE_DIR, env=variables, capture_output=True, text=True, timeout=60)


def _log_a_line(debug: str, **env) -> str:
    result = _run_logging_a_line(debug, **env)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stderr.splitlines() if "hello" in line][0]


def test_json_by_default_without_debug_and_text_with_it():
    assert json.loads(_log_a_line("false")) | {"timestamp": None} == {
        "timestamp": None,
        "level": "WARNING",
        "logger": "probe",
        "message": "hello",
    }
    assert json.loads(_log_a_line("false", LOG_FORMAT=""))["message"] == "hello"  # as .env.example leaves it
    assert _log_a_line("true").endswith(" WARNING probe hello")
    assert _log_a_line("false", LOG_FORMAT="text").endswith(" WARNING probe hello")
    assert json.loads(_log_a_line("true", LOG_FORMAT="json"))["message"] == "hello"


def test_an_unknown_format_is_refused_at_start_up():
    result = _run_logging_a_line("false", LOG_FORMAT="xml")
    assert result.returncode != 0
    assert 'LOG_FORMAT must be "json" or "text"' in result.stderr


GUNICORN_CONFIG = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nowistay.settings")
from django.conf import settings
from nowistay.logs import gunicorn_logconfig_dict
logconfig_dict = gunicorn_logconfig_dict(settings.LOGGING)
"""


def test_gunicorn_writes_its_own_lines_and_its_access_log_as_json_lines_with_the_request_id(tmp_path):
    config = tmp_path / "gunicorn.conf.py"
    config.write_text(GUNICORN_CONFIG)
    port = free_port()
    variables = {name: os.environ[name] for name in ("PATH", "HOME", "PYTHONPATH", "VIRTUAL_ENV") if name in os.environ}
    variables.update(
        DJANGO_SETTINGS_MODULE="nowistay.settings", DEBUG="false", SECRET_KEY="k" * 20 + "-production-like-secret-key-0123456789",
        FIELD_ENCRYPTION_KEYS="VGhpcyBpcyBhIDMyLWJ5dGUga2V5IGZvciB0ZXN0cyE=", ALLOWED_HOSTS="127.0.0.1",
        EMAIL_URL="smtp+tls://u:p@smtp.example.com:587", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", CELERY_BROKER_URL="memory://",
    )
    log = tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "-c", str(config), "nowistay.wsgi:application",
               "--bind", f"127.0.0.1:{port}", "--workers", "1", "--access-logfile", "-"]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=BASE_DIR, env=variables, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "Booting worker" in log.read_text() or process.poll() is not None, "gunicorn to start")
        url = f"http://127.0.0.1:{port}/integrations/tedee/callback?code=oauth-code-8&state=oauth-state-9"
        wait_until(lambda: requests.get(url, headers={"X-Request-ID": "balancer-request-01"}, timeout=5).status_code == 404, "an answer")
        wait_until(lambda: '"gunicorn.access"' in log.read_text(), "the access log line")
    finally:
        process.terminate()
        process.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(line["logger"] == "gunicorn.error" and line["message"].startswith("Booting worker") for line in lines)
    access = [line for line in lines if line["logger"] == "gunicorn.access"][-1]
    assert access["request_id"] == "balancer-request-01"
    assert "GET /integrations/tedee/callback?code=[Filtered]&state=[Filtered] HTTP/1.1" in access["message"]
    assert "oauth-code-8" not in log.read_text() and "oauth-state-9" not in log.read_text()
