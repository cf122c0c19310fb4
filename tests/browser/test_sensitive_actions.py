"""In a real browser: downloading the door codes asks for the password again when it was not
confirmed recently, then the CSV arrives as a download (accounts.reauth, bookings.exports)."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from playwright.sync_api import expect

from accounts.reauth import SESSION_KEY
from locks import services as lifecycle
from tests.helpers.lifecycle import current, tick

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


def forget_every_confirmation() -> None:
    """As if the sign-in were long ago: no session holds a recent confirmation any more."""
    for row in Session.objects.all():
        data = row.get_decoded()
        data.pop(SESSION_KEY, None)
        row.session_data = Session.objects.encode(data)
        row.save()


@pytest.fixture
def guest_with_a_code(live_host, make_property, make_lock, book):
    """The live host's "Canal House" with a lock, and a guest arriving tomorrow whose code is on it."""
    from locks.models import LockAssignment

    prop = make_property(host=live_host.user, name="Canal House")
    LockAssignment.objects.create(property=prop, lock=make_lock("L1", account_host=live_host.user))
    arrival = timezone.localdate() + timedelta(days=1)
    booking = book(prop, arrival, arrival + timedelta(days=2), guest_name="Ada Arriving")
    lifecycle.booking_confirmed(booking=booking)
    tick()
    return current(booking)


def test_downloading_codes_asks_for_the_password_then_downloads(logged_in_page, live_host, guest_with_a_code):
    page = logged_in_page
    forget_every_confirmation()
    page.goto(f"{live_host.url}/bookings/codes/")
    page.get_by_role("link", name="Download codes (CSV)").click()

    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.get_by_label("Your password").fill(live_host.password)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Confirm").click()
    download = download_info.value

    assert download.suggested_filename.startswith("nowistay-codes-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as file:
        header, *rows = list(csv.reader(io.StringIO(file.read())))
    assert [row[1] for row in rows] == ["Ada Arriving"]
    assert rows[0][header.index("PIN")] == guest_with_a_code.pin and rows[0][header.index("Code state")] == "active"


def test_the_bookings_page_downloads_its_list_and_asks_for_the_password_only_for_door_codes(
    logged_in_page, live_host, guest_with_a_code
):
    page = logged_in_page
    forget_every_confirmation()
    page.goto(f"{live_host.url}/bookings/")
    with page.expect_download() as plain:
        page.get_by_role("link", name="Download these bookings (CSV)").click()
    with open(plain.value.path(), encoding="utf-8-sig") as file:
        header, *rows = list(csv.reader(io.StringIO(file.read())))
    assert "PIN" not in header and [row[1] for row in rows] == ["Ada Arriving"]

    page.get_by_role("link", name="… with door codes (asks for your password)").click()
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.get_by_label("Your password").fill(live_host.password)
    with page.expect_download() as with_pins:
        page.get_by_role("button", name="Confirm").click()
    assert with_pins.value.suggested_filename.startswith("nowistay-bookings-with-pins-")
    with open(with_pins.value.path(), encoding="utf-8-sig") as file:
        header, *rows = list(csv.reader(io.StringIO(file.read())))
    assert rows[0][header.index("PIN")] == guest_with_a_code.pin
