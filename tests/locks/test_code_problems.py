"""locks.code_problems: a code's typed errors and warnings, derived from states the lifecycle reaches
(driven through the fake cloud), each with a `since` read from the data."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from bookings.models import BookingStatus
from bookings.services import booking_set_status
from locks import code_problems, services
from locks.code_problems import ERROR_CODES, ERROR_KINDS, WARNING_CODES, code_errors, code_warnings
from locks.models import AccessCode, CodeState, FallbackKind, FindingKind, LockFinding
from locks.providers.exceptions import CodeStorageFull, LockOffline, ProviderAuthError, RateLimited
from tests.helpers.lifecycle import current, tick

pytestmark = pytest.mark.django_db

NOW = "2026-03-11 09:00:00"


def loaded(code_id: int) -> AccessCode:
    return AccessCode.objects.select_related("lock__account", "booking__property").prefetch_related("findings").get(pk=code_id)


@pytest.fixture
def made(assigned_property, book, fake_cloud):
    """A booking for 12-14 March whose code the lifecycle tried to make at NOW, after `fault`."""

    def make(fault=None, prop=None):
        prop = prop or assigned_property()
        if fault is not None:
            fake_cloud.fail_next("create_code", fault)
        with freeze_time(NOW):
            booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
            services.booking_created(booking=booking)
            tick()
        return booking, loaded(current(booking).pk)

    return make


def now() -> datetime:
    return timezone.now()


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (LockOffline("The gateway is offline."), "lock_offline"),
        (RateLimited("Slow down.", retry_after=60), "rate_limited"),
        (ProviderAuthError("The token was revoked."), "credentials_revoked"),
        (CodeStorageFull("Memory full."), "no_space_on_lock"),
    ],
)
def test_a_failing_creation_has_its_error_since_its_first_failure(made, fault, expected):
    booking, code = made(fault)
    assert code.state in (CodeState.CREATING, CodeState.FAILED)
    with freeze_time(NOW):
        (error,) = code_errors(code, now=now())
    assert error.code == expected
    assert error.since == code.first_failure_at == datetime.fromisoformat(NOW + "+00:00")
    assert error.message and "PIN" not in error.message or expected == "pin_rejected"


def test_an_active_code_has_no_error_and_says_it_cannot_be_read_back(made):
    booking, code = made()
    assert code.state == CodeState.ACTIVE
    with freeze_time(NOW):
        assert code_errors(code, now=now()) == []
        warnings = code_warnings(code, booking=booking, now=now())
    assert [warning.code for warning in warnings] == ["cannot_be_read_back"]
    assert warnings[0].since == code.activated_at


def test_the_error_goes_once_the_retry_succeeds(made):
    booking, code = made(LockOffline("The gateway is offline."))
    with freeze_time(code.next_attempt_at + timedelta(seconds=1)):
        tick()
        code = loaded(code.pk)
        assert code.state == CodeState.ACTIVE
        assert code_errors(code, now=now()) == []


def test_a_finding_is_an_error_until_the_code_is_confirmed_again(made):
    booking, code = made()
    with freeze_time("2026-03-11 10:00:00"):
        LockFinding.objects.create(lock=code.lock, access_code=code, kind=FindingKind.MISSING_ON_LOCK, detail="Missing; put back.")
    code = loaded(code.pk)
    (error,) = code_errors(code, now=code.created_at)
    assert (error.code, error.since) == ("missing_on_lock", datetime.fromisoformat("2026-03-11 10:00:00+00:00"))
    code.confirmed_on_lock_at = datetime.fromisoformat("2026-03-11 11:00:00+00:00")
    assert code_errors(code, now=code.created_at) == []


def test_a_code_the_vendor_cannot_revoke_is_unrevocable_since_it_was_retired(assigned_property, book, fake_cloud):
    prop = assigned_property(provider="igloohome")  # algoPINs: never revoked remotely
    with freeze_time(NOW):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        tick()
    with freeze_time("2026-03-11 12:00:00"):
        booking_set_status(booking=booking, status=BookingStatus.CANCELLED)
        tick()
    code = loaded(AccessCode.objects.get(booking=booking).pk)
    assert code.state == CodeState.SUPERSEDED
    (error,) = code_errors(code, now=datetime.fromisoformat(NOW + "+00:00"))
    assert error.code == "unrevocable"
    assert error.since == code.retired_at == datetime.fromisoformat("2026-03-11 12:00:00+00:00")
    assert "cannot be revoked remotely" in error.message
    assert code_errors(code, now=code.ends_at) == []  # over: no longer an error


def test_retrying_past_the_alert_moment_is_a_warning(made):
    booking, code = made(LockOffline("The gateway is offline."))
    with freeze_time(code.alert_at + timedelta(minutes=1)):
        (warning,) = [w for w in code_warnings(code, booking=booking, now=now()) if w.code == "retrying_past_alert"]
    assert warning.since == code.alert_at
    with freeze_time(NOW):
        assert "retrying_past_alert" not in [w.code for w in code_warnings(code, booking=booking, now=now())]


def test_a_fallback_code_and_a_clock_change_are_warnings(assigned_property, book, fake_cloud):
    prop = assigned_property()
    with freeze_time("2026-03-27 09:00:00"):  # Paris moves to summer time on 29 March 2026
        booking = book(prop, date(2026, 3, 28), date(2026, 3, 30))
        services.booking_created(booking=booking)
        tick()
    AccessCode.objects.filter(booking=booking).update(fallback=FallbackKind.BACKUP)
    code = loaded(current(booking).pk)
    codes = {warning.code: warning for warning in code_warnings(code, booking=booking, now=code.created_at)}
    assert {"crosses_clock_change", "fallback_code"} <= set(codes)
    assert codes["crosses_clock_change"].since == code.created_at
    assert "29 March" in codes["crosses_clock_change"].message or "clock" in codes["crosses_clock_change"].message.lower()


def test_a_lock_keeping_another_zones_time_is_a_warning(made, assigned_property):
    prop = assigned_property()
    prop.lock_assignment.lock.__class__.objects.filter(pk=prop.lock_assignment.lock_id).update(
        vendor_time_zone="America/New_York", last_refreshed_at=datetime.fromisoformat("2026-03-10 08:00:00+00:00")
    )
    booking, code = made(prop=prop)
    (warning,) = [w for w in code_warnings(code, booking=booking, now=code.created_at) if w.code == "lock_time_zone_mismatch"]
    assert warning.since == code.lock.last_refreshed_at


def test_the_vocabulary_is_closed():
    assert set(code for code, _ in ERROR_KINDS.values()) <= set(ERROR_CODES)
    assert {"missing_on_lock", "modified_externally", "unrevocable", "pin_rejected"} <= set(ERROR_CODES)
    assert {"crosses_clock_change", "not_confirmed_on_lock", "cannot_be_read_back"} <= set(WARNING_CODES)
    assert code_problems.__doc__.count("| `") == len(ERROR_CODES) + len(WARNING_CODES)
