"""The preview of what a booking change does to its door code (locks.services.preview), on codes
the lifecycle really produces on the fake cloud, in the property's time zone; and the promise that
the preview is only a reading: no write, no vendor call."""

from datetime import UTC, date, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from bookings import services as booking_services
from bookings.models import Booking, BookingStatus, PmsSource
from locks import services
from locks.models import AccessCode, AccountStatus, CodeState, LockAssignment
from locks.providers.exceptions import LockOffline
from locks.services.preview import NOTHING_CHANGES, code_outlook, end_access_outlook
from tests.helpers.lifecycle import current_or_none, tick, utc

UTC = UTC
pytestmark = pytest.mark.django_db


def proposed(booking: Booking, **changes) -> Booking:
    """The booking as the edit form would propose it: a fresh, unsaved copy with the changes."""
    copy = Booking.objects.select_related("property").get(pk=booking.pk)
    for name, value in changes.items():
        setattr(copy, name, value)
    return copy


def new_booking(prop, arrival=date(2026, 3, 12), departure=date(2026, 3, 15), status=BookingStatus.CONFIRMED, **fields) -> Booking:
    return Booking(property=prop, guest_name="Ada Guest", arrival_date=arrival, departure_date=departure, status=status, **fields)


@pytest.fixture
def active(assigned_property, book):
    """A confirmed booking 10-14 March 2026 whose code is active on the lock (now 9 March 12:00Z)."""

    def make(provider="ttlock", vendor_lock_id="L1", time_zone="Europe/Paris", **booking_fields):
        prop = assigned_property(provider=provider, vendor_lock_id=vendor_lock_id, time_zone=time_zone)
        with freeze_time("2026-03-09 12:00:00"):
            booking = book(prop, date(2026, 3, 10), date(2026, 3, 14), **booking_fields)
            services.booking_created(booking=booking)
            tick()
        code = current_or_none(booking)
        assert code.state == CodeState.ACTIVE
        return booking

    return make


NOW = utc(2026, 3, 9, 12, 0)


class TestNewBookings:
    def test_a_code_will_be_created_on_the_generation_date(self, assigned_property):
        prop = assigned_property()  # Paris, lead 5 days
        outlook = code_outlook(None, new_booking(prop), now=utc(2026, 3, 1, 9, 0))
        assert outlook == "a code will be created on 7 March"

    def test_the_generation_date_is_read_in_the_property_time_zone(self, assigned_property):
        # 00:00 on 7 March in Auckland (UTC+13) is 11:00 on 6 March in UTC.
        prop = assigned_property(time_zone="Pacific/Auckland")
        outlook = code_outlook(None, new_booking(prop), now=utc(2026, 3, 1, 9, 0))
        assert outlook == "a code will be created on 7 March"

    def test_a_generation_date_in_another_year_names_the_year(self, assigned_property):
        prop = assigned_property()
        outlook = code_outlook(None, new_booking(prop, date(2027, 1, 3), date(2027, 1, 5)), now=utc(2026, 12, 1, 9, 0))
        assert outlook == "a code will be created on 29 December"
        outlook = code_outlook(None, new_booking(prop, date(2027, 1, 10), date(2027, 1, 12)), now=utc(2026, 12, 1, 9, 0))
        assert outlook == "a code will be created on 5 January 2027"

    def test_a_booking_inside_the_lead_time_gets_its_code_now(self, assigned_property):
        prop = assigned_property()
        assert code_outlook(None, new_booking(prop), now=utc(2026, 3, 10, 9, 0)) == "the code will be created now"

    def test_no_lock_assigned(self, make_property):
        prop = make_property(name="Canal House")
        assert code_outlook(None, new_booking(prop), now=NOW) == "no code: no lock is assigned to Canal House"

    def test_pending_and_cancelled(self, assigned_property):
        prop = assigned_property()
        assert code_outlook(None, new_booking(prop, status=BookingStatus.PENDING), now=NOW) == "no code: the booking is not confirmed"
        assert code_outlook(None, new_booking(prop, status=BookingStatus.CANCELLED), now=NOW) == "no code: the booking is cancelled"

    def test_property_not_eligible(self, assigned_property):
        prop = assigned_property()
        prop.pms_source = PmsSource.OTHER_PMS
        prop.save()
        outlook = code_outlook(None, new_booking(prop), now=NOW)
        assert outlook.startswith("no code: Flat L1 cannot have a smart lock")

    def test_disconnected_account(self, assigned_property):
        prop = assigned_property()
        account = prop.lock_assignment.lock.account
        account.status = AccountStatus.DISCONNECTED
        account.save()
        assert code_outlook(None, new_booking(prop), now=NOW) == "no code: the TTLock account of Flat L1's lock is disconnected"

    def test_a_stay_already_over(self, assigned_property):
        prop = assigned_property()
        outlook = code_outlook(None, new_booking(prop, date(2026, 3, 1), date(2026, 3, 3)), now=NOW)
        assert outlook == "no code: the stay is over"


