"""End to end: the sandbox process, a real Celery worker on Redis, the real adapters over HTTP.

Runs where CI runs it: with REDIS_URL set and DATABASE_URL on PostgreSQL.
"""

import os
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from tests.helpers.processes import wait_until

TTLOCK_DOOR = "7100001"

pytestmark = [
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL) for the real worker"),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="needs PostgreSQL (DATABASE_URL): the worker's threads share the test database",
    ),
]


def _codes_on(sandbox_url: str, vendor: str, lock_id: str) -> list[dict]:
    return requests.get(f"{sandbox_url}/_control/{vendor}/locks/{lock_id}/", timeout=5).json()["codes"]


@pytest.mark.django_db(transaction=True)
def test_ttlock_booking_to_door_through_worker_and_sandbox(
    vendors_on_sandbox, worker, make_property, book, django_capture_on_commit_callbacks
):
    from bookings.models import BookingStatus
    from locks import services
    from locks.connect.services import connect_with_credentials
    from locks.models import AccessCode, CodeState

    sandbox = vendors_on_sandbox
    prop = make_property(time_zone="Europe/Paris")
    account = connect_with_credentials(
        host=prop.host,
        provider="ttlock",
        method="password",
        values={"username": "demo-host@nowistay.example", "password": "sandbox-ttlock"},
    )
    lock = account.locks.get(vendor_lock_id=TTLOCK_DOOR)
    assert lock.supports_remote_codes
    services.lock_assignment_set(prop=prop, lock=lock)

    # Booking created → the code is on the virtual lock with the exact window.
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(prop, today + timedelta(days=1), today + timedelta(days=3))
        services.booking_created(booking=booking)
    wait_until(lambda: len(_codes_on(sandbox, "ttlock", TTLOCK_DOOR)) == 1, "the code on the lock")
    code = AccessCode.objects.get(booking=booking, is_current=True)
    wait_until(lambda: AccessCode.objects.get(pk=code.pk).state == CodeState.ACTIVE, "the code to be active")
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
    wait_until(
        lambda: _codes_on(sandbox, "ttlock", TTLOCK_DOOR)[0]["ends_at"] == AccessCode.objects.get(pk=code.pk).ends_at.isoformat(),
        "the new window",
    )
    assert _codes_on(sandbox, "ttlock", TTLOCK_DOOR)[0]["pin"] == code.pin

    # Cancelled → gone.
    with django_capture_on_commit_callbacks(execute=True):
        booking.status = BookingStatus.CANCELLED
        booking.save()
        services.booking_cancelled(booking=booking)
    wait_until(lambda: _codes_on(sandbox, "ttlock", TTLOCK_DOOR) == [], "the code to be removed")
    wait_until(lambda: AccessCode.objects.get(pk=code.pk).state == CodeState.REVOKED, "the code to be revoked")


@pytest.mark.django_db(transaction=True)
def test_ttlock_offline_gateway_is_retried_and_created_once_back(
    vendors_on_sandbox, worker, make_property, book, django_capture_on_commit_callbacks
):
    from locks import services, tasks
    from locks.connect.services import connect_with_credentials
    from locks.models import AccessCode, CodeState

    sandbox = vendors_on_sandbox
    prop = make_property(time_zone="Europe/Paris", name="Offline flat")
    account = connect_with_credentials(
        host=prop.host,
        provider="ttlock",
        method="password",
        values={"username": "demo-host@nowistay.example", "password": "sandbox-ttlock"},
    )
    services.lock_assignment_set(prop=prop, lock=account.locks.get(vendor_lock_id=TTLOCK_DOOR))
    requests.post(f"{sandbox}/_control/ttlock/locks/{TTLOCK_DOOR}/faults/", json={"offline": True}, timeout=5)
    try:
        today = timezone.localdate()
        with django_capture_on_commit_callbacks(execute=True):
            booking = book(prop, today + timedelta(days=1), today + timedelta(days=2))
            services.booking_created(booking=booking)
        code = AccessCode.objects.get(booking=booking, is_current=True)
        wait_until(lambda: AccessCode.objects.get(pk=code.pk).attempts >= 1, "a failed attempt")
        code.refresh_from_db()
        assert code.state == CodeState.CREATING and "offline" in code.last_error.lower()
        assert _codes_on(sandbox, "ttlock", TTLOCK_DOOR) == []
    finally:
        requests.post(f"{sandbox}/_control/ttlock/locks/{TTLOCK_DOOR}/faults/", json={"offline": False}, timeout=5)

    AccessCode.objects.filter(pk=code.pk).update(next_attempt_at=timezone.now())  # the hour has passed
    tasks.scheduler_pass.delay()
    wait_until(lambda: AccessCode.objects.get(pk=code.pk).state == CodeState.ACTIVE, "the retry to succeed")
    assert len(_codes_on(sandbox, "ttlock", TTLOCK_DOOR)) == 1
