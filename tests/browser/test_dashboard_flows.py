"""The host integrations dashboard as a new host clicks through it, in headless Chromium against the
live server, with every vendor URL pointed at the sandbox lock clouds (a separate process).

One long journey (connect TTLock with a wrong then the right password, assign "Front door", see the
booking's code, disconnect), then focused flows: the row's validation and Remove in place (htmx),
the one-lock-per-property refusal, keyboard only, a phone-sized screen, and no JavaScript at all.
The flows that swap with htmx run twice (`debug_mode`): as `make test` serves them (DEBUG off) and
as `make run` does (DEBUG on, with django-htmx's debug error handler on the page).
"""

import re
from datetime import timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import expect

from bookings.models import Booking, BookingStatus, PmsSource, Property
from locks import services, tasks
from locks.models import AccessCode, AccountStatus, CodeState, Lock, LockAssignment, Provider, ProviderAccount
from locks.services import scheduler
from locks.services.accounts import account_disconnect_finish
from sandbox.demo_sign_ins import DEMO_LOGIN, TTLOCK_PASSWORD
from tests.browser.conftest import TIMEOUT_MS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
FRONT_DOOR_ID = "7100001"  # sandbox/seed.py: the TTLock demo account's "Front door"
SAVED = "Saved: Front door opens Canal House."


# --- fixtures and helpers -------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def no_task_queue(monkeypatch):
    """On-commit `process_code.delay` would write to the filesystem broker (var/broker): record the
    ids instead. The tests run the scheduler pass inline, as a worker would."""
    queued = []
    monkeypatch.setattr(tasks, "process_code", SimpleNamespace(delay=queued.append))
    return queued


@pytest.fixture(autouse=True)
def disconnect_queue(monkeypatch):
    """The same for `finish_account_disconnect.delay`: the test runs the disconnection's task itself."""
    queued = []
    monkeypatch.setattr(tasks, "finish_account_disconnect", SimpleNamespace(delay=queued.append))
    return queued


@pytest.fixture
def canal_house(live_host):
    return Property.objects.create(
        host=live_host.user, name="Canal House", time_zone="Europe/Amsterdam", pms_source=PmsSource.NOWISTAY, ai_assistant_active=True
    )


@pytest.fixture
def harbour_studio(live_host):
    """Not eligible (a direct OTA connection): never listed under "Lock assignments"."""
    return Property.objects.create(
        host=live_host.user, name="Harbour Studio", time_zone="Europe/Amsterdam", pms_source=PmsSource.DIRECT_OTA, ai_assistant_active=True
    )


@pytest.fixture
def ttlock_account(live_host, vendors_on_sandbox):
    """The live host's TTLock account, connected through the ordinary service (no clicking)."""
    from locks.connect.services import connect_with_credentials

    return connect_with_credentials(
        host=live_host.user, provider="ttlock", method="password", values={"username": DEMO_LOGIN, "password": TTLOCK_PASSWORD}
    )


def log_in(page, live_host) -> None:
    page.goto(f"{live_host.url}/accounts/login/")
    page.get_by_label("Username").fill(live_host.username)
    page.get_by_label("Password").fill(live_host.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_host.url}/")


def panel(page, live_host, provider="ttlock"):
    page.goto(f"{live_host.url}/integrations/{provider}/")


def row_of(page, prop):
    return page.locator(f"li.assignment#property-{prop.pk}")


def open_row(row):
    """A row is a summary until its Edit (or, without a lock, "Choose a lock") opens its form."""
    row.get_by_role("link", name=re.compile(r"^(Edit|Choose a lock)")).click()
    expect(row.get_by_label("Lock", exact=True)).to_be_visible()


def choose_front_door(row, lead_days: str, margin_minutes: str) -> None:
    row.get_by_label("Lock", exact=True).select_option(label="Front door")
    row.get_by_label("Generate codes X days before arrival").fill(lead_days)
    row.get_by_label("Access margin").fill(margin_minutes)


def assignment_of(prop) -> LockAssignment | None:
    return LockAssignment.objects.select_related("lock__account").filter(property=prop).first()


def mark_page(page) -> None:
    """A marker that only survives if the page is not reloaded (htmx swaps the row in place)."""
    page.evaluate("window.__marker = 1")


