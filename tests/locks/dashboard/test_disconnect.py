"""Disconnecting a lock account from its panel: what the request does at once, and what it says.

The dashboard through the Django test client, on the in-memory fake cloud (tests/conftest.py) except
where a real connect flow is needed (the vendor emulators of tests/vendors/)."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from locks import services, tasks
from locks.models import AccessCode, AccountStatus, CodeState, LockAssignment, ProviderAccount
from locks.services import scheduler
from tests.helpers.lifecycle import current, tick
from tests.locks.dashboard.pages import card_html, codes_state, messages_of, panel_url, today

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]


# --- disconnecting -------------------------------------------------------------------------------------

@pytest.fixture
def ttlock_with_codes(assigned_property, make_property, make_lock, stay):
    """TTLock: "Flat L1" with a staying and an upcoming guest (codes active), "Flat L2" assigned too."""
    prop = assigned_property()
    second = make_property(name="Flat L2")
    LockAssignment.objects.create(property=second, lock=make_lock("L2", "ttlock"))
    staying = stay(prop, arrive_in=-1, guest_name="Sam Staying")
    upcoming = stay(prop, arrive_in=3, guest_name="Ursula Upcoming")
    tick()
    ProviderAccount.objects.filter(provider="ttlock").update(
        display_name="ada@example.com",
        credentials={"access_token": "tt-access-0123456789", "refresh_token": "tt-refresh-9876543210"},
        token_expires_at=timezone.now() + timedelta(days=60),
    )
    return prop, second, staying, upcoming


@pytest.fixture
def disconnect_queue(monkeypatch):
    """`finish_account_disconnect.delay` records the account ids (no broker); `run()` then runs the
    real task in this process, as a worker would."""
    real_task = tasks.finish_account_disconnect
    queued: list[int] = []
    monkeypatch.setattr(tasks, "finish_account_disconnect", SimpleNamespace(delay=queued.append))

    def run():
        while queued:
            real_task(queued.pop(0))

    return SimpleNamespace(queued=queued, run=run)


class TestDisconnect:
    def test_the_confirmation_lists_what_will_happen(self, logged_in, ttlock_with_codes):
        prop, second, staying, upcoming = ttlock_with_codes
        codes_before = codes_state()
        response = logged_in.get(reverse("integrations:disconnect", args=["ttlock"]))
        content = response.content.decode()
        assert response.status_code == 200
        assert "<h1>Disconnect TTLock (ada@example.com)?</h1>" in content
        assert re.search(r"revoke the codes of bookings that have not started yet on TTLock locks\s+\(1 code\)", content)
        arriving = upcoming.arrival_date.strftime("%-d %B %Y")
        assert f"<li>Ursula Upcoming at Flat L1, arriving {arriving}</li>" in content
        assert "Sam Staying" not in content
        assert "remove every TTLock lock assignment (2 properties: Flat L1, Flat L2)" in content
        assert "delete the stored TTLock credentials and tokens." in content
        assert "Codes of guests staying now (1) remain valid until they expire at check-out." in content
        assert '<button type="submit" class="danger">Disconnect TTLock</button>' in content
        # Looking changes nothing.
        assert codes_state() == codes_before and LockAssignment.objects.count() == 2
        assert ProviderAccount.objects.get(provider="ttlock").status == AccountStatus.CONNECTED

    def test_igloohome_says_its_codes_cannot_be_revoked_remotely(self, logged_in, assigned_property, stay):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        stay(prop, arrive_in=3, guest_name="Ursula Upcoming")
        tick()
        content = logged_in.get(reverse("integrations:disconnect", args=["igloohome"])).content.decode()
        assert "leave the codes of bookings that have not started yet (1) working until their end:" in content
        assert "igloohome cannot revoke codes remotely" in content
        assert "revoke the codes of bookings" not in content
        assert "Ursula Upcoming at Flat IG1" in content
        assert "remove every igloohome lock assignment (1 property: Flat IG1)" in content

    def test_post_starts_disconnecting_and_the_task_revokes_then_forgets_the_credentials(
        self, logged_in, ttlock_with_codes, fake_cloud, disconnect_queue, django_capture_on_commit_callbacks
    ):
        prop, second, staying, upcoming = ttlock_with_codes
        staying_code, upcoming_code = current(staying), current(upcoming)
        assert len(fake_cloud.codes_on("L1")) == 2

        with django_capture_on_commit_callbacks(execute=True):
            response = logged_in.post(reverse("integrations:disconnect", args=["ttlock"]))
        assert response.status_code == 302 and response["Location"] == panel_url("ttlock")
        assert messages_of(response) == [
            "Disconnecting TTLock: 1 upcoming code is being revoked; 2 lock assignments removed; the stored credentials are "
            "deleted once this is done. 1 guest staying now keeps their code until check-out."
        ]
        # At once: disconnecting, the assignments gone, the code retired; no vendor request yet.
        account = ProviderAccount.objects.get(provider="ttlock")
        assert account.status == AccountStatus.DISCONNECTING and account.credentials != {}
        assert not LockAssignment.objects.exists()
        upcoming_code.refresh_from_db()
        assert upcoming_code.state == CodeState.REVOKING and not upcoming_code.is_current
        assert len(fake_cloud.codes_on("L1")) == 2
        assert disconnect_queue.queued == [account.pk]
        content = logged_in.get(panel_url("ttlock")).content.decode()
        assert "Disconnecting…" in content and "The codes of upcoming bookings are being revoked" in content
        assert 'name="password"' not in content and "Lock assignments" not in content
        assert "Disconnecting…" in card_html(logged_in.get(reverse("integrations:index")).content.decode(), "ttlock")

        disconnect_queue.run()
        account.refresh_from_db()
        assert account.status == AccountStatus.DISCONNECTED
        assert account.credentials == {} and account.token_expires_at is None
        assert account.disconnect_summary == (
            "TTLock is disconnected and its stored credentials are deleted. 1 code(s) of upcoming bookings were "
            "revoked. 1 guest(s) staying now keep their code until check-out."
        )
        upcoming_code.refresh_from_db()
        staying_code.refresh_from_db()
        assert upcoming_code.state == CodeState.REVOKED  # the fake cloud answered at once
        assert staying_code.state == CodeState.ACTIVE and staying_code.is_current
        assert [code.pin for code in fake_cloud.codes_on("L1")] == [staying_code.pin]

        content = logged_in.get(panel_url("ttlock")).content.decode()
        assert 'action="/locks/connect/ttlock/"' in content and 'name="password"' in content
        assert "Lock assignments" not in content and "ada@example.com" not in content
        assert account.disconnect_summary in content and "Disconnecting…" not in content
        assert "Not connected." in card_html(logged_in.get(reverse("integrations:index")).content.decode(), "ttlock")
        # No new code for that property any more.
        later = Booking.objects.create(
            property=prop, guest_name="Nora New", arrival_date=today() + timedelta(days=2),
            departure_date=today() + timedelta(days=4), status=BookingStatus.CONFIRMED,
        )
        assert services.booking_confirmed(booking=later) is None
        # Disconnecting again: nothing left to disconnect.
        before = codes_state()
        assert logged_in.post(reverse("integrations:disconnect", args=["ttlock"])).status_code == 404
        assert codes_state() == before

    def test_a_code_that_could_not_be_revoked_is_named_on_the_panel(self, logged_in, ttlock_with_codes, disconnect_queue):
        prop, second, staying, upcoming = ttlock_with_codes
        ProviderAccount.objects.filter(provider="ttlock").update(status=AccountStatus.NEEDS_RECONNECT)
        response = logged_in.post(reverse("integrations:disconnect", args=["ttlock"]))
        # Refused credentials revoke nothing: no vendor request to wait for, so it is done at once.
        assert messages_of(response) == ["TTLock is disconnected."] and disconnect_queue.queued == []
        summary = re.search(
            r'<p class="notice" id="last-disconnection">(.*?)</p>', logged_in.get(panel_url("ttlock")).content.decode(), re.S
        )
        assert summary.group(1).startswith("TTLock is disconnected and its stored credentials are deleted.")
        assert "Ursula Upcoming&#x27;s code at Flat L1 could not be removed and works until " in summary.group(1)
        code = AccessCode.objects.get(booking=upcoming)
        assert code.state == CodeState.SUPERSEDED and not code.is_current
        assert ProviderAccount.objects.get(provider="ttlock").credentials == {}

    def test_igloohome_post_leaves_the_upcoming_algopin_valid_until_its_end(self, logged_in, assigned_property, stay, disconnect_queue):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        staying = stay(prop, arrive_in=-1, guest_name="Sam Staying")
        upcoming = stay(prop, arrive_in=3, guest_name="Ursula Upcoming")
        tick()
        response = logged_in.post(reverse("integrations:disconnect", args=["igloohome"]))
        assert response.status_code == 302
        assert messages_of(response) == ["igloohome is disconnected."] and disconnect_queue.queued == []
        assert ProviderAccount.objects.get(provider="igloohome").status == AccountStatus.DISCONNECTED
        content = logged_in.get(panel_url("igloohome")).content.decode()
        assert "igloohome is disconnected and its stored credentials are deleted." in content
        assert current(staying).state == CodeState.ACTIVE
        superseded = AccessCode.objects.get(booking=upcoming)
        assert superseded.state == CodeState.SUPERSEDED and not superseded.is_current
        row = re.search(rf'<tr id="booking-{upcoming.pk}">.*?</tr>', logged_in.get(reverse("bookings:codes")).content.decode(), re.S)
        assert "cannot be revoked remotely (igloohome): valid until 11:30" in row.group(0)

    def test_disconnect_needs_a_connected_account(self, logged_in, make_lock):
        url = reverse("integrations:disconnect", args=["tedee"])
        assert logged_in.get(url).status_code == 404 and logged_in.post(url).status_code == 404
        make_lock("E1", "tedee")
        ProviderAccount.objects.filter(provider="tedee").update(status=AccountStatus.DISCONNECTED)
        assert logged_in.get(url).status_code == 404 and logged_in.post(url).status_code == 404


def test_disconnecting_igloohome_says_until_when_upcoming_codes_keep_working(
    client, host, assigned_property, book, fake_cloud, disconnect_queue
):
    from datetime import timedelta

    from django.utils import timezone

    from locks import services as lifecycle
    from locks.models import AccessCode, CodeState

    prop = assigned_property(provider="igloohome")
    booking = book(prop, timezone.localdate() + timedelta(days=2), timezone.localdate() + timedelta(days=4), guest_name="Ivy Upcoming")
    lifecycle.booking_created(booking=booking)
    scheduler.run_pass(dispatch=scheduler.process_inline)
    assert AccessCode.objects.get(booking=booking).state == CodeState.ACTIVE
    client.force_login(host)
    client.post(reverse("integrations:disconnect", args=["igloohome"]))
    content = client.get(reverse("integrations:panel", args=["igloohome"])).content.decode()
    assert "Ivy Upcoming&#x27;s code at Flat L1 could not be removed and works until" in content
    assert AccessCode.objects.get(booking=booking).state == CodeState.SUPERSEDED
