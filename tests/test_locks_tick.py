"""`manage.py locks_tick`: one scheduler pass in this process, and a summary of what it did."""

import re
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from freezegun import freeze_time

from locks import services
from locks.models import AccessCode, CodeState
from locks.providers.exceptions import LockOffline

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
