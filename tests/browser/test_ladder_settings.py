"""The escalation ladder's settings on a property's lock row, in Chromium: opened from the row's
"If a guest's code is not on the lock in time", changed, saved, and shown again after a reload."""

import pytest
from playwright.sync_api import expect

from bookings.models import PmsSource, Property
from locks.models import Lock, LockAssignment, ProviderAccount

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]


@pytest.fixture
def tedee_row(live_host):
    prop = Property.objects.create(
        host=live_host.user, name="Montmartre Loft", time_zone="Europe/Paris", pms_source=PmsSource.NOWISTAY, ai_assistant_active=True
    )
    account = ProviderAccount.objects.create(host=live_host.user, provider="tedee", display_name="Tedee account")
    lock = Lock.objects.create(account=account, vendor_lock_id="41001", name="Front door", supports_remote_codes=True)
    LockAssignment.objects.create(property=prop, lock=lock)
    return prop


def test_the_host_sets_the_ladder_and_sees_it_saved(logged_in_page, live_host, tedee_row):
    prop = tedee_row
    page = logged_in_page
    page.goto(f"{live_host.url}/integrations/tedee/#property-{prop.pk}")
    row = page.locator(f"#property-{prop.pk}")
    row.get_by_role("link", name="Edit").click()  # the row's summary opens as its form
    expect(row.get_by_label("Lock", exact=True)).to_be_visible()
    row.get_by_text("If a guest's code is not on the lock in time").click()
    row.get_by_label("Email me if the code is not on the lock this many hours before check-in (0: never)").fill("48")
    row.get_by_label("Send it this many hours before check-in").fill("3")
    row.get_by_label("Backup codes kept on the lock (locks without offline codes)").fill("4")
    row.get_by_label("Email me again at check-in if the code is still not on the lock").uncheck()
    row.get_by_role("button", name="Save").click()
    expect(page.locator(f"#property-{prop.pk}")).to_contain_text("Saved: Front door opens Montmartre Loft.")
    expect(page.locator(f"#property-{prop.pk}")).to_contain_text(
        "If a guest's code is not on the lock in time: email me 48 h before check-in; send the guest an offline or backup code "
        "3 h before; no check-in reminder; 4 backup codes kept on the lock."
    )
    assignment = LockAssignment.objects.get(property=prop)
    assert (assignment.warn_host_hours_before, assignment.fallback_hours_before, assignment.backup_codes) == (48, 3, 4)
    assert assignment.send_fallback and not assignment.remind_host_at_check_in
    page.reload()
    row = page.locator(f"#property-{prop.pk}")
    row.get_by_role("link", name="Edit").click()  # the row's summary opens as its form
    expect(row.get_by_label("Lock", exact=True)).to_be_visible()
    row.get_by_text("If a guest's code is not on the lock in time").click()
    expect(row.get_by_label("Send it this many hours before check-in")).to_have_value("3")
    expect(row.get_by_label("Email me again at check-in if the code is still not on the lock")).not_to_be_checked()


def test_a_value_out_of_range_is_refused_in_the_row(logged_in_page, live_host, tedee_row):
    prop = tedee_row
    page = logged_in_page
    page.goto(f"{live_host.url}/integrations/tedee/#property-{prop.pk}")
    row = page.locator(f"#property-{prop.pk}")
    row.get_by_role("link", name="Edit").click()  # the row's summary opens as its form
    expect(row.get_by_label("Lock", exact=True)).to_be_visible()
    row.get_by_text("If a guest's code is not on the lock in time").click()
    hours = row.get_by_label("Send it this many hours before check-in")
    hours.evaluate("input => input.removeAttribute('max')")  # past the browser's own check, to the server's
    hours.fill("500")
    row.get_by_role("button", name="Save").click()
    expect(page.locator(f"#property-{prop.pk}")).to_contain_text("Choose from 0 to 168 hours.")
    assert LockAssignment.objects.get(property=prop).fallback_hours_before == 2
