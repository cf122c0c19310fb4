"""The host's booking pages (issue 8): list and filters, create and edit with a preview of the door
code before saving, the confirm / pending / cancel / end-access actions, and the isolation and
CSRF rules of the dashboard. The code lifecycle runs for real on the fake cloud."""

from datetime import date, time, timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

# Load the URLconf now, not first inside freeze_time: the API's pydantic schemas
# (bookings/api/schemas.py) cannot be built while freezegun has replaced `datetime`.
import nowistay.urls  # noqa: F401
from bookings.models import Booking, BookingStatus, PmsSource, Property
from locks import services
from locks.models import AccessCode, CodeState
from tests.helpers.lifecycle import current_or_none, tick, utc

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

NOW = "2026-03-09 12:00:00"  # a Monday; Paris is UTC+1


def list_url(**params) -> str:
    return reverse("booking_pages:list") + (f"?{urlencode(params)}" if params else "")


def edit_url(booking) -> str:
    return reverse("booking_pages:edit", args=[booking.pk])


def action_url(booking, name: str) -> str:
    return reverse(f"booking_pages:{name}", args=[booking.pk])


def form_data(prop, **overrides) -> dict:
    data = {
        "property": prop.pk,
        "guest_name": "Ada Lovelace",
        "guest_email": "ada@example.com",
        "guest_phone": "+33 6 11 22 33 44",
        "arrival_date": "2026-03-12",
        "departure_date": "2026-03-15",
        "check_in_time": "",
        "check_out_time": "",
        "status": "confirmed",
    }
    data.update(overrides)
    return data


def edit_data(booking, **overrides) -> dict:
    data = {
        "property": booking.property_id,
        "guest_name": booking.guest_name,
        "guest_email": booking.guest_email,
        "guest_phone": booking.guest_phone,
        "arrival_date": booking.arrival_date.isoformat(),
        "departure_date": booking.departure_date.isoformat(),
        "check_in_time": booking.check_in_time.strftime("%H:%M") if booking.check_in_time else "",
        "check_out_time": booking.check_out_time.strftime("%H:%M") if booking.check_out_time else "",
    }
    data.update(overrides)
    return data


def saved_state(booking) -> tuple:
    booking = Booking.objects.get(pk=booking.pk)
    codes = list(AccessCode.objects.filter(booking=booking).order_by("pk").values_list("pk", "state", "starts_at", "ends_at", "lock_id"))
    fields = (booking.property_id, booking.guest_name, booking.guest_phone, booking.arrival_date, booking.departure_date,
              booking.check_in_time, booking.check_out_time, booking.status, booking.access_ended_at)
    return fields, codes


def review_version(response) -> str:
    return response.context["version"]


@pytest.fixture
def logged_in(client, host):
    client.force_login(host)
    return client


@pytest.fixture
def active_booking(assigned_property, book):
    """A confirmed booking at Flat L1 (Paris), 10-14 March 2026, its code active on the fake L1."""

    def make(provider="ttlock", vendor_lock_id="L1"):
        prop = assigned_property(provider=provider, vendor_lock_id=vendor_lock_id)
        with freeze_time(NOW):
            booking = book(prop, date(2026, 3, 10), date(2026, 3, 14))
            services.booking_created(booking=booking)
            tick()
        assert current_or_none(booking).state == CodeState.ACTIVE
        return booking

    return make


# --- list ------------------------------------------------------------------------------------------