class TestChanges:
    def test_new_dates_move_the_window(self, active):
        booking = active()
        outlook = code_outlook(booking, proposed(booking, arrival_date=date(2026, 3, 12), departure_date=date(2026, 3, 15)), now=NOW)
        assert outlook == "the code's window moves to 14:30 12 Mar → 11:30 15 Mar"

    def test_negotiated_times_move_the_window_in_the_property_time_zone(self, active):
        booking = active(time_zone="America/New_York")
        after = proposed(booking, check_in_time=time(12, 0), check_out_time=time(14, 0))
        assert code_outlook(booking, after, now=NOW) == "the code's window moves to 11:30 10 Mar → 14:30 14 Mar"

    def test_the_window_the_preview_announces_is_the_one_the_lifecycle_sets(self, active, fake_cloud):
        booking = active()
        changes = {"arrival_date": date(2026, 3, 12), "departure_date": date(2026, 3, 15), "check_out_time": time(13, 0)}
        outlook = code_outlook(booking, proposed(booking, **changes), now=NOW)
        with freeze_time(NOW):
            booking_services.booking_update(booking=booking, data=changes)
            tick()
        code = current_or_none(booking)
        assert outlook == "the code's window moves to 14:30 12 Mar → 13:30 15 Mar"
        # 14:30 and 13:30 Paris time (UTC+1 in March) on the lock.
        assert (code.starts_at, code.ends_at) == (utc(2026, 3, 12, 13, 30), utc(2026, 3, 15, 12, 30))
        (issued,) = fake_cloud.codes_on("L1")
        assert (issued.starts_at, issued.ends_at) == (code.starts_at, code.ends_at)

    def test_a_scheduled_code_says_when_it_will_now_be_created(self, assigned_property, book):
        prop = assigned_property()
        with freeze_time("2026-03-01 09:00:00"):
            booking = book(prop, date(2026, 3, 20), date(2026, 3, 22))
            services.booking_created(booking=booking)
        assert current_or_none(booking).state == CodeState.SCHEDULED
        after = proposed(booking, arrival_date=date(2026, 3, 12), departure_date=date(2026, 3, 15))
        outlook = code_outlook(booking, after, now=utc(2026, 3, 1, 9, 0))
        assert outlook == "the code's window moves to 14:30 12 Mar → 11:30 15 Mar; it will be created on 7 March"

    def test_nothing_changes_when_the_code_does_not_depend_on_the_change(self, active):
        booking = active()
        assert (
            code_outlook(booking, proposed(booking, guest_name="Someone Else", guest_phone="+44 20 7946 0000"), now=NOW) == NOTHING_CHANGES
        )

    def test_cancelling_or_pending_revokes_the_code(self, active):
        booking = active()
        assert code_outlook(booking, proposed(booking, status=BookingStatus.CANCELLED), now=NOW) == "the code will be revoked"
        assert code_outlook(booking, proposed(booking, status=BookingStatus.PENDING), now=NOW) == "the code will be revoked"

    def test_confirming_a_pending_booking_creates_its_code(self, assigned_property, book):
        prop = assigned_property()
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 15), status=BookingStatus.PENDING)
        after = proposed(booking, status=BookingStatus.CONFIRMED)
        assert code_outlook(booking, after, now=utc(2026, 3, 1, 9, 0)) == "a code will be created on 7 March"
        assert code_outlook(booking, after, now=utc(2026, 3, 11, 9, 0)) == "the code will be created now"

    def test_igloohome_codes_cannot_be_revoked(self, active):
        booking = active(provider="igloohome")
        outlook = code_outlook(booking, proposed(booking, status=BookingStatus.CANCELLED), now=NOW)
        assert outlook == "this igloohome code cannot be revoked and works until 11:30 14 Mar"

    def test_igloohome_window_change_issues_a_new_code(self, active):
        booking = active(provider="igloohome")
        outlook = code_outlook(booking, proposed(booking, departure_date=date(2026, 3, 15)), now=NOW)
        assert outlook == (
            "the code's window moves to 14:30 10 Mar → 11:30 15 Mar: igloohome cannot change a code, "
            "so a new code will be issued and the current one works until 11:30 14 Mar"
        )

    def test_a_property_change_moves_the_code_keeping_the_pin(self, active, assigned_property):
        booking = active()
        other = assigned_property(vendor_lock_id="L2")
        outlook = code_outlook(booking, proposed(booking, property=other), now=NOW)
        assert outlook == "the code moves to Door L2 at Flat L2, keeping the guest's PIN; it will be created there now"

    def test_a_move_to_a_lock_that_makes_its_own_pins_gives_a_new_pin(self, active, assigned_property):
        booking = active()
        other = assigned_property(vendor_lock_id="G1", provider="igloohome")
        outlook = code_outlook(booking, proposed(booking, property=other), now=NOW)
        assert outlook == "the code moves to Door G1 at Flat G1, with a new PIN; it will be created there now"

    def test_a_move_away_from_igloohome_leaves_the_old_code_working(self, active, assigned_property, fake_cloud):
        booking = active(provider="igloohome", vendor_lock_id="G1")
        other = assigned_property(vendor_lock_id="L2")
        AccessCode.objects.filter(pk=current_or_none(booking).pk).update(pin="482913")  # a PIN TTLock accepts
        old_pin = current_or_none(booking).pin
        outlook = code_outlook(booking, proposed(booking, property=other), now=NOW)
        # The vendor's algoPIN is on record, and the new lock takes chosen PINs: it is kept.
        assert outlook == (
            "the code moves to Door L2 at Flat L2, keeping the guest's PIN; the old igloohome code cannot be revoked "
            "and works until 11:30 14 Mar; it will be created there now"
        )
        with freeze_time(NOW):
            booking_services.booking_update(booking=booking, data={"property": other})
            tick()
        old = AccessCode.objects.get(booking=booking, lock__vendor_lock_id="G1")
        assert old.state == CodeState.SUPERSEDED and not old.is_current
        (issued,) = fake_cloud.codes_on("L2")
        assert issued.pin == old_pin == current_or_none(booking).pin

    def test_a_move_to_a_lock_whose_vendor_refuses_the_pin_gives_a_new_one_and_says_so(self, active, assigned_property, fake_cloud):
        booking = active(provider="igloohome", vendor_lock_id="G1")
        other = assigned_property(vendor_lock_id="L2")  # TTLock: no PIN starting with 0
        AccessCode.objects.filter(pk=current_or_none(booking).pk).update(pin="0482913")
        outlook = code_outlook(booking, proposed(booking, property=other), now=NOW)
        assert outlook.startswith("the code moves to Door L2 at Flat L2, with a new PIN;")
        with freeze_time(NOW):
            booking_services.booking_update(booking=booking, data={"property": other})
            tick()
        (issued,) = fake_cloud.codes_on("L2")
        assert issued.pin == current_or_none(booking).pin != "0482913" and not issued.pin.startswith("0")

    def test_a_scheduled_code_is_simply_retargeted(self, assigned_property, book):
        prop = assigned_property()
        other = assigned_property(vendor_lock_id="L2")
        with freeze_time("2026-03-01 09:00:00"):
            booking = book(prop, date(2026, 3, 12), date(2026, 3, 15))
            services.booking_created(booking=booking)
        outlook = code_outlook(booking, proposed(booking, property=other), now=utc(2026, 3, 1, 9, 0))
        assert outlook == "the code moves to Door L2 at Flat L2; it will be created there on 7 March"

    def test_a_property_without_a_lock_revokes_a_code_not_started(self, active, make_property):
        booking = active()
        bare = make_property(name="Bare Flat")
        assert code_outlook(booking, proposed(booking, property=bare), now=NOW) == "the code will be revoked"

    def test_a_staying_guest_keeps_the_code_when_the_lock_goes(self, active):
        booking = active()
        LockAssignment.objects.filter(property=booking.property).delete()
        mid_stay = utc(2026, 3, 11, 9, 0)
        outlook = code_outlook(booking, proposed(booking, guest_name="Ada"), now=mid_stay)
        assert outlook == "the code keeps working until 11:30 14 Mar"

    def test_shortening_a_current_stay_into_the_past_revokes_the_code(self, active):
        booking = active()
        mid_stay = utc(2026, 3, 12, 12, 0)
        outlook = code_outlook(booking, proposed(booking, departure_date=date(2026, 3, 11)), now=mid_stay)
        assert outlook == "the code will be revoked"

    def test_a_failed_code_starts_again_when_the_booking_changes(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", LockOffline("offline"), times=100)
        with freeze_time("2026-03-09 12:00:00") as frozen:
            booking = book(prop, date(2026, 3, 10), date(2026, 3, 12))
            services.booking_created(booking=booking)
            for hour in range(13, 24):
                frozen.move_to(f"2026-03-09 {hour}:00:00")
                tick()
            for hour in range(0, 24):
                frozen.move_to(f"2026-03-10 {hour:02}:00:00")
                tick()
        assert current_or_none(booking).state == CodeState.FAILED
        after = proposed(booking, arrival_date=date(2026, 3, 11))
        assert code_outlook(booking, after, now=utc(2026, 3, 11, 0, 30)) == "the code will be created now"

    def test_access_ended_early(self, active):
        booking = active()
        with freeze_time("2026-03-11 09:00:00"):
            services.booking_end_access(booking=booking)
        booking.refresh_from_db()
        outlook = code_outlook(booking, proposed(booking, departure_date=date(2026, 3, 16)), now=utc(2026, 3, 11, 10, 0))
        assert outlook == "no code: the guest's access was ended early"


class TestEndAccess:
    def test_an_active_code_is_revoked_at_once(self, active):
        booking = active()
        assert end_access_outlook(booking, now=utc(2026, 3, 11, 9, 0)) == (
            "the code will be revoked at once; no new code will be created for this booking"
        )

    def test_igloohome_says_until_when_the_code_works(self, active):
        booking = active(provider="igloohome", time_zone="Asia/Kathmandu")
        # 11:00 + 30 min on 14 March in Kathmandu (UTC+05:45).
        assert end_access_outlook(booking, now=utc(2026, 3, 11, 9, 0)) == (
            "this igloohome code cannot be revoked and works until 11:30 14 Mar; no new code will be created for this booking"
        )

    def test_a_code_not_on_the_lock_yet(self, assigned_property, book):
        prop = assigned_property()
        with freeze_time("2026-03-01 09:00:00"):
            booking = book(prop, date(2026, 3, 20), date(2026, 3, 22))
            services.booking_created(booking=booking)
        assert end_access_outlook(booking, now=utc(2026, 3, 1, 9, 0)).startswith(
            "the code will be revoked at once (it is not on the lock yet)"
        )

    def test_no_code(self, make_property, book):
        booking = book(make_property(), date(2026, 3, 20), date(2026, 3, 22))
        assert end_access_outlook(booking, now=NOW) == "the booking has no working code; no new code will be created for this booking"


def test_the_preview_only_reads(active, fake_cloud, assigned_property):
    booking = active()
    other = assigned_property(vendor_lock_id="L2")
    before_rows = list(AccessCode.objects.values())
    calls_before = sum(fake_cloud.calls.values())
    with CaptureQueriesContext(connection) as queries:
        for after in (
            proposed(booking, departure_date=date(2026, 3, 15)),
            proposed(booking, status=BookingStatus.CANCELLED),
            proposed(booking, property=other),
        ):
            code_outlook(booking, after, now=NOW)
        end_access_outlook(booking, now=NOW)
    statements = [query["sql"].upper() for query in queries.captured_queries]
    assert statements and all(sql.startswith("SELECT") and "FOR UPDATE" not in sql for sql in statements)
    assert list(AccessCode.objects.values()) == before_rows
    assert sum(fake_cloud.calls.values()) == calls_before
    booking.refresh_from_db()
    assert booking.departure_date == date(2026, 3, 14) and booking.status == BookingStatus.CONFIRMED
