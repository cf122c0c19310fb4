"""“Rotate code” on the host's booking page: the preview says what happens to the lock and the guest
and changes nothing, the confirmation rotates, the page then tracks the three steps; refusals,
another host's booking (404), CSRF and POST only, as for the page's other actions."""

from datetime import date

import pytest
from django.test import Client
from freezegun import freeze_time

import nowistay.urls  # noqa: F401  (the URLconf, loaded before freezegun replaces datetime)
from bookings.models import Booking, BookingStatus, PmsSource, Property
from locks import services
from locks.models import AccessCode, CodeRotation, CodeState, LockAssignment, RotationSource
from messaging.models import MessageTemplate, OffsetUnit, TriggerKind
from tests.bookings.test_booking_pages import NOW, action_url, edit_url, review_version, saved_state
from tests.helpers.lifecycle import current, tick

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

ROTATE = "rotate_code"
LOCK_PART = "a new code with a new PIN will be created now; the old code will be revoked at once"


@pytest.fixture
def signed_in(client, host):
    client.force_login(host)
    return client


@pytest.fixture
def stay_with_code(assigned_property, book):
    """A confirmed booking at Flat L1 (Paris), 10-14 March 2026, its code active (as on test_booking_pages)."""

    def make(provider="ttlock", vendor_lock_id="L1"):
        prop = assigned_property(provider=provider, vendor_lock_id=vendor_lock_id)
        with freeze_time(NOW):
            booking = book(prop, date(2026, 3, 10), date(2026, 3, 14), guest_email="grace@guest.example")
            services.booking_created(booking=booking)
            tick()
        assert current(booking).state == CodeState.ACTIVE
        return booking

    return make


@pytest.fixture
def other_hosts_stay(other_host, make_lock, book):
    prop = Property.objects.create(
        host=other_host, name="Their Chalet", time_zone="Europe/Zurich", pms_source=PmsSource.NOWISTAY, ai_assistant_active=True
    )
    LockAssignment.objects.create(property=prop, lock=make_lock(vendor_lock_id="T1", account_host=other_host))
    with freeze_time(NOW):
        booking = book(prop, date(2026, 3, 10), date(2026, 3, 14))
        services.booking_created(booking=booking)
        tick()
    return booking


def review_then_rotate(client, booking):
    review = client.post(action_url(booking, ROTATE))
    assert review.status_code == 200, review.content
    return review, client.post(action_url(booking, ROTATE), {"step": "save", "version": review_version(review)})


def codes_of(booking):
    return list(AccessCode.objects.filter(booking=booking).order_by("pk").values_list("pk", "state", "is_current", "pin"))