class TestList:
    @freeze_time(NOW)
    def test_upcoming_and_current_by_default_with_the_code_state(self, logged_in, assigned_property, make_property, book, other_host):
        prop = assigned_property()
        bare = make_property(name="Bare Flat")
        book(prop, date(2026, 3, 1), date(2026, 3, 3), guest_name="Past Guest")
        staying = book(bare, date(2026, 3, 8), date(2026, 3, 11), guest_name="Staying Guest", check_in_time=time(12, 0))
        upcoming = book(prop, date(2026, 3, 20), date(2026, 3, 22), guest_name="Upcoming Guest")
        services.booking_created(booking=upcoming)
        theirs = Booking.objects.create(
            property=Property.objects.create(host=other_host, name="Their Chalet", time_zone="Europe/Zurich"),
            guest_name="Their Guest", arrival_date=date(2026, 3, 12), departure_date=date(2026, 3, 14),
        )

        response = logged_in.get(list_url())

        assert response.status_code == 200
        content = response.content.decode()
        assert [row["booking"] for row in response.context["rows"]] == [staying, upcoming]
        assert "Past Guest" not in content and "Their Guest" not in content and theirs.property.name not in content
        assert f'href="{edit_url(upcoming)}"' in content
        assert "will be created on 15 March" in content  # describe_code, Paris time
        assert "no code: no lock is assigned to this property" in content
        assert "8 Mar 2026 12:00*" in content  # negotiated check-in marked
        assert "20 Mar 2026 15:00" in content and "22 Mar 2026 11:00" in content

    @freeze_time(NOW)
    def test_filters_by_property_status_and_arrival_dates(self, logged_in, make_property, book):
        seaside = make_property(name="Seaside")
        mountain = make_property(name="Mountain", time_zone="Europe/Zurich")
        a = book(seaside, date(2026, 3, 12), date(2026, 3, 14), guest_name="A", status=BookingStatus.CONFIRMED)
        b = book(seaside, date(2026, 3, 20), date(2026, 3, 22), guest_name="B", status=BookingStatus.PENDING)
        c = book(mountain, date(2026, 3, 12), date(2026, 3, 14), guest_name="C", status=BookingStatus.CANCELLED)
        old = book(mountain, date(2026, 1, 5), date(2026, 1, 7), guest_name="Old")

        def rows(**params):
            response = logged_in.get(list_url(**params))
            assert response.status_code == 200
            return [row["booking"] for row in response.context["rows"]]

        assert rows() == [a, c, b]
        assert rows(property=seaside.pk) == [a, b]
        assert rows(status="pending") == [b]
        assert rows(property=mountain.pk, status="cancelled") == [c]
        assert rows(arrival_from="2026-03-15") == [b]
        assert rows(arrival_to="2026-03-12") == [old, a, c]  # a date range shows the past too
        assert rows(arrival_from="2026-01-01", arrival_to="2026-01-31") == [old]

    @freeze_time(NOW)
    def test_invalid_filters_are_shown_and_list_nothing(self, logged_in, make_property, book, other_host):
        book(make_property(), date(2026, 3, 12), date(2026, 3, 14))
        theirs = Property.objects.create(host=other_host, name="Their Chalet", time_zone="Europe/Zurich")
        response = logged_in.get(list_url(property=theirs.pk))
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
        assert response.context["rows"] == []
        response = logged_in.get(list_url(arrival_from="2026-03-20", arrival_to="2026-03-10"))
        assert response.status_code == 400 and response.context["rows"] == []
        assert "must not be before" in response.content.decode()

    @freeze_time(NOW)
    def test_pagination_by_50_keeps_the_filters(self, logged_in, make_property, book, django_assert_max_num_queries):
        prop = make_property()
        other = make_property(name="Elsewhere")
        for day in range(51):
            book(prop, date(2026, 4, 1) + timedelta(days=day), date(2026, 4, 2) + timedelta(days=day), guest_name=f"Guest {day:02}")
        book(other, date(2026, 4, 1), date(2026, 4, 3), guest_name="Not In Filter")

        with django_assert_max_num_queries(10):  # the query count does not grow with the rows
            first = logged_in.get(list_url(property=prop.pk))
        assert len(first.context["rows"]) == 50
        assert first.context["page"].paginator.num_pages == 2
        content = first.content.decode()
        assert f"?property={prop.pk}&amp;page=2" in content
        second = logged_in.get(list_url(property=prop.pk, page=2))
        assert [row["booking"].guest_name for row in second.context["rows"]] == ["Guest 50"]
        assert "Not In Filter" not in second.content.decode()


# --- create -----------------------------------------------------------------------------------------

