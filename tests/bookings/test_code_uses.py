"""When a guest's code was used (issue 19): "first used 15:42, 12 Mar" in the property's time on
"Bookings and codes" and on the booking's page, "not used yet" for a code on the lock that was not
used, nothing for a brand whose access log Nowistay does not read; the CSV export's two columns."""

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.reauth import SESSION_KEY
from bookings.code_uses import code_use_text
from locks import services
from locks.models import AccessCode, CodeState
from locks.providers import registry
from tests.helpers.lifecycle import current, tick

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

FIRST_USE = datetime(2026, 3, 12, 14, 42, tzinfo=UTC)  # 15:42 in Paris
LATEST_USE = datetime(2026, 3, 14, 8, 5, tzinfo=UTC)  # 09:05 in Paris


@pytest.fixture
def reads_access_log(fake_cloud, monkeypatch):
    fake = registry.provider_class("ttlock")
    monkeypatch.setattr(fake, "capabilities", replace(fake.capabilities, access_log=True))


@pytest.fixture
def logged_in(client, host):
    client.force_login(host)
    return client


@pytest.fixture
def staying(assigned_property, book):
    """Grace, staying now at Flat L1 (Paris, TTLock): her code is active on the lock."""
    prop = assigned_property()
    today = timezone.localdate()
    booking = book(prop, today - timedelta(days=1), today + timedelta(days=2))
    services.booking_confirmed(booking=booking)
    tick()
    assert current(booking).state == CodeState.ACTIVE
    return booking


def used(booking, first=FIRST_USE, last=None):
    AccessCode.objects.filter(pk=current(booking).pk).update(first_used_at=first, last_used_at=last or first)


def code_cell(client, booking) -> str:
    content = client.get(reverse("bookings:codes")).content.decode()
    start = content.index(f'<tr id="booking-{booking.pk}">')
    return content[start : content.index("</tr>", start)]


def detail(client, booking) -> str:
    content = client.get(reverse("booking_pages:edit", args=[booking.pk])).content.decode()
    start = content.index('id="code-state"')
    return content[start : content.index("</dd>", start)]


class TestTheWords:
    def test_first_and_latest_use_in_the_property_time(self, reads_access_log, staying):
        used(staying, last=LATEST_USE)
        assert code_use_text(current(staying), time_zone="Europe/Paris") == "first used 15:42, 12 Mar, last used 09:05, 14 Mar"

    def test_one_use_says_it_once(self, reads_access_log, staying):
        used(staying)
        assert code_use_text(current(staying), time_zone="Europe/Paris") == "first used 15:42, 12 Mar"

    def test_not_used_yet_then_never_used_once_finished(self, reads_access_log, staying):
        code = current(staying)
        assert code_use_text(code, time_zone="Europe/Paris") == "not used yet"
        code.state = CodeState.EXPIRED
        assert code_use_text(code, time_zone="Europe/Paris") == "never used"

    def test_nothing_for_a_code_never_on_the_lock(self, reads_access_log, staying):
        code = current(staying)
        code.activated_at, code.state = None, CodeState.REVOKED
        assert code_use_text(code, time_zone="Europe/Paris") == ""
        assert code_use_text(None, time_zone="Europe/Paris") == ""

    def test_nothing_where_the_access_log_is_not_read(self, staying):
        used(staying)
        assert code_use_text(current(staying), time_zone="Europe/Paris") == ""


class TestThePages:
    def test_the_codes_page_and_the_booking_page_say_first_used(self, reads_access_log, logged_in, staying):
        used(staying)
        assert "first used 15:42, 12 Mar" in code_cell(logged_in, staying)
        assert "first used 15:42, 12 Mar" in detail(logged_in, staying)

    def test_not_used_yet(self, reads_access_log, logged_in, staying):
        assert "not used yet" in code_cell(logged_in, staying)
        assert "not used yet" in detail(logged_in, staying)

    def test_nothing_said_without_an_access_log(self, logged_in, staying):
        used(staying)
        assert "code-use" not in code_cell(logged_in, staying)
        assert "first used" not in detail(logged_in, staying) and "not used yet" not in detail(logged_in, staying)


def test_the_csv_export_has_the_first_and_last_use(reads_access_log, client, host, staying):
    used(staying, last=LATEST_USE)
    client.force_login(host)
    session = client.session
    session[SESSION_KEY] = timezone.now().timestamp()
    session.save()
    response = client.get(reverse("bookings:codes_export"))
    header, row = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    cells = dict(zip(header, row, strict=True))
    assert cells["First used (property time)"] == "2026-03-12 15:42"
    assert cells["Last used (property time)"] == "2026-03-14 09:05"
