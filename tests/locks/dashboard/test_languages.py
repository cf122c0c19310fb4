"""The integrations pages in the host's language, and the words built in Python (locks.code_words,
locks.moments): English exactly as before, day and month names in the active language."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import translation

from locks.code_words import at_text, day_text, moment_text, until_text
from locks.dashboard.lock_options import LockOption
from locks.models import Lock
from locks.moments import local_time, utc_time
from tests.locks.dashboard.pages import panel_url

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def english_afterwards():
    """A request activates its language for the thread: later tests read English again."""
    yield
    translation.activate("en")


NOW = datetime(2026, 6, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("language", ["fr", "es", "de", "it", "pt"])
def test_the_integrations_pages_render_in_the_browsers_language(logged_in, assigned_property, language):
    assigned_property()
    for url in (reverse("integrations:index"), panel_url("ttlock")):
        response = logged_in.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        assert f'<html lang="{language}">'.encode() in response.content


def test_the_panel_in_english_is_unchanged(logged_in, assigned_property):
    assigned_property()
    content = logged_in.get(panel_url("ttlock"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Lock assignments" in content
    assert "1 lock in this account" in content
    assert "If a guest's code is not on the lock in time: email me 24 h before check-in;" in content


def test_times_in_english_read_as_before():
    assert at_text(datetime(2026, 6, 5, 9, 0, tzinfo=UTC), NOW, PARIS) == "11:00"
    assert at_text(datetime(2026, 6, 5, 22, 45, tzinfo=UTC), NOW, PARIS) == "00:45 on 6 Jun"
    assert until_text(datetime(2026, 6, 5, 22, 0, tzinfo=UTC), NOW, PARIS) == "midnight at the end of 5 June"
    assert day_text(datetime(2027, 1, 2).date(), NOW, PARIS) == "2 January 2027"
    assert moment_text(datetime(2026, 9, 1, 12, 0, tzinfo=UTC), PARIS) == "14:00 1 Sep"
    assert local_time(datetime(2026, 3, 15, 10, 30, tzinfo=UTC), "Europe/Paris") == "11:30 on 15 March 2026"
    assert utc_time(datetime(2026, 12, 31, 16, 0, tzinfo=UTC)) == "16:00 UTC on 31 December 2026"


def test_day_and_month_names_follow_the_active_language():
    with translation.override("fr"):
        assert day_text(datetime(2026, 6, 6).date(), NOW, PARIS) == "6 juin"
    with translation.override("de"):
        assert day_text(datetime(2026, 3, 6).date(), NOW, PARIS) == "6 März"


def test_a_locks_availability_is_one_phrase(make_property):
    prop = make_property(name="Flat 2")
    lock = Lock(name="Door", is_online=False, supports_remote_codes=True)
    assert LockOption(lock, None).availability == "available, offline now"
    assert LockOption(lock, prop).availability == "available, offline now, assigned to Flat 2"
    lock.is_online = None
    assert LockOption(lock, prop).availability == "available, assigned to Flat 2"
