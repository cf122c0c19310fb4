"""One check-in/check-out default rule: the booking's own time, else the property's default, else
15:00 / 11:00 (`locks.windows.check_in_time_of` / `check_out_time_of`).

The door code's window, the guest messages, the host's booking pages and the API read it; these
tests hold them to the same answer and keep the rule written in one place. No database: the
bookings are unsaved model instances.
"""

import ast
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bookings.api.schemas import PropertyOut
from bookings.booking_pages import stay_times
from bookings.models import Booking, Property
from locks.models import LockAssignment
from locks.services.planning import code_plan
from locks.windows import check_in_time_of, check_out_time_of
from messaging.services import stay_of
from tests.helpers.repository import ROOT

PRODUCT_PACKAGES = ("accounts", "bookings", "locks", "messaging", "nowistay", "sandbox")
TZ_NAME = "Europe/Paris"
MIDNIGHT = time(0, 0)  # a set time that is not "empty", whichever way a copy tested for it
CHOICES = [None, MIDNIGHT, time(9, 30), time(16, 45)]


def booking_with(*, check_in: time | None, check_out: time | None, default_in: time | None, default_out: time | None) -> Booking:
    prop = Property(name="Loft", time_zone=TZ_NAME, default_check_in_time=default_in, default_check_out_time=default_out)
    return Booking(
        property=prop,
        guest_name="Grace",
        arrival_date=date(2026, 7, 10),
        departure_date=date(2026, 7, 13),
        check_in_time=check_in,
        check_out_time=check_out,
    )


def local_time(instant: datetime) -> time:
    return instant.astimezone(ZoneInfo(TZ_NAME)).time()


@pytest.mark.parametrize(
    ("booking_time", "property_default", "check_in", "check_out"),
    [
        (None, None, time(15, 0), time(11, 0)),
        (None, time(16, 0), time(16, 0), time(16, 0)),
        (time(9, 30), None, time(9, 30), time(9, 30)),
        (time(9, 30), time(16, 0), time(9, 30), time(9, 30)),
        (MIDNIGHT, time(16, 0), MIDNIGHT, MIDNIGHT),
        (None, MIDNIGHT, MIDNIGHT, MIDNIGHT),
    ],
)
def test_the_rule(booking_time, property_default, check_in, check_out):
    assert check_in_time_of(booking_time, property_default) == check_in
    assert check_out_time_of(booking_time, property_default) == check_out


@pytest.mark.parametrize("default_out", CHOICES)
@pytest.mark.parametrize("default_in", CHOICES)
@pytest.mark.parametrize("check_out", CHOICES)
@pytest.mark.parametrize("check_in", CHOICES)
def test_the_code_window_the_messages_and_the_booking_pages_agree(check_in, check_out, default_in, default_out):
    booking = booking_with(check_in=check_in, check_out=check_out, default_in=default_in, default_out=default_out)
    expected = (check_in_time_of(check_in, default_in), check_out_time_of(check_out, default_out))

    plan = code_plan(booking, LockAssignment(margin_minutes=0, lead_days=3))
    stay = stay_of(booking)
    page = stay_times(booking)

    assert (local_time(plan.starts_at), local_time(plan.ends_at)) == expected
    assert (stay.check_in, stay.check_out) == expected
    assert (page.check_in, page.check_out) == expected


@pytest.mark.parametrize("default_out", CHOICES)
@pytest.mark.parametrize("default_in", CHOICES)
def test_the_api_gives_a_propertys_times_by_the_same_rule(default_in, default_out):
    prop = booking_with(check_in=None, check_out=None, default_in=default_in, default_out=default_out).property

    assert PropertyOut.resolve_default_check_in_time(prop) == check_in_time_of(None, default_in)
    assert PropertyOut.resolve_default_check_out_time(prop) == check_out_time_of(None, default_out)


def test_the_default_times_are_read_in_one_place_only():
    """15:00 and 11:00 are named by `check_in_time_of` / `check_out_time_of` and nothing else, so a
    second copy of the fallback cannot drift from the first."""
    readers = {}
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            finder = DefaultTimeReaders()
            finder.visit(ast.parse(path.read_text(), str(path)))
            for function, name in finder.found:
                readers.setdefault(name, set()).add(f"{path.relative_to(ROOT)}:{function}")

    assert readers == {
        "SYSTEM_CHECK_IN": {"locks/windows.py:check_in_time_of"},
        "SYSTEM_CHECK_OUT": {"locks/windows.py:check_out_time_of"},
    }


class DefaultTimeReaders(ast.NodeVisitor):
    """(enclosing function, what) for every read of SYSTEM_CHECK_IN / SYSTEM_CHECK_OUT and every
    `time(15, 0)` / `time(11, 0)` but the constants' own definitions."""

    NAMES = ("SYSTEM_CHECK_IN", "SYSTEM_CHECK_OUT")
    LITERALS = {(15, 0): "time(15, 0)", (11, 0): "time(11, 0)"}

    def __init__(self):
        self.found: list[tuple[str, str]] = []
        self.functions = ["<module>"]

    def visit_FunctionDef(self, node):
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node):
        if any(isinstance(target, ast.Name) and target.id in self.NAMES for target in node.targets):
            return  # the definition, not a reader
        self.generic_visit(node)

    def visit_Name(self, node):
        self._note(node.id)

    def visit_Attribute(self, node):
        self._note(node.attr)
        self.generic_visit(node)

    def visit_Call(self, node):
        called = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        hour_minute = tuple(arg.value for arg in node.args if isinstance(arg, ast.Constant))
        if called == "time" and hour_minute in self.LITERALS and len(node.args) == 2:
            self.found.append((self.functions[-1], self.LITERALS[hour_minute]))
        self.generic_visit(node)

    def _note(self, name):
        if name in self.NAMES:
            self.found.append((self.functions[-1], name))
