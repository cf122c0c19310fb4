"""Access links: a vendor whose guests get a link that opens the door (`Capabilities.access_links`).

The link the vendor issues is recorded with the code (create and update), cleared when the code
leaves the lock, offered to messages as `{{smartlock_link}}` and shown beside the code to the host
(masked for staff, like the PIN). Driven by a fake provider that issues links.
"""

from dataclasses import replace
from datetime import date, timedelta

import pytest
from freezegun import freeze_time

from locks import services
from locks.admin_display import status_words
from locks.code_status import describe_code
from locks.models import AccessCode, CodeState
from locks.providers import registry
from locks.providers.base import Capabilities
from locks.providers.exceptions import LockNotFound
from locks.services import codes, outcomes, steps
from messaging import rendering
from messaging.ledger import booking_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def linking_vendor(fake_cloud, monkeypatch):
    """TTLock, as a vendor that gives each code a link (one per issue, so an update shows)."""
    base = registry.PROVIDER_CLASSES["ttlock"]
    issued_links = []

    class LinkingProvider(base):
        capabilities = replace(base.capabilities, access_links=True)

        def create_code(self, vendor_lock_id, spec):
            return self._with_link(super().create_code(vendor_lock_id, spec))

        def update_code(self, vendor_lock_id, vendor_code_id, spec):
            return self._with_link(super().update_code(vendor_lock_id, vendor_code_id, spec))

        def _with_link(self, issued):
            issued_links.append(f"https://open.example/k/{issued.vendor_code_id}-{len(issued_links) + 1}")
            return replace(issued, access_link=issued_links[-1])

    monkeypatch.setitem(registry.PROVIDER_CLASSES, "ttlock", LinkingProvider)
    return issued_links


def test_the_link_is_recorded_on_create_and_follows_an_update(assigned_property, book, linking_vendor, committed_tick):
    prop = assigned_property()
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        committed_tick()
        code = AccessCode.objects.get(booking=booking)
        assert code.state == CodeState.ACTIVE and code.access_link == linking_vendor[-1]
        booking.departure_date = date(2026, 3, 15)
        booking.save()
        services.booking_changed(booking=booking)
        committed_tick()
    code.refresh_from_db()
    assert len(linking_vendor) == 2 and code.access_link == linking_vendor[-1]


def test_the_link_is_cleared_when_the_code_is_revoked(assigned_property, book, linking_vendor, committed_tick):
    prop = assigned_property()
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        committed_tick()
        booking.status = "cancelled"
        booking.save()
        services.booking_cancelled(booking=booking)
        committed_tick()
    code = AccessCode.objects.get(booking=booking)
    assert code.state == CodeState.REVOKED and code.access_link is None


def test_messages_and_the_host_see_the_link_and_staff_do_not(assigned_property, book, linking_vendor, committed_tick):
    prop = assigned_property()
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        committed_tick()
        code = AccessCode.objects.get(booking=booking)
        values = booking_values(booking, code)
        assert rendering.render("Open: {{smartlock_link}}", values) == f"Open: {code.access_link}"
        assert rendering.uses_code("{{smartlock_link}}")  # a message with the link waits for the code
        host_sees = describe_code(code, booking=booking, has_lock=True, now=code.activated_at)
        assert code.access_link in host_sees.text
        assert code.access_link not in status_words(code)


def test_without_a_link_the_variable_is_empty(assigned_property, book, fake_cloud, committed_tick):
    assert not Capabilities().access_links
    prop = assigned_property()
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        committed_tick()
        code = AccessCode.objects.get(booking=booking)
        assert code.access_link is None
        assert rendering.render("[{{smartlock_link}}]", booking_values(booking, code)) == "[]"


def _gave_up(code, now):
    code.state = CodeState.EXPIRING  # the lock refuses the removal for good: given up on
    outcomes.record_later_failure(code, LockNotFound("The lock is no longer in the account."), now)


def _expired_unrevocable(code, now):
    code.state = CodeState.EXPIRING  # a vendor that cannot revoke: the code ends on its own
    outcomes.record_unrevocable(code, now)


def _superseded_ended(code, now):
    code.state, code.next_attempt_at = CodeState.SUPERSEDED, now  # the replaced code reached its end
    steps._close_superseded(code, now)


def _retired_off_the_lock(code, now):
    code.vendor_code_id = ""  # not on the lock: retiring it ends it at once
    codes.code_retire(code=code, now=now, enqueue=False)


@pytest.mark.parametrize("end", [_gave_up, _expired_unrevocable, _superseded_ended, _retired_off_the_lock])
def test_the_link_is_cleared_on_every_path_that_ends_a_code(assigned_property, book, linking_vendor, committed_tick, end):
    prop = assigned_property()
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        committed_tick()
    code = AccessCode.objects.select_related("booking__property", "lock__account").get(booking=booking)
    assert code.access_link
    now = code.ends_at + timedelta(days=8)
    end(code, now)
    assert code.finished_at == now and code.state in (CodeState.REVOKED, CodeState.EXPIRED)
    assert code.access_link is None
