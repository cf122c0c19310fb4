"""The "Retry now" action (services.code_retry_now): what it changes on each kind of code, and
that the retried work really gets done by the worker step afterwards."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from freezegun import freeze_time

from bookings.models import Booking, BookingStatus
from locks import services
from locks.code_status import describe_code
from locks.models import AccessCode, CodeState, LockAssignment
from locks.providers.exceptions import CodeRejected, CodeStorageFull, LockNotFound, LockOffline, RateLimited
from locks.services import retry_now
from locks.services.claims import claim_code
from locks.services.steps import process_code
from tests.helpers.lifecycle import current, tick, utc

UTC = UTC
pytestmark = pytest.mark.django_db


def snapshot(code: AccessCode) -> dict:
    row = AccessCode.objects.get(pk=code.pk)
    return {field.attname: getattr(row, field.attname) for field in AccessCode._meta.concrete_fields}


def work_now(code: AccessCode, now: datetime):
    """What the enqueued task does: claim the code if it is due and free, take its step."""
    token = claim_code(code_id=code.pk, now=now)
    assert token is not None, "the retried code should be due and free"
    return process_code(code_id=code.pk, claim_token=token, now=now)


@pytest.fixture
def later():
    """(code id, countdown in seconds) of process_code tasks sent to run later; nothing runs."""
    return []


@pytest.fixture
def enqueued(monkeypatch, later):
    """Code ids handed to the process_code task (on commit); nothing runs."""
    from locks import tasks

    ids: list[int] = []
    send_later = lambda args, countdown: later.append((args[0], countdown))  # noqa: E731
    monkeypatch.setattr(tasks, "process_code", SimpleNamespace(delay=ids.append, apply_async=send_later))
    return ids


@pytest.fixture
def retry(django_capture_on_commit_callbacks, enqueued):
    """code_retry_now, running its on-commit callbacks; returns (message, ids enqueued)."""

    def run(code, now):
        before = len(enqueued)
        with django_capture_on_commit_callbacks(execute=True):
            message = services.code_retry_now(code_id=code.pk, now=now)
        return message, enqueued[before:]

    return run


@pytest.fixture
def active(assigned_property, book):
    """An active Paris code: stay 2-5 June 2026, created at 00:00Z on 1 June."""

    def make(**prop_options):
        prop = assigned_property(**prop_options)
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        with freeze_time("2026-06-01 00:00:00"):
            services.booking_created(booking=booking)
            tick()
        code = current(booking)
        assert code.state == CodeState.ACTIVE
        return code

    return make


def test_the_action_is_exported_from_the_services():
    assert services.code_retry_now is retry_now.code_retry_now
    assert "code_retry_now" in services.__all__


class TestRetryingCreation:
    def test_a_retrying_create_is_due_at_once_and_then_succeeds(self, assigned_property, book, fake_cloud, retry):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", LockOffline("The lock's gateway is offline."))
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = current(booking)
        assert code.state == CodeState.CREATING and code.next_attempt_at == utc(2026, 6, 1, 1, 0)

        now = utc(2026, 6, 1, 0, 20)
        message, ids = retry(code, now)
        assert message == "Retrying now." and ids == [code.pk]
        code.refresh_from_db()
        assert code.state == CodeState.CREATING and code.next_attempt_at == now
        assert code.attempts == 1 and code.last_error_kind == "lock_offline"  # history kept

        with freeze_time(now):
            result = work_now(code, now)
        assert result.action == "created"
        code.refresh_from_db()
        assert code.state == CodeState.ACTIVE and [c.pin for c in fake_cloud.codes_on("L1")] == [code.pin]


class TestLaterSteps:
    def test_an_update_waiting_for_a_retry(self, active, fake_cloud, retry):
        code = active()
        booking = code.booking
        with freeze_time("2026-06-01 00:00:00"):
            booking.departure_date = date(2026, 6, 7)
            booking.save()
            services.booking_changed(booking=booking)
            fake_cloud.fail_next("update_code", LockOffline("Gateway offline."))
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.UPDATING and code.next_attempt_at == utc(2026, 6, 1, 1, 0)

        now = utc(2026, 6, 1, 0, 10)
        message, ids = retry(code, now)
        assert message == "Retrying now." and ids == [code.pk]
        code.refresh_from_db()
        assert code.state == CodeState.UPDATING and code.next_attempt_at == now
        with freeze_time(now):
            assert work_now(code, now).action == "updated"
        code.refresh_from_db()
        assert code.state == CodeState.ACTIVE and code.lock_ends_at == utc(2026, 6, 7, 9, 30)
        assert fake_cloud.codes_on("L1")[0].ends_at == utc(2026, 6, 7, 9, 30)

    def test_a_revoke_waiting_for_a_retry(self, active, fake_cloud, retry):
        code = active()
        booking = code.booking
        with freeze_time("2026-06-01 00:00:00"):
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            fake_cloud.fail_next("delete_code", LockOffline("Gateway offline."))
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.REVOKING and code.next_attempt_at == utc(2026, 6, 1, 1, 0)

        now = utc(2026, 6, 1, 0, 30)
        message, ids = retry(code, now)
        assert message == "Retrying now." and ids == [code.pk]
        code.refresh_from_db()
        assert code.next_attempt_at == now and code.state == CodeState.REVOKING
        with freeze_time(now):
            work_now(code, now)
        code.refresh_from_db()
        assert code.state == CodeState.REVOKED and fake_cloud.codes_on("L1") == []

    def test_a_removal_after_the_stay_waiting_for_a_retry(self, active, fake_cloud, retry):
        code = active()
        fake_cloud.fail_next("delete_code", LockOffline("Gateway offline."))
        with freeze_time("2026-06-05 09:30:00"):
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.EXPIRING and code.next_attempt_at == utc(2026, 6, 5, 10, 30)

        now = utc(2026, 6, 5, 9, 45)
        message, ids = retry(code, now)
        assert message == "Retrying now." and ids == [code.pk]
        code.refresh_from_db()
        assert code.next_attempt_at == now
        with freeze_time(now):
            work_now(code, now)
        code.refresh_from_db()
        assert code.state == CodeState.EXPIRED and fake_cloud.codes_on("L1") == []


class TestFailedCreation:
    @pytest.fixture
    def failed(self, assigned_property, book, fake_cloud, mailoutbox):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", CodeStorageFull("The lock's code memory is full."))
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = current(booking)
        assert code.state == CodeState.FAILED and code.next_attempt_at is None and not code.create_outcome_unknown
        assert code.attempts == 1 and code.first_failure_at and code.failure_notified_at and code.alert_sent_at
        assert len(mailoutbox) == 1
        return code

    def test_creation_restarts_from_scratch(self, failed, retry):
        deadline = failed.retry_deadline
        assert deadline == utc(2026, 6, 2, 22, 0)  # 24:00 Paris on arrival day
        now = utc(2026, 6, 1, 3, 0)
        message, ids = retry(failed, now)
        assert message == "Retrying now." and ids == [failed.pk]
        failed.refresh_from_db()
        assert failed.state == CodeState.CREATING and failed.is_current
        assert (failed.attempts, failed.pin_rejections) == (0, 0)
        assert failed.first_failure_at is None and failed.alert_sent_at is None and failed.failure_notified_at is None
        assert (failed.last_error, failed.last_error_kind) == ("", "")
        assert failed.retry_deadline == deadline  # already later than an hour from now
        assert failed.next_attempt_at == now and not failed.create_outcome_unknown

    def test_a_pin_the_lock_refused_is_chosen_afresh_so_the_retry_sends_another(self, assigned_property, book, fake_cloud, retry):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", CodeRejected("TTLock refused the PIN as too simple."), times=5)
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = current(booking)
        assert code.state == CodeState.FAILED and code.last_error_kind == "code_rejected"
        refused = code.pin
        now = utc(2026, 6, 1, 3, 0)
        assert retry(code, now)[0] == "Retrying now."
        code.refresh_from_db()
        assert code.pin is None
        calls = fake_cloud.calls["create_code"]
        with freeze_time(now):
            assert work_now(code, now).action == "created"
        code = current(booking)
        assert code.state == CodeState.ACTIVE and code.pin != refused
        assert fake_cloud.calls["create_code"] == calls + 1  # no request wasted on the refused PIN

    def test_the_restarted_creation_succeeds_on_the_next_worker_step(self, failed, retry, fake_cloud, mailoutbox):
        now = utc(2026, 6, 1, 3, 0)
        retry(failed, now)
        with freeze_time(now):
            result = work_now(failed, now)
        assert result.action == "created"
        failed.refresh_from_db()
        assert failed.state == CodeState.ACTIVE and failed.attempts == 1
        (issued,) = fake_cloud.codes_on("L1")
        assert issued.pin == failed.pin and issued.vendor_code_id == failed.vendor_code_id
        assert len(mailoutbox) == 1  # no new email

    def test_the_scheduler_pass_picks_it_up_too(self, failed, retry, fake_cloud):
        with freeze_time("2026-06-01 03:00:00"):
            retry(failed, utc(2026, 6, 1, 3, 0))
            report = tick()
        assert report.actions["created"] == 1
        failed.refresh_from_db()
        assert failed.state == CodeState.ACTIVE and len(fake_cloud.codes_on("L1")) == 1

    def test_after_the_deadline_one_more_hour_of_retries_is_given(self, assigned_property, book, fake_cloud, retry):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", CodeStorageFull("The lock's code memory is full."))
        with freeze_time("2026-06-03 12:00:00"):  # the stay has begun; the retry deadline has passed
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = current(booking)
        assert code.state == CodeState.FAILED and code.retry_deadline == utc(2026, 6, 2, 22, 0)

        now = utc(2026, 6, 3, 12, 10)
        assert retry(code, now)[0] == "Retrying now."
        code.refresh_from_db()
        assert code.retry_deadline == now + timedelta(hours=1)
        # The attempt fails for a passing reason: it is retried once more instead of failing at once.
        fake_cloud.fail_next("create_code", LockOffline("Gateway offline."))
        with freeze_time(now):
            assert work_now(code, now).action == "retrying"
        code.refresh_from_db()
        # Retried on the hour grid of its generation moment (00:00 Paris, :00 UTC), within the hour given.
        assert code.state == CodeState.CREATING and code.next_attempt_at == utc(2026, 6, 3, 13, 0)
        later = utc(2026, 6, 3, 13, 0)
        with freeze_time(later):
            assert work_now(code, later).action == "created"
        assert current(booking).state == CodeState.ACTIVE

    def test_a_create_whose_answer_was_lost_is_looked_for_before_creating_again(self, assigned_property, book, fake_cloud, retry):
        prop = assigned_property()
        fake_cloud.lose_response_next("create_code")
        fake_cloud.fail_next("find_code", LockOffline("Gateway offline."))
        with freeze_time("2026-06-02 21:00:00") as frozen:  # 23:00 Paris on the arrival day
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()  # created on the lock, answer lost
            frozen.move_to("2026-06-02 22:00:00")  # the deadline: the search fails, the code fails
            tick()
        code = current(booking)
        assert code.state == CodeState.FAILED and code.create_outcome_unknown

        now = utc(2026, 6, 2, 22, 10)
        assert retry(code, now)[0] == "Retrying now."
        code.refresh_from_db()
        assert code.state == CodeState.CREATING and code.create_outcome_unknown  # kept: look first
        assert code.retry_deadline == utc(2026, 6, 2, 23, 10)
        with freeze_time(now):
            work_now(code, now)
        code.refresh_from_db()
        assert code.state == CodeState.ACTIVE
        assert fake_cloud.calls["create_code"] == 1  # found, not created twice
        assert [issued.vendor_code_id for issued in fake_cloud.codes_on("L1")] == [code.vendor_code_id]

    def test_the_dashboard_then_says_it_is_being_created(self, failed, retry):
        now = utc(2026, 6, 1, 3, 0)
        before = describe_code(failed, booking=failed.booking, has_lock=True, now=now)
        assert before.kind == "failed" and before.can_retry
        retry(failed, now)
        failed.refresh_from_db()
        after = describe_code(failed, booking=failed.booking, has_lock=True, now=now)
        assert (after.kind, after.text, after.can_retry) == ("creating", "being created now", False)


class TestFailedUpdate:
    def test_a_failed_update_is_sent_again(self, active, fake_cloud, retry):
        code = active()
        booking = code.booking
        with freeze_time("2026-06-01 00:00:00"):
            booking.departure_date = date(2026, 6, 7)
            booking.save()
            services.booking_changed(booking=booking)
            fake_cloud.fail_next("update_code", LockNotFound("The lock is no longer in this account."))
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.FAILED and code.vendor_code_id and code.next_attempt_at is None
        vendor_code_id, attempts = code.vendor_code_id, code.attempts

        now = utc(2026, 6, 1, 0, 30)
        message, ids = retry(code, now)
        assert message == "Retrying now." and ids == [code.pk]
        code.refresh_from_db()
        assert code.state == CodeState.UPDATING and code.next_attempt_at == now
        assert code.vendor_code_id == vendor_code_id and code.attempts == attempts
        with freeze_time(now):
            assert work_now(code, now).action == "updated"
        code.refresh_from_db()
        assert code.state == CodeState.ACTIVE and code.lock_ends_at == utc(2026, 6, 7, 9, 30)
        assert fake_cloud.calls["create_code"] == 1  # moved, not re-created


class TestNothingChanges:
    def test_a_code_a_worker_holds_is_left_alone(self, assigned_property, book, fake_cloud, retry):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", LockOffline("Gateway offline."))
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = current(booking)
        now = utc(2026, 6, 1, 1, 0)
        assert claim_code(code_id=code.pk, now=now)  # a worker is on it right now
        before = snapshot(code)
        message, ids = retry(code, now + timedelta(seconds=30))
        assert "already being worked on" in message and ids == []
        assert snapshot(code) == before

    def test_a_failed_code_a_worker_holds_is_left_alone(self, assigned_property, book, fake_cloud, retry):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", CodeStorageFull("Full."))
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = current(booking)
        AccessCode.objects.filter(pk=code.pk).update(claim_token="abc", claimed_until=utc(2026, 6, 1, 1, 5))
        before = snapshot(code)
        message, ids = retry(code, utc(2026, 6, 1, 1, 0))
        assert "already being worked on" in message and ids == []
        assert snapshot(code) == before
        # Once the claim has lapsed, the retry goes ahead.
        assert retry(code, utc(2026, 6, 1, 1, 6))[0] == "Retrying now."
        assert AccessCode.objects.get(pk=code.pk).state == CodeState.CREATING

    def test_active_scheduled_revoked_expired_and_superseded_codes(self, active, book, fake_cloud, retry):
        code = active()
        prop = code.booking.property
        with freeze_time("2026-06-01 00:00:00"):
            scheduled = services.booking_created(booking=book(prop, date(2026, 6, 20), date(2026, 6, 22)))
            cancelled = book(prop, date(2026, 6, 25), date(2026, 6, 27))
            revoked = services.booking_created(booking=cancelled)
            cancelled.status = BookingStatus.CANCELLED
            cancelled.save()
            services.booking_cancelled(booking=cancelled)
        igloo = active(provider="igloohome", vendor_lock_id="IG1")
        with freeze_time("2026-06-01 00:00:00"):
            Booking.objects.filter(pk=igloo.booking_id).update(status=BookingStatus.CANCELLED)
            services.booking_cancelled(booking=Booking.objects.get(pk=igloo.booking_id))
        cases = [
            (code, CodeState.ACTIVE, "The code is active: there is nothing to retry."),
            (scheduled, CodeState.SCHEDULED, "The code is not due yet: it will be created on its date."),
            (revoked, CodeState.REVOKED, "The code was revoked: there is nothing to retry."),
            (igloo, CodeState.SUPERSEDED, "This code cannot be revoked remotely and works until its end: there is nothing to retry."),
        ]
        now = utc(2026, 6, 1, 1, 0)
        for row, state, expected in cases:
            row.refresh_from_db()
            assert row.state == state
            before = snapshot(row)
            assert retry(row, now) == (expected, [])
            assert snapshot(row) == before

        with freeze_time("2026-06-05 09:30:00"):
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.EXPIRED
        before = snapshot(code)
        assert retry(code, utc(2026, 6, 5, 10)) == ("The code has expired: there is nothing to retry.", [])
        assert snapshot(code) == before

    @pytest.fixture
    def failed_during_stay(self, assigned_property, book, fake_cloud):
        """A failed create whose guest is staying (2-5 June); now is 3 June 12:00Z."""
        prop = assigned_property()
        fake_cloud.fail_next("create_code", CodeStorageFull("The lock's code memory is full."))
        with freeze_time("2026-06-03 12:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = current(booking)
        assert code.state == CodeState.FAILED
        return code

    @pytest.mark.parametrize(
        "status, words", [(BookingStatus.CANCELLED, "cancelled"), (BookingStatus.PENDING, "not confirmed")]
    )
    def test_failed_but_the_booking_is_no_longer_confirmed(self, failed_during_stay, retry, status, words):
        code = failed_during_stay
        Booking.objects.filter(pk=code.booking_id).update(status=status)  # before its reconciliation ran
        before = snapshot(code)
        message, ids = retry(code, utc(2026, 6, 3, 12, 10))
        assert words in message and "nothing to retry" in message and ids == []
        assert snapshot(code) == before

    def test_failed_but_the_stay_is_over(self, failed_during_stay, retry):
        code = failed_during_stay
        before = snapshot(code)
        message, ids = retry(code, code.ends_at)
        assert message == "The stay is over: there is nothing to retry." and ids == []
        assert snapshot(code) == before

    def test_failed_but_replaced(self, failed_during_stay, retry):
        code = failed_during_stay
        AccessCode.objects.filter(pk=code.pk).update(is_current=False)
        before = snapshot(code)
        message, ids = retry(code, utc(2026, 6, 3, 12, 10))
        assert "replaced" in message and ids == []
        assert snapshot(code) == before

    def test_failed_but_the_lock_was_removed(self, failed_during_stay, retry):
        code = failed_during_stay
        with freeze_time("2026-06-03 12:05:00"):
            services.lock_assignment_remove(prop=code.booking.property)
        code.refresh_from_db()
        assert code.state == CodeState.FAILED and code.is_current  # the guest is staying: kept
        before = snapshot(code)
        message, ids = retry(code, utc(2026, 6, 3, 12, 10))
        assert "no longer assigned" in message and ids == []
        assert snapshot(code) == before

    def test_an_unknown_code(self, retry, db):
        message, ids = retry(AccessCode(pk=999_999), utc(2026, 6, 1))
        assert message == "This code no longer exists." and ids == []


# --- the vendor's Retry-After and the per-code cool-down (issue 15, item 9) -------------------------

def work_if_claimable(code_id: int, now: datetime):
    """What a worker does with an enqueued id: claim it if it is due and free, then take its step."""
    token = claim_code(code_id=code_id, now=now)
    if token is not None:
        with freeze_time(now):
            process_code(code_id=code_id, claim_token=token, now=now)


@pytest.fixture
def offline_and_retrying(assigned_property, book, fake_cloud):
    """A Paris code whose lock is offline: its first create failed at 00:00Z on 1 June (1 call)."""
    prop = assigned_property()
    fake_cloud.locks["L1"].online = False
    with freeze_time("2026-06-01 00:00:00"):
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=booking)
        tick()
    code = current(booking)
    assert code.state == CodeState.CREATING and fake_cloud.calls["create_code"] == 1
    return code


class TestRapidClicks:
    def test_25_clicks_in_10_seconds_make_one_vendor_call(self, offline_and_retrying, fake_cloud, retry):
        code = offline_and_retrying
        start = utc(2026, 6, 1, 0, 20)
        answers = []
        for click in range(25):
            now = start + timedelta(seconds=0.4 * click)
            message, ids = retry(code, now)
            answers.append(message)
            for code_id in ids:  # a worker takes each enqueued task at once
                work_if_claimable(code_id, now)
        assert fake_cloud.calls["create_code"] == 2  # the first attempt, then one for all 25 clicks
        assert answers[0] == "Retrying now."
        assert all(answer.startswith("Retried a moment ago; ") for answer in answers[1:]), answers[1]
        assert answers[1] == "Retried a moment ago; you can retry again in 30 seconds."
        assert answers[-1] == "Retried a moment ago; you can retry again in 21 seconds."

    def test_once_the_cool_down_is_over_a_click_retries_again(self, offline_and_retrying, fake_cloud, retry):
        code = offline_and_retrying
        first = utc(2026, 6, 1, 0, 20)
        assert retry(code, first)[0] == "Retrying now."
        work_if_claimable(code.pk, first)
        assert retry(code, first + timedelta(seconds=29))[0].startswith("Retried a moment ago")
        message, ids = retry(code, first + timedelta(seconds=30))
        assert message == "Retrying now." and ids == [code.pk]
        code.refresh_from_db()
        assert code.manual_retry_at == first + timedelta(seconds=30)

    def test_the_cool_down_is_a_setting(self, offline_and_retrying, retry, settings):
        settings.LOCKS_RETRY_NOW_COOLDOWN_SECONDS = 5
        code = offline_and_retrying
        first = utc(2026, 6, 1, 0, 20)
        assert retry(code, first)[0] == "Retrying now."
        assert retry(code, first + timedelta(seconds=4))[0] == "Retried a moment ago; you can retry again in 1 second."
        assert retry(code, first + timedelta(seconds=5))[0] == "Retrying now."

    def test_a_refused_click_changes_nothing(self, offline_and_retrying, retry):
        code = offline_and_retrying
        retry(code, utc(2026, 6, 1, 0, 20))
        before = snapshot(code)
        assert retry(code, utc(2026, 6, 1, 0, 20, 10)) == ("Retried a moment ago; you can retry again in 20 seconds.", [])
        assert snapshot(code) == before

    def test_a_failed_code_is_restarted_once(self, assigned_property, book, fake_cloud, retry):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", CodeStorageFull("The lock's code memory is full."), times=30)
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = current(booking)
        assert code.state == CodeState.FAILED
        start = utc(2026, 6, 1, 3, 0)
        for click in range(25):
            now = start + timedelta(seconds=0.4 * click)
            for code_id in retry(code, now)[1]:
                work_if_claimable(code_id, now)
        assert fake_cloud.calls["create_code"] == 2
        assert current(booking).state == CodeState.FAILED


@pytest.fixture
def rate_limited(assigned_property, book, fake_cloud):
    """A Paris code whose create TTLock answered 429 with Retry-After: 600 at 12:00Z (14:00 in Paris)."""
    prop = assigned_property()
    fake_cloud.fail_next("create_code", RateLimited("TTLock asked Nowistay to slow down.", retry_after=600))
    with freeze_time("2026-06-01 12:00:00"):
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=booking)
        tick()
    code = current(booking)
    assert code.state == CodeState.CREATING and fake_cloud.calls["create_code"] == 1
    return code


class TestTheVendorsWait:
    def test_a_wait_stays_with_its_vendor_when_the_property_moves_to_another_lock(self, rate_limited, make_lock, fake_cloud):
        prop = rate_limited.booking.property
        LockAssignment.objects.filter(property=prop).delete()
        LockAssignment.objects.create(property=prop, lock=make_lock(vendor_lock_id="N1", provider="nuki"))
        with freeze_time("2026-06-01 12:01:00"):
            services.booking_changed(booking=rate_limited.booking)
            assert tick().actions["created"] == 1  # the new lock's vendor asked nothing
        code = current(rate_limited.booking)
        assert code.lock.vendor_lock_id == "N1" and code.state == CodeState.ACTIVE and code.vendor_wait_until is None

    def test_retry_now_on_a_due_code_waiting_for_the_vendor_says_so_not_a_date_in_the_past(self, rate_limited, retry):
        # Due since noon, held back by the vendor's wait (as after a move before this was fixed).
        AccessCode.objects.filter(pk=rate_limited.pk).update(state=CodeState.SCHEDULED, next_attempt_at=utc(2026, 6, 1, 12, 0))
        rate_limited.refresh_from_db()
        message, _ids = retry(rate_limited, utc(2026, 6, 1, 12, 1))
        assert message == "TTLock asked us to wait until 14:10; Nowistay retries then."

    def test_the_wait_is_recorded_on_the_code(self, rate_limited):
        assert rate_limited.vendor_wait_until == utc(2026, 6, 1, 12, 10)
        assert rate_limited.next_attempt_at == utc(2026, 6, 1, 13, 0)  # the hourly retry is later still

    def test_retry_now_during_the_wait_sends_nothing_and_says_until_when(self, rate_limited, fake_cloud, retry, later):
        code = rate_limited
        now = utc(2026, 6, 1, 12, 1)
        message, ids = retry(code, now)
        assert message == "TTLock asked us to wait until 14:10; Nowistay retries then."
        assert ids == [] and later == [(code.pk, 541.0)]  # a task for the end of the wait
        work_if_claimable(code.pk, now)
        assert fake_cloud.calls["create_code"] == 1
        code.refresh_from_db()
        assert code.next_attempt_at == utc(2026, 6, 1, 12, 10) and code.manual_retry_at == now

    def test_the_retry_is_made_when_the_wait_ends(self, rate_limited, fake_cloud, retry):
        code = rate_limited
        retry(code, utc(2026, 6, 1, 12, 1))
        with freeze_time("2026-06-01 12:05:00"):
            assert tick().claimed == 0
        with freeze_time("2026-06-01 12:10:00"):
            assert tick().actions["created"] == 1
        code.refresh_from_db()
        assert code.state == CodeState.ACTIVE and code.vendor_wait_until is None  # cleared on success
        assert fake_cloud.calls["create_code"] == 2

    def test_clicks_during_the_wait_make_one_call_at_its_end(self, rate_limited, fake_cloud, retry, later):
        code = rate_limited
        for click in range(25):
            now = utc(2026, 6, 1, 12, 1) + timedelta(seconds=10 * click)
            for code_id in retry(code, now)[1]:
                work_if_claimable(code_id, now)
        for code_id, _countdown in later:
            work_if_claimable(code_id, utc(2026, 6, 1, 12, 10))
        assert fake_cloud.calls["create_code"] == 2

    def test_a_wait_on_another_day_names_the_day(self, rate_limited, retry):
        AccessCode.objects.filter(pk=rate_limited.pk).update(vendor_wait_until=utc(2026, 6, 1, 22, 30))
        message, _ = retry(rate_limited, utc(2026, 6, 1, 12, 1))
        assert message == "TTLock asked us to wait until 00:30 on 2 June 2026; Nowistay retries then."

    def test_the_worker_never_claims_a_code_before_the_wait_ends(self, rate_limited, fake_cloud):
        code = rate_limited
        AccessCode.objects.filter(pk=code.pk).update(next_attempt_at=utc(2026, 6, 1, 12, 1))  # due, say, by an event
        assert claim_code(code_id=code.pk, now=utc(2026, 6, 1, 12, 5)) is None
        with freeze_time("2026-06-01 12:05:00"):
            assert tick().claimed == 0
        assert claim_code(code_id=code.pk, now=utc(2026, 6, 1, 12, 10)) is not None

    def test_a_failed_code_is_restarted_when_the_wait_ends(self, assigned_property, book, fake_cloud, retry, later):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", CodeStorageFull("Full."))
        with freeze_time("2026-06-01 12:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = current(booking)
        AccessCode.objects.filter(pk=code.pk).update(vendor_wait_until=utc(2026, 6, 1, 12, 10))
        message, ids = retry(code, utc(2026, 6, 1, 12, 1))
        assert message == "TTLock asked us to wait until 14:10; Nowistay retries then." and ids == []
        code.refresh_from_db()
        assert code.state == CodeState.CREATING and code.next_attempt_at == utc(2026, 6, 1, 12, 10)
        with freeze_time("2026-06-01 12:10:00"):
            assert tick().actions["created"] == 1

    def test_a_long_wait_is_left_to_the_scheduler_pass(self, rate_limited, retry, later, settings):
        AccessCode.objects.filter(pk=rate_limited.pk).update(vendor_wait_until=utc(2026, 6, 1, 15, 0))
        message, ids = retry(rate_limited, utc(2026, 6, 1, 12, 1))
        assert message == "TTLock asked us to wait until 17:00; Nowistay retries then."
        assert ids == [] and later == []  # no task hours ahead: the pass after 15:00Z takes it
        with freeze_time("2026-06-01 15:00:00"):
            assert tick().actions["created"] == 1

    def test_a_wait_asked_for_by_an_update_holds_the_next_hourly_try(self, active, fake_cloud):
        code = active()
        booking = code.booking
        with freeze_time("2026-06-01 00:00:00"):
            booking.departure_date = date(2026, 6, 7)
            booking.save()
            services.booking_changed(booking=booking)
            fake_cloud.fail_next("update_code", RateLimited("TTLock asked Nowistay to slow down.", retry_after=2 * 3600))
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.UPDATING and code.vendor_wait_until == utc(2026, 6, 1, 2, 0)
        with freeze_time("2026-06-01 01:00:00"):
            assert tick().claimed == 0  # the hourly retry waits for the vendor
        with freeze_time("2026-06-01 02:00:00"):
            assert tick().actions["updated"] == 1
        code.refresh_from_db()
        assert code.vendor_wait_until is None and fake_cloud.calls["update_code"] == 2

    def test_a_wait_asked_for_by_a_revocation_is_recorded_and_cleared(self, active, fake_cloud):
        code = active()
        booking = code.booking
        with freeze_time("2026-06-01 00:00:00"):
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            fake_cloud.fail_next("delete_code", RateLimited("Busy.", retry_after=120))
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.REVOKING and code.vendor_wait_until == utc(2026, 6, 1, 0, 2)
        with freeze_time("2026-06-01 01:00:00"):
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.REVOKED and code.vendor_wait_until is None

    def test_the_clean_up_of_a_failed_code_records_the_wait(self):
        from locks.services import outcomes

        row = AccessCode(state=CodeState.FAILED, create_outcome_unknown=True)
        now = utc(2026, 6, 1, 12, 0)
        outcomes.retry_cleaning(row, RateLimited("Busy.", retry_after=7200), now)
        assert row.vendor_wait_until == utc(2026, 6, 1, 14, 0)

    def test_an_unbelievable_retry_after_is_held_to_a_day(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", RateLimited("Busy.", retry_after=90 * 86400))
        with freeze_time("2026-06-01 12:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        assert current(booking).vendor_wait_until == utc(2026, 6, 2, 12, 0)


class TestTheAdminAction:
    def test_the_staff_action_says_the_same(self, rate_limited, admin_client):
        from django.urls import reverse

        with freeze_time("2026-06-01 12:01:00"):
            response = admin_client.post(
                reverse("admin:locks_accesscode_changelist"),
                {"action": "retry_now", "_selected_action": [rate_limited.pk], "index": 0},
                follow=True,
            )
        assert "TTLock asked us to wait until 14:10; Nowistay retries then." in response.content.decode()

    def test_the_code_page_shows_the_wait_and_the_last_retry(self, rate_limited, admin_client, retry):
        from django.urls import reverse

        retry(rate_limited, utc(2026, 6, 1, 12, 1))
        page = admin_client.get(reverse("admin:locks_accesscode_change", args=[rate_limited.pk])).content.decode()
        assert "Vendor asked to wait until" in page and "2026-06-01 14:10 Europe/Paris (2026-06-01 12:10 UTC)" in page
        assert "Last Retry now" in page and "2026-06-01 14:01 Europe/Paris (2026-06-01 12:01 UTC)" in page


class TestTheDashboardButton:
    """The host's Bookings and codes page, through the Django test client, with a worker that takes
    each enqueued task at once."""

    @pytest.fixture
    def worker_at_once(self, monkeypatch):
        from django.utils import timezone

        from locks import tasks

        def run(code_id):
            work_if_claimable(code_id, timezone.now())

        monkeypatch.setattr(tasks, "process_code", SimpleNamespace(delay=run, apply_async=lambda args, countdown: None))

    def test_25_clicks_in_10_seconds_make_one_vendor_call(
        self, client, host, offline_and_retrying, fake_cloud, worker_at_once, django_capture_on_commit_callbacks
    ):
        from django.urls import reverse

        client.force_login(host)
        url = reverse("bookings:retry_code", args=[offline_and_retrying.booking_id])
        shown = []
        with freeze_time("2026-06-01 00:20:00") as frozen:
            for _click in range(25):
                with django_capture_on_commit_callbacks(execute=True):
                    response = client.post(url, follow=True)
                shown.append(response.content.decode())
                frozen.tick(timedelta(seconds=0.4))
        assert fake_cloud.calls["create_code"] == 2
        assert '<li class="success">Grace Guest at Flat L1: Retrying now.' in shown[0]
        # A refused click is news, not a success.
        assert '<li class="info">Grace Guest at Flat L1: Retried a moment ago; you can retry again in 30 seconds.' in shown[1]

    def test_during_the_vendors_wait_the_page_says_until_when(self, client, host, rate_limited, fake_cloud, worker_at_once):
        from django.urls import reverse

        client.force_login(host)
        with freeze_time("2026-06-01 12:01:00"):
            response = client.post(reverse("bookings:retry_code", args=[rate_limited.booking_id]), follow=True)
        assert "TTLock asked us to wait until 14:10; Nowistay retries then." in response.content.decode()
        assert fake_cloud.calls["create_code"] == 1


needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL: real row locks and connections that see each other's commits"
)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_25_concurrent_clicks_make_one_vendor_call(assigned_property, book, fake_cloud, monkeypatch, settings):
    """25 clicks at the same moment, each in its own thread (a web process), each followed at once
    by its own worker step: one retry goes through, one vendor request is made."""
    import threading

    from django.utils import timezone

    from locks import tasks
    from locks.services import retry_now as retry_now_module

    prop = assigned_property()
    fake_cloud.locks["L1"].online = False
    fake_cloud.latency = 0.05
    enqueued_here = threading.local()
    monkeypatch.setattr(retry_now_module, "enqueue_code", lambda code_id: enqueued_here.__dict__.setdefault("ids", []).append(code_id))
    monkeypatch.setattr(tasks, "process_code", SimpleNamespace(delay=lambda code_id: None))
    booking = book(prop, timezone.now().date() + timedelta(days=1), timezone.now().date() + timedelta(days=3))
    services.booking_created(booking=booking)
    code = current(booking)
    AccessCode.objects.filter(pk=code.pk).update(state=CodeState.CREATING, next_attempt_at=timezone.now() + timedelta(hours=1))
    barrier = threading.Barrier(25)
    answers, errors = [], []

    def click():
        try:
            barrier.wait(timeout=30)
            answers.append(services.code_retry_now(code_id=code.pk))
            for code_id in getattr(enqueued_here, "ids", []):  # this thread's worker, on the real clock
                token = claim_code(code_id=code_id, now=timezone.now())
                if token is not None:
                    process_code(code_id=code_id, claim_token=token)
        except BaseException as error:  # re-raised below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors[0]
    assert answers.count("Retrying now.") == 1, answers
    assert fake_cloud.calls["create_code"] == 1
