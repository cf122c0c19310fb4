"""A booking's code in plain words for the host dashboard (locks.code_status), on codes the
lifecycle really produces on the fake cloud, in the property's time zone."""

from datetime import date, timedelta, timezone as dt_timezone

import pytest
from freezegun import freeze_time

from bookings.models import BookingStatus, PmsSource
from locks import services
from locks.code_status import CodeStatus, code_to_show, describe_code
from locks.models import AccessCode, CodeState
from locks.providers.exceptions import (
    CodeStorageFull,
    LockOffline,
    ProviderAuthError,
    RateLimited,
    VendorUnavailable,
)
from tests.lifecycle_helpers import tick, utc

UTC = dt_timezone.utc
pytestmark = pytest.mark.django_db


def loaded(code_or_booking) -> AccessCode:
    """A code as the dashboard loads it: with its lock's account and its booking's property."""
    codes = AccessCode.objects.select_related("lock__account", "booking__property")
    if isinstance(code_or_booking, AccessCode):
        return codes.get(pk=code_or_booking.pk)
    return codes.get(booking=code_or_booking, is_current=True)


@pytest.fixture
def describe(django_assert_num_queries):
    """describe_code on a loaded code, proving it runs no query."""

    def run(code, *, now, has_lock=True, booking=None) -> CodeStatus:
        booking = booking or code.booking
        with django_assert_num_queries(0):
            return describe_code(code, booking=booking, has_lock=has_lock, now=now)

    return run


@pytest.fixture
def active_code(assigned_property, book):
    """An active code: Paris, stay 2-5 June 2026, window 14:30 2 Jun -> 11:30 5 Jun (12:30Z -> 09:30Z)."""

    def make(time_zone="Europe/Paris", provider="ttlock", vendor_lock_id="L1", arrival=date(2026, 6, 2), departure=date(2026, 6, 5)):
        prop = assigned_property(time_zone=time_zone, provider=provider, vendor_lock_id=vendor_lock_id)
        booking = book(prop, arrival, departure)
        services.booking_created(booking=booking)
        tick()
        code = loaded(booking)
        assert code.state == CodeState.ACTIVE
        return code

    return make


class TestScheduled:
    def test_shows_the_local_generation_day(self, assigned_property, book, describe):
        prop = assigned_property()  # Paris, lead 5
        with freeze_time("2026-03-20 10:00:00"):
            code = loaded(services.booking_created(booking=book(prop, date(2026, 3, 29), date(2026, 4, 1))))
        assert code.generate_at == utc(2026, 3, 23, 23, 0)  # 23 March in UTC, 24 March in Paris
        assert describe(code, now=utc(2026, 3, 20, 10)) == CodeStatus("scheduled", "will be created on 24 March", False)

    def test_kathmandu_generation_day_is_the_local_one(self, assigned_property, book, describe):
        prop = assigned_property(time_zone="Asia/Kathmandu")
        with freeze_time("2026-06-01 00:00:00"):
            code = loaded(services.booking_created(booking=book(prop, date(2026, 6, 11), date(2026, 6, 13))))
        assert code.generate_at == utc(2026, 6, 5, 18, 15)  # 00:00 on 6 June at UTC+05:45
        assert describe(code, now=utc(2026, 6, 1)).text == "will be created on 6 June"

    def test_a_day_in_another_year_shows_the_year(self, assigned_property, book, describe):
        prop = assigned_property()
        with freeze_time("2026-12-20 10:00:00"):
            code = loaded(services.booking_created(booking=book(prop, date(2027, 1, 20), date(2027, 1, 22))))
        assert describe(code, now=utc(2026, 12, 20, 10)).text == "will be created on 15 January 2027"
        assert describe(code, now=utc(2027, 1, 2)).text == "will be created on 15 January"

    def test_the_year_is_compared_in_property_time(self, assigned_property, book, describe):
        prop = assigned_property(time_zone="America/New_York")
        with freeze_time("2027-01-01 03:00:00"):  # already 2027 in UTC, still 22:00 on 31 Dec 2026 in New York
            code = loaded(services.booking_created(booking=book(prop, date(2027, 1, 10), date(2027, 1, 12))))
        assert code.generate_at == utc(2027, 1, 5, 5, 0)  # 00:00 EST on 5 January
        assert describe(code, now=utc(2027, 1, 1, 3)).text == "will be created on 5 January 2027"
        assert describe(code, now=utc(2027, 1, 1, 6)).text == "will be created on 5 January"  # 01:00 on 1 Jan NY


