"""Clock changes and lock clocks on the host's pages (docs/product.md, "Clock changes and lock
clocks"): the booking page, "Bookings and codes" and a provider's panel, on the fake cloud."""

import re
from datetime import date

import pytest
from django.urls import reverse
from django.utils.html import escape
from freezegun import freeze_time

# Load the URLconf now, not first inside freeze_time (tests/bookings/test_booking_pages.py).
import nowistay.urls  # noqa: F401
from locks import services
from locks.clock_notes import booking_clock_notes
from locks.code_status import code_to_show
from locks.models import CodeState, Lock
from tests.helpers.lifecycle import current, tick
from tests.locks.dashboard.pages import panel_url, row_html

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

NOW = "2027-03-24 10:00:00"  # Paris moves from +01:00 to +02:00 at 01:00Z on Sun 28 March 2027
EXACT = (
    "This stay crosses the clock change on Sun 28 Mar (02:00 → 03:00). The code is set in exact times, so the door "
    "opens at 14:30 and closes at 11:30 local time on both sides of the change."
)


@pytest.fixture
def logged_in(client, host):
    with freeze_time(NOW):  # the session is as old as the pages read at NOW
        client.force_login(host)
    return client


@pytest.fixture
def stays(assigned_property, book):
    """At a Paris flat with a lock (margin 30): one stay across the change, one after it."""

    def make(provider="ttlock"):
        prop = assigned_property(provider=provider)
        with freeze_time(NOW):
            across = book(prop, date(2027, 3, 26), date(2027, 3, 30), guest_name="Anna Across")
            after = book(prop, date(2027, 3, 28), date(2027, 3, 29), guest_name="Sam Summer")
            for booking in (across, after):
                services.booking_created(booking=booking)
            tick()
        assert current(across).state == current(after).state == CodeState.ACTIVE
        return across, after

    return make


def page(client, url: str) -> str:
    with freeze_time(NOW):
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def dd(content: str, element_id: str) -> str:
    match = re.search(rf'<dd id="{element_id}">.*?</dd>', content, re.S)
    return match.group(0) if match else ""


def booking_row(content: str, booking) -> str:
    match = re.search(rf'<tr id="booking-{booking.pk}">.*?</tr>', content, re.S)
    return match.group(0) if match else ""


class TestBookingPage:
    def test_a_stay_across_the_change_is_flagged_with_what_nowistay_did(self, logged_in, stays):
        across, after = stays()
        content = page(logged_in, reverse("booking_pages:edit", args=[across.pk]))
        assert f'<small class="clock-change" id="clock-change">{escape(EXACT)}</small>' in content
        assert "clock-warning" not in dd(content, "code-state")
        assert 'id="clock-change"' not in page(logged_in, reverse("booking_pages:edit", args=[after.pk]))

    def test_a_lock_keeping_another_zones_time_is_a_warning_on_the_code(self, logged_in, stays):
        across, _ = stays(provider="tedee")
        Lock.objects.update(vendor_time_zone="America/New_York")
        code_state = dd(page(logged_in, reverse("booking_pages:edit", args=[across.pk])), "code-state")
        assert '<small class="clock-warning">The lock&#x27;s time zone is America/New_York, but the property is in Europe' in code_state
        assert "Set the lock&#x27;s time zone in the Tedee app." in code_state


class TestCodesPage:
    def test_each_row_says_whether_its_stay_crosses_a_change(self, logged_in, stays):
        across, after = stays()
        content = page(logged_in, reverse("bookings:codes"))
        assert f'<small class="clock-change">{escape(EXACT)}</small>' in booking_row(content, across)
        assert "clock-change" not in booking_row(content, after)

    def test_the_codes_a_lock_clock_affects_carry_the_warning(self, logged_in, stays):
        across, after = stays()
        Lock.objects.update(vendor_utc_offset_minutes=60)  # winter time: right before the change only
        content = page(logged_in, reverse("bookings:codes"))
        assert "clock-warning" not in booking_row(content, across)  # starts on 26 March, at +01:00
        warning = booking_row(content, after)
        assert "The lock is set to UTC+01:00 (it may not follow daylight saving time), but Europe/Paris is at UTC+02:00" in warning

    def test_the_page_shows_what_the_api_and_the_booking_page_show(self, logged_in, stays):
        across, _ = stays()
        Lock.objects.update(vendor_time_zone="Asia/Tokyo")
        row = booking_row(page(logged_in, reverse("bookings:codes")), across)
        across.refresh_from_db()
        notes = booking_clock_notes(across, code_to_show(across.access_codes.select_related("lock__account").order_by("-id")))
        assert escape(notes.change.message) in row and escape(notes.lock_warning) in row


class TestPanel:
    @pytest.mark.parametrize("provider", ["tedee", "nuki", "homeit"])
    def test_a_lock_zone_with_other_offsets_is_a_warning_on_its_row(self, logged_in, assigned_property, provider):
        prop = assigned_property(provider=provider)
        Lock.objects.update(vendor_time_zone="America/New_York")
        row = row_html(page(logged_in, panel_url(provider)), prop)
        assert '<p class="notice warning">The lock&#x27;s time zone is America/New_York, but the property is in Europe/Paris' in row

    def test_another_name_for_the_property_clock_is_no_warning(self, logged_in, assigned_property):
        prop = assigned_property(provider="nuki")
        Lock.objects.update(vendor_time_zone="Europe/Berlin")  # Nuki's zone id 37 for a Paris lock
        assert "notice warning" not in row_html(page(logged_in, panel_url("nuki")), prop)