class TestCreate:
    def test_the_form_offers_only_the_hosts_properties(self, logged_in, make_property, other_host):
        mine = make_property(name="Mine")
        theirs = Property.objects.create(host=other_host, name="Theirs", time_zone="Europe/Zurich")
        response = logged_in.get(reverse("booking_pages:new"))
        assert response.status_code == 200
        assert list(response.context["form"].fields["property"].queryset) == [mine]
        assert theirs.name not in response.content.decode()

    @freeze_time(NOW)
    def test_review_shows_the_code_outlook_and_saves_nothing(self, logged_in, assigned_property):
        prop = assigned_property()
        data = form_data(prop, arrival_date="2026-03-20", departure_date="2026-03-22", check_out_time="13:00")
        response = logged_in.post(reverse("booking_pages:new"), {**data, "step": "review"})

        assert response.status_code == 200
        assert response.context["outlook"] == "a code will be created on 15 March"
        content = response.content.decode()
        assert "a code will be created on 15 March" in content
        assert '<input type="hidden" name="guest_name" value="Ada Lovelace"' in content
        assert '<input type="hidden" name="check_out_time" value="13:00"' in content
        assert 'name="step" value="save"' in content and ">Save</button>" in content
        assert not Booking.objects.exists() and not AccessCode.objects.exists()

    @freeze_time(NOW)
    def test_change_goes_back_to_the_form_with_the_values(self, logged_in, assigned_property):
        prop = assigned_property()
        response = logged_in.post(reverse("booking_pages:new"), {**form_data(prop, guest_name="Kept Name"), "step": "change"})
        assert response.status_code == 200
        assert response.templates[0].name == "bookings/booking_form.html"
        assert 'value="Kept Name"' in response.content.decode()
        assert not Booking.objects.exists()

    def test_save_creates_the_booking_and_its_code_through_the_lifecycle(self, logged_in, assigned_property, fake_cloud):
        prop = assigned_property()
        with freeze_time("2026-03-11 09:00:00"):
            review = logged_in.post(reverse("booking_pages:new"), {**form_data(prop), "step": "review"})
            assert review.context["outlook"] == "the code will be created now"
            response = logged_in.post(reverse("booking_pages:new"), {**form_data(prop), "step": "save"})
            booking = Booking.objects.get()
            assert response.status_code == 302 and response["Location"] == edit_url(booking)
            code = current_or_none(booking)
            assert code.state == CodeState.SCHEDULED and code.next_attempt_at <= utc(2026, 3, 11, 9, 0)
            tick()
            page = logged_in.get(edit_url(booking))

        assert (booking.guest_name, booking.status, booking.property) == ("Ada Lovelace", BookingStatus.CONFIRMED, prop)
        code.refresh_from_db()
        assert code.state == CodeState.ACTIVE
        assert (code.starts_at, code.ends_at) == (utc(2026, 3, 12, 13, 30), utc(2026, 3, 15, 10, 30))
        (issued,) = fake_cloud.codes_on("L1")
        assert issued.pin == code.pin
        content = page.content.decode()
        assert "Saved Ada Lovelace&#x27;s booking at Flat L1." in content
        assert f"active: {code.pin}, 14:30 12 Mar → 11:30 15 Mar" in content

    @freeze_time(NOW)
    def test_a_pending_booking_gets_no_code(self, logged_in, assigned_property):
        prop = assigned_property()
        review = logged_in.post(reverse("booking_pages:new"), {**form_data(prop, status="pending"), "step": "review"})
        assert review.context["outlook"] == "no code: the booking is not confirmed"
        logged_in.post(reverse("booking_pages:new"), {**form_data(prop, status="pending"), "step": "save"})
        booking = Booking.objects.get()
        assert booking.status == BookingStatus.PENDING and not AccessCode.objects.exists()

    @pytest.mark.parametrize("step", ["review", "save"])
    @pytest.mark.parametrize(
        "field, value, error",
        [
            ("departure_date", "2026-03-11", "The departure must be after the arrival."),
            ("guest_phone", "12ab", "Enter a phone number with digits only"),
            ("check_in_time", "25:61", "Enter a valid time."),
            ("arrival_date", "12/34/2026", "Enter a valid date."),
            ("guest_name", "", "This field is required."),
        ],
    )
    @freeze_time(NOW)
    def test_invalid_input_is_a_400_with_the_error_and_the_typed_values(self, logged_in, assigned_property, field, value, error, step):
        prop = assigned_property()
        data = form_data(prop, guest_email="kept@example.com", **{field: value})
        response = logged_in.post(reverse("booking_pages:new"), {**data, "step": step})

        assert response.status_code == 400
        assert response.context["form"].errors[field]
        content = response.content.decode()
        assert error in content
        assert 'value="kept@example.com"' in content
        if value:
            assert f'value="{value}"' in content
        assert not Booking.objects.exists() and not AccessCode.objects.exists()

    @pytest.mark.parametrize("step", ["review", "save"])
    def test_another_hosts_property_is_not_a_valid_choice(self, logged_in, make_property, other_host, step):
        make_property(name="Mine")
        theirs = Property.objects.create(host=other_host, name="Theirs", time_zone="Europe/Zurich")
        response = logged_in.post(reverse("booking_pages:new"), {**form_data(theirs), "step": step})
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
        assert not Booking.objects.exists()


