"""“Check this lock now” (locks.services.read_back_request): a host's request hands one read-back of
the lock to a worker through the schedule's seam, spending nothing itself; a lock the worker's claim
would skip (being read, today's read-backs spent), an account the vendor asked to wait, one that
needs a new sign-in and a vendor that cannot be read back are refused, with nothing queued."""

from datetime import date, datetime, timedelta

import pytest
from freezegun import freeze_time

from locks import services
from locks.models import AccessCode, AccountStatus, CodeState, Lock, ProviderAccount, VendorCall
from locks.providers.fake import VENDOR_CLASSES
from locks.services.read_back import claim_read_back, read_back_locks, reads_back
from locks.services.read_back_request import ReadBackRequest, Refusal, lock_read_back_request, read_back_possible
from tests.helpers.lifecycle import tick, utc

pytestmark = pytest.mark.django_db

NOW = utc(2026, 6, 1, 9, 30)


@pytest.fixture
def lock(make_lock, ttlock_reads_back):
    return make_lock("L1")


def request(lock, django_capture_on_commit_callbacks, now=NOW) -> ReadBackRequest:
    """The request, and its on-commit work (the task handed to a worker) done."""
    lock = Lock.objects.select_related("account").get(pk=lock.pk)
    with django_capture_on_commit_callbacks(execute=True):
        return lock_read_back_request(lock=lock, now=now)


def spend(lock, **fields) -> None:
    Lock.objects.filter(pk=lock.pk).update(**fields)


class TestQueued:
    def test_one_read_back_of_that_lock_is_handed_to_a_worker(self, lock, read_backs_sent, django_capture_on_commit_callbacks):
        assert request(lock, django_capture_on_commit_callbacks) == ReadBackRequest()
        assert read_backs_sent == [(lock.account_id, [lock.pk])]

    def test_it_goes_to_the_locks_vendors_read_back_queue(self, lock, monkeypatch, django_capture_on_commit_callbacks):
        from locks import tasks

        queued = []
        monkeypatch.setattr(tasks.read_back_account_locks, "apply_async", lambda args, queue: queued.append((args, queue)))
        assert request(lock, django_capture_on_commit_callbacks).queued
        assert queued == [((lock.account_id, [lock.pk]), "locks.ttlock.reads")]

    def test_the_request_spends_nothing_the_workers_claim_does(
        self, lock, read_backs_sent, django_capture_on_commit_callbacks, settings
    ):
        settings.LOCKS_READ_BACKS_PER_LOCK_PER_DAY = 3
        spend(lock, read_back_day=NOW.date(), read_backs_today=2)
        assert request(lock, django_capture_on_commit_callbacks).queued
        assert Lock.objects.values_list("reconciled_at", "read_backs_today").get() == (None, 2)
        ((account_id, lock_ids),) = read_backs_sent
        with freeze_time(NOW):
            (result,) = read_back_locks(account_id=account_id, lock_ids=lock_ids)
        assert result.action == "read" and VendorCall.objects.filter(operation="list_codes").count() == 1
        assert Lock.objects.values_list("reconciled_at", "read_backs_today").get() == (NOW, 3)

    def test_nothing_is_sent_before_the_transaction_commits(self, lock, read_backs_sent):
        lock_read_back_request(lock=Lock.objects.select_related("account").get(pk=lock.pk), now=NOW)
        assert read_backs_sent == []  # the test's transaction never commits


