"""End to end: the sandbox process, a real Celery worker on Redis, the real adapters over HTTP.

Runs where CI runs it: with REDIS_URL set and DATABASE_URL on PostgreSQL.
"""

import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent
TTLOCK_DOOR = "7100001"

pytestmark = [
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL) for the real worker"),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="needs PostgreSQL (DATABASE_URL): the worker's threads share the test database",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory):
    port = _free_port()
    database = tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3"
    env = {**os.environ, "SANDBOX_DATABASE_URL": f"sqlite:///{database}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--seed"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: requests.get(url + "/", timeout=1).ok, "the sandbox to start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def vendors_on_sandbox(settings, sandbox_url):
    settings.TTLOCK_API_URL = f"{sandbox_url}/ttlock"
    settings.TTLOCK_CLIENT_ID, settings.TTLOCK_CLIENT_SECRET = "sandbox-client", "sandbox-secret"
    settings.VENDOR_HTTP_TIMEOUT_SECONDS = 5
    return sandbox_url


@pytest.fixture
def worker(settings):
    from celery.contrib.testing.worker import start_worker

    from nowistay.celery import app

    app.conf.task_always_eager = False
    with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=30):
        yield
    connection.close()


def _wait(check, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _codes_on(sandbox_url: str, vendor: str, lock_id: str) -> list[dict]:
    return requests.get(f"{sandbox_url}/_control/{vendor}/locks/{lock_id}/", timeout=5).json()["codes"]


@pytest.mark.django_db(transaction=True)
def test_ttlock_booking_to_door_through_worker_and_sandbox(vendors_on_sandbox, worker, make_property, book, django_capture_on_commit_callbacks):
    from bookings.models import BookingStatus
    from locks import services
    from locks.connect.ttlock import ttlock_connect
    from locks.models import AccessCode, CodeState

    sandbox = vendors_on_sandbox
    prop = make_property(time_zone="Europe/Paris")
    account = ttlock_connect(host=prop.host, username="demo-host@nowistay.example", password="sandbox-ttlock")
    lock = account.locks.get(vendor_lock_id=TTLOCK_DOOR)
    assert lock.supports_remote_codes
    services.lock_assignment_set(prop=prop, lock=lock)

    # Booking created → the code is on the virtual lock with the exact window.
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(prop, today + timedelta(days=1), today + timedelta(days=3))
        services.booking_created(booking=booking)
    _wait(lambda: len(_codes_on(sandbox, "ttlock", TTLOCK_DOOR)) == 1, "the code on the lock")
    code = AccessCode.objects.get(booking=booking, is_current=True)
    _wait(lambda: AccessCode.objects.get(pk=code.pk).state == CodeState.ACTIVE, "the code to be active")
    code.refresh_from_db()
    (on_lock,) = _codes_on(sandbox, "ttlock", TTLOCK_DOOR)
    assert on_lock["pin"] == code.pin and on_lock["name"] == code.vendor_name
    assert (on_lock["starts_at"], on_lock["ends_at"]) == (code.starts_at.isoformat(), code.ends_at.isoformat())

    # Dates changed → same PIN, new window.
    with django_capture_on_commit_callbacks(execute=True):
        booking.departure_date = today + timedelta(days=4)
        booking.save()
        services.booking_changed(booking=booking)
    code.refresh_from_db()
    _wait(lambda: _codes_on(sandbox, "ttlock", TTLOCK_DOOR)[0]["ends_at"] == AccessCode.objects.get(pk=code.pk).ends_at.isoformat(), "the new window")
    assert _codes_on(sandbox, "ttlock", TTLOCK_DOOR)[0]["pin"] == code.pin

    # Cancelled → gone.
    with django_capture_on_commit_callbacks(execute=True):
        booking.status = BookingStatus.CANCELLED
        booking.save()
        services.booking_cancelled(booking=booking)
    _wait(lambda: _codes_on(sandbox, "ttlock", TTLOCK_DOOR) == [], "the code to be removed")
    _wait(lambda: AccessCode.objects.get(pk=code.pk).state == CodeState.REVOKED, "the code to be revoked")


@pytest.mark.django_db(transaction=True)
def test_ttlock_offline_gateway_is_retried_and_created_once_back(vendors_on_sandbox, worker, make_property, book, django_capture_on_commit_callbacks):
    from locks import services, tasks
    from locks.connect.ttlock import ttlock_connect
    from locks.models import AccessCode, CodeState

    sandbox = vendors_on_sandbox
    prop = make_property(time_zone="Europe/Paris", name="Offline flat")
    account = ttlock_connect(host=prop.host, username="demo-host@nowistay.example", password="sandbox-ttlock")
    services.lock_assignment_set(prop=prop, lock=account.locks.get(vendor_lock_id=TTLOCK_DOOR))
    requests.post(f"{sandbox}/_control/ttlock/locks/{TTLOCK_DOOR}/faults/", json={"offline": True}, timeout=5)
    try:
        today = timezone.localdate()
        with django_capture_on_commit_callbacks(execute=True):
            booking = book(prop, today + timedelta(days=1), today + timedelta(days=2))
            services.booking_created(booking=booking)
        code = AccessCode.objects.get(booking=booking, is_current=True)
        _wait(lambda: AccessCode.objects.get(pk=code.pk).attempts >= 1, "a failed attempt")
        code.refresh_from_db()
        assert code.state == CodeState.CREATING and "offline" in code.last_error.lower()
        assert _codes_on(sandbox, "ttlock", TTLOCK_DOOR) == []
    finally:
        requests.post(f"{sandbox}/_control/ttlock/locks/{TTLOCK_DOOR}/faults/", json={"offline": False}, timeout=5)

    AccessCode.objects.filter(pk=code.pk).update(next_attempt_at=timezone.now())  # the hour has passed
    tasks.scheduler_pass.delay()
    _wait(lambda: AccessCode.objects.get(pk=code.pk).state == CodeState.ACTIVE, "the retry to succeed")
    assert len(_codes_on(sandbox, "ttlock", TTLOCK_DOOR)) == 1
