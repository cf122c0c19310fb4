"""Two-factor authentication in a real browser: a host turns it on from the Security page (the QR code,
the secret, a code from the "app", the recovery codes shown once), then signs in with it; and the
lock-out page names the time to come back in the browser's own time zone."""

import re
from base64 import b32decode
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


def app_code(secret: str, *, steps_later: int = 0) -> str:
    """What an authenticator app shows for `secret` (as the page gives it), now or `steps_later` steps on."""
    key = b32decode(secret.replace(" ", ""))
    return str(totp(key, t0=-30 * steps_later)).zfill(6)


def sign_in_with_password(page, live_host) -> None:
    page.goto(f"{live_host.url}/accounts/login/")
    page.get_by_label("Username").fill(live_host.username)
    page.get_by_label("Password").fill(live_host.password)
    page.get_by_role("button", name="Log in").click()


def test_a_host_turns_on_two_factor_and_signs_in_with_it(logged_in_page, live_host):
    page = logged_in_page
    page.get_by_role("link", name="Security").click()
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    page.get_by_role("link", name="Turn on two-factor authentication").click()

    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    assert page.locator("#totp-uri").inner_text().startswith("otpauth://totp/Nowistay")
    page.get_by_label("Code from your authenticator app").fill(app_code(secret))
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_role("heading", name="Two-factor authentication is on")).to_be_visible()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{4}-[a-z2-7]{4}", code) for code in codes)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("On: signing in asks for a code")).to_be_visible()
    expect(page.get_by_text("Two-factor authentication turned on")).to_be_visible()  # the security log

    page.get_by_role("button", name="Log out").click()
    sign_in_with_password(page, live_host)
    expect(page.get_by_role("heading", name="Two-factor code")).to_be_visible()
    assert page.url == f"{live_host.url}/accounts/login/code/"
    newer_code = app_code(secret, steps_later=1)  # a newer code than the one used
    page.get_by_label(re.compile("Code from your authenticator app")).fill(newer_code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_host.url}/")
    expect(page.locator("header")).to_contain_text(live_host.username)


def test_a_recovery_code_signs_in_instead_of_the_app(logged_in_page, live_host):
    page = logged_in_page
    page.goto(f"{live_host.url}/settings/security/two-factor/")
    page.get_by_label("Code from your authenticator app").fill(app_code(page.locator("#totp-secret").inner_text()))
    page.get_by_role("button", name="Turn on").click()
    first_code = page.locator("#recovery-codes li").first.inner_text()
    page.get_by_role("link", name="I have saved them").click()
    page.get_by_role("button", name="Log out").click()

    sign_in_with_password(page, live_host)
    page.get_by_label(re.compile("recovery code")).fill(first_code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_host.url}/")
    page.goto(f"{live_host.url}/settings/security/")
    expect(page.get_by_text("Recovery codes left: 9")).to_be_visible()
    expect(page.get_by_text("Recovery code used")).to_be_visible()


def test_the_lock_out_page_names_the_time_in_the_browsers_zone(browser, live_host):
    context = browser.new_context(timezone_id="Asia/Kathmandu", locale="en-GB")  # UTC+05:45
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        for attempt in range(5):
            page.goto(f"{live_host.url}/accounts/login/")
            page.get_by_label("Username").fill(live_host.username)
            page.get_by_label("Password").fill(f"wrong-{attempt}")
            page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Too many failed sign-ins")).to_be_visible()
        moment = page.locator("time[data-local]")
        ends_at = datetime.fromisoformat(moment.get_attribute("datetime")).astimezone(ZoneInfo("Asia/Kathmandu"))
        expect(moment).to_have_text(re.compile(rf"{ends_at:%H:%M}$"))  # the date first when it is another day
    finally:
        context.close()