def page_was_not_reloaded(page) -> bool:
    return page.evaluate("window.__marker") == 1


def expect_debug_handler(page, debug_mode: bool) -> None:
    """A DEBUG-on run must really carry django-htmx's debug error handler, or it proves nothing."""
    expect(page.locator('script[src$="django_htmx/django-htmx.js"]')).to_have_count(1 if debug_mode else 0)


def expect_swapped_in_place(page) -> None:
    """Only the row was swapped: the page around it is still there and was not reloaded (the debug
    error handler would have replaced the whole document with the bare row)."""
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("heading", name="Lock assignments")).to_be_visible()
    assert page_was_not_reloaded(page)


def codes_on_front_door(sandbox_url: str) -> list[dict]:
    return requests.get(f"{sandbox_url}/_control/ttlock/locks/{FRONT_DOOR_ID}/", timeout=5).json()["codes"]


def moment(value) -> str:
    return value.astimezone(AMSTERDAM).strftime("%H:%M %-d %b")


# --- the long journey ----------------------------------------------------------------------------------

def test_new_host_connects_ttlock_assigns_front_door_sees_the_code_and_disconnects(
    debug_mode, logged_in_page, live_host, vendors_on_sandbox, canal_house, harbour_studio, disconnect_queue
):
    page = logged_in_page
    sandbox = vendors_on_sandbox

    # Home → Integrations → the TTLock card's Connect.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    expect(page.get_by_role("heading", name="Smart locks")).to_be_visible()
    expect(page.locator("#card-ttlock")).to_contain_text("Not connected")
    expect(page.get_by_text("1 of your 2 properties can have a smart lock; 0 have one.")).to_be_visible()
    page.get_by_role("link", name="Connect TTLock").click()
    expect(page.get_by_role("heading", name="Connect TTLock")).to_be_visible()

    # A wrong password: TTLock's refusal, the username kept, the password not sent back.
    page.get_by_label("TTLock app username").fill(DEMO_LOGIN)
    page.get_by_label("TTLock app password").fill("not-the-password")
    page.get_by_role("button", name="Connect TTLock").click()
    expect(page.get_by_role("alert")).to_contain_text("TTLock did not accept this username and password")
    expect(page.get_by_label("TTLock app username")).to_have_value(DEMO_LOGIN)
    expect(page.get_by_label("TTLock app password")).to_have_value("")
    assert not ProviderAccount.objects.filter(host=live_host.user).exists()

    # The right one: connected, the account named, the assignments shown.
    page.get_by_label("TTLock app password").fill(TTLOCK_PASSWORD)
    page.get_by_role("button", name="Connect TTLock").click()
    page.wait_for_url(f"{live_host.url}/integrations/ttlock/")
    expect(page.locator(".messages")).to_contain_text(f"Your TTLock account “{DEMO_LOGIN}” is connected.")
    expect(page.locator("#account")).to_contain_text(f"Connected account: {DEMO_LOGIN}")
    expect(page.locator("#account")).to_contain_text("(Connected)")
    expect(page.get_by_role("heading", name="Lock assignments")).to_be_visible()
    expect(page.get_by_label("TTLock app password")).to_have_count(0)

    # Only the eligible property is listed; the unavailable locks are disabled, with their reason.
    assignments = page.locator("ul.assignments > li.assignment")
    expect(assignments).to_have_count(1)
    expect(page.locator("ul.assignments")).not_to_contain_text("Harbour Studio")
    row = row_of(page, canal_house)
    expect(row.get_by_role("heading", name=re.compile("^Canal House"))).to_be_visible()
    expect(row).to_contain_text("No TTLock lock.")
    expect(row.get_by_label("Lock", exact=True)).to_have_count(0)  # a summary until opened
    expect_debug_handler(page, debug_mode)
    mark_page(page)
    open_row(row)
    expect_swapped_in_place(page)
    lock_select = row.get_by_label("Lock", exact=True)
    expect(lock_select.locator("option:disabled", has_text="No gateway")).to_have_text(
        "Garden gate (no gateway) — unavailable: No gateway: link the lock to a TTLock gateway"
    )
    expect(lock_select.locator("option:disabled", has_text="Shed (no keypad)")).to_contain_text("The lock has no keypad")
    expect(lock_select.locator("option:disabled", has_text="Cellar (old keypad)")).to_contain_text("older than V4")
    expect(lock_select.locator("option", has_text="Front door")).to_be_enabled()
    expect(lock_select.locator("option", has_text="Studio (offline)")).to_be_enabled()  # offline never blocks

    # Assign Front door, 3 days ahead, 60 minutes' margin: the row alone is swapped, back to its summary.
    choose_front_door(row, "3", "60")
    row.get_by_role("button", name="Save").click()
    expect(row.get_by_role("status")).to_have_text(SAVED)
    expect_swapped_in_place(page)
    expect(row.locator(".summary")).to_contain_text("Front door · codes made 3 days before arrival · access margin 60 min")
    expect(row.get_by_role("button", name="Remove")).to_be_visible()
    open_row(row)  # the form shows what was saved
    expect(row.get_by_label("Lock", exact=True)).to_have_value(str(Lock.objects.get(name="Front door").pk))
    expect(row.get_by_label("Generate codes X days before arrival")).to_have_value("3")
    assignment = assignment_of(canal_house)
    assert (assignment.lock.name, assignment.lead_days, assignment.margin_minutes) == ("Front door", 3, 60)

    # The lock list can be read again from TTLock.
    page.get_by_role("button", name="Refresh locks").click()
    expect(page.locator(".messages")).to_contain_text(re.compile(r"Locks refreshed: \d+ found, \d+ can take guest codes\."))

    # The Properties page shows the lock, and why the other property has none.
    page.get_by_role("link", name="Properties").click()
    expect(page.locator(f"#property-{canal_house.pk}")).to_contain_text("Front door (TTLock)")
    expect(page.locator(f"#property-{harbour_studio.pk}")).to_contain_text("Not eligible")

    # A confirmed booking arriving tomorrow: the scheduler creates its code on the sandbox lock.
    tomorrow = timezone.localdate() + timedelta(days=1)
    booking = Booking.objects.create(
        property=canal_house, guest_name="Grace Guest", guest_phone="+31 6 12 34 56 78",
        arrival_date=tomorrow, departure_date=tomorrow + timedelta(days=3), status=BookingStatus.CONFIRMED,
    )
    services.booking_created(booking=booking)
    scheduler.run_pass(dispatch=scheduler.process_inline)
    code = AccessCode.objects.get(booking=booking, is_current=True)
    assert code.state == CodeState.ACTIVE and re.fullmatch(r"\d{6}", code.pin)
    assert code.pin in [entry["pin"] for entry in codes_on_front_door(sandbox)]
    assert code.starts_at.astimezone(AMSTERDAM).strftime("%H:%M") == "14:00"  # 15:00 check-in, 60 minutes' margin

    page.get_by_role("link", name="Bookings and codes").click()
    booking_row = page.locator(f"#booking-{booking.pk}")
    expect(booking_row).to_contain_text("Grace Guest")
    expect(booking_row).to_contain_text(re.compile(r"active: \d{6}, \d\d:\d\d \d{1,2} \w{3} → \d\d:\d\d \d{1,2} \w{3}"))
    starts, ends = code.lock_starts_at or code.starts_at, code.lock_ends_at or code.ends_at
    expect(booking_row).to_contain_text(f"active: {code.pin}, {moment(starts)} → {moment(ends)}")

    # Disconnect: Integrations → Manage TTLock → Disconnect → what will happen → confirm.
    page.get_by_role("link", name="Integrations").click()
    expect(page.locator("#card-ttlock")).to_contain_text("1 assigned")
    page.get_by_role("link", name="Manage TTLock").click()
    page.get_by_role("link", name="Disconnect").click()
    expect(page.get_by_role("heading", name=f"Disconnect TTLock ({DEMO_LOGIN})?")).to_be_visible()
    steps = page.locator("main ol > li")
    expect(steps.nth(0)).to_contain_text("revoke the codes of bookings that have not started yet on TTLock locks (1 code)")
    expect(steps.nth(0)).to_contain_text("Grace Guest at Canal House")
    expect(steps.nth(1)).to_contain_text("remove every TTLock lock assignment (1 property: Canal House)")
    expect(steps.nth(2)).to_contain_text("delete the stored TTLock credentials and tokens")
    page.get_by_role("button", name="Disconnect TTLock").click()

    # The request only starts it: "Disconnecting…", no connect form, the assignment already gone.
    page.wait_for_url(f"{live_host.url}/integrations/ttlock/")
    expect(page.locator(".messages")).to_contain_text("Disconnecting TTLock: 1 upcoming code is being revoked; 1 lock assignment removed;")
    expect(page.get_by_role("heading", name="Disconnecting…")).to_be_visible()
    expect(page.get_by_role("heading", name="Connect TTLock")).to_have_count(0)
    expect(page.get_by_role("heading", name="Lock assignments")).to_have_count(0)
    account = ProviderAccount.objects.get(host=live_host.user, provider=Provider.TTLOCK)
    assert account.status == AccountStatus.DISCONNECTING and disconnect_queue == [account.pk]
    assert not LockAssignment.objects.filter(property=canal_house).exists()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    expect(page.locator("#card-ttlock")).to_contain_text("Disconnecting…")

    # The task revokes the code at the sandbox's TTLock, then deletes the credentials.
    account_disconnect_finish(account_id=disconnect_queue.pop())
    page.locator("#card-ttlock").get_by_role("link", name="Follow the disconnection of TTLock").click()
    expect(page.locator("#last-disconnection")).to_contain_text("TTLock is disconnected and its stored credentials are deleted.")
    expect(page.locator("#last-disconnection")).to_contain_text("1 code(s) of upcoming bookings were revoked.")
    expect(page.get_by_role("heading", name="Disconnecting…")).to_have_count(0)
    expect(page.get_by_role("heading", name="Connect TTLock")).to_be_visible()
    expect(page.get_by_label("TTLock app username")).to_be_visible()
    expect(page.get_by_role("heading", name="Lock assignments")).to_have_count(0)

    account = ProviderAccount.objects.get(host=live_host.user, provider=Provider.TTLOCK)
    assert account.status == AccountStatus.DISCONNECTED and account.credentials == {}
    assert not LockAssignment.objects.filter(property=canal_house).exists()
    assert AccessCode.objects.get(pk=code.pk).state == CodeState.REVOKED
    assert code.pin not in [entry["pin"] for entry in codes_on_front_door(sandbox)]


