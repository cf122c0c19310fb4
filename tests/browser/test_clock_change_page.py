"""A stay across a daylight-saving change, as a host sees its booking page in Chromium: the flag
under the stay says when the clocks change and what Nowistay did about the door code."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from bookings.models import Booking, BookingStatus, PmsSource, Property
from locks import windows
from locks.clocks import clock_changes
from locks.models import AccessCode, CodeState, Lock, LockAssignment, ProviderAccount

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

PARIS = "Europe/Paris"


@pytest.fixture
def stay_across_the_change(live_host):
    """Montmartre Loft (Paris) with a Tedee lock: a confirmed stay from two days before Paris's next
    clock change to two days after it, its code active on the lock (margin 30)."""
    now = timezone.now()
    change = clock_changes(now, now + timedelta(days=366), PARIS)[0]
    day = change.at.astimezone(ZoneInfo(PARIS)).date()
    prop = Property.objects.create(
        host=live_host.user, name="Montmartre Loft", time_zone=PARIS, pms_source=PmsSource.NOWISTAY, ai_assistant_active=True
    )
    account = ProviderAccount.objects.create(host=live_host.user, provider="tedee", display_name="Tedee account")
    lock = Lock.objects.create(account=account, vendor_lock_id="41001", name="Front door", supports_remote_codes=True)
    LockAssignment.objects.create(property=prop, lock=lock)
    booking = Booking.objects.create(
        property=prop, guest_name="Grace Guest", arrival_date=day - timedelta(days=2), departure_date=day + timedelta(days=2),
        status=BookingStatus.CONFIRMED,
    )
    window = windows.validity_window(
        arrival=booking.arrival_date, departure=booking.departure_date, tz_name=PARIS, margin_minutes=30,
        booking_check_in=None, booking_check_out=None, default_check_in=None, default_check_out=None,
    )
    AccessCode.objects.create(
        booking=booking, lock=lock, state=CodeState.ACTIVE, pin="582947", vendor_code_id="7", starts_at=window.starts_at,
        ends_at=window.ends_at, generate_at=now, retry_deadline=window.starts_at, alert_at=window.starts_at, activated_at=now,
    )
    return booking, change


def test_the_booking_page_flags_the_clock_change(logged_in_page, live_host, stay_across_the_change):
    booking, change = stay_across_the_change
    page = logged_in_page
    page.goto(f"{live_host.url}/bookings/{booking.pk}/")
    flag = page.locator("#clock-change")
    expect(flag).to_be_visible()
    moved = f"{change.wall_before:%a %-d %b} ({change.wall_before:%H:%M} → {change.wall_after:%H:%M})"
    expect(flag).to_have_text(
        f"This stay crosses the clock change on {moved}. The code is set in exact times, so the door opens at 14:30 and "
        "closes at 11:30 local time on both sides of the change."
    )
    expect(page.locator("#code-state .clock-warning")).to_have_count(0)  # a Tedee lock that reports no other zone