class TestPreviewAndRotate:
    def test_the_preview_says_what_happens_and_changes_nothing(self, signed_in, stay_with_code, fake_cloud):
        booking = stay_with_code()
        before = codes_of(booking)
        with freeze_time(NOW):
            page = signed_in.get(edit_url(booking))
            review = signed_in.post(action_url(booking, ROTATE))
        assert "Rotate code" in [action.label for action, _ in page.context["actions"]]
        assert review.status_code == 200
        assert review.context["outlook"] == (
            f"{LOCK_PART}; the guest has not been sent a door code by message, so no change message is sent; messages still "
            "to come carry the new code (if you gave them the code yourself, give them the new one)"
        )
        content = review.content.decode()
        assert "Rotate code</button>" in content and 'id="action-refusal"' not in content
        assert codes_of(booking) == before and not CodeRotation.objects.exists()
        assert len(fake_cloud.codes_on("L1")) == 1

    def test_the_preview_names_the_message_the_guest_will_get(self, signed_in, stay_with_code, host, fake_cloud):
        booking = stay_with_code()
        MessageTemplate.objects.create(
            host=host, name="Door code", trigger=TriggerKind.BEFORE_CHECK_IN, offset=1, offset_unit=OffsetUnit.DAYS,
            send_at="10:00", subject="Code", body="{{smartlock_code}}",
        ).deliveries.create(
            booking=booking, template_name="Door code", trigger_key="before_check_in:2026-03-10", status="sent",
            due_at=booking.created_at, sent_at=booking.created_at, code=current(booking), pin=current(booking).pin,
        )
        with freeze_time(NOW):
            review = signed_in.post(action_url(booking, ROTATE))
        assert review.context["outlook"] == (
            f"{LOCK_PART}; the guest is sent the new code with Nowistay's default door code change message as soon as it is "
            "on the lock (you have no door code change message of your own for this property)"
        )

    def test_confirming_rotates_and_the_page_tracks_the_three_steps(self, signed_in, stay_with_code, fake_cloud):
        booking = stay_with_code()
        old = current(booking)
        with freeze_time(NOW):
            review, response = review_then_rotate(signed_in, booking)
            first = signed_in.get(response["Location"])
            tick()
            later = signed_in.get(edit_url(booking))
        assert response.status_code == 302 and response["Location"] == edit_url(booking)
        first_page = first.content.decode()
        assert f"Grace Guest&#x27;s door code is being rotated. What happens: {LOCK_PART}; the guest" in first_page
        assert "Rotated at 13:00 9 Mar from the booking page: in progress" in first_page
        assert "New PIN on the lock: pending: being created now" in first_page
        assert "Old code: being revoked" in first_page
        assert "Guest: waiting for the new code to be on the lock" in first_page
        rotation = CodeRotation.objects.get()
        assert (rotation.old_code_id, rotation.requested_via) == (old.pk, RotationSource.BOOKING_PAGE)
        new = current(booking)
        assert new.pk == rotation.new_code_id and new.state == CodeState.ACTIVE and new.pin != old.pin
        assert [issued.pin for issued in fake_cloud.codes_on("L1")] == [new.pin]
        view = later.context["rotation"]
        assert (view.state, view.new_pin.state, view.old_code.state, view.guest.state) == ("done", "done", "revoked", "not_needed")
        assert "New PIN on the lock: done: on the lock since 13:00 9 Mar" in later.content.decode()
        assert f"active: {new.pin}" in later.content.decode()

    def test_an_igloohome_code_says_until_when_it_still_works(self, signed_in, stay_with_code, fake_cloud):
        booking = stay_with_code(provider="igloohome", vendor_lock_id="G1")
        with freeze_time("2026-03-11 09:00:00"):
            review, response = review_then_rotate(signed_in, booking)
            tick()
            page = signed_in.get(edit_url(booking))
        assert review.context["outlook"].startswith(
            "a new code with a new PIN will be created now; the old igloohome code cannot be revoked and works until 11:30 14 Mar"
        )
        assert "Old code: unrevocable until 11:30 14 Mar: igloohome cannot revoke it" in page.content.decode()