class TestRefused:
    def test_a_lock_read_within_the_lease_is_being_read(self, lock, read_backs_sent, django_capture_on_commit_callbacks, settings):
        settings.LOCKS_CLAIM_LEASE_SECONDS = 300
        spend(lock, reconciled_at=NOW - timedelta(minutes=1))
        answer = request(lock, django_capture_on_commit_callbacks)
        assert answer == ReadBackRequest(Refusal.UNDER_WAY, NOW + timedelta(minutes=4))
        assert not answer.queued and read_backs_sent == []
        assert request(lock, django_capture_on_commit_callbacks, now=NOW + timedelta(minutes=4)).queued

    def test_todays_read_backs_spent(self, lock, read_backs_sent, django_capture_on_commit_callbacks, settings):
        settings.LOCKS_READ_BACKS_PER_LOCK_PER_DAY = 4
        spend(lock, reconciled_at=NOW - timedelta(hours=1), read_back_day=NOW.date(), read_backs_today=4)
        assert request(lock, django_capture_on_commit_callbacks) == ReadBackRequest(Refusal.SPENT, utc(2026, 6, 2))
        assert read_backs_sent == []
        spend(lock, read_back_day=date(2026, 5, 31))  # yesterday's: a new day, a new budget
        assert request(lock, django_capture_on_commit_callbacks).queued

    def test_an_account_the_vendor_asked_to_wait(
        self, assigned_property, book, read_backs_sent, django_capture_on_commit_callbacks, ttlock_reads_back
    ):
        prop = assigned_property()
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        with freeze_time(NOW):
            services.booking_created(booking=booking)
            tick()
        code = AccessCode.objects.get(state=CodeState.ACTIVE)
        wait_end = NOW + timedelta(minutes=20)
        AccessCode.objects.filter(pk=code.pk).update(vendor_wait_until=wait_end)
        lock = code.lock
        assert request(lock, django_capture_on_commit_callbacks) == ReadBackRequest(Refusal.VENDOR_WAIT, wait_end)
        assert read_backs_sent == []
        assert request(lock, django_capture_on_commit_callbacks, now=wait_end).queued

    def test_an_account_that_needs_a_new_sign_in(self, lock, read_backs_sent, django_capture_on_commit_callbacks):
        ProviderAccount.objects.update(status=AccountStatus.NEEDS_RECONNECT)
        assert request(lock, django_capture_on_commit_callbacks) == ReadBackRequest(Refusal.NOT_CONNECTED)
        assert read_backs_sent == [] and not read_back_possible(ProviderAccount.objects.get())

    def test_a_vendor_that_cannot_be_read_back(self, make_lock, read_backs_sent, django_capture_on_commit_callbacks):
        lock = make_lock("G1", provider="igloohome")
        assert request(lock, django_capture_on_commit_callbacks) == ReadBackRequest(Refusal.CANNOT_READ_BACK)
        assert read_backs_sent == [] and not read_back_possible(lock.account)


def test_igloohome_and_homeit_cannot_be_read_back_the_others_can():
    assert {slug for slug, vendor in VENDOR_CLASSES.items() if not reads_back(vendor.capabilities)} == {"igloohome", "homeit"}


@pytest.mark.parametrize(
    ("reconciled_ago", "day", "spent"),
    [
        (None, None, 0),
        (timedelta(seconds=299), None, 0),
        (timedelta(seconds=300), None, 0),
        (timedelta(hours=3), date(2026, 6, 1), 3),
        (timedelta(hours=3), date(2026, 6, 1), 4),
        (timedelta(hours=3), date(2026, 5, 31), 4),
        (timedelta(seconds=10), date(2026, 6, 1), 4),
    ],
)
def test_queued_exactly_when_the_workers_claim_would_succeed(
    lock, read_backs_sent, django_capture_on_commit_callbacks, settings, reconciled_ago, day, spent
):
    """The request looks at the claim's own conditions: never a task the claim skips, never a refusal it would take."""
    settings.LOCKS_CLAIM_LEASE_SECONDS, settings.LOCKS_READ_BACKS_PER_LOCK_PER_DAY = 300, 4
    reconciled_at: datetime | None = NOW - reconciled_ago if reconciled_ago else None
    spend(lock, reconciled_at=reconciled_at, read_back_day=day, read_backs_today=spent)
    queued = request(lock, django_capture_on_commit_callbacks).queued
    assert claim_read_back(Lock.objects.get(pk=lock.pk), NOW) == queued