# --- edit --------------------------------------------------------------------------------------------

class TestEdit:
    def test_the_booking_page_shows_the_code_state_and_actions(self, logged_in, active_booking):
        booking = active_booking()
        with freeze_time(NOW):
            response = logged_in.get(edit_url(booking))
        assert response.status_code == 200
        content = response.content.decode()
        code = current_or_none(booking)
        assert f"active: {code.pin}, 14:30 10 Mar → 11:30 14 Mar" in content
        labels = [action.label for action, _ in response.context["actions"]]
        assert labels == ["Set back to pending", "Cancel booking", "End access now", "Rotate code"]
        assert f'action="{action_url(booking, "end_access")}"' in content
        assert response.context["form"].initial["guest_name"] == "Grace Guest"
        assert "status" not in response.context["form"].fields

    def test_new_dates_move_the_codes_window(self, logged_in, active_booking, fake_cloud):
        booking = active_booking()
        data = edit_data(booking, arrival_date="2026-03-12", departure_date="2026-03-15", check_out_time="12:00")
        with freeze_time(NOW):
            before = saved_state(booking)
            review = logged_in.post(edit_url(booking), {**data, "step": "review"})
            assert review.status_code == 200
            assert review.context["outlook"] == "the code's window moves to 14:30 12 Mar → 12:30 15 Mar"
            assert saved_state(booking) == before  # the review saved nothing

            response = logged_in.post(edit_url(booking), {**data, "step": "save", "version": review_version(review)})
            assert response.status_code == 302 and response["Location"] == edit_url(booking)
            tick()

        booking.refresh_from_db()
        assert (booking.arrival_date, booking.departure_date, booking.check_out_time) == (date(2026, 3, 12), date(2026, 3, 15), time(12, 0))
        code = current_or_none(booking)
        assert code.state == CodeState.ACTIVE
        assert (code.starts_at, code.ends_at) == (utc(2026, 3, 12, 13, 30), utc(2026, 3, 15, 11, 30))
        (issued,) = fake_cloud.codes_on("L1")
        assert (issued.starts_at, issued.ends_at) == (code.starts_at, code.ends_at)

    def test_a_property_change_moves_the_code_to_the_other_lock_keeping_the_pin(
        self, logged_in, active_booking, assigned_property, fake_cloud
    ):
        booking = active_booking()
        other = assigned_property(vendor_lock_id="L2")
        pin = current_or_none(booking).pin
        data = edit_data(booking, property=other.pk)
        with freeze_time(NOW):
            review = logged_in.post(edit_url(booking), {**data, "step": "review"})
            assert review.context["outlook"] == (
                "the code moves to Door L2 at Flat L2, keeping the guest's PIN; it will be created there now"
            )
            logged_in.post(edit_url(booking), {**data, "step": "save", "version": review_version(review)})
            tick()
            page = logged_in.get(edit_url(booking))

        booking.refresh_from_db()
        assert booking.property == other
        assert fake_cloud.codes_on("L1") == []
        (issued,) = fake_cloud.codes_on("L2")
        assert issued.pin == pin == current_or_none(booking).pin
        assert current_or_none(booking).lock.vendor_lock_id == "L2"
        assert f"active: {pin}" in page.content.decode()

    def test_a_booking_changed_since_the_review_is_reviewed_again(self, logged_in, active_booking):
        booking = active_booking()
        data = edit_data(booking, departure_date="2026-03-15")
        with freeze_time(NOW):
            review = logged_in.post(edit_url(booking), {**data, "step": "review"})
            Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CANCELLED, updated_at=utc(2026, 3, 9, 12, 0, 5))
            response = logged_in.post(edit_url(booking), {**data, "step": "save", "version": review_version(review)})
        assert response.status_code == 409
        assert "changed since you reviewed it" in response.content.decode()
        assert response.context["outlook"] == "the code will be revoked"
        booking.refresh_from_db()
        assert booking.departure_date == date(2026, 3, 14)

    def test_a_save_without_the_review_is_reviewed_first(self, logged_in, active_booking):
        booking = active_booking()
        with freeze_time(NOW):
            response = logged_in.post(edit_url(booking), {**edit_data(booking, guest_name="Changed"), "step": "save"})
        assert response.status_code == 409
        assert Booking.objects.get(pk=booking.pk).guest_name == "Grace Guest"

    @pytest.mark.parametrize(
        "field, value, error",
        [
            ("departure_date", "2026-03-09", "The departure must be after the arrival."),
            ("guest_phone", "12ab", "Enter a phone number with digits only"),
            ("check_out_time", "noon", "Enter a valid time."),
        ],
    )
    def test_invalid_edits_are_a_400_and_change_nothing(self, logged_in, active_booking, field, value, error):
        booking = active_booking()
        with freeze_time(NOW):
            before = saved_state(booking)
            version = logged_in.post(edit_url(booking), {**edit_data(booking), "step": "review"}).context["version"]
            for step in ("review", "save"):
                response = logged_in.post(edit_url(booking), {**edit_data(booking, **{field: value}), "step": step, "version": version})
                assert response.status_code == 400
                content = response.content.decode()
                assert error in content and f'value="{value}"' in content
        assert saved_state(booking) == before

    def test_another_hosts_property_in_an_edit_is_refused(self, logged_in, active_booking, other_host):
        booking = active_booking()
        theirs = Property.objects.create(host=other_host, name="Theirs", time_zone="Europe/Zurich")
        with freeze_time(NOW):
            before = saved_state(booking)
            version = logged_in.post(edit_url(booking), {**edit_data(booking), "step": "review"}).context["version"]
            response = logged_in.post(edit_url(booking), {**edit_data(booking, property=theirs.pk), "step": "save", "version": version})
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
        assert saved_state(booking) == before

    def test_shortening_a_current_stay_into_the_past_ends_the_code(self, logged_in, active_booking, fake_cloud):
        booking = active_booking()  # 10-14 March, code until 11:30 14 Mar
        data = edit_data(booking, departure_date="2026-03-11")
        with freeze_time("2026-03-12 12:00:00"):
            review = logged_in.post(edit_url(booking), {**data, "step": "review"})
            logged_in.post(edit_url(booking), {**data, "step": "save", "version": review_version(review)})
            tick()
        assert Booking.objects.get(pk=booking.pk).departure_date == date(2026, 3, 11)
        # The guest left on the 11th per the booking: the lock must not keep the code until the 14th.
        assert all(issued.ends_at <= utc(2026, 3, 12, 12, 0) for issued in fake_cloud.codes_on("L1"))


