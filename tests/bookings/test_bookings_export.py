"""The bookings page's CSV export: the bookings its filters select with their codes' states; no PIN
unless asked for, and then only after the password was confirmed recently, written to the
security log; never another host's booking; streamed, a constant number of queries."""

import csv
import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import SecurityEvent, SecurityEventKind
from bookings.exports import HEADER, HEADER_WITHOUT_PIN
from locks import services as lifecycle
from locks.models import CodeState
from tests.helpers.lifecycle import current, tick
from tests.helpers.sessions import sign_in

pytestmark = pytest.mark.django_db

EXPORT_URL = "/bookings/export.csv"




def rows_of(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, *rows = csv.reader(io.StringIO(text))
    return [dict(zip(header, row, strict=True)) for row in rows], header


@pytest.fixture
def stays(assigned_property, make_property, book, other_host, fake_cloud):
    """A flat with a lock: a guest arriving tomorrow (code active), one in 30 days, one who left
    last week; a second flat without a lock; another host's booking."""
    prop = assigned_property()
    today = timezone.localdate()
    soon = book(prop, today + timedelta(days=1), today + timedelta(days=3), guest_name="Ada Soon")
    later = book(prop, today + timedelta(days=30), today + timedelta(days=32), guest_name="=HYPERLINK(\"x\")")
    gone = book(prop, today - timedelta(days=10), today - timedelta(days=7), guest_name="Di Gone")
    for booking in (soon, later):
        lifecycle.booking_confirmed(booking=booking)
    tick()
    unlocked = make_property(name="No Lock Loft")
    book(unlocked, today + timedelta(days=5), today + timedelta(days=6), guest_name="Flo Nolock")
    theirs = make_property(host=other_host, name="Their Flat")
    book(theirs, today + timedelta(days=1), today + timedelta(days=2), guest_name="Eve Elsewhere")
    return {"prop": prop, "soon": soon, "later": later, "gone": gone}


def test_without_pins_it_needs_no_password_and_carries_no_pin(client, host, stays):
    active = current(stays["soon"])
    assert active.state == CodeState.ACTIVE and active.pin
    sign_in(client, host, confirmed=False)
    response = client.get(EXPORT_URL)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="nowistay-bookings-{timezone.now():%Y-%m-%d}.csv"'
    assert "no-store" in response["Cache-Control"]
    rows, header = rows_of(response)
    assert header == HEADER_WITHOUT_PIN and "PIN" not in header
    by_guest = {row["Guest"]: row for row in rows}
    # As the page: current and upcoming by default, every property of the host's, nobody else's.
    assert set(by_guest) == {"Ada Soon", "'=HYPERLINK(\"x\")", "Flo Nolock"}
    assert by_guest["Ada Soon"]["Code state"] == "active"
    assert active.pin not in b"".join(client.get(EXPORT_URL).streaming_content).decode()
    assert not SecurityEvent.objects.filter(kind=SecurityEventKind.CODES_EXPORTED).exists()


def test_the_pages_filters_apply(client, host, stays):
    sign_in(client, host, confirmed=False)
    today = timezone.localdate()
    query = f"?arrival_from={today - timedelta(days=20)}&arrival_to={today + timedelta(days=2)}&property={stays['prop'].pk}"
    rows, _ = rows_of(client.get(EXPORT_URL + query))
    assert sorted(row["Guest"] for row in rows) == ["Ada Soon", "Di Gone"]  # the stay that ended is in the dates chosen


def test_invalid_filters_answer_400_with_nothing_exported(client, host, stays):
    sign_in(client, host, confirmed=False)
    response = client.get(EXPORT_URL + "?arrival_from=not-a-date&property=99999999")
    assert response.status_code == 400
    assert b"Ada Soon" not in response.content and b"The filters are not valid" in response.content


def test_pins_ask_for_the_password_first(client, host, stays):
    sign_in(client, host, confirmed=False)
    response = client.get(EXPORT_URL + "?pins=1")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/accounts/confirm/" and parse_qs(location.query)["next"] == [EXPORT_URL + "?pins=1"]
    assert not SecurityEvent.objects.filter(kind=SecurityEventKind.CODES_EXPORTED).exists()


def test_confirmed_pins_are_exported_and_logged(client, host, stays):
    active = current(stays["soon"])
    sign_in(client, host, confirmed=True)
    response = client.get(EXPORT_URL + "?pins=1")
    assert response["Content-Disposition"].startswith('attachment; filename="nowistay-bookings-with-pins-')
    rows, header = rows_of(response)
    assert header == HEADER
    by_guest = {row["Guest"]: row for row in rows}
    assert by_guest["Ada Soon"]["PIN"] == active.pin
    assert by_guest["Flo Nolock"]["PIN"] == ""
    (event,) = SecurityEvent.objects.filter(kind=SecurityEventKind.CODES_EXPORTED)
    assert event.user == host and "CSV with PINs" in event.detail and active.pin not in event.detail


def test_another_hosts_filter_value_is_refused_not_used(client, host, other_host, make_property, stays):
    theirs = make_property(host=other_host, name="Another Flat")
    sign_in(client, host, confirmed=False)
    assert client.get(EXPORT_URL + f"?property={theirs.pk}").status_code == 400


def test_queries_do_not_grow_with_the_number_of_bookings(client, host, stays, assigned_property, book):
    sign_in(client, host, confirmed=False)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            b"".join(client.get(EXPORT_URL).streaming_content)
        return len(captured.captured_queries)

    few = queries()
    prop = stays["prop"]
    today = timezone.localdate()
    for n in range(40):
        book(prop, today + timedelta(days=40 + 3 * n), today + timedelta(days=41 + 3 * n), guest_name=f"Guest {n}")
    assert queries() == few
