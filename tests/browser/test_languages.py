"""The dashboard in French and Spanish, in headless Chromium against the live server: a host switches
to French with the header's language switch (kept in their profile), and a host whose browser asks
for Spanish signs in and works in Spanish without choosing anything. What each page should say is
read from the compiled catalogues, so the tests follow the translations rather than copy them."""

import re
from datetime import date

import pytest
from django.utils import translation
from playwright.sync_api import expect

from accounts.models import HostPreferences
from bookings.models import Booking, BookingStatus, PmsSource, Property
from tests.browser.conftest import TIMEOUT_MS
from tests.nowistay.test_pages_in_every_language import ENGLISH_ONLY

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


def said_in(language: str, text: str, context: str | None = None) -> str:
    with translation.override(language):
        return translation.pgettext(context, text) if context else translation.gettext(text)


def english_words(text: str) -> set[str]:
    return {word for word in re.findall(r"[A-Za-z]+", text.lower()) if word in ENGLISH_ONLY}


@pytest.fixture
def canal_house(live_host):
    prop = Property.objects.create(host=live_host.user, name="Canal House", time_zone="Europe/Amsterdam", pms_source=PmsSource.NOWISTAY)
    Booking.objects.create(
        property=prop, guest_name="Ada Lovelace", arrival_date=date(2031, 3, 12), departure_date=date(2031, 3, 15),
        status=BookingStatus.CONFIRMED, guest_phone="+34612345678",
    )
    return prop


def test_a_host_switches_the_dashboard_to_french_and_it_stays_french(logged_in_page, live_host, canal_house):
    page = logged_in_page
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Change", exact=True).click()

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name=said_in("fr", "Integrations"))).to_be_visible()
    expect(page.get_by_role("heading", name=said_in("fr", "Smart lock accounts"))).to_be_visible()
    assert HostPreferences.objects.get(user=live_host.user).language == "fr"

    nav.get_by_role("link", name=said_in("fr", "Bookings"), exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_text("Ada Lovelace")).to_be_visible()
    expect(page.get_by_text("12 mars 2031").or_(page.get_by_text("12 mar 2031")).first).to_be_visible()
    assert not english_words(page.locator("main").inner_text())

    nav.get_by_role("link", name=said_in("fr", "Integrations")).click()
    assert not english_words(page.locator("main").inner_text())


def test_a_host_whose_browser_asks_for_spanish_works_in_spanish(browser, live_host, canal_house):
    context = browser.new_context(locale="es-ES", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(f"{live_host.url}/accounts/login/")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        form = page.locator("form").filter(has=page.locator('input[name="password"]'))
        form.locator('input[name="username"]').fill(live_host.username)
        form.locator('input[name="password"]').fill(live_host.password)
        form.locator('[type="submit"]').click()
        page.wait_for_url(f"{live_host.url}/")

        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_role("heading", name=said_in("es", "Your properties"))).to_be_visible()
        assert not english_words(page.locator("main").inner_text())

        page.get_by_role("navigation").get_by_role("link", name=said_in("es", "Guest messages")).click()
        expect(page.locator("html")).to_have_attribute("lang", "es")
        assert not english_words(page.locator("main").inner_text())
        assert HostPreferences.objects.get(user=live_host.user).language == ""  # the browser's, chosen by nobody
    finally:
        context.close()
