"""Disconnecting in the background (docs/product.md, "Disconnect"): the web request only starts it (the
account DISCONNECTING, upcoming codes retired, assignments removed, no vendor request); a task
revokes the codes with the credentials still stored, records those it could not revoke, then
deletes the credentials and keeps a summary for the host. Meanwhile no code is created for the
account's locks, a second press changes nothing and connecting again is refused.

Vendors are the in-memory fake cloud (tests/conftest.py); igloohome there cannot revoke remotely.
"""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from locks import services, tasks
from locks.connect.services import ConnectError, connect_with_credentials
from locks.models import AccessCode, AccountStatus, CodeState, LockAssignment, ProviderAccount
from locks.providers import registry
from locks.providers.base import ConnectResult
from locks.providers.exceptions import ProviderAuthError, VendorUnavailable
from locks.providers.igloohome import IgloohomeProvider
from locks.providers.ttlock import TTLockProvider
from locks.services import missing_codes
from locks.services.accounts import (
    DISCONNECT_NOTE,
    account_disconnect_finish,
    account_disconnect_start,
    disconnects_stalled,
)
from locks.services.connections import account_connect
from nowistay.celery import app
from tests.helpers.lifecycle import current, tick

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]


# --- helpers and fixtures --------------------------------------------------------------------------

def panel_url(provider="ttlock"):
    return reverse("integrations:panel", args=[provider])


def disconnect_url(provider="ttlock"):
    return reverse("integrations:disconnect", args=[provider])


def card_html(content: str, provider: str) -> str:
    match = re.search(rf'<li class="card" id="card-{provider}">.*?</li>', content, re.S)
    assert match, f"no card for {provider}"
    return match.group(0)


def snapshot() -> dict:
    return {
        "accounts": list(ProviderAccount.objects.order_by("id").values()),
        "assignments": list(LockAssignment.objects.order_by("id").values()),
        "codes": list(AccessCode.objects.order_by("id").values()),
    }


@pytest.fixture
def stay(book):
    def make(prop, arrive_in: int, nights: int = 3, **fields):
        arrival = timezone.localdate() + timedelta(days=arrive_in)
        booking = book(prop, arrival, arrival + timedelta(days=nights), **fields)
        services.booking_confirmed(booking=booking)
        return booking

    return make


@pytest.fixture
def ttlock(assigned_property, stay):
    """TTLock "Flat L1": a guest staying now and two arriving in 2 and 3 days, every code on the lock."""
    prop = assigned_property()
    staying = stay(prop, arrive_in=-1, guest_name="Sam Staying")
    first = stay(prop, arrive_in=2, guest_name="Una Upcoming")
    second = stay(prop, arrive_in=3, guest_name="Vic Upcoming")
    tick()
    assert {current(b).state for b in (staying, first, second)} == {CodeState.ACTIVE}
    ProviderAccount.objects.filter(provider="ttlock").update(
        display_name="ada@example.com",
        credentials={"access_token": "tt-access-0123456789"},
        token_expires_at=timezone.now() + timedelta(days=30),
    )
    account = ProviderAccount.objects.get(provider="ttlock")
    return SimpleNamespace(prop=prop, account=account, staying=staying, first=first, second=second)


@pytest.fixture
def logged_in(client, host):
    client.force_login(host)
    return client


@pytest.fixture
def disconnect_queue(monkeypatch):
    """`finish_account_disconnect.delay` records the account ids (no broker); `run()` then runs the
    real task in this process, as a worker would."""
    real_task = tasks.finish_account_disconnect
    queued: list[int] = []
    monkeypatch.setattr(tasks, "finish_account_disconnect", SimpleNamespace(delay=queued.append))

    def run():
        results = []
        while queued:
            results.append(real_task(queued.pop(0)))
        return results

    return SimpleNamespace(queued=queued, run=run)


@pytest.fixture
def eager():
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    try:
        yield app
    finally:
        app.conf.update(saved)


# --- starting -------------------------------------------------------------------------------------

