"""The demo data: varied enough to show every rule, idempotent, and usable to log in."""

import re
from datetime import datetime, time
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from bookings import demo
from bookings.models import Booking, Property

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

LOGIN_LINE = re.compile(r"Host login:\s+(?P<username>\S+)\s+/\s+(?P<password>\S+)")


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def host_login(output: str) -> tuple[str, str]:
    match = LOGIN_LINE.search(output)
    assert match, output
    return match["username"], match["password"]


def crosses_dst_change(booking: Booking) -> bool:
    zone = ZoneInfo(booking.property.time_zone)
    # Noon avoids the ambiguous/missing hours themselves.
    arrival = datetime.combine(booking.arrival_date, time(12), tzinfo=zone)
    departure = datetime.combine(booking.departure_date, time(12), tzinfo=zone)
    return arrival.utcoffset() != departure.utcoffset()


@pytest.fixture
def seeded():
    return seed()


def demo_properties():
    return Property.objects.filter(host__username=demo.DEMO_HOST_USERNAME)


def test_properties_in_several_zones_both_eligible_and_not(seeded):
    properties = list(demo_properties())
    assert len(properties) >= 3
    zones = {prop.time_zone for prop in properties}
    assert len(zones) >= 3
    for zone in zones:
        ZoneInfo(zone)  # every zone is real
    eligible = set(demo_properties().eligible_for_smart_lock())
    ineligible = set(properties) - eligible
    assert eligible and ineligible
    assert all(prop.is_eligible_for_smart_lock for prop in eligible)
    assert not any(prop.is_eligible_for_smart_lock for prop in ineligible)
    # Eligible and ineligible properties are themselves spread over more than one zone.
    assert len({prop.time_zone for prop in eligible}) >= 2


def test_bookings_include_a_stay_across_a_dst_change(seeded):
    bookings = list(Booking.objects.filter(property__host__username=demo.DEMO_HOST_USERNAME).select_related("property"))
    assert bookings
    across = [booking for booking in bookings if crosses_dst_change(booking)]
    assert across, "no demo booking spans a daylight-saving change"
    # At least one of them is at a property that may actually get a smart-lock code.
    assert any(booking.property.is_eligible_for_smart_lock for booking in across)


def test_every_demo_booking_is_valid(seeded):
    bookings = Booking.objects.filter(property__host__username=demo.DEMO_HOST_USERNAME)
    assert bookings.count() >= len(demo.DEMO_PROPERTIES)
    for booking in bookings:
        booking.full_clean()
        assert booking.departure_date > booking.arrival_date


def test_output_contains_the_host_login(seeded):
    username, password = host_login(seeded)
    assert username == demo.DEMO_HOST_USERNAME
    assert password
    assert "Loaded" in seeded


def test_running_twice_creates_nothing_more(seeded):
    users = get_user_model().objects
    counts = (users.count(), Property.objects.count(), Booking.objects.count())
    second = seed()
    assert (users.count(), Property.objects.count(), Booking.objects.count()) == counts
    assert "Already loaded" in second
    assert host_login(second) == host_login(seeded)


def test_demo_host_can_log_in_with_printed_password(seeded):
    username, password = host_login(seeded)
    client = Client()
    assert client.login(username=username, password=password)
    response = client.get("/")
    assert response.status_code == 200
    for prop in demo_properties():
        assert prop.name in response.content.decode()


def test_demo_host_is_not_staff_and_wrong_password_fails(seeded):
    username, _ = host_login(seeded)
    host = get_user_model().objects.get(username=username)
    assert not host.is_staff and not host.is_superuser
    assert not Client().login(username=username, password="wrong-password")
