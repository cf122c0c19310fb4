"""`manage.py locks_tick`: the missing codes pass and a scheduler pass in this process, and a summary of what they did."""

import re
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from freezegun import freeze_time

from locks import demo, services
from locks.models import AccessCode, CodeState
from locks.providers.exceptions import LockOffline
from sandbox.demo_sign_ins import SANDBOX_CLIENT_SETTINGS, SANDBOX_PATHS

pytestmark = pytest.mark.django_db


def locks_tick() -> str:
    out = StringIO()
    call_command("locks_tick", stdout=out)
    return out.getvalue()


def count(output: str, label: str) -> int:
    """The number printed before `label` in the summary ("3 created" -> 3); 0 when absent."""
    found = re.search(rf"(\d+) {label}\b", output)
    return int(found.group(1)) if found else 0


def test_prints_the_number_of_codes_created(assigned_property, book, fake_cloud):
    prop = assigned_property()
    with freeze_time("2026-06-01 08:00:00"):
        for guest in range(3):
            services.booking_created(booking=book(prop, date(2026, 6, 2), date(2026, 6, 4), guest_name=f"G{guest}"))
        output = locks_tick()
    assert output.startswith("Scheduler pass:")
    assert count(output, "due") == 3
    assert count(output, "created") == 3
    assert count(output, "retrying") == 0
    assert set(AccessCode.objects.values_list("state", flat=True)) == {CodeState.ACTIVE}
    assert len(fake_cloud.codes_on("L1")) == 3


def test_counts_codes_planned_for_missed_events(assigned_property, book, fake_cloud):
    prop = assigned_property()
    with freeze_time("2026-06-01 08:00:00"):
        book(prop, date(2026, 6, 2), date(2026, 6, 4))  # no event was sent
        output = locks_tick()
    assert count(output, "missing codes planned") == 1
    assert count(output, "created") == 1


def test_prints_the_number_of_codes_retrying_when_a_lock_is_offline(assigned_property, book, fake_cloud):
    prop = assigned_property()
    fake_cloud.fail_next("create_code", LockOffline("The lock's gateway is offline."))
    with freeze_time("2026-06-01 08:00:00"):
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 4))
        services.booking_created(booking=booking)
        output = locks_tick()
    assert count(output, "due") == 1
    assert count(output, "retrying") == 1
    assert count(output, "created") == 0
    code = AccessCode.objects.get(booking=booking)
    assert code.state == CodeState.CREATING and "offline" in code.last_error


def test_prints_0_due_when_nothing_is_due(assigned_property, book, fake_cloud):
    prop = assigned_property()
    with freeze_time("2026-06-01 08:00:00"):
        services.booking_created(booking=book(prop, date(2026, 7, 1), date(2026, 7, 3)))  # weeks ahead
        output = locks_tick()
    assert "0 due" in output
    assert count(output, "due") == 0 and count(output, "created") == 0
    assert sum(fake_cloud.calls.values()) == 0


def test_prints_0_due_on_an_empty_database(db):
    assert "0 due" in locks_tick()


def test_a_second_run_finds_nothing_left_to_do(assigned_property, book, fake_cloud):
    prop = assigned_property()
    with freeze_time("2026-06-01 08:00:00"):
        services.booking_created(booking=book(prop, date(2026, 6, 2), date(2026, 6, 4)))
        assert count(locks_tick(), "created") == 1
        second = locks_tick()
    assert "0 due" in second and count(second, "created") == 0
    assert fake_cloud.calls["create_code"] == 1


# --- run from another terminal while `make run` runs ------------------------------------------------
#
# `make run` exports the vendor URLs that point at the sandbox lock clouds to its own processes only.
# A `manage.py locks_tick` typed in another terminal used the real vendors' URLs for the demo's
# sandbox accounts: every code failed (and against the real clouds the accounts would be marked for
# reconnection). In these tests "the real vendors" are closed local ports: no test calls a real cloud.

ANOTHER_TERMINAL = {
    "SANDBOX_URL": "",
    **{name: f"http://127.0.0.1:9{path}" for name, path in SANDBOX_PATHS.items()},
    **dict.fromkeys(SANDBOX_CLIENT_SETTINGS, ""),
}


@pytest.fixture
def make_run_demo(settings, tmp_path, vendors_on_sandbox):
    """What `make run` leaves behind: the demo seeded, and connected to the sandbox clouds by
    `connect_demo_locks` (run by Procfile.dev's web process, with the Makefile's vendor URLs)."""
    settings.VAR_DIR = tmp_path
    settings.SANDBOX_URL = vendors_on_sandbox
    call_command("seed_demo", stdout=StringIO())
    call_command("connect_demo_locks", stdout=StringIO())
    return vendors_on_sandbox


def from_another_terminal(settings) -> None:
    for name, value in ANOTHER_TERMINAL.items():
        setattr(settings, name, value)


def demo_door_codes():
    """The current codes due by now at the demo properties with a working lock (one per brand)."""
    properties = [connection.property_name for connection in demo.DEMO_CONNECTIONS]
    return AccessCode.objects.filter(booking__property__name__in=properties, is_current=True, generate_at__lte=timezone.now())


def test_from_another_terminal_it_uses_the_sandbox_make_run_uses(make_run_demo, settings):
    assert demo_door_codes().exists()
    from_another_terminal(settings)
    output = locks_tick()
    assert f"sandbox lock clouds at {make_run_demo}" in output
    assert count(output, "created") >= len(demo.DEMO_CONNECTIONS)
    assert set(demo_door_codes().values_list("state", flat=True)) == {CodeState.ACTIVE}


def test_from_another_terminal_it_says_so_when_the_sandbox_is_not_running(make_run_demo, settings, tmp_path):
    from_another_terminal(settings)
    recorded = tmp_path / "sandbox.env"
    recorded.write_text(recorded.read_text().replace(make_run_demo, "http://127.0.0.1:9"))
    with pytest.raises(CommandError, match="make run"):
        locks_tick()
    assert not demo_door_codes().filter(attempts__gt=0).exists()  # nothing was tried against the wrong URLs


def test_a_record_of_another_database_is_not_used(make_run_demo, settings, tmp_path):
    """Only the database `make run` connected to the sandbox is redirected there."""
    from_another_terminal(settings)
    recorded = tmp_path / "sandbox.env"
    recorded.write_text(recorded.read_text().replace(f"{demo.DEMO_DATABASE_KEY}=", f"{demo.DEMO_DATABASE_KEY}=another-"))
    output = locks_tick()
    assert output.startswith("Scheduler pass:")
    assert "sandbox" not in output
    assert count(output, "created") == 0
