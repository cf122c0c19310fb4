"""“Rotate code” on the host's booking page, in Chromium against the live server: the action shows
what will happen to the lock and the guest, the confirmation rotates, and the page tracks the new
PIN, the old code and the guest's message until the lock's work is done (the scheduler pass runs
inline, as a worker would; the lock is the fake cloud's)."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from locks import services as lifecycle, tasks as lock_tasks
from locks.models import CodeRotation, CodeState, LockAssignment
from messaging import tasks as message_tasks
from tests.helpers.lifecycle import current, tick

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


@pytest.fixture(autouse=True)
def no_task_queue(monkeypatch):
    """Work enqueued on commit is kept here instead of written to the broker: the test runs the
    scheduler pass itself."""
    queued = []
    monkeypatch.setattr(lock_tasks, "process_code", SimpleNamespace(delay=queued.append, apply_async=queued.append))
    monkeypatch.setattr(message_tasks, "send_booking_messages", SimpleNamespace(delay=queued.append))
    return queued


@pytest.fixture
def guest_with_a_code(live_host, make_property, make_lock, book, fake_cloud):
    """The live host's "Canal House" with a lock, and a guest arriving tomorrow whose code is on it."""
    prop = make_property(host=live_host.user, name="Canal House", time_zone="Europe/Amsterdam")
    LockAssignment.objects.create(property=prop, lock=make_lock("L1", account_host=live_host.user))
    arrival = timezone.localdate() + timedelta(days=1)
    booking = book(prop, arrival, arrival + timedelta(days=2), guest_name="Ada Arriving", guest_email="ada@guest.example")
    lifecycle.booking_confirmed(booking=booking)
    tick()
    assert current(booking).state == CodeState.ACTIVE
    return current(booking)


def test_rotate_code_from_the_booking_page(logged_in_page, live_host, guest_with_a_code, fake_cloud):
    page, old = logged_in_page, guest_with_a_code
    booking_url = f"{live_host.url}/bookings/{old.booking_id}/"
    page.goto(booking_url)
    expect(page.locator("#code-state")).to_contain_text(f"active: {old.pin}")
    expect(page.locator("#code-rotation")).to_have_count(0)

    page.get_by_role("button", name="Rotate code").click()
    expect(page.get_by_role("heading", name="Rotate code: Ada Arriving at Canal House")).to_be_visible()
    expect(page.locator("#code-outlook")).to_contain_text(
        "a new code with a new PIN will be created now; the old code will be revoked at once; "
        "the guest has not been sent a door code by message"
    )
    assert [issued.pin for issued in fake_cloud.codes_on("L1")] == [old.pin]  # the preview changed nothing
    page.get_by_role("button", name="Rotate code").click()

    page.wait_for_url(booking_url)
    expect(page.get_by_text("Ada Arriving's door code is being rotated.")).to_be_visible()
    rotation = page.locator("#code-rotation")
    expect(rotation).to_contain_text("from the booking page: in progress")
    expect(page.locator("#rotation-new-pin")).to_have_text("New PIN on the lock: pending: being created now")
    expect(page.locator("#rotation-old-code")).to_have_text("Old code: being revoked")
    expect(page.locator("#rotation-guest")).to_have_text("Guest: waiting for the new code to be on the lock")
    expect(page.get_by_role("button", name="Rotate code")).to_have_count(0)  # the new code is not on the lock yet

    tick()  # a worker creates the new code and revokes the old one
    page.reload()
    new = current(old.booking)
    assert new.pk == CodeRotation.objects.get().new_code_id and new.pin != old.pin
    expect(page.locator("#rotation-new-pin")).to_contain_text("New PIN on the lock: done: on the lock since ")
    expect(page.locator("#rotation-old-code")).to_have_text("Old code: revoked")
    expect(rotation).not_to_contain_text("in progress")
    expect(page.locator("#code-state")).to_contain_text(f"active: {new.pin}")
    assert [issued.pin for issued in fake_cloud.codes_on("L1")] == [new.pin]