# --- focused flows ----------------------------------------------------------------------------------

def test_row_refuses_15_days_in_place_then_saves_and_removes_without_reloading(
    debug_mode, logged_in_page, live_host, ttlock_account, canal_house
):
    page = logged_in_page
    panel(page, live_host)
    expect_debug_handler(page, debug_mode)
    row = row_of(page, canal_house)
    mark_page(page)
    open_row(row)

    choose_front_door(row, "15", "60")
    row.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Choose from 1 to 14 days.")
    expect_swapped_in_place(page)
    expect(row.get_by_label("Generate codes X days before arrival")).to_have_value("15")  # kept to correct
    expect(row.get_by_role("status")).to_have_count(0)
    assert assignment_of(canal_house) is None

    row.get_by_label("Generate codes X days before arrival").fill("3")
    row.get_by_role("button", name="Save").click()
    expect(row.get_by_role("status")).to_have_text(SAVED)
    expect(row).not_to_contain_text("Choose from 1 to 14 days.")
    assert (assignment_of(canal_house).lead_days, assignment_of(canal_house).margin_minutes) == (3, 60)

    # 15 again on an existing assignment: refused, the stored settings untouched.
    open_row(row)
    expect(row.get_by_label("Generate codes X days before arrival")).to_have_value("3")
    row.get_by_label("Generate codes X days before arrival").fill("15")
    row.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Choose from 1 to 14 days.")
    expect_swapped_in_place(page)
    assert assignment_of(canal_house).lead_days == 3

    row.get_by_role("button", name="Remove").click()
    expect(row.get_by_role("status")).to_contain_text("Removed Front door from Canal House.")
    expect(row.get_by_role("button", name="Remove")).to_have_count(0)
    expect(row).to_contain_text("No TTLock lock.")
    open_row(row)
    expect(row.get_by_label("Lock", exact=True)).to_have_value("")
    assert assignment_of(canal_house) is None
    assert page_was_not_reloaded(page)