# --- actions -----------------------------------------------------------------------------------------

def review_then_confirm(client, booking, name: str):
    review = client.post(action_url(booking, name))
    assert review.status_code == 200
    response = client.post(action_url(booking, name), {"step": "save", "version": review_version(review)})
    return review, response


class TestActions:
    def test_confirm_a_pending_booking_creates_its_code(self, logged_in, assigned_property, book, fake_cloud):
        prop = assigned_property()
        booking = book(prop, date(2026, 3, 10), date(2026, 3, 14), status=BookingStatus.PENDING)
        with freeze_time(NOW):
            review = logged_in.post(action_url(booking, "confirm"))
            assert review.context["outlook"] == "the code will be created now"
            assert Booking.objects.get(pk=booking.pk).status == BookingStatus.PENDING  # the preview saved nothing
            assert not AccessCode.objects.exists()
            response = logged_in.post(action_url(booking, "confirm"), {"step": "save", "version": review_version(review)})
            tick()
            page = logged_in.get(response["Location"])
        assert response["Location"] == edit_url(booking)
        assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED
        assert current_or_none(booking).state == CodeState.ACTIVE and len(fake_cloud.codes_on("L1")) == 1
        content = page.content.decode()
        assert "Grace Guest&#x27;s booking is confirmed." in content
        assert f"active: {current_or_none(booking).pin}" in content

    @pytest.mark.parametrize("name, status", [("pending", BookingStatus.PENDING), ("cancel", BookingStatus.CANCELLED)])
    def test_pending_and_cancel_revoke_the_code(self, logged_in, active_booking, fake_cloud, name, status):
        booking = active_booking()
        code = current_or_none(booking)
        with freeze_time(NOW):
            review, response = review_then_confirm(logged_in, booking, name)
            assert review.context["outlook"] == "the code will be revoked"
            page = logged_in.get(response["Location"])
            assert "being revoked" in page.content.decode()
            tick()
            page = logged_in.get(edit_url(booking))
        assert Booking.objects.get(pk=booking.pk).status == status
        code.refresh_from_db()
        assert code.state == CodeState.REVOKED and not code.is_current
        assert fake_cloud.codes_on("L1") == []
        assert page.context["code"].text == "revoked"

    def test_end_access_now_revokes_the_code_at_once(self, logged_in, active_booking, fake_cloud):
        booking = active_booking()
        with freeze_time("2026-03-11 09:00:00"):
            review = logged_in.post(action_url(booking, "end_access"))
            assert review.context["outlook"] == "the code will be revoked at once; no new code will be created for this booking"
            assert "End access now</button>" in review.content.decode()
            assert len(fake_cloud.codes_on("L1")) == 1 and Booking.objects.get(pk=booking.pk).access_ended_at is None

            response = logged_in.post(action_url(booking, "end_access"), {"step": "save", "version": review_version(review)})
            first_page = logged_in.get(response["Location"])
            tick()
            page = logged_in.get(edit_url(booking))

        booking.refresh_from_db()
        assert booking.access_ended_at == utc(2026, 3, 11, 9, 0)
        assert booking.status == BookingStatus.CONFIRMED
        assert fake_cloud.codes_on("L1") == []
        assert "Grace Guest&#x27;s access has ended. The code is being revoked from the lock." in first_page.content.decode()
        assert page.context["code"].text == "revoked"
        assert "End access now" not in [action.label for action, _ in page.context["actions"]]
        assert current_or_none(booking) is None

    def test_restore_access_undoes_an_early_end_with_a_new_code(self, logged_in, active_booking, fake_cloud):
        booking = active_booking()
        with freeze_time("2026-03-11 09:00:00"):
            review_then_confirm(logged_in, booking, "end_access")
            tick()
            page = logged_in.get(edit_url(booking))
            assert "Restore access" in [action.label for action, _ in page.context["actions"]]
            review, response = review_then_confirm(logged_in, booking, "restore_access")
            tick()
            after = logged_in.get(response["Location"])
        assert review.context["outlook"] == "the code will be created now"
        booking.refresh_from_db()
        assert booking.access_ended_at is None
        code = current_or_none(booking)
        assert code is not None and code.state == CodeState.ACTIVE
        assert [issued.pin for issued in fake_cloud.codes_on("L1")] == [code.pin]
        assert "access is restored" in after.content.decode()
        assert "Restore access" not in [action.label for action, _ in after.context["actions"]]

    def test_end_access_on_igloohome_says_until_when_the_code_works(self, logged_in, active_booking, fake_cloud):
        booking = active_booking(provider="igloohome", vendor_lock_id="G1")
        with freeze_time("2026-03-11 09:00:00"):
            review, response = review_then_confirm(logged_in, booking, "end_access")
            page = logged_in.get(response["Location"])
        assert review.context["outlook"].startswith("this igloohome code cannot be revoked and works until 11:30 14 Mar")
        assert "igloohome cannot revoke codes remotely: the code keeps working until 11:30 on 14 March 2026." in page.content.decode()
        assert len(fake_cloud.codes_on("G1")) == 1

    def test_an_action_that_no_longer_applies_changes_nothing(self, logged_in, active_booking):
        booking = active_booking()
        with freeze_time(NOW):
            before = saved_state(booking)
            response = logged_in.post(action_url(booking, "confirm"), {"step": "save"}, follow=True)
        assert "does not apply to this booking any more" in response.content.decode()
        assert saved_state(booking) == before

    def test_a_stale_action_is_reviewed_again(self, logged_in, active_booking):
        booking = active_booking()
        with freeze_time(NOW):
            review = logged_in.post(action_url(booking, "cancel"))
            Booking.objects.filter(pk=booking.pk).update(guest_name="Renamed", updated_at=utc(2026, 3, 9, 12, 0, 1))
            response = logged_in.post(action_url(booking, "cancel"), {"step": "save", "version": review_version(review)})
        assert response.status_code == 409
        assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED

    @pytest.mark.parametrize("name", ["confirm", "pending", "cancel", "end_access"])
    def test_actions_are_post_only(self, logged_in, active_booking, name):
        booking = active_booking()
        assert logged_in.get(action_url(booking, name)).status_code == 405