class TestRefusals:
    def test_a_code_just_rotated_is_refused_with_the_reason_and_no_button(self, signed_in, stay_with_code, fake_cloud):
        booking = stay_with_code()
        with freeze_time(NOW) as frozen:
            review_then_rotate(signed_in, booking)
            tick()
            frozen.tick(30)
            before = codes_of(booking)
            review = signed_in.post(action_url(booking, ROTATE))
            response = signed_in.post(action_url(booking, ROTATE), {"step": "save", "version": review_version(review)}, follow=True)
        assert review.status_code == 409
        refusal = "The code was rotated at 13:00, a moment ago: you can rotate it again in 90 seconds. Nothing was changed."
        assert review.context["refusal"] == refusal
        assert "Rotate code</button>" not in review.content.decode()
        assert refusal in response.content.decode()
        assert codes_of(booking) == before and CodeRotation.objects.count() == 1

    def test_a_rotation_under_way_is_refused(self, signed_in, stay_with_code, fake_cloud):
        booking = stay_with_code()
        fake_cloud.lose_response_next("delete_code")  # the old code's revocation is not confirmed yet
        with freeze_time(NOW) as frozen:
            review_then_rotate(signed_in, booking)
            tick()
            frozen.tick(300)
            review = signed_in.post(action_url(booking, ROTATE))
        assert review.status_code == 409
        assert review.context["refusal"].startswith("A rotation of this code is already in progress (started at 13:00): new PIN on")

    @pytest.mark.parametrize("change", ["pending", "ended"])
    def test_the_action_is_offered_only_for_a_working_code(self, signed_in, stay_with_code, fake_cloud, change):
        booking = stay_with_code()
        with freeze_time(NOW):
            if change == "pending":
                Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.PENDING)
            else:
                services.booking_end_access(booking=booking)
            page = signed_in.get(edit_url(booking))
            before = codes_of(booking)
            response = signed_in.post(action_url(booking, ROTATE), {"step": "save"}, follow=True)
        assert "Rotate code" not in [action.label for action, _ in page.context["actions"]]
        assert "“Rotate code” does not apply to this booking any more: nothing was changed." in response.content.decode()
        assert codes_of(booking) == before

    def test_a_booking_changed_since_the_preview_is_previewed_again(self, signed_in, stay_with_code, fake_cloud):
        booking = stay_with_code()
        with freeze_time(NOW):
            review = signed_in.post(action_url(booking, ROTATE))
            Booking.objects.filter(pk=booking.pk).update(guest_name="Renamed")
            booking.refresh_from_db()
            Booking.objects.filter(pk=booking.pk).update(updated_at=booking.updated_at.replace(second=1))
            response = signed_in.post(action_url(booking, ROTATE), {"step": "save", "version": review_version(review)})
        assert response.status_code == 409 and response.context["stale"]
        assert not CodeRotation.objects.exists()


class TestIsolation:
    def test_another_hosts_booking_is_a_404(self, signed_in, other_hosts_stay, fake_cloud):
        before = saved_state(other_hosts_stay)
        version = f"{other_hosts_stay.updated_at.isoformat()}||confirmed"
        with freeze_time(NOW):
            assert signed_in.post(action_url(other_hosts_stay, ROTATE)).status_code == 404
            assert signed_in.post(action_url(other_hosts_stay, ROTATE), {"step": "save", "version": version}).status_code == 404
        assert saved_state(other_hosts_stay) == before and not CodeRotation.objects.exists()
        assert len(fake_cloud.codes_on("T1")) == 1

    def test_csrf_is_enforced_and_only_post_is_allowed(self, host, signed_in, stay_with_code):
        booking = stay_with_code()
        client = Client(enforce_csrf_checks=True)
        client.force_login(host)
        with freeze_time(NOW):
            assert client.post(action_url(booking, ROTATE)).status_code == 403
            assert client.post(action_url(booking, ROTATE), {"step": "save"}).status_code == 403
            assert signed_in.get(action_url(booking, ROTATE)).status_code == 405
        assert not CodeRotation.objects.exists()

    def test_anonymous_visitors_are_sent_to_log_in(self, client, stay_with_code):
        booking = stay_with_code()
        response = client.post(action_url(booking, ROTATE), {"step": "save"})
        assert response.status_code == 302 and "/login/" in response["Location"]
        assert not CodeRotation.objects.exists()


def test_the_stay_must_not_be_over(signed_in, assigned_property, book, fake_cloud):
    prop = assigned_property()
    with freeze_time("2026-03-08 12:00:00"):
        booking = book(prop, date(2026, 3, 8), date(2026, 3, 9))
        services.booking_created(booking=booking)
        tick()
    assert current(booking).state == CodeState.ACTIVE  # until 11:30 on the 9th (Paris); no pass has expired it yet
    with freeze_time("2026-03-09 11:00:00"):
        review = signed_in.post(action_url(booking, ROTATE))
    assert review.status_code == 409
    assert review.context["refusal"] == "The stay is over: there is no door code to rotate."
