"""A code's typed errors and warnings (locks.code_problems) on the host's pages: the booking page and
"Bookings and codes" list them as short labelled items with their message, next to the status."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils.html import escape
from freezegun import freeze_time

# Load the URLconf now, not first inside freeze_time (tests/bookings/test_booking_pages.py).
import nowistay.urls  # noqa: F401
from locks import services
from locks.models import FindingKind, LockFinding
from locks.providers.exceptions import LockOffline
from tests.helpers.lifecycle import current, tick

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

NOW = "2026-03-11 09:00:00"
OFFLINE = "Error: Lock offline</strong> — " + escape("The lock or its gateway is offline: the code cannot reach it.")


@pytest.fixture
def logged_in(client, host):
    with freeze_time(NOW):
        client.force_login(host)
    return client


@pytest.fixture
def made(assigned_property, book, fake_cloud):
    def make(fault=None):
        prop = assigned_property()
        if fault is not None:
            fake_cloud.fail_next("create_code", fault)
        with freeze_time(NOW):
            booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
            services.booking_created(booking=booking)
            tick()
        return booking

    return make


def page(client, url: str) -> str:
    with freeze_time(NOW):
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_a_failing_code_shows_its_error_on_both_pages(logged_in, made):
    booking = made(LockOffline("The gateway is offline."))
    for url in (reverse("booking_pages:edit", args=[booking.pk]), reverse("bookings:codes")):
        content = page(logged_in, url)
        assert OFFLINE in content, url
        assert "retrying: lock or gateway offline" in content  # the status text stays


def test_an_active_code_lists_a_finding_until_it_is_confirmed_again(logged_in, made):
    booking = made()
    code = current(booking)
    LockFinding.objects.create(lock=code.lock, access_code=code, kind=FindingKind.MODIFIED_EXTERNALLY, detail="Restored.")
    content = page(logged_in, reverse("bookings:codes"))
    assert 'data-code="modified_externally"' in content and "Error: Changed outside Nowistay" in content
    assert "Warning: Cannot be checked on the lock" in content
    code.confirmed_on_lock_at = code.created_at.replace(year=2027)
    code.save()
    assert 'data-code="modified_externally"' not in page(logged_in, reverse("bookings:codes"))