class TestStart:
    def test_marks_disconnecting_retires_upcoming_codes_and_removes_assignments_at_once(self, ttlock, make_property, make_lock, fake_cloud):
        second_flat = make_property(name="Flat L2")
        LockAssignment.objects.create(property=second_flat, lock=make_lock("L2", "ttlock"))
        calls_before = sum(fake_cloud.calls.values())

        plan = account_disconnect_start(account=ttlock.account)

        assert plan.started and plan.awaits_vendor
        assert (plan.to_revoke, plan.revoked_at_once, plan.left_valid) == (2, 0, [])
        assert (plan.assignments_removed, plan.staying_untouched) == (2, 1)
        assert sum(fake_cloud.calls.values()) == calls_before  # no vendor request
        account = ProviderAccount.objects.get(pk=ttlock.account.pk)
        assert account.status == AccountStatus.DISCONNECTING and ttlock.account.status == AccountStatus.DISCONNECTING
        assert account.credentials == {"access_token": "tt-access-0123456789"}  # kept for the revocations
        assert account.disconnect_started_at is not None and account.disconnect_summary == ""
        assert not LockAssignment.objects.exists()
        for booking in (ttlock.first, ttlock.second):
            code = AccessCode.objects.get(booking=booking)
            # Retired, and kept for the finishing task: the scheduler does not take it meanwhile.
            assert code.state == CodeState.REVOKING and not code.is_current and code.next_attempt_at is None
        assert current(ttlock.staying).state == CodeState.ACTIVE
        assert len(fake_cloud.codes_on("L1")) == 3

    def test_a_code_not_on_the_lock_yet_is_revoked_at_once(self, assigned_property, stay, fake_cloud):
        prop = assigned_property()
        later = stay(prop, arrive_in=20)  # created 5 days before arrival: still scheduled
        assert current(later).state == CodeState.SCHEDULED
        account = ProviderAccount.objects.get()

        plan = account_disconnect_start(account=account)

        assert (plan.to_revoke, plan.revoked_at_once, plan.awaits_vendor) == (0, 1, False)
        code = AccessCode.objects.get(booking=later)
        assert code.state == CodeState.REVOKED and code.next_attempt_at is None

    def test_no_code_is_created_for_the_accounts_locks_while_disconnecting(self, ttlock, fake_cloud, book):
        account_disconnect_start(account=ttlock.account)
        newcomer = book(ttlock.prop, timezone.localdate() + timedelta(days=1), timezone.localdate() + timedelta(days=2))
        assert services.booking_confirmed(booking=newcomer) is None
        # Even with the lock assigned again (e.g. by staff): the account is disconnecting.
        LockAssignment.objects.create(property=ttlock.prop, lock=ttlock.account.locks.get())
        assert services.booking_confirmed(booking=newcomer) is None
        creates = fake_cloud.calls["create_code"]
        report = tick()
        assert missing_codes.last_missing_codes_pass().planned == 0 and report.claimed == 0
        assert fake_cloud.calls["create_code"] == creates
        assert not AccessCode.objects.filter(booking=newcomer).exists()
        # The scheduler leaves the codes waiting for the finishing task alone.
        assert fake_cloud.calls["delete_code"] == 0
        assert AccessCode.objects.filter(state=CodeState.REVOKING, next_attempt_at__isnull=True).count() == 2

    def test_a_second_start_changes_nothing(self, ttlock):
        account_disconnect_start(account=ttlock.account)
        before = snapshot()
        plan = account_disconnect_start(account=ProviderAccount.objects.get(pk=ttlock.account.pk))
        assert not plan.started and snapshot() == before


# --- finishing ------------------------------------------------------------------------------------