def test_row_refuses_a_margin_of_241_minutes_in_place_then_saves_240(debug_mode, logged_in_page, live_host, ttlock_account, canal_house):
    page = logged_in_page
    panel(page, live_host)
    expect_debug_handler(page, debug_mode)
    row = row_of(page, canal_house)
    mark_page(page)
    open_row(row)

    choose_front_door(row, "3", "241")
    row.get_by_role("button", name="Save").click()
    expect(row.locator(".errorlist")).to_have_text("Choose from 0 to 240 minutes (4 hours).")
    expect_swapped_in_place(page)
    expect(row.get_by_label("Access margin")).to_have_value("241")  # kept to correct
    expect(row.get_by_role("status")).to_have_count(0)
    assert assignment_of(canal_house) is None

    row.get_by_label("Access margin").fill("240")
    row.get_by_role("button", name="Save").click()
    expect(row.get_by_role("status")).to_have_text(SAVED)
    expect(row.locator(".errorlist")).to_have_count(0)
    expect_swapped_in_place(page)
    assert (assignment_of(canal_house).lead_days, assignment_of(canal_house).margin_minutes) == (3, 240)


def test_a_property_with_a_nuki_lock_is_refused_a_ttlock_lock(debug_mode, logged_in_page, live_host, ttlock_account, canal_house):
    nuki = ProviderAccount.objects.create(host=live_host.user, provider=Provider.NUKI, display_name="Nuki account")
    nuki_lock = Lock.objects.create(account=nuki, vendor_lock_id="17179869185", name="Nuki back door", supports_remote_codes=True)
    services.lock_assignment_set(prop=canal_house, lock=nuki_lock)
    page = logged_in_page

    panel(page, live_host)
    expect_debug_handler(page, debug_mode)
    row = row_of(page, canal_house)
    said = page.locator("main").get_by_text("This property already has a Nuki lock")
    expect(row).to_contain_text("This property already has a Nuki lock (Nuki back door). Remove it in the Nuki panel")
    expect(said).to_have_count(1)
    mark_page(page)
    open_row(row)
    expect(said).to_have_count(1)
    choose_front_door(row, "3", "60")
    row.get_by_role("button", name="Save").click()

    expect(row.get_by_role("alert")).to_have_text(
        "This property already has a Nuki lock (Nuki back door). Remove the Nuki lock first, then assign this one."
    )
    expect_swapped_in_place(page)
    expect(said).to_have_count(1)  # the refusal replaces the standing note: said once
    expect(row.get_by_role("status")).to_have_count(0)
    assignment = assignment_of(canal_house)
    assert (assignment.lock_id, assignment.lead_days, assignment.margin_minutes) == (nuki_lock.pk, 5, 30)
    assert not LockAssignment.objects.filter(lock__account=ttlock_account).exists()


