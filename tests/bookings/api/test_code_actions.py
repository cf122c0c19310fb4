"""POST /api/v1/bookings/{external_ref}/retry-now/, /end-access/ and /restore-access/: the
booking (200), 409 when refused in the present state, 404 for another host's booking, 401 without
a token; and the code's typed errors and warnings in the booking (`code.errors`, `code.warnings`).
Every answer is checked against the committed OpenAPI document."""

from datetime import timedelta

import pytest
from freezegun import freeze_time

from bookings.models import BookingStatus, ExternalBookingRef
from locks.models import AccessCode, CodeState
from locks.providers.exceptions import LockOffline
from tests.bookings.api.conftest import BEFORE_ARRIVAL
from tests.helpers.lifecycle import current, tick

pytestmark = pytest.mark.django_db


# --- retry now -----------------------------------------------------------------------------------


def test_a_failing_code_shows_its_typed_error_and_is_retried_now(host_api, pushed_booking):
    booking = pushed_booking(LockOffline("The gateway is offline."))
    code = current(booking)
    assert code.state == CodeState.CREATING
    with freeze_time(BEFORE_ARRIVAL):
        shown = host_api.get("/bookings/R1/").json()["code"]
        assert [(error["code"], error["since"]) for error in shown["errors"]] == [("lock_offline", "2026-06-10T08:00:00Z")]
        assert "offline" in shown["errors"][0]["message"]
        response = host_api.post("/bookings/R1/retry-now/")
    assert response.status_code == 200
    assert response.json()["external_ref"] == "R1"
    assert current(booking).manual_retry_at is not None


def test_retry_now_is_refused_during_its_cool_down(host_api, pushed_booking):
    pushed_booking(LockOffline("The gateway is offline."))
    with freeze_time(BEFORE_ARRIVAL):
        assert host_api.post("/bookings/R1/retry-now/").status_code == 200
        again = host_api.post("/bookings/R1/retry-now/")
    assert again.status_code == 409
    assert "moment ago" in again.json()["detail"]


def test_retry_now_of_an_active_code_is_409_and_changes_nothing(host_api, pushed_booking):
    booking = pushed_booking()
    with freeze_time(BEFORE_ARRIVAL):
        response = host_api.post("/bookings/R1/retry-now/")
    assert response.status_code == 409
    assert response.json() == {"detail": "The code is active: there is nothing to retry."}
    assert current(booking).manual_retry_at is None


# --- end and restore access ----------------------------------------------------------------------


def test_access_is_ended_then_restored_with_a_new_code(host_api, pushed_booking):
    booking = pushed_booking()
    first = current(booking)
    with freeze_time(BEFORE_ARRIVAL):
        ended = host_api.post("/bookings/R1/end-access/")
        assert ended.status_code == 200 and ended.json()["access_ended_at"] == "2026-06-10T08:00:00Z"
        assert AccessCode.objects.get(pk=first.pk).state in (CodeState.REVOKING, CodeState.REVOKED)
        assert host_api.post("/bookings/R1/end-access/").status_code == 409  # already ended
        restored = host_api.post("/bookings/R1/restore-access/")
    assert restored.status_code == 200 and restored.json()["access_ended_at"] is None
    assert current(booking).pk != first.pk


def test_restore_access_that_was_not_ended_is_409(host_api, pushed_booking):
    pushed_booking()
    with freeze_time(BEFORE_ARRIVAL):
        response = host_api.post("/bookings/R1/restore-access/")
    assert response.status_code == 409
    assert "not ended" in response.json()["detail"]


def test_ending_access_of_a_cancelled_booking_is_409(host_api, pushed_booking):
    booking = pushed_booking()
    with freeze_time(BEFORE_ARRIVAL):
        host_api.post("/bookings/R1/cancel/")
        response = host_api.post("/bookings/R1/end-access/")
    assert response.status_code == 409
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and booking.access_ended_at is None


@pytest.mark.parametrize("action", ["retry-now", "end-access", "restore-access", "rotate-code"])
def test_another_hosts_booking_is_404_and_no_token_is_401(host_api, other_api, pushed_booking, action):
    booking = pushed_booking()
    with freeze_time(BEFORE_ARRIVAL):
        assert other_api.post(f"/bookings/R1/{action}/").status_code == 404
        assert host_api.post(f"/bookings/R1/{action}/", token=None).status_code == 401
    booking.refresh_from_db()
    assert booking.access_ended_at is None
    assert ExternalBookingRef.objects.count() == 1


def test_errors_clear_once_the_code_reaches_the_lock(host_api, pushed_booking):
    booking = pushed_booking(LockOffline("The gateway is offline."))
    with freeze_time(current(booking).next_attempt_at + timedelta(seconds=1)):
        tick()
        shown = host_api.get("/bookings/R1/").json()["code"]
    assert shown["state"] == "active"
    assert shown["errors"] == []
    assert [warning["code"] for warning in shown["warnings"]] == ["cannot_be_read_back"]