class TestFinish:
    def test_revokes_then_deletes_the_credentials_and_keeps_a_summary(self, ttlock, fake_cloud):
        account_disconnect_start(account=ttlock.account)
        report = account_disconnect_finish(account_id=ttlock.account.pk)

        assert (report.revoked, report.left_valid, report.staying_untouched) == (2, [], 1)
        assert fake_cloud.calls["delete_code"] == 2
        assert [code.pin for code in fake_cloud.codes_on("L1")] == [current(ttlock.staying).pin]
        for booking in (ttlock.first, ttlock.second):
            code = AccessCode.objects.get(booking=booking)
            assert code.state == CodeState.REVOKED and code.claim_token == "" and code.finished_at is not None
        account = ProviderAccount.objects.get(pk=ttlock.account.pk)
        assert account.status == AccountStatus.DISCONNECTED
        assert account.credentials == {} and account.token_expires_at is None
        assert account.disconnect_summary == (
            "TTLock is disconnected and its stored credentials are deleted. 2 code(s) of upcoming bookings were revoked. "
            "1 guest(s) staying now keep their code until check-out."
        )

    def test_a_code_the_vendor_fails_to_revoke_is_recorded_as_working_until_its_end(self, ttlock, fake_cloud):
        fake_cloud.fail_next("delete_code", VendorUnavailable("TTLock is down."))
        account_disconnect_start(account=ttlock.account)
        report = account_disconnect_finish(account_id=ttlock.account.pk)

        first = AccessCode.objects.get(booking=ttlock.first)
        assert report.revoked == 1 and report.left_valid == [first]
        assert first.state == CodeState.SUPERSEDED and first.last_error == DISCONNECT_NOTE
        assert first.next_attempt_at == (first.lock_ends_at or first.ends_at)
        assert AccessCode.objects.get(booking=ttlock.second).state == CodeState.REVOKED
        summary = ProviderAccount.objects.get(pk=ttlock.account.pk).disconnect_summary
        assert "1 code(s) of upcoming bookings were revoked." in summary
        assert "Una Upcoming's code at Flat L1 could not be removed and works until " in summary

    def test_credentials_the_vendor_refuses_stop_the_requests(self, ttlock, fake_cloud):
        fake_cloud.fail_next("delete_code", ProviderAuthError("The access token was revoked."))
        account_disconnect_start(account=ttlock.account)
        report = account_disconnect_finish(account_id=ttlock.account.pk)

        assert fake_cloud.calls["delete_code"] == 1  # the second code was not tried with refused credentials
        assert report.revoked == 0 and len(report.left_valid) == 2
        assert {code.state for code in report.left_valid} == {CodeState.SUPERSEDED}
        assert ProviderAccount.objects.get(pk=ttlock.account.pk).status == AccountStatus.DISCONNECTED

    def test_igloohome_codes_cannot_be_revoked_and_are_named(self, assigned_property, stay, fake_cloud):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        upcoming = stay(prop, arrive_in=2, guest_name="Ivy Upcoming")
        tick()
        account = ProviderAccount.objects.get(provider="igloohome")

        plan = account_disconnect_start(account=account)
        assert plan.left_valid and not plan.awaits_vendor  # nothing for the vendor: finished at once by the view
        report = account_disconnect_finish(account_id=account.pk)

        code = AccessCode.objects.get(booking=upcoming)
        assert code.state == CodeState.SUPERSEDED and not code.is_current
        assert report.revoked == 0 and report.left_valid == [code]
        assert fake_cloud.calls["delete_code"] == 0
        account.refresh_from_db()
        assert account.status == AccountStatus.DISCONNECTED and account.credentials == {}
        assert "Ivy Upcoming's code at Flat IG1 could not be removed and works until " in account.disconnect_summary

    def test_a_revocation_already_under_way_is_attempted_before_the_credentials_go(self, ttlock, fake_cloud):
        """A code retired earlier whose revocation waits for an hourly retry is revoked now, not left
        to be marked revoked once nothing can reach the lock any more."""
        fake_cloud.fail_next("delete_code", VendorUnavailable("TTLock is down."))
        ttlock.first.status = BookingStatus.CANCELLED
        ttlock.first.save()
        services.booking_cancelled(booking=ttlock.first)
        tick()
        cancelled = AccessCode.objects.get(booking=ttlock.first)
        assert cancelled.state == CodeState.REVOKING and cancelled.next_attempt_at > timezone.now()

        account_disconnect_start(account=ttlock.account)
        account_disconnect_finish(account_id=ttlock.account.pk)

        cancelled.refresh_from_db()
        assert cancelled.state == CodeState.REVOKED
        assert len(fake_cloud.codes_on("L1")) == 1

    def test_an_ended_stay_whose_code_still_works_is_named_too(
        self, ttlock, fake_cloud, logged_in, disconnect_queue, django_capture_on_commit_callbacks
    ):
        """A staying guest's access was ended early and its revocation waits for a retry: it is
        attempted once more; when that fails too, the summary says the code still works."""
        fake_cloud.fail_next("delete_code", VendorUnavailable("TTLock is down."))
        services.booking_end_access(booking=ttlock.staying)
        tick()
        ended = AccessCode.objects.get(booking=ttlock.staying)
        assert ended.state == CodeState.REVOKING and ended.next_attempt_at > timezone.now()
        for booking in (ttlock.first, ttlock.second):  # no upcoming code left
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
        tick()
        assert list(AccessCode.objects.filter(state=CodeState.REVOKING)) == [ended]

        with django_capture_on_commit_callbacks(execute=True):
            response = logged_in.post(disconnect_url())
        assert [str(m) for m in response.wsgi_request._messages] == [
            "Disconnecting TTLock: the revocations already under way are being finished; 1 lock assignment removed; "
            "the stored credentials are deleted once this is done."
        ]
        fake_cloud.fail_next("delete_code", VendorUnavailable("TTLock is down."))
        disconnect_queue.run()

        ended.refresh_from_db()
        assert ended.state == CodeState.SUPERSEDED and ended.last_error == DISCONNECT_NOTE
        summary = ProviderAccount.objects.get(pk=ttlock.account.pk).disconnect_summary
        assert "Sam Staying's code at Flat L1 could not be removed and works until " in summary

    def test_finishing_twice_or_without_a_start_does_nothing(self, ttlock):
        assert account_disconnect_finish(account_id=ttlock.account.pk) is None
        assert ProviderAccount.objects.get(pk=ttlock.account.pk).status == AccountStatus.CONNECTED
        account_disconnect_start(account=ttlock.account)
        account_disconnect_finish(account_id=ttlock.account.pk)
        before = snapshot()
        assert account_disconnect_finish(account_id=ttlock.account.pk) is None
        assert snapshot() == before

    def test_the_summary_fits_its_field_whatever_the_number_of_codes(self, assigned_property, stay, fake_cloud):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        for day in range(1, 5):
            stay(prop, arrive_in=day, nights=1, guest_name=f"Guest With A Very Long Name Number {day:02d} " + "x" * 40)
        tick()
        account = ProviderAccount.objects.get(provider="igloohome")
        account_disconnect_start(account=account)
        report = account_disconnect_finish(account_id=account.pk)
        summary = ProviderAccount.objects.get(pk=account.pk).disconnect_summary
        assert len(report.left_valid) == 4 and len(summary) <= 500
        assert summary.startswith("igloohome is disconnected and its stored credentials are deleted.")
        assert "more code(s) could not be removed and work until their end" in summary

    def test_the_synchronous_call_starts_and_finishes(self, ttlock, fake_cloud):
        report = services.account_disconnect(account=ttlock.account)
        assert (report.revoked, report.left_valid, report.staying_untouched) == (2, [], 1)
        assert ttlock.account.status == AccountStatus.DISCONNECTED and ttlock.account.credentials == {}
        again = services.account_disconnect(account=ttlock.account)
        assert (again.revoked, again.left_valid, again.staying_untouched) == (0, [], 1)


