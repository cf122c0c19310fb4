"""Removing a lock assignment, and the lock of a property that lost its eligibility.

The dashboard through the Django test client, on the in-memory fake cloud (tests/conftest.py) except
where a real connect flow is needed (the vendor emulators of tests/vendors/)."""


import pytest

from bookings.models import Property
from locks.models import AccessCode, CodeState, LockAssignment
from tests.helpers.lifecycle import current, tick
from tests.locks.dashboard.pages import NOT_SAVED, codes_state, messages_of, panel_url, remove_url, row_fields, row_html, said_in, save_url

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]


# --- removing an assignment -------------------------------------------------------------------------

class TestAssignmentRemove:
    def test_remove_revokes_upcoming_codes_and_leaves_the_staying_guests(self, logged_in, assigned_property, stay, fake_cloud):
        prop = assigned_property()
        staying = stay(prop, arrive_in=-1, guest_name="Sam Staying")
        upcoming = stay(prop, arrive_in=3, guest_name="Ursula Upcoming")
        later = stay(prop, arrive_in=12, guest_name="Lena Later")  # scheduled, not on the lock yet
        tick()
        staying_code, upcoming_code, later_code = current(staying), current(upcoming), current(later)
        assert (staying_code.state, upcoming_code.state, later_code.state) == (CodeState.ACTIVE, CodeState.ACTIVE, CodeState.SCHEDULED)

        response = logged_in.post(remove_url("ttlock", prop))
        assert response.status_code == 302 and response["Location"] == f"{panel_url('ttlock')}#property-{prop.pk}"
        assert messages_of(response) == [
            "Removed Door L1 from Flat L1. The codes of 2 upcoming bookings are being revoked. "
            "Guests staying now keep their code until check-out."
        ]
        assert not LockAssignment.objects.filter(property=prop).exists()
        for code in (staying_code, upcoming_code, later_code):
            code.refresh_from_db()
        assert staying_code.state == CodeState.ACTIVE and staying_code.is_current
        assert upcoming_code.state == CodeState.REVOKING and not upcoming_code.is_current
        assert later_code.state == CodeState.REVOKED and not later_code.is_current  # never reached the lock
        tick()
        assert [code.pin for code in fake_cloud.codes_on("L1")] == [staying_code.pin]

    def test_removing_twice_is_harmless(self, logged_in, assigned_property, stay):
        prop = assigned_property()
        stay(prop, arrive_in=3)
        tick()
        first = logged_in.post(remove_url("ttlock", prop), follow=True)  # the panel shows (and uses up) the message
        assert "Removed Door L1 from Flat L1." in first.content.decode()
        codes_before = codes_state()
        response = logged_in.post(remove_url("ttlock", prop))
        assert response.status_code == 302
        assert messages_of(response) == ["Flat L1 has no TTLock lock."]
        assert codes_state() == codes_before and not LockAssignment.objects.exists()

    def test_removing_in_the_wrong_brands_panel_keeps_the_lock(self, logged_in, assigned_property, make_lock, stay):
        prop = assigned_property(provider="nuki", vendor_lock_id="N1")
        stay(prop, arrive_in=3)
        make_lock("T1", "ttlock")
        codes_before = codes_state()
        response = logged_in.post(remove_url("ttlock", prop))
        assert messages_of(response) == ["Flat N1 has no TTLock lock."]
        assert LockAssignment.objects.get(property=prop).lock.vendor_lock_id == "N1"
        assert codes_state() == codes_before

    def test_igloohome_says_codes_are_revoked_where_the_lock_allows_it(self, logged_in, assigned_property, stay):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        upcoming = stay(prop, arrive_in=3)
        tick()
        response = logged_in.post(remove_url("igloohome", prop))
        assert messages_of(response) == [
            "Removed Door IG1 from Flat IG1. The code of 1 upcoming booking is being revoked "
            "(where the lock allows it). Guests staying now keep their code until check-out."
        ]
        code = AccessCode.objects.get(booking=upcoming)
        assert code.state == CodeState.SUPERSEDED and not code.is_current  # an algoPIN works until its end


class TestLockOfAPropertyThatLostEligibility:
    """A property keeps its assignment when it stops being eligible (e.g. its AI Assistant
    subscription lapses); it no longer has a row in the panel."""

    @pytest.fixture
    def stuck(self, assigned_property, make_property):
        flat = assigned_property()  # "Flat L1" holds Door L1
        Property.objects.filter(pk=flat.pk).update(ai_assistant_active=False)
        other = make_property(name="Beach House")
        return flat, other, LockAssignment.objects.get(property=flat).lock

    def test_its_row_says_why_and_offers_only_remove_and_the_lock_cannot_be_given_to_another(self, logged_in, stuck):
        flat, other, lock = stuck
        content = logged_in.get(panel_url("ttlock")).content.decode()
        row = row_html(content, flat)
        assert "Flat L1 can no longer have a smart lock" in row and "Remove Door L1 to free the lock" in row
        assert ">Remove</button>" in row and ">Save</button>" not in row and f'name="p{flat.pk}-lead_days"' not in row
        assert row_html(content, other)
        response = logged_in.post(save_url("ttlock", other), row_fields(other, lock.pk))
        assert response.status_code == 422
        assert said_in(row_html(response.content.decode(), other), "Door L1 is already assigned to Flat L1. Remove it there first.") == 1
        assert messages_of(response) == [NOT_SAVED.format(name="Beach House")]
        assert LockAssignment.objects.get(lock=lock).property == flat

    def test_the_host_can_free_the_lock(self, logged_in, stuck):
        flat, other, lock = stuck
        response = logged_in.post(remove_url("ttlock", flat))
        assert response.status_code in (200, 302)
        assert not LockAssignment.objects.filter(lock=lock).exists()
        response = logged_in.post(save_url("ttlock", other), row_fields(other, lock.pk))
        assert response.status_code == 302 and LockAssignment.objects.get(lock=lock).property == other
