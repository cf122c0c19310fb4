"""Browser tests: Playwright drives Debian's headless Chromium (/usr/bin/chromium) against pytest-django's
live server. Without that binary they are skipped; `make browser` (root) installs it."""

import os
import re
from pathlib import Path
from typing import NamedTuple

import pytest
from django.contrib.auth import get_user_model

from tests.helpers.repository import ROOT

# Playwright's sync API keeps an asyncio loop running in this thread, so Django would refuse ORM calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_MISSING = f"Chromium not found at {CHROMIUM}: run `sudo apt-get install chromium` (or `make browser`) to run the browser tests"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run",
]
TIMEOUT_MS = 10_000
FAILURES_DIR = ROOT / "var" / "browser-failures"


class LiveHost(NamedTuple):
    url: str  # the live server's base URL, without a trailing slash
    username: str
    password: str
    user: object


def pytest_collection_modifyitems(items):
    """Browser tests last: once started, Playwright's event loop stays in this thread until the session ends."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)  # read by the `page` fixture to screenshot failures
    return report


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(CHROMIUM_MISSING)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        reports = (getattr(request.node, "rep_setup", None), getattr(request.node, "rep_call", None))
        failed = next((report for report in reports if report is not None and report.failed), None)
        if failed:
            _screenshot(page, request.node, failed)
        context.close()


def _screenshot(page, item, report) -> None:
    path = FAILURES_DIR / (re.sub(r"[^\w.-]+", "_", item.name) + ".png")
    try:
        FAILURES_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        note = f"{path} (page URL: {page.url})"
    except Exception as error:  # a screenshot must never hide the test's own failure
        note = f"no screenshot: {error}"
    report.sections.append(("browser screenshot", note))  # shown with the failure in the summary


@pytest.fixture
def live_host(live_server):
    username, password = "browser-host", "browser-pass-123"
    user = get_user_model().objects.create_user(username=username, email="browser-host@example.com", password=password)
    return LiveHost(url=live_server.url.rstrip("/"), username=username, password=password, user=user)


@pytest.fixture
def logged_in_page(page, live_host):
    """A page logged in as the live host through the real login form."""
    page.goto(f"{live_host.url}/accounts/login/")
    form = page.locator("form").filter(has=page.locator('input[name="password"]'))
    form.locator('input[name="username"]').fill(live_host.username)
    form.locator('input[name="password"]').fill(live_host.password)
    form.locator('[type="submit"]').click()
    page.wait_for_url(f"{live_host.url}/")
    return page


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug_mode(request, settings) -> bool:
    """The page as `make test` (DEBUG off) and as `make run` (DEBUG on) serve it. With DEBUG on,
    django-htmx adds its debug error handler (django-htmx.js), which replaces the whole document
    with any 400/403/404/500 answer to an htmx request; templates read settings.DEBUG when they
    render, in the live server's thread too."""
    settings.DEBUG = request.param
    return request.param
