"""Smoke tests in a real browser: the login page, logging in, the login redirect and static files."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]  # whitenoise without collectstatic


def test_login_page_renders_with_labelled_fields(page, live_server):
    response = page.goto(f"{live_server.url}/accounts/login/")

    assert response.status == 200
    expect(page).to_have_title(re.compile("Log in"))
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_attribute("name", "username")
    expect(page.get_by_label("Password")).to_have_attribute("type", "password")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_logging_in_through_the_form_lands_on_home_with_the_username(logged_in_page, live_host):
    assert logged_in_page.url == f"{live_host.url}/"
    expect(logged_in_page.locator("header")).to_contain_text(live_host.username)
    expect(logged_in_page.get_by_role("button", name="Log out")).to_be_visible()


def test_wrong_password_stays_on_the_login_page(page, live_host):
    page.goto(f"{live_host.url}/accounts/login/")
    page.get_by_label("Username").fill(live_host.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.locator(".errorlist")).to_be_visible()
    assert page.url.startswith(f"{live_host.url}/accounts/login/")


def test_anonymous_visit_to_home_redirects_to_login(page, live_server):
    page.goto(f"{live_server.url}/")

    assert page.url == f"{live_server.url}/accounts/login/?next=/"
    expect(page.get_by_label("Password")).to_be_visible()


def test_static_file_is_served(page, live_server):
    response = page.goto(f"{live_server.url}/static/admin/css/base.css")

    assert response.status == 200
    assert "text/css" in response.headers["content-type"]
    assert "body" in response.text()


def test_static_assets_of_the_login_page_load(page, live_server):
    """Whatever scripts and stylesheets the templates link (the htmx script among them) are served."""
    static_prefix = f"{live_server.url}/static/"
    broken = []

    def on_response(response):
        if response.url.startswith(static_prefix) and not response.ok:
            broken.append(f"{response.status} {response.url}")

    def on_failed(request):
        if request.url.startswith(static_prefix):
            broken.append(f"failed: {request.url}")

    page.on("response", on_response)
    page.on("requestfailed", on_failed)

    page.goto(f"{live_server.url}/accounts/login/", wait_until="load")

    assert broken == []
