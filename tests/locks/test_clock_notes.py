"""A booking's clock notes (locks.clock_notes) on codes the lifecycle really makes on the fake cloud,
and the clock warning of an assignment (locks.services.assignments), for every brand that reports
its lock's clock."""

from datetime import date

import pytest
from freezegun import freeze_time

from bookings.models import BookingStatus
from locks import services
from locks.clock_notes import ClockChangeNote, booking_clock_notes, code_clock_warning, lock_clock_warning
from locks.code_status import code_to_show
from locks.models import AccessCode, CodeState, Lock
from locks.providers import registry
from locks.providers.ttlock import TTLockProvider
from locks.services.assignments import assignment_warnings
from tests.helpers.lifecycle import tick, utc

pytestmark = pytest.mark.django_db

SPRING = (date(2027, 3, 26), date(2027, 3, 30))  # Paris moves from +01:00 to +02:00 at 01:00Z on Sun 28 March 2027


def loaded(booking) -> AccessCode:
    return AccessCode.objects.select_related("lock__account", "booking__property").get(booking=booking, is_current=True)


@pytest.fixture
def coded(assigned_property, book):
    """A booking whose code the fake cloud holds (lead 5: made at once), loaded as the pages load it."""

    def make(stay=SPRING, *, time_zone="Europe/Paris", provider="ttlock", frozen="2027-03-24 10:00:00", **fields):
        prop = assigned_property(time_zone=time_zone, provider=provider)
        with freeze_time(frozen):
            booking = book(prop, *stay, **fields)
            services.booking_created(booking=booking)
            tick()
        code = loaded(booking)
        assert code.state == CodeState.ACTIVE
        return code

    return make


def set_clock(code: AccessCode, *, zone: str = "", offset: int | None = None) -> AccessCode:
    Lock.objects.filter(pk=code.lock_id).update(vendor_time_zone=zone, vendor_utc_offset_minutes=offset)
    return loaded(code.booking)


class TestStayAcrossAClockChange:
    def test_a_code_in_exact_times_says_so_with_its_window_on_the_lock(self, coded, django_assert_num_queries):
        code = coded()  # margin 30: 14:30 on 26 March to 11:30 on 30 March
        with django_assert_num_queries(0):
            notes = booking_clock_notes(code.booking, code)
        assert notes.change == ClockChangeNote(
            at=utc(2027, 3, 28, 1), from_offset="+01:00", to_offset="+02:00",
            message="This stay crosses the clock change on Sun 28 Mar (02:00 → 03:00). The code is set in exact times, "
            "so the door opens at 14:30 and closes at 11:30 local time on both sides of the change.",
        )
        assert notes.lock_warning == ""

    def test_a_ttlock_lock_at_a_fixed_offset_may_be_off_on_one_side(self, coded, monkeypatch):
        code = coded()
        monkeypatch.setitem(registry.PROVIDER_CLASSES, "ttlock", TTLockProvider)  # its capabilities only: no vendor call
        message = booking_clock_notes(code.booking, code).change.message
        assert "a TTLock lock reads them with one fixed UTC offset" in message and "an hour off" in message

    def test_a_booking_without_a_code_speaks_of_its_check_in_and_check_out(self, make_property, book):
        prop = make_property(time_zone="America/New_York", default_check_in_time=None)
        booking = book(prop, date(2027, 11, 5), date(2027, 11, 8), status=BookingStatus.PENDING, check_out_time=None)
        notes = booking_clock_notes(booking, None)
        assert notes.change.at == utc(2027, 11, 7, 6)
        assert (notes.change.from_offset, notes.change.to_offset) == ("-04:00", "-05:00")
        assert notes.change.message == (
            "This stay crosses the clock change on Sun 7 Nov (02:00 → 01:00). "
            "Check-in at 15:00 and check-out at 11:00 are local times on both sides of the change."
        )

    def test_a_stay_inside_one_offset_has_no_note(self, coded):
        code = coded((date(2027, 6, 10), date(2027, 6, 14)), frozen="2027-06-08 10:00:00")
        assert booking_clock_notes(code.booking, code).change is None

    def test_a_zone_without_daylight_saving_has_no_note(self, coded):
        code = coded(time_zone="Asia/Kathmandu")
        assert booking_clock_notes(code.booking, code).change is None

    def test_a_revoked_code_leaves_the_stay_to_speak(self, coded):
        code = coded()
        AccessCode.objects.filter(pk=code.pk).update(state=CodeState.REVOKED, next_attempt_at=None)
        code = loaded(code.booking)
        assert "Check-in at 15:00 and check-out at 11:00" in booking_clock_notes(code.booking, code).change.message


