"""What reading the locks back found, as a host sees it in Chromium (issue 19): the TTLock panel lists
a code on the lock that Nowistay does not manage and a finding; "Bookings and codes" says when the
guest's code was first used. The rows are written as the read-back would leave them. "Check this
lock now" hands a read-back to a worker (kept here instead of sent) and says so in the lock's entry."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from bookings.models import Booking, BookingStatus, PmsSource, Property
from locks.models import AccessCode, CodeState, FindingKind, Lock, LockAssignment, LockFinding, ProviderAccount, UnmanagedCode
from locks.providers import registry
from locks.services.read_back import READ_BACK_LOCKS
from nowistay import dispatch

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

CLEANER_PIN = "918273"


@pytest.fixture
def read_back_world(live_host, monkeypatch):
    """Canal House (Amsterdam) opened by TTLock "Front door": a guest staying now whose code was
    first used at 15:42 on 12 March, a cleaner's code Nowistay does not manage, one finding."""
    ttlock = registry.provider_class("ttlock")
    monkeypatch.setattr(ttlock, "capabilities", replace(ttlock.capabilities, access_log=True))
    host = live_host.user
    prop = Property.objects.create(
        host=host, name="Canal House", time_zone="Europe/Amsterdam", pms_source=PmsSource.NOWISTAY, ai_assistant_active=True
    )
    account = ProviderAccount.objects.create(host=host, provider="ttlock", display_name="Canal account")
    lock = Lock.objects.create(
        account=account,
        vendor_lock_id="7100001",
        name="Front door",
        supports_remote_codes=True,
        is_online=True,
        battery_percent=18,
        reconciled_at=timezone.now() - timedelta(minutes=20),
    )
    LockAssignment.objects.create(property=prop, lock=lock)
    today, now = timezone.localdate(), timezone.now()
    booking = Booking.objects.create(
        property=prop,
        guest_name="Grace Guest",
        arrival_date=today - timedelta(days=1),
        departure_date=today + timedelta(days=2),
        status=BookingStatus.CONFIRMED,
    )
    AccessCode.objects.create(
        booking=booking,
        lock=lock,
        state=CodeState.ACTIVE,
        pin="246810",
        vendor_code_id="k-1",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=2),
        generate_at=now - timedelta(days=3),
        retry_deadline=now,
        alert_at=now,
        activated_at=now - timedelta(days=3),
        confirmed_on_lock_at=now - timedelta(minutes=20),
        first_used_at=datetime(2026, 3, 12, 14, 42, tzinfo=UTC),
        last_used_at=datetime(2026, 3, 12, 14, 42, tzinfo=UTC),
    )
    UnmanagedCode.objects.create(
        lock=lock,
        vendor_code_id="c-9",
        name="Cleaner Tuesday",
        pin=CLEANER_PIN,
        last_seen_at=now,
        starts_at=datetime(2026, 3, 1, 7, 0, tzinfo=UTC),
    )
    LockFinding.objects.create(lock=lock, kind=FindingKind.MISSING_ON_LOCK, detail="Grace Guest's code was put back with the same PIN.")
    return lock


def test_the_panel_lists_the_unmanaged_code_and_the_finding(logged_in_page, live_host, read_back_world):
    page = logged_in_page
    page.goto(f"{live_host.url}/integrations/ttlock/")
    health = page.locator(f"#lock-{read_back_world.pk}")
    expect(health).to_contain_text("Front door")
    expect(health).to_contain_text("battery 18 %")
    expect(health).to_contain_text("last read back")
    unmanaged = health.locator(".unmanaged-codes")
    expect(unmanaged).to_be_visible()
    expect(unmanaged).to_contain_text("Cleaner Tuesday: from 08:00 on 1 March 2026, no end")
    expect(health).to_contain_text("Nowistay never changes or removes these codes, and never gives a guest the same PIN")
    finding = health.locator(".findings li").first
    expect(finding).to_be_visible()
    expect(finding).to_contain_text("Our code was missing on the lock and was put back")
    expect(finding).to_contain_text("Grace Guest's code was put back with the same PIN.")
    assert CLEANER_PIN not in page.content()


def test_the_codes_page_says_when_the_code_was_first_used(logged_in_page, live_host, read_back_world):
    page = logged_in_page
    page.goto(f"{live_host.url}/bookings/codes/")
    row = page.locator("tr", has_text="Grace Guest")
    expect(row.locator(".code-use")).to_have_text("first used 15:42, 12 Mar")


@pytest.fixture
def read_backs_sent(monkeypatch):
    """The read-backs the live server hands to a worker, as (account id, lock ids), kept here instead of sent."""
    sent = []
    monkeypatch.setitem(dispatch._senders, READ_BACK_LOCKS, lambda account_id, lock_ids, vendor="": sent.append((account_id, lock_ids)))
    return sent


def test_check_this_lock_now_hands_a_read_back_to_a_worker(logged_in_page, live_host, read_back_world, read_backs_sent):
    page = logged_in_page
    page.goto(f"{live_host.url}/integrations/ttlock/")
    health = page.locator(f"#lock-{read_back_world.pk}")
    health.get_by_role("button", name="Check this lock now").click()
    expect(health.get_by_role("status")).to_have_text("Nowistay is checking Front door now; results appear here in a minute.")
    expect(health.locator(".unmanaged-codes")).to_contain_text("Cleaner Tuesday")  # the rest of the entry is still there
    assert read_backs_sent == [(read_back_world.account_id, [read_back_world.pk])]
    assert page.url == f"{live_host.url}/integrations/ttlock/"  # swapped in place (htmx), no reload


def test_a_lock_being_read_says_so_and_queues_nothing(logged_in_page, live_host, read_back_world, read_backs_sent, debug_mode):
    Lock.objects.filter(pk=read_back_world.pk).update(reconciled_at=timezone.now())
    page = logged_in_page
    page.goto(f"{live_host.url}/integrations/ttlock/")
    health = page.locator(f"#lock-{read_back_world.pk}")
    health.get_by_role("button", name="Check this lock now").click()
    expect(health.get_by_role("status")).to_contain_text("Nowistay is checking Front door already, or has just checked it")
    expect(page.get_by_role("heading", name="Your locks, as last read back")).to_be_visible()  # a 422 swaps the entry only
    assert read_backs_sent == []