def test_the_assignment_row_works_with_the_keyboard_only(debug_mode, logged_in_page, live_host, ttlock_account, canal_house):
    page = logged_in_page
    panel(page, live_host)
    expect_debug_handler(page, debug_mode)
    row = row_of(page, canal_house)
    mark_page(page)

    row.get_by_role("link", name="Choose a lock").focus()
    page.keyboard.press("Enter")  # the row's form comes in place of its summary, the lock dropdown focused
    expect(row.get_by_label("Lock", exact=True)).to_be_focused()
    # Keys only once htmx has settled the swap, as a person's would come (a key during the settle
    # delay could land before htmx moved the focus).
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")
    expect(row.get_by_label("Lock", exact=True)).to_be_focused()
    page.keyboard.press("ArrowDown")  # skips the disabled "Cellar (old keypad)"
    expect(row.get_by_label("Lock", exact=True)).to_have_value(str(Lock.objects.get(name="Front door").pk))
    page.keyboard.press("Tab")
    expect(row.get_by_label("Generate codes X days before arrival")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("4")
    page.keyboard.press("Tab")
    expect(row.get_by_label("Access margin")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("45")
    page.keyboard.press("Tab")
    expect(row.get_by_label("Code source")).to_be_focused()
    page.keyboard.press("Tab")  # TTLock reads its access log: the two email choices come next
    expect(row.get_by_label("Email me when a guest first enters")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(row.get_by_label("Email me when a code was not used by the end of check-in day")).to_be_focused()
    page.keyboard.press("Tab")  # the escalation ladder's settings, folded: their summary, then Save
    expect(row.get_by_text("If a guest's code is not on the lock in time")).to_be_focused()
    page.keyboard.press("Tab")
    expect(row.get_by_role("button", name="Save")).to_be_focused()
    page.keyboard.press("Enter")

    expect(row.get_by_role("status")).to_have_text(SAVED)
    expect(row.get_by_role("link", name="Edit")).to_be_focused()  # the focus stays in the row
    assert page_was_not_reloaded(page)
    assignment = assignment_of(canal_house)
    assert (assignment.lock.name, assignment.lead_days, assignment.margin_minutes) == ("Front door", 4, 45)
    assert (assignment.notify_first_entry, assignment.notify_unused_code) == (True, False)


def _assert_no_horizontal_scroll(page, what: str) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{what} scrolls sideways on a phone: scrollWidth {widths[0]} > innerWidth {widths[1]}"


def test_integrations_page_and_connect_panel_fit_a_phone_screen(logged_in_page, live_host, vendors_on_sandbox, canal_house):
    page = logged_in_page
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"{live_host.url}/integrations/")
    expect(page.get_by_role("link", name="Connect TTLock")).to_be_visible()
    _assert_no_horizontal_scroll(page, "the integrations page")
    panel(page, live_host)
    expect(page.get_by_label("TTLock app username")).to_be_visible()
    _assert_no_horizontal_scroll(page, "the TTLock panel's connect form")

    from locks.connect.services import connect_with_credentials

    connect_with_credentials(
        host=live_host.user, provider="ttlock", method="password", values={"username": DEMO_LOGIN, "password": TTLOCK_PASSWORD}
    )
    page.goto(f"{live_host.url}/integrations/")
    expect(page.get_by_role("link", name="Manage TTLock")).to_be_visible()
    _assert_no_horizontal_scroll(page, "the integrations page with TTLock connected")


def test_lock_assignments_panel_fits_a_phone_screen(logged_in_page, live_host, ttlock_account, canal_house):
    page = logged_in_page
    page.set_viewport_size({"width": 390, "height": 844})

    panel(page, live_host)
    expect(page.get_by_role("heading", name="Lock assignments")).to_be_visible()
    _assert_no_horizontal_scroll(page, "the TTLock panel's lock assignments")


def test_without_javascript_a_lock_is_assigned_by_a_full_page_post(browser, live_host, ttlock_account, canal_house):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        log_in(page, live_host)
        panel(page, live_host)
        row = row_of(page, canal_house)
        row.get_by_role("link", name="Choose a lock").click()  # the panel again, with this row's form
        page.wait_for_url(f"{live_host.url}/integrations/ttlock/?edit={canal_house.pk}#property-{canal_house.pk}")

        choose_front_door(row, "15", "60")
        row.get_by_role("button", name="Save").click()
        expect(row_of(page, canal_house)).to_contain_text("Choose from 1 to 14 days.")  # the panel again, the row's error shown
        assert assignment_of(canal_house) is None

        row = row_of(page, canal_house)
        choose_front_door(row, "2", "90")
        row.get_by_role("button", name="Save").click()
        page.wait_for_url(f"{live_host.url}/integrations/ttlock/#property-{canal_house.pk}")
        expect(page.locator(".messages")).to_have_text(SAVED)
        expect(row_of(page, canal_house).locator(".summary")).to_contain_text("codes made 2 days before arrival · access margin 90 min")
        row_of(page, canal_house).get_by_role("link", name="Edit").click()
        expect(row_of(page, canal_house).get_by_label("Generate codes X days before arrival")).to_have_value("2")
        assignment = assignment_of(canal_house)
        assert (assignment.lock.name, assignment.lead_days, assignment.margin_minutes) == ("Front door", 2, 90)
    finally:
        context.close()


def test_the_property_country_is_chosen_on_the_settings_page_on_a_phone_screen(logged_in_page, live_host, canal_house):
    page = logged_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_host.url}/properties/{canal_house.pk}/settings/")
    country = page.get_by_label("Country")
    expect(country).to_have_value("")
    expect(country.locator("option:checked")).to_have_text("The time zone's country (Netherlands)")
    _assert_no_horizontal_scroll(page, "the property settings page with its list of countries")

    country.select_option("BE")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{live_host.url}/properties/")
    canal_house.refresh_from_db()
    assert canal_house.country == "BE"
