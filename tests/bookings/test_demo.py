"""The demo data: varied enough to show every rule, idempotent, and usable to log in."""

import re
from datetime import datetime, time
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from bookings import demo
from bookings.models import Booking, Property
from locks import demo as locks_demo
from nowistay import demo as nowistay_demo
from tests.helpers.repository import ROOT
from tests.helpers.settings_probe import env_vars_read_by_settings

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
def demo_mode(settings):
    """DEBUG on, as `make run` runs the demo commands (the suite itself runs with DEBUG off)."""
    settings.DEBUG = True
    return settings


@pytest.fixture
def seeded(demo_mode):
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
    monkeypatch.setattr(settings, "DEBUG", True)  # demo mode, as Procfile.dev runs it
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
        "http://127.0.0.1:8110/messages/",
        locks_demo.OFFLINE_DEMO[2],
        "manage.py locks_tick",
    ):
        assert expected in output, expected
    assert "On purpose" in output
    assert "sandbox door page" in output and "“Check this lock now” on the host's lock panel" in output


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


# --- demo data only in demo mode ------------------------------------------------------------------
# The demo's passwords and API token are published in the source: `seed_demo` once made a staff
# account with one in a DEBUG=false database.

OUTSIDE_DEMO_MODE = "outside demo mode"
DEMO_COMMANDS = [
    ("seed_demo",),
    ("seed_demo_messages",),
    ("seed_api_token",),
    ("connect_demo_locks",),
    ("seed_demo_webhook", "--sandbox", "http://127.0.0.1:8110"),
    ("demo_banner", "--web", "http://127.0.0.1:8010/", "--sandbox", "http://127.0.0.1:8110/"),
]


@pytest.fixture
def production_mode(settings):
    settings.DEBUG, settings.SANDBOX_URL = False, ""
    return settings


def everything_the_demo_creates() -> dict[str, int]:
    from bookings.api.models import ApiToken
    from events.models import WebhookEndpoint
    from locks.models import LockAssignment, ProviderAccount
    from messaging.models import MessageTemplate

    models = (get_user_model(), Property, Booking, ApiToken, ProviderAccount, LockAssignment, MessageTemplate, WebhookEndpoint)
    return {model.__name__: model.objects.count() for model in models}


def test_demo_mode_is_debug_or_the_sandbox(settings):
    settings.DEBUG, settings.SANDBOX_URL = False, ""
    assert not nowistay_demo.demo_mode_enabled()
    settings.DEBUG = True
    assert nowistay_demo.demo_mode_enabled()
    settings.DEBUG, settings.SANDBOX_URL = False, "http://127.0.0.1:8100"
    assert nowistay_demo.demo_mode_enabled()


@pytest.mark.parametrize("command", DEMO_COMMANDS, ids=[command[0] for command in DEMO_COMMANDS])
def test_every_demo_command_refuses_outside_demo_mode_and_creates_nothing(production_mode, command, monkeypatch):
    monkeypatch.setattr(nowistay_demo, "not_up", lambda **urls: [])  # the banner would not wait
    out = StringIO()
    with pytest.raises(CommandError, match=OUTSIDE_DEMO_MODE) as refusal:
        call_command(*command, stdout=out)
    assert "DEBUG=true or SANDBOX_URL" in str(refusal.value)
    assert set(everything_the_demo_creates().values()) == {0}
    assert out.getvalue() == ""  # no published password or token printed either


def test_demo_commands_refuse_even_when_the_demo_host_exists(production_mode):
    get_user_model().objects.create_user(username=demo.DEMO_HOST_USERNAME, password="a-real-password-123")
    before = everything_the_demo_creates()
    for command in DEMO_COMMANDS[:4]:
        with pytest.raises(CommandError, match=OUTSIDE_DEMO_MODE):
            call_command(*command, stdout=StringIO())
    assert everything_the_demo_creates() == before


def test_seed_demo_runs_in_the_sandbox_demo_without_debug(settings):
    settings.DEBUG, settings.SANDBOX_URL = False, "http://127.0.0.1:8100"
    assert "Loaded" in seed()
    assert get_user_model().objects.filter(username=demo.DEMO_STAFF_USERNAME).exists()


def test_manage_py_seed_demo_exits_non_zero_outside_demo_mode(tmp_path):
    """The command as run from a shell on a production database: exit status 1, nothing written."""
    import os
    import subprocess
    import sys


    database = tmp_path / "production.sqlite3"
    env = {name: value for name, value in os.environ.items() if name not in env_vars_read_by_settings()}
    env.update(DEBUG="false", SANDBOX_URL="", DATABASE_URL=f"sqlite:///{database}", CELERY_BROKER_URL="memory://")
    result = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert OUTSIDE_DEMO_MODE in result.stderr
    assert demo.DEMO_STAFF_PASSWORD not in result.stdout + result.stderr
    assert not database.exists() or database.stat().st_size == 0