class TestCodeOnALockKeepingAnotherClock:
    def test_a_zone_with_other_offsets_is_a_warning_on_the_code(self, coded):
        code = set_clock(coded(provider="tedee"), zone="America/New_York")
        warning = code_clock_warning(code, "Europe/Paris")
        assert warning.startswith("The lock's time zone is America/New_York, but the property is in Europe/Paris: on 2027-03-26")
        assert warning.endswith("Set the lock's time zone in the Tedee app.")
        assert booking_clock_notes(code.booking, code).lock_warning == warning

    def test_another_name_for_the_same_clock_is_no_warning(self, coded):
        code = set_clock(coded(provider="nuki"), zone="Europe/Berlin")  # what Nuki's zone id 37 reads as
        assert code_clock_warning(code, "Europe/Paris") == ""

    def test_an_offset_is_compared_at_the_start_of_the_code(self, coded, book):
        code = set_clock(coded(), offset=60)  # winter time: right on 26 March, wrong from the 28th
        assert code_clock_warning(code, "Europe/Paris") == ""
        with freeze_time("2027-03-27 10:00:00"):
            later = book(code.booking.property, date(2027, 3, 29), date(2027, 4, 2), guest_name="Later")
            services.booking_created(booking=later)
            tick()
        assert "(it may not follow daylight saving time)" in code_clock_warning(loaded(later), "Europe/Paris")

    def test_a_code_that_no_longer_opens_the_door_has_no_warning(self, coded):
        code = set_clock(coded(provider="tedee"), zone="America/New_York")
        AccessCode.objects.filter(pk=code.pk).update(state=CodeState.EXPIRED, next_attempt_at=None)
        assert code_clock_warning(loaded(code.booking), "Europe/Paris") == ""
        assert code_clock_warning(None, "Europe/Paris") == ""

    def test_the_code_on_show_is_the_one_compared(self, coded):
        code = set_clock(coded(provider="homeit"), zone="Europe/Lisbon")
        shown = code_to_show(code.booking.access_codes.select_related("lock__account"))
        assert "Europe/Lisbon" in booking_clock_notes(code.booking, shown).lock_warning


class TestAssignmentRow:
    @pytest.mark.parametrize("provider, brand", [("tedee", "Tedee"), ("nuki", "Nuki"), ("homeit", "homeit")])
    def test_every_brand_that_reports_a_zone_is_warned_about(self, assigned_property, provider, brand):
        prop = assigned_property(provider=provider)
        Lock.objects.filter(pk=prop.lock_assignment.lock_id).update(vendor_time_zone="Asia/Tokyo")
        prop.lock_assignment.lock.refresh_from_db()
        (warning,) = assignment_warnings(prop.lock_assignment, on=date(2027, 1, 15))
        assert "Asia/Tokyo" in warning and f"{brand} app" in warning

    def test_a_zone_that_differs_later_in_the_year_is_warned_about_now(self, assigned_property):
        prop = assigned_property(time_zone="Europe/London", provider="tedee")
        lock = prop.lock_assignment.lock
        lock.vendor_time_zone = "Africa/Abidjan"  # London's time in winter, an hour behind in summer
        assert "on 2027-03-28 the lock is at UTC+00:00" in lock_clock_warning(lock, "Europe/London", on=date(2027, 1, 15))
        lock.vendor_time_zone = "Europe/Lisbon"
        assert lock_clock_warning(lock, "Europe/London", on=date(2027, 1, 15)) == ""
