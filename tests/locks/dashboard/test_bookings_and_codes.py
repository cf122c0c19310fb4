"""The bookings-and-codes page, with "Retry now".

The dashboard through the Django test client, on the in-memory fake cloud (tests/conftest.py) except
where a real connect flow is needed (the vendor emulators of tests/vendors/)."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from bookings.models import Booking, PmsSource
from locks.code_status import describe_code
from locks.models import AccessCode, CodeState
from locks.providers.exceptions import CodeStorageFull
from tests.helpers.lifecycle import current, tick
from tests.locks.dashboard.pages import codes_state, messages_of, today

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]


# --- bookings and codes ------------------------------------------------------------------------------------

@pytest.fixture
def codes_page_data(assigned_property, make_property, stay, book, fake_cloud):
    """Flat L1 (TTLock): an active, a scheduled and a failed code; Beach House: no lock; an
    ineligible property; a stay that is over."""
    prop = assigned_property()
    fake_cloud.fail_next("create_code", CodeStorageFull("The lock's code memory is full."))
    failed = stay(prop, arrive_in=4, guest_name="Fiona Failed")
    tick()
    active = stay(prop, arrive_in=-1, guest_name="Alice Active")
    tick()
    scheduled = stay(prop, arrive_in=20, guest_name="Simon Scheduled")
    no_lock = make_property(name="Beach House")
    unlocked = stay(no_lock, arrive_in=5, guest_name="Nina Nolock")
    ineligible = make_property(name="Direct OTA Loft", pms_source=PmsSource.DIRECT_OTA)
    outside = stay(ineligible, arrive_in=6, guest_name="Olga Ota")
    over = book(prop, today() - timedelta(days=10), today() - timedelta(days=5), guest_name="Peter Past")
    assert (current(active).state, current(scheduled).state, current(failed).state) == (
        CodeState.ACTIVE, CodeState.SCHEDULED, CodeState.FAILED,
    )
    return {
        "prop": prop, "active": active, "scheduled": scheduled, "failed": failed,
        "unlocked": unlocked, "outside": outside, "over": over,
    }


def booking_row(content: str, booking) -> str:
    match = re.search(rf'<tr id="booking-{booking.pk}">.*?</tr>', content, re.S)
    return match.group(0) if match else ""


class TestBookingsAndCodes:
    def test_bookings_are_grouped_per_property(self, logged_in, codes_page_data):
        data = codes_page_data
        response = logged_in.get(reverse("bookings:codes"))
        content = response.content.decode()
        assert response.status_code == 200
        names = [group["property"].name for group in response.context["groups"]]
        assert names == ["Beach House", "Direct OTA Loft", "Flat L1"]
        assert re.findall(r'<h2 id="group-\d+">([^<]+) <small', content) == names
        flat = next(group for group in response.context["groups"] if group["property"] == data["prop"])
        assert [row["booking"] for row in flat["rows"]] == [data["active"], data["failed"], data["scheduled"]]
        assert booking_row(content, data["over"]) == "" and "Peter Past" not in content

    def test_each_code_shows_its_status_text(self, logged_in, codes_page_data):
        data = codes_page_data
        content = logged_in.get(reverse("bookings:codes")).content.decode()
        now = timezone.now()
        for key in ("active", "scheduled", "failed"):
            booking = Booking.objects.select_related("property").get(pk=data[key].pk)
            status = describe_code(current(booking), booking=booking, has_lock=True, now=now)
            assert f'<span class="code-{status.kind}">{escape(status.text)}</span>' in booking_row(content, booking)
        active_code = current(data["active"])
        assert active_code.pin and f"active: {active_code.pin}, " in booking_row(content, data["active"])
        assert "will be created on " in booking_row(content, data["scheduled"])
        assert escape("failed: The lock's code memory is full.") in booking_row(content, data["failed"])
        assert "no code: no lock is assigned to this property" in booking_row(content, data["unlocked"])
        assert "no code: this property cannot have a smart lock" in booking_row(content, data["outside"])

    def test_a_failed_code_says_what_happens_next_and_what_the_host_can_do(self, logged_in, codes_page_data):
        booking = codes_page_data["failed"]
        hint = (
            "Nowistay has stopped trying and emailed you. Remove old codes from the lock in the TTLock app, "
            "then use Retry now — or give the guest another way in."
        )
        codes_page = logged_in.get(reverse("bookings:codes")).content.decode()
        assert f'<small class="muted code-hint">{escape(hint)}</small>' in booking_row(codes_page, booking)
        for url in (reverse("booking_pages:edit", args=[booking.pk]), reverse("messaging:booking_log", args=[booking.pk])):
            assert f'<small class="muted code-hint">{escape(hint)}</small>' in logged_in.get(url).content.decode(), url
        for key in ("active", "scheduled", "unlocked"):  # nothing in trouble: no second line
            assert "code-hint" not in booking_row(codes_page, codes_page_data[key])

    def test_a_booking_confirmed_inside_its_lead_time_is_being_created_not_due_on_a_past_day(self, logged_in, codes_page_data, stay):
        booking = stay(codes_page_data["prop"], arrive_in=2, guest_name="Lena Late")  # lead 5 days: due 3 days ago
        code = current(booking)
        assert code.state == CodeState.SCHEDULED and code.generate_at < timezone.now()
        row = booking_row(logged_in.get(reverse("bookings:codes")).content.decode(), booking)
        assert '<span class="code-scheduled">being created now</span>' in row and "will be created on" not in row

    def test_only_a_failed_code_offers_retry_now(self, logged_in, codes_page_data):
        data = codes_page_data
        content = logged_in.get(reverse("bookings:codes")).content.decode()
        failed = booking_row(content, data["failed"])
        assert f'action="{reverse("bookings:retry_code", args=[data["failed"].pk])}"' in failed
        assert ">Retry now</button>" in failed and "csrfmiddlewaretoken" in failed
        for key in ("active", "scheduled", "unlocked", "outside"):
            assert "Retry now" not in booking_row(content, data[key])

    def test_retry_now_makes_the_failed_code_due_at_once(self, logged_in, codes_page_data):
        booking = codes_page_data["failed"]
        code = current(booking)
        before = timezone.now()
        response = logged_in.post(reverse("bookings:retry_code", args=[booking.pk]), follow=True)
        assert response.redirect_chain == [(f"{reverse('bookings:codes')}#booking-{booking.pk}", 302)]
        assert "Fiona Failed at Flat L1: Retrying now." in response.content.decode()
        code.refresh_from_db()
        assert code.state == CodeState.CREATING and code.attempts == 0 and code.last_error == ""
        assert before <= code.next_attempt_at <= timezone.now()
        assert "being created now" in booking_row(response.content.decode(), booking)
        assert tick().actions["created"] == 1
        assert current(booking).state == CodeState.ACTIVE

    @pytest.mark.parametrize(
        "key, message",
        [
            ("active", "Alice Active at Flat L1: The code is active: there is nothing to retry."),
            ("scheduled", "Simon Scheduled at Flat L1: The code is not due yet: it will be created on its date."),
        ],
    )
    def test_retry_on_a_code_with_nothing_to_retry_changes_nothing(self, logged_in, codes_page_data, key, message):
        booking = codes_page_data[key]
        codes_before = codes_state()
        response = logged_in.post(reverse("bookings:retry_code", args=[booking.pk]))
        assert response.status_code == 302 and messages_of(response) == [message]
        assert codes_state() == codes_before

    def test_retry_on_a_booking_without_a_code_says_so(self, logged_in, codes_page_data):
        booking = codes_page_data["unlocked"]
        response = logged_in.post(reverse("bookings:retry_code", args=[booking.pk]))
        assert messages_of(response) == ["Nina Nolock's booking has no code to retry."]
        assert not AccessCode.objects.filter(booking=booking).exists()

    def test_the_page_needs_a_login_and_retry_needs_post(self, client, logged_in, codes_page_data):
        booking = codes_page_data["failed"]
        assert logged_in.get(reverse("bookings:retry_code", args=[booking.pk])).status_code == 405
        assert current(booking).state == CodeState.FAILED
        anonymous = Client()
        assert anonymous.get(reverse("bookings:codes")).status_code == 302
        assert anonymous.post(reverse("bookings:retry_code", args=[booking.pk])).status_code == 302
        assert current(booking).state == CodeState.FAILED

    def test_no_booking_says_so(self, logged_in):
        assert "No current or upcoming bookings." in logged_in.get(reverse("bookings:codes")).content.decode()
