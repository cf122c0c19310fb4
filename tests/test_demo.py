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
from locks import demo as locks_demo
from nowistay import demo as nowistay_demo

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


def test_the_deliberately_offline_lock_says_it_is_deliberate(seeded):
    """The sandbox keeps one demo lock offline so retries can be seen; its property's name (on every
    page and host email that names the stay) says that this is on purpose."""
    _, lock_name, property_name = locks_demo.OFFLINE_DEMO
    prop = demo_properties().get(name=property_name)
    assert prop.is_eligible_for_smart_lock
    assert "on purpose" in prop.name and "retries" in prop.name


# --- the banner `make run` prints once everything is up (Procfile.dev's banner process) -------------


def banner_output(monkeypatch) -> str:
    monkeypatch.setattr(nowistay_demo, "not_up", lambda **urls: [])  # everything answers
    out = StringIO()
    call_command("demo_banner", "--web", "http://127.0.0.1:8010/", "--sandbox", "http://127.0.0.1:8110/", stdout=out)
    return out.getvalue()


def test_banner_prints_the_urls_and_every_login(monkeypatch):
    output = banner_output(monkeypatch)
    for expected in (
        "http://127.0.0.1:8010/",
        f"{demo.DEMO_HOST_USERNAME} / {demo.DEMO_HOST_PASSWORD}",
        f"{demo.NEW_HOST_USERNAME} / {demo.NEW_HOST_PASSWORD}",
        f"{demo.DEMO_STAFF_USERNAME} / {demo.DEMO_STAFF_PASSWORD}",
        "http://127.0.0.1:8010/admin/",
        f"http://127.0.0.1:8010/api/v1/docs/  token {demo.DEMO_TOKEN}",
        "http://127.0.0.1:8110/",
        locks_demo.OFFLINE_DEMO[2],
        "manage.py locks_tick",
    ):
        assert expected in output, expected
    assert "On purpose" in output


def test_banner_waits_until_web_worker_beat_and_sandbox_all_answer(monkeypatch):
    rounds = [["web", "worker", "beat", "sandbox"], ["worker", "beat"], ["beat"], []]
    checks = []

    def check():
        checks.append(True)
        return rounds[len(checks) - 1]

    said = []
    clock = iter(range(0, 1000, 30))  # each reading of the clock is 30 s later
    nowistay_demo.wait_until_up(check, say=said.append, sleep=lambda seconds: None, clock=lambda: next(clock))
    assert len(checks) == 4
    assert said and said[0].startswith("Still waiting for: worker, beat")


def test_what_is_not_up_is_read_from_http_and_a_celery_ping(monkeypatch, sandbox_url):
    monkeypatch.setattr(nowistay_demo, "celery_nodes_answering", lambda: {"celery@host"})
    closed = "http://127.0.0.1:9/"
    assert nowistay_demo.not_up(web_url=closed, sandbox_url=sandbox_url) == ["web", "beat"]
    monkeypatch.setattr(nowistay_demo, "celery_nodes_answering", lambda: {"celery@host", "celerybeat@host"})
    assert nowistay_demo.not_up(web_url=sandbox_url, sandbox_url=sandbox_url) == []