# --- the task ---------------------------------------------------------------------------------------

class TestTask:
    def test_the_task_finishes_the_disconnection(self, eager, ttlock, fake_cloud):
        account_disconnect_start(account=ttlock.account)
        assert tasks.finish_account_disconnect.delay(ttlock.account.pk).get() == "2 revoked, 0 left valid, 1 staying"
        assert ProviderAccount.objects.get(pk=ttlock.account.pk).status == AccountStatus.DISCONNECTED
        assert tasks.finish_account_disconnect.delay(ttlock.account.pk).get() == "not disconnecting"

    def test_the_task_is_acks_late(self):
        assert tasks.finish_account_disconnect.acks_late is True

    def test_a_disconnection_whose_task_was_lost_is_sent_again_by_the_keep_alive_run(self, ttlock, monkeypatch):
        account_disconnect_start(account=ttlock.account)
        assert disconnects_stalled() == []
        later = timezone.now() + timedelta(hours=2)
        assert disconnects_stalled(now=later) == [ttlock.account.pk]
        sent = []
        monkeypatch.setattr(tasks.finish_account_disconnect, "delay", sent.append)
        monkeypatch.setattr(tasks.accounts, "disconnects_stalled", lambda: disconnects_stalled(now=later))
        outcome = tasks.keep_accounts_alive()
        assert sent == [ttlock.account.pk] and outcome["disconnects_resumed"] == 1


# --- connecting again ---------------------------------------------------------------------------------