# --- isolation and CSRF ------------------------------------------------------------------------------

@pytest.fixture
def their_booking(other_host, make_lock, book):
    from locks.models import LockAssignment

    prop = Property.objects.create(
        host=other_host, name="Their Chalet", time_zone="Europe/Zurich", pms_source=PmsSource.NOWISTAY, ai_assistant_active=True
    )
    LockAssignment.objects.create(property=prop, lock=make_lock(vendor_lock_id="T1", account_host=other_host))
    with freeze_time(NOW):
        booking = book(prop, date(2026, 3, 10), date(2026, 3, 14))
        services.booking_created(booking=booking)
        tick()
    return booking


class TestIsolation:
    def test_another_hosts_booking_is_a_404_everywhere(self, logged_in, their_booking, make_property, fake_cloud):
        mine = make_property()
        before = saved_state(their_booking)
        version = f"{their_booking.updated_at.isoformat()}||confirmed"
        with freeze_time(NOW):
            assert logged_in.get(edit_url(their_booking)).status_code == 404
            for step in ("review", "save", "change"):
                data = {**edit_data(their_booking, property=mine.pk), "step": step, "version": version}
                assert logged_in.post(edit_url(their_booking), data).status_code == 404
            for name in ("confirm", "pending", "cancel", "end_access"):
                assert logged_in.post(action_url(their_booking, name)).status_code == 404
                assert logged_in.post(action_url(their_booking, name), {"step": "save", "version": version}).status_code == 404
        assert saved_state(their_booking) == before
        assert len(fake_cloud.codes_on("T1")) == 1

    def test_anonymous_visitors_are_sent_to_log_in(self, client, their_booking):
        for url in (list_url(), reverse("booking_pages:new"), edit_url(their_booking)):
            response = client.get(url)
            assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
        response = client.post(action_url(their_booking, "cancel"), {"step": "save"})
        assert response.status_code == 302
        assert Booking.objects.get(pk=their_booking.pk).status == BookingStatus.CONFIRMED

    def test_csrf_is_enforced_on_every_post(self, host, active_booking):
        booking = active_booking()
        client = Client(enforce_csrf_checks=True)
        client.force_login(host)
        before = saved_state(booking)
        with freeze_time(NOW):
            assert client.post(reverse("booking_pages:new"), {**form_data(booking.property), "step": "save"}).status_code == 403
            assert client.post(edit_url(booking), {**edit_data(booking, guest_name="X"), "step": "save"}).status_code == 403
            for name in ("pending", "cancel", "end_access"):
                assert client.post(action_url(booking, name), {"step": "save"}).status_code == 403
            page = client.get(edit_url(booking))
        assert page.status_code == 200 and "csrfmiddlewaretoken" in page.content.decode()
        assert saved_state(booking) == before
        assert Booking.objects.count() == 1