class TestActive:
    def test_pin_and_the_window_in_paris_time(self, active_code, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code()
        assert len(code.pin) == 6
        status = describe(code, now=utc(2026, 6, 1))
        assert status == CodeStatus("active", f"active: {code.pin}, 14:30 2 Jun → 11:30 5 Jun", False)

    @pytest.mark.parametrize(
        "time_zone, starts_at",
        [("Asia/Kathmandu", utc(2026, 6, 11, 8, 45)), ("America/New_York", utc(2026, 6, 11, 18, 30))],
    )
    def test_window_in_the_property_time_zone(self, active_code, describe, time_zone, starts_at):
        with freeze_time("2026-06-10 00:00:00"):
            code = active_code(time_zone=time_zone, arrival=date(2026, 6, 11), departure=date(2026, 6, 13))
        assert code.lock_starts_at == starts_at  # what UTC would show is not what the host reads
        assert describe(code, now=utc(2026, 6, 10)).text == f"active: {code.pin}, 14:30 11 Jun → 11:30 13 Jun"

    def test_shows_the_window_the_lock_holds(self, active_code, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code()
        # The vendor rounded the window to whole hours.
        AccessCode.objects.filter(pk=code.pk).update(lock_starts_at=utc(2026, 6, 2, 12, 0), lock_ends_at=utc(2026, 6, 5, 10, 0))
        code = loaded(code)
        assert describe(code, now=utc(2026, 6, 1)).text == f"active: {code.pin}, 14:00 2 Jun → 12:00 5 Jun"

    def test_falls_back_to_the_wanted_window(self, active_code, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code()
        AccessCode.objects.filter(pk=code.pk).update(lock_starts_at=None, lock_ends_at=None)
        code = loaded(code)
        assert describe(code, now=utc(2026, 6, 1)).text == f"active: {code.pin}, 14:30 2 Jun → 11:30 5 Jun"

    def test_usage_note_and_warning_follow_the_window(self, active_code, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code()
        window = f"active: {code.pin}, 14:30 2 Jun → 11:30 5 Jun"
        code.usage_note = "Press the lock button after the PIN."
        assert describe(code, now=utc(2026, 6, 1)).text == f"{window} — Press the lock button after the PIN."
        code.usage_note, code.warning = "", "It may also open the garage."
        assert describe(code, now=utc(2026, 6, 1)).text == f"{window} — It may also open the garage."

    def test_a_lost_create_on_a_vendor_that_cannot_list_is_shown_to_the_host(self, assigned_property, book, fake_cloud, describe):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        fake_cloud.lose_response_next("create_code")
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            frozen.move_to("2026-06-01 01:00:00")
            tick()
        code = loaded(booking)
        status = describe(code, now=utc(2026, 6, 1, 1))
        assert status.kind == "active" and status.text.startswith(f"active: {code.pin}, 14:30 2 Jun → 11:30 5 Jun — An earlier request")
        assert "may have created a code that cannot be listed" in status.text

    def test_the_pin_shown_is_the_stored_one_and_no_vendor_is_called(self, active_code, fake_cloud, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code()
        calls_before = sum(fake_cloud.calls.values())
        code.pin = "135790"  # whatever the lock says, the dashboard shows what we stored
        assert describe(code, now=utc(2026, 6, 1)).text.startswith("active: 135790, ")
        assert sum(fake_cloud.calls.values()) == calls_before


class TestCreating:
    def test_retrying_gives_the_reason_and_the_next_try_in_local_time(self, assigned_property, book, fake_cloud, describe):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", LockOffline("The lock's gateway is offline."))
        with freeze_time("2026-06-01 08:00:00"):  # 10:00 in Paris
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = loaded(booking)
        assert code.state == CodeState.CREATING and code.next_attempt_at == utc(2026, 6, 1, 9, 0)
        status = describe(code, now=utc(2026, 6, 1, 8))
        assert status == CodeStatus("retrying", "retrying: lock or gateway offline, next try 11:00", True)

    @pytest.mark.parametrize(
        "error, reason",
        [
            (RateLimited("Too many requests."), "vendor busy"),
            (VendorUnavailable("TTLock answered 502."), "vendor unreachable"),
            (ProviderAuthError("TTLock refused the saved login."), "account needs reconnecting"),
            ("lose-response", "no answer from the vendor"),
        ],
    )
    def test_each_transient_kind_has_a_short_reason(self, assigned_property, book, fake_cloud, describe, error, reason):
        prop = assigned_property()
        if error == "lose-response":
            fake_cloud.lose_response_next("create_code")
        else:
            fake_cloud.fail_next("create_code", error)
        with freeze_time("2026-06-01 08:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = loaded(booking)
        assert code.state == CodeState.CREATING
        assert describe(code, now=utc(2026, 6, 1, 8)).text == f"retrying: {reason}, next try 11:00"

    def test_an_unknown_kind_falls_back_to_the_stored_message(self, assigned_property, book, describe):
        prop = assigned_property()
        with freeze_time("2026-06-01 08:00:00"):
            code = services.booking_created(booking=book(prop, date(2026, 6, 20), date(2026, 6, 22)))
        AccessCode.objects.filter(pk=code.pk).update(
            state=CodeState.CREATING, attempts=2, last_error="The hub is updating its firmware.",
            last_error_kind="something_new", next_attempt_at=utc(2026, 6, 1, 9),
        )
        status = describe(loaded(code), now=utc(2026, 6, 1, 8))
        assert status.text == "retrying: The hub is updating its firmware., next try 11:00" and status.can_retry

    def test_next_try_on_another_local_day_names_the_day_kathmandu(self, assigned_property, book, describe):
        prop = assigned_property(time_zone="Asia/Kathmandu")
        with freeze_time("2026-06-01 00:00:00"):
            code = services.booking_created(booking=book(prop, date(2026, 6, 11), date(2026, 6, 13)))
        # Both moments fall on 5 June in UTC; in Kathmandu now is 23:45 on 5 June, the try 00:45 on 6 June.
        AccessCode.objects.filter(pk=code.pk).update(
            state=CodeState.CREATING, attempts=1, last_error="Gateway offline.", last_error_kind="lock_offline",
            next_attempt_at=utc(2026, 6, 5, 19, 0),
        )
        status = describe(loaded(code), now=utc(2026, 6, 5, 18, 0))
        assert status.text == "retrying: lock or gateway offline, next try 00:45 on 6 Jun"

    def test_next_try_on_the_same_local_day_has_no_day_new_york(self, assigned_property, book, describe):
        prop = assigned_property(time_zone="America/New_York")
        with freeze_time("2026-06-01 00:00:00"):
            code = services.booking_created(booking=book(prop, date(2026, 6, 11), date(2026, 6, 13)))
        # 5 June and 6 June in UTC, but 18:00 and 21:00 on 5 June in New York.
        AccessCode.objects.filter(pk=code.pk).update(
            state=CodeState.CREATING, attempts=1, last_error="Busy.", last_error_kind="rate_limited",
            next_attempt_at=utc(2026, 6, 6, 1, 0),
        )
        code = loaded(code)
        assert describe(code, now=utc(2026, 6, 5, 22, 0)).text == "retrying: vendor busy, next try 21:00"
        # And a try on the next New York day does name it.
        assert describe(code, now=utc(2026, 6, 5, 3, 0)).text == "retrying: vendor busy, next try 21:00 on 5 Jun"

    def test_a_try_already_due_reads_now(self, assigned_property, book, describe):
        prop = assigned_property()
        with freeze_time("2026-06-01 00:00:00"):
            code = services.booking_created(booking=book(prop, date(2026, 6, 20), date(2026, 6, 22)))
        AccessCode.objects.filter(pk=code.pk).update(
            state=CodeState.CREATING, attempts=1, last_error="Offline.", last_error_kind="lock_offline",
            next_attempt_at=utc(2026, 6, 1, 9, 0),
        )
        assert describe(loaded(code), now=utc(2026, 6, 1, 9, 5)).text == "retrying: lock or gateway offline, next try now"

    def test_a_replacement_not_tried_yet_is_being_created(self, assigned_property, book, fake_cloud, describe):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            booking.departure_date = date(2026, 6, 6)
            booking.save()
            services.booking_changed(booking=booking)
            tick()  # igloohome cannot update: the old code is superseded and a replacement queued
        code = loaded(booking)
        assert code.state == CodeState.CREATING and code.attempts == 0
        assert describe(code, now=utc(2026, 6, 1)) == CodeStatus("creating", "being created now", False)


class TestUpdating:
    def test_moving_and_then_retrying(self, active_code, book, fake_cloud, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code()
            booking = code.booking
            booking.departure_date = date(2026, 6, 7)
            booking.save()
            services.booking_changed(booking=booking)
            moving = loaded(booking)
            window = f"active: {code.pin}, 14:30 2 Jun → 11:30 5 Jun"  # still what the lock holds
            assert describe(moving, now=utc(2026, 6, 1)) == CodeStatus("updating", f"{window} — moving to the new times", False)

            fake_cloud.fail_next("update_code", LockOffline("Gateway offline."))
            tick()
        failing = loaded(booking)
        assert failing.state == CodeState.UPDATING and failing.last_error
        status = describe(failing, now=utc(2026, 6, 1))
        assert status == CodeStatus(
            "updating", f"{window} — moving to the new times (retrying: lock or gateway offline, next try 03:00)", True
        )


class TestRevokingAndExpiring:
    def test_being_revoked_then_retrying(self, active_code, fake_cloud, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code()
            booking = code.booking
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            revoking = loaded(code)
            assert describe(revoking, now=utc(2026, 6, 1)) == CodeStatus("revoking", "being revoked", False)
            fake_cloud.fail_next("delete_code", LockOffline("Gateway offline."))
            tick()
        failing = loaded(code)
        assert failing.state == CodeState.REVOKING
        assert describe(failing, now=utc(2026, 6, 1)) == CodeStatus(
            "revoking", "being revoked (retrying: lock or gateway offline, next try 03:00)", True
        )

    def test_being_removed_after_the_stay_then_retrying(self, active_code, fake_cloud, describe):
        with freeze_time("2026-06-01 00:00:00") as frozen:
            code = active_code()
            fake_cloud.fail_next("delete_code", RateLimited("Too many requests."))
            frozen.move_to("2026-06-05 09:30:00")
            tick()
        failing = loaded(code)
        assert failing.state == CodeState.EXPIRING
        assert describe(failing, now=utc(2026, 6, 5, 9, 30)) == CodeStatus(
            "revoking", "being removed from the lock (retrying: vendor busy, next try 12:30)", True
        )
        AccessCode.objects.filter(pk=code.pk).update(last_error="", last_error_kind="")
        assert describe(loaded(code), now=utc(2026, 6, 5, 9, 30)) == CodeStatus("revoking", "being removed from the lock", False)


class TestFailed:
    @pytest.fixture
    def failed(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", CodeStorageFull("The lock's code memory is full."))
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = loaded(booking)
        assert code.state == CodeState.FAILED
        return code

    def test_failed_shows_the_stored_reason_and_offers_a_retry(self, failed, describe):
        assert describe(failed, now=utc(2026, 6, 1, 1)) == CodeStatus("failed", "failed: The lock's code memory is full.", True)

    def test_no_retry_once_the_window_is_over(self, failed, describe):
        assert not describe(failed, now=utc(2026, 6, 5, 9, 30)).can_retry
        assert describe(failed, now=utc(2026, 6, 5, 9, 29)).can_retry

    @pytest.mark.parametrize("status", [BookingStatus.CANCELLED, BookingStatus.PENDING])
    def test_no_retry_for_a_booking_no_longer_confirmed(self, failed, describe, status):
        failed.booking.status = status
        result = describe(failed, now=utc(2026, 6, 1, 1))
        assert result.kind == "failed" and not result.can_retry

    def test_no_retry_for_a_code_no_longer_current(self, failed, describe):
        failed.is_current = False
        assert not describe(failed, now=utc(2026, 6, 1, 1)).can_retry

    def test_no_retry_without_a_lock(self, failed, describe):
        assert not describe(failed, now=utc(2026, 6, 1, 1), has_lock=False).can_retry


class TestFinishedCodes:
    def test_revoked(self, assigned_property, book, describe):
        prop = assigned_property()
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 20), date(2026, 6, 22))
            code = services.booking_created(booking=booking)
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
        code = loaded(code)
        assert code.state == CodeState.REVOKED
        assert describe(code, now=utc(2026, 6, 1)) == CodeStatus("revoked", "revoked", False)

    def test_expired(self, active_code, describe):
        with freeze_time("2026-06-01 00:00:00") as frozen:
            code = active_code()
            frozen.move_to("2026-06-05 09:30:00")
            tick()
        code = loaded(code)
        assert code.state == CodeState.EXPIRED
        assert describe(code, now=utc(2026, 6, 5, 10)) == CodeStatus("expired", "expired", False)


class TestUnrevocable:
    def test_cancelled_igloohome_code_says_until_when_it_works(self, active_code, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code(provider="igloohome", vendor_lock_id="IG1")
            booking = code.booking
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
        code = loaded(code)
        assert code.state == CodeState.SUPERSEDED
        assert describe(code, now=utc(2026, 6, 1)) == CodeStatus(
            "unrevocable", "cannot be revoked remotely (igloohome): valid until 11:30 5 Jun", False
        )

    def test_uses_the_lock_window_in_new_york_time(self, active_code, describe):
        with freeze_time("2026-06-10 00:00:00"):
            code = active_code(time_zone="America/New_York", provider="igloohome", vendor_lock_id="IG1",
                               arrival=date(2026, 6, 11), departure=date(2026, 6, 13))
        AccessCode.objects.filter(pk=code.pk).update(
            state=CodeState.SUPERSEDED, is_current=False, lock_ends_at=utc(2026, 6, 13, 16, 0)
        )
        assert describe(loaded(code), now=utc(2026, 6, 10)).text == "cannot be revoked remotely (igloohome): valid until 12:00 13 Jun"
        AccessCode.objects.filter(pk=code.pk).update(lock_ends_at=None)
        assert describe(loaded(code), now=utc(2026, 6, 10)).text == "cannot be revoked remotely (igloohome): valid until 11:30 13 Jun"


class TestNoCode:
    @pytest.fixture
    def prop(self, assigned_property):
        return assigned_property()

    def test_pending(self, prop, book, describe):
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5), status=BookingStatus.PENDING)
        assert describe(None, booking=booking, now=utc(2026, 6, 1)) == CodeStatus("no_code", "no code: the booking is not confirmed", False)

    def test_cancelled(self, prop, book, describe):
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5), status=BookingStatus.CANCELLED)
        assert describe(None, booking=booking, now=utc(2026, 6, 1)).text == "no code: the booking is cancelled"

    @pytest.mark.parametrize("change", [{"ai_assistant_active": False}, {"pms_source": PmsSource.OTHER_PMS}])
    def test_property_not_eligible(self, prop, book, describe, change):
        for field, value in change.items():
            setattr(prop, field, value)
        prop.save()
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        status = describe(None, booking=booking, now=utc(2026, 6, 1))
        assert status == CodeStatus(
            "no_code",
            "no code: this property cannot have a smart lock (needs the Nowistay PMS and an active AI Assistant subscription)",
            False,
        )

    def test_no_lock(self, make_property, book, describe):
        booking = book(make_property(), date(2026, 6, 2), date(2026, 6, 5))
        assert describe(None, booking=booking, has_lock=False, now=utc(2026, 6, 1)).text == "no code: no lock is assigned to this property"

    def test_not_yet(self, prop, book, describe):
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        assert describe(None, booking=booking, now=utc(2026, 6, 1)).text == "no code yet"

    def test_the_booking_status_comes_first(self, make_property, book, describe):
        prop = make_property(ai_assistant_active=False)
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5), status=BookingStatus.PENDING)
        assert describe(None, booking=booking, has_lock=False, now=utc(2026, 6, 1)).text == "no code: the booking is not confirmed"


class TestCodeToShow:
    def _code(self, state, *, current=False):
        now = utc(2026, 6, 1)
        return AccessCode(
            state=state, is_current=current, starts_at=now, ends_at=now + timedelta(days=1),
            generate_at=now, retry_deadline=now, alert_at=now,
        )

    def test_nothing(self):
        assert code_to_show([]) is None
        assert code_to_show(iter([])) is None

    def test_the_current_code_wins_wherever_it_is(self):
        revoked, current, superseded = self._code(CodeState.REVOKED), self._code(CodeState.ACTIVE, current=True), self._code(CodeState.SUPERSEDED)
        assert code_to_show([revoked, superseded, current]) is current
        assert code_to_show(iter([superseded, current])) is current  # any iterable

    def test_else_the_newest_superseded_one_still_working(self):
        newer_revoked, superseded, older_superseded = (
            self._code(CodeState.REVOKED), self._code(CodeState.SUPERSEDED), self._code(CodeState.SUPERSEDED),
        )
        assert code_to_show([newer_revoked, superseded, older_superseded]) is superseded

    def test_else_the_newest(self):
        revoked, expired = self._code(CodeState.REVOKED), self._code(CodeState.EXPIRED)
        assert code_to_show([revoked, expired]) is revoked

    def test_on_a_real_booking_after_an_igloohome_change(self, assigned_property, book, fake_cloud, describe):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            booking.departure_date = date(2026, 6, 6)
            booking.save()
            services.booking_changed(booking=booking)
            tick()
            tick()
            old = AccessCode.objects.get(booking=booking, is_current=False)
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)  # the new one cannot be revoked either
        codes = list(AccessCode.objects.filter(booking=booking).select_related("lock__account", "booking__property"))
        assert [c.pk for c in codes] == sorted((c.pk for c in codes), reverse=True)  # newest first
        assert [c.state for c in codes] == [CodeState.SUPERSEDED, CodeState.SUPERSEDED]
        shown = code_to_show(codes)
        assert shown.pk != old.pk and shown.pk == codes[0].pk
        assert describe(shown, now=utc(2026, 6, 1)).text == "cannot be revoked remotely (igloohome): valid until 11:30 6 Jun"