class TestConnectingWhileDisconnecting:
    RESULT = ConnectResult(credentials={"access_token": "new-token-0123456789"}, expires_at=None, display_name="ada@example.com")

    def test_account_connect_is_refused_and_stores_nothing(self, ttlock, host):
        account_disconnect_start(account=ttlock.account)
        before = snapshot()
        with pytest.raises(VendorUnavailable, match="TTLock is still being disconnected"):
            account_connect(host=host, provider="ttlock", result=self.RESULT)
        with pytest.raises(VendorUnavailable):
            services.account_reconnected(account=ttlock.account, credentials={"access_token": "new"}, expires_at=None)
        assert snapshot() == before

    def test_once_disconnected_connecting_again_works_and_clears_the_summary(self, ttlock, host, fake_cloud):
        account_disconnect_start(account=ttlock.account)
        account_disconnect_finish(account_id=ttlock.account.pk)
        account = account_connect(host=host, provider="ttlock", result=self.RESULT)
        account.refresh_from_db()
        assert account.status == AccountStatus.CONNECTED and account.credentials == self.RESULT.credentials
        assert account.disconnect_summary == "" and account.disconnect_started_at is None

    def test_the_igloohome_connect_form_shows_the_refusal(self, logged_in, assigned_property, monkeypatch):
        assigned_property(provider="igloohome", vendor_lock_id="IG1")
        account = ProviderAccount.objects.get(provider="igloohome")
        ProviderAccount.objects.filter(pk=account.pk).update(status=AccountStatus.DISCONNECTING, credentials={"token": "old"})
        monkeypatch.setattr(IgloohomeProvider, "sign_in", classmethod(lambda cls, **kwargs: self.RESULT))
        response = logged_in.post(reverse("locks:igloohome_connect"), {"client_id": "id", "client_secret": "secret"})
        content = response.content.decode()
        assert response.status_code == 400
        assert '<p class="notice error" role="alert">igloohome is still being disconnected' in content
        assert 'name="client_secret"' not in content and "Disconnecting…" in content
        account.refresh_from_db()
        assert account.status == AccountStatus.DISCONNECTING and account.credentials == {"token": "old"}


    def test_the_ttlock_connect_form_shows_the_refusal_instead_of_an_error_page(self, logged_in, ttlock, monkeypatch):
        ProviderAccount.objects.filter(pk=ttlock.account.pk).update(status=AccountStatus.DISCONNECTING)
        monkeypatch.setattr(TTLockProvider, "sign_in", staticmethod(lambda username, password, **kwargs: self.RESULT))
        response = logged_in.post(reverse("locks:ttlock_connect"), {"username": "ada@example.com", "password": "pw"})
        assert response.status_code == 400 and "TTLock is still being disconnected" in response.content.decode()

    def test_nuki_and_tedee_turn_the_refusal_into_their_own_message(self, host, make_lock, monkeypatch):
        account = make_lock("N1", "nuki").account
        ProviderAccount.objects.filter(pk=account.pk).update(status=AccountStatus.DISCONNECTING)
        # The fake standing in for Nuki (the registry's) took Nuki's sign-in: patch it there.
        monkeypatch.setattr(registry.provider_class("nuki"), "sign_in_with", staticmethod(lambda method, values, **kwargs: self.RESULT))
        with pytest.raises(ConnectError, match="Nuki is still being disconnected"):
            connect_with_credentials(host=host, provider="nuki", method="api-token", values={"token": "t0ken"})


# --- the dashboard ------------------------------------------------------------------------------------

class TestDashboard:
    def test_the_panel_and_the_card_show_each_state(self, logged_in, ttlock, disconnect_queue, django_capture_on_commit_callbacks):
        # Connected: the Disconnect link, the assignments.
        content = logged_in.get(panel_url()).content.decode()
        assert f'<a href="{disconnect_url()}">Disconnect</a>' in content and "Lock assignments" in content
        assert "Manage TTLock" in card_html(logged_in.get(reverse("integrations:index")).content.decode(), "ttlock")

        with django_capture_on_commit_callbacks(execute=True):
            response = logged_in.post(disconnect_url())
        assert disconnect_queue.queued == [ttlock.account.pk]
        content = logged_in.get(response["Location"]).content.decode()
        assert "Disconnecting TTLock: 2 upcoming codes are being revoked; 1 lock assignment removed;" in content

        # Disconnecting: the notice, no connect form, no assignments, no Disconnect link.
        content = logged_in.get(panel_url()).content.decode()
        assert '<h2 id="disconnecting-heading">Disconnecting…</h2>' in content
        assert "The stored credentials and tokens are deleted once the codes are done" in content
        assert 'name="password"' not in content and "Lock assignments" not in content
        assert f'href="{disconnect_url()}"' not in content and "Connect TTLock" not in content
        card = card_html(logged_in.get(reverse("integrations:index")).content.decode(), "ttlock")
        assert "Disconnecting…" in card and "ada@example.com" in card
        assert "Manage TTLock" not in card and "Not connected" not in card and ">Connect<" not in card
        # The notice asks again: the same notice while it lasts.
        poll = logged_in.get(panel_url() + "?poll=disconnecting", HTTP_HX_REQUEST="true")
        assert poll.status_code == 200 and "Disconnecting…" in poll.content.decode() and "HX-Refresh" not in poll
        # The actions of a connected account are not offered.
        assert logged_in.post(reverse("integrations:refresh_locks", args=["ttlock"])).status_code == 404

        disconnect_queue.run()

        # Disconnected: the summary and the connect form; the card is "Not connected" again.
        poll = logged_in.get(panel_url() + "?poll=disconnecting", HTTP_HX_REQUEST="true")
        assert poll["HX-Refresh"] == "true"
        content = logged_in.get(panel_url()).content.decode()
        assert '<p class="notice" id="last-disconnection">TTLock is disconnected and its stored credentials are deleted. ' in content
        assert "2 code(s) of upcoming bookings were revoked." in content
        assert 'name="password"' in content and "Disconnecting…" not in content
        card = card_html(logged_in.get(reverse("integrations:index")).content.decode(), "ttlock")
        assert "Not connected." in card and "Disconnecting" not in card

    def test_a_second_post_while_disconnecting_changes_nothing(
        self, logged_in, ttlock, disconnect_queue, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            logged_in.post(disconnect_url())
        before = snapshot()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = logged_in.post(disconnect_url())
        assert response.status_code == 302 and response["Location"] == panel_url()
        assert [str(m) for m in response.wsgi_request._messages][-1] == (
            "TTLock is already being disconnected: the codes of upcoming bookings are being revoked. Nothing else was changed."
        )
        assert snapshot() == before and callbacks == [] and disconnect_queue.queued == [ttlock.account.pk]
        # The confirmation page leads back to the panel.
        assert logged_in.get(disconnect_url())["Location"] == panel_url()

    def test_with_nothing_to_revoke_at_the_vendor_it_is_finished_at_once(self, logged_in, assigned_property, stay, disconnect_queue):
        prop = assigned_property()
        staying = stay(prop, arrive_in=-1)
        tick()
        response = logged_in.post(disconnect_url())
        assert [str(m) for m in response.wsgi_request._messages] == ["TTLock is disconnected."]
        assert disconnect_queue.queued == []
        account = ProviderAccount.objects.get()
        assert account.status == AccountStatus.DISCONNECTED and account.credentials == {}
        assert account.disconnect_summary == (
            "TTLock is disconnected and its stored credentials are deleted. 1 guest(s) staying now keep their code until check-out."
        )
        assert current(staying).state == CodeState.ACTIVE

    def test_a_booking_confirmed_while_disconnecting_gets_no_code(self, logged_in, ttlock, disconnect_queue, fake_cloud):
        logged_in.post(disconnect_url())
        newcomer = Booking.objects.create(
            property=ttlock.prop, guest_name="Nora New", arrival_date=timezone.localdate() + timedelta(days=1),
            departure_date=timezone.localdate() + timedelta(days=2), status=BookingStatus.CONFIRMED,
        )
        assert services.booking_confirmed(booking=newcomer) is None
        content = logged_in.get(reverse("bookings:codes")).content.decode()
        row = re.search(rf'<tr id="booking-{newcomer.pk}">.*?</tr>', content, re.S)
        assert "no lock is assigned" in row.group(0)


def test_the_finishing_task_waits_for_a_code_a_worker_holds_instead_of_giving_it_up(ttlock, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from locks import tasks
    from locks.services.accounts import WorkerHoldsCode

    account_disconnect_start(account=ttlock.account)
    held = AccessCode.objects.filter(lock__account=ttlock.account, state=CodeState.REVOKING).order_by("id").first()
    AccessCode.objects.filter(pk=held.pk).update(claim_token="worker", claimed_until=timezone.now() + timedelta(minutes=2))
    with pytest.raises(WorkerHoldsCode):
        account_disconnect_finish(account_id=ttlock.account.pk, wait_for_workers=True)
    assert ProviderAccount.objects.get(pk=ttlock.account.pk).status == AccountStatus.DISCONNECTING
    assert AccessCode.objects.get(pk=held.pk).state == CodeState.REVOKING  # not given up

    retried = []
    monkeypatch.setattr(tasks.finish_account_disconnect, "retry", lambda countdown: retried.append(countdown) or RuntimeError("retry"))
    with pytest.raises(RuntimeError, match="retry"):
        tasks.finish_account_disconnect.run(ttlock.account.pk)
    assert retried == [30]

    AccessCode.objects.filter(pk=held.pk).update(claim_token="", claimed_until=None)  # the worker let go
    report = account_disconnect_finish(account_id=ttlock.account.pk, wait_for_workers=True)
    assert report is not None and AccessCode.objects.get(pk=held.pk).state == CodeState.REVOKED
