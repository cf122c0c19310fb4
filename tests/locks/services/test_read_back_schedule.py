"""When locks are read back (locks.services.read_back_schedule): spread over the day, before each
check-in, within a daily budget per lock, and never while the vendor asked to wait."""

from datetime import date, timedelta

import pytest
from freezegun import freeze_time

from locks import services
from locks.models import AccessCode, Lock, VendorCall
from locks.providers import registry
from locks.providers.exceptions import RateLimited, VendorUnavailable
from locks.providers.fake import READ_BACK
from locks.services.read_back import READ_BACK_LOCKS, read_back_locks
from locks.services.read_back_schedule import check_in_of, due_read_backs, last_due_moment, regular_slot
from locks.tasks import read_back_pass
from nowistay import dispatch
from tests.helpers.lifecycle import current, passes, tick, utc

pytestmark = pytest.mark.django_db

CREATED = "2026-06-01 08:00:00"


@pytest.fixture
def reading(fake_cloud, monkeypatch):
    monkeypatch.setattr(registry.PROVIDER_CLASSES["ttlock"], "capabilities", READ_BACK)
    return fake_cloud


@pytest.fixture
def stay(assigned_property, book):
    def make(vendor_lock_id="L1"):
        prop = assigned_property(vendor_lock_id=vendor_lock_id)
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        with freeze_time(CREATED):
            services.booking_created(booking=booking)
            tick()
        return booking

    return make


def read_due(now):
    """What a worker would do with the pass's read-backs, inline."""
    with freeze_time(now):
        for account_id, lock_ids in due_read_backs(now).items():
            read_back_locks(account_id=account_id, lock_ids=lock_ids)


def listings() -> int:
    return VendorCall.objects.filter(operation="list_codes").count()


class TestWhen:
    def test_a_lock_never_read_is_due_and_then_not_until_its_next_moment(self, stay, reading):
        stay()
        lock = Lock.objects.get()
        # Just after the lock's own regular slot (it depends on the lock's id, which the database
        # chooses), so no other slot falls in the ten minutes looked at; and after the moment that
        # confirms the 08:00 write (a listing delay later), which a slot just after 08:00 would precede.
        now = regular_slot(lock.pk, utc(2026, 6, 1, 10, 10)) + timedelta(minutes=1)
        assert due_read_backs(now) == {lock.account_id: [lock.pk]}
        read_due(now)
        assert listings() == 1
        assert due_read_backs(now + timedelta(minutes=10)) == {}

    def test_before_check_in_and_at_the_end_of_check_in_day(self, stay, reading):
        code = current(stay())
        lock = Lock.objects.get()
        codes = list(AccessCode.objects.select_related("booking__property"))
        check_in = check_in_of(code)
        assert check_in == utc(2026, 6, 2, 13, 0)  # 15:00 in Paris
        for moment in (check_in - timedelta(hours=24), check_in - timedelta(hours=2), utc(2026, 6, 2, 22, 0)):
            assert last_due_moment(lock, codes, moment) == moment
            assert last_due_moment(lock, codes, moment - timedelta(seconds=1)) < moment

    def test_regular_read_backs_are_spread_by_lock(self, settings):
        settings.LOCKS_READ_BACKS_PER_LOCK_PER_DAY = 24  # 12 spread over the day: every 2 hours
        now = utc(2026, 6, 1, 12)
        slots = {regular_slot(lock_id, now) for lock_id in range(1, 9)}
        assert len(slots) == 8 and all(now - timedelta(hours=2) < slot <= now for slot in slots)
        assert regular_slot(1, now + timedelta(hours=2)) == regular_slot(1, now) + timedelta(hours=2)

    def test_a_vendor_that_cannot_be_read_back_is_never_due(self, stay, fake_cloud):
        stay()
        assert due_read_backs(utc(2026, 6, 1, 9)) == {}

    def test_the_read_back_pass_hands_the_due_locks_to_a_worker_per_account(
        self, stay, reading, monkeypatch, django_capture_on_commit_callbacks
    ):
        stay()
        stay(vendor_lock_id="L2")
        sent = []
        monkeypatch.setitem(dispatch._senders, READ_BACK_LOCKS, lambda *args, **options: sent.append((args, options)))
        with freeze_time("2026-06-01 08:15:00"), django_capture_on_commit_callbacks(execute=True):
            handed = read_back_pass()
        lock_ids = sorted(Lock.objects.values_list("pk", flat=True))
        assert sent == [((Lock.objects.first().account_id, lock_ids), {"vendor": "ttlock"})]  # its vendor's read-back queue
        assert handed == 2


class TestBudget:
    def test_never_more_read_backs_than_the_daily_budget(self, stay, reading, settings):
        settings.LOCKS_READ_BACKS_PER_LOCK_PER_DAY = 4
        stay()
        lock = Lock.objects.get()
        for moment in passes(utc(2026, 6, 1, 8, 15), utc(2026, 6, 1, 23, 45), every=timedelta(minutes=10)):
            with freeze_time(moment):
                read_back_locks(account_id=lock.account_id, lock_ids=[lock.pk])
        assert listings() == 4
        lock.refresh_from_db()
        assert (lock.read_back_day, lock.read_backs_today) == (date(2026, 6, 1), 4)
        read_due(utc(2026, 6, 2, 0, 5))  # a new day, a new budget
        assert listings() == 5

    def test_the_schedule_keeps_within_the_budget_over_a_stay(self, stay, reading, settings):
        settings.LOCKS_READ_BACKS_PER_LOCK_PER_DAY = 6
        stay()
        for moment in passes(utc(2026, 6, 1, 8, 15), utc(2026, 6, 5, 23, 45)):
            read_due(moment)
        per_day = {}
        for call in VendorCall.objects.filter(operation="list_codes"):
            per_day[call.created_at.date()] = per_day.get(call.created_at.date(), 0) + 1
        assert per_day and max(per_day.values()) <= 6
        assert per_day[date(2026, 6, 2)] >= 4  # spread over the day, plus before check-in


class TestRateLimits:
    def test_an_account_the_vendor_asked_to_wait_is_not_read(self, stay, reading):
        code = current(stay())
        AccessCode.objects.filter(pk=code.pk).update(vendor_wait_until=utc(2026, 6, 1, 9))
        assert due_read_backs(utc(2026, 6, 1, 8, 30)) == {}
        assert due_read_backs(utc(2026, 6, 1, 9, 1)) != {}

    def test_too_many_requests_ends_the_accounts_batch(self, stay, reading):
        stay()
        stay(vendor_lock_id="L2")
        reading.fail_next("list_codes", RateLimited("Too many requests.", retry_after=60))
        lock_ids = list(Lock.objects.order_by("pk").values_list("pk", flat=True))
        with freeze_time("2026-06-01 08:15:00"):
            results = read_back_locks(account_id=Lock.objects.first().account_id, lock_ids=lock_ids)
        assert [result.action for result in results] == ["backed_off", "backed_off"]
        assert reading.calls["list_codes"] == 1
        assert Lock.objects.get(pk=lock_ids[1]).reconciled_at is None  # not spent: read at its next moment

    def test_the_least_recently_read_lock_goes_first_so_an_early_end_starves_none(self, stay, reading):
        stay()
        stay(vendor_lock_id="L2")
        first, second = Lock.objects.order_by("pk")
        Lock.objects.filter(pk=first.pk).update(reconciled_at=utc(2026, 6, 1, 8, 0))  # read a moment ago
        reading.fail_next("list_codes", RateLimited("Too many requests.", retry_after=60))
        with freeze_time("2026-06-01 08:15:00"):
            results = read_back_locks(account_id=first.account_id, lock_ids=[first.pk, second.pk])
        assert [(result.lock_id, result.action) for result in results] == [(second.pk, "backed_off"), (first.pk, "backed_off")]


class TestPartsOfAReadBack:
    def test_a_failed_health_read_does_not_keep_the_codes_from_being_compared(self, stay, reading):
        code = current(stay())
        reading.fail_next("lock_health", VendorUnavailable("The cloud failed."))
        lock = Lock.objects.get()
        with freeze_time("2026-06-01 08:15:00"):
            (result,) = read_back_locks(account_id=lock.account_id, lock_ids=[lock.pk])
        assert (result.action, result.detail) == ("failed", "The cloud failed.")
        assert AccessCode.objects.get(pk=code.pk).confirmed_on_lock_at == utc(2026, 6, 1, 8, 15)
        assert reading.calls["code_uses"] == 1

    def test_a_rate_limited_health_read_ends_the_read_back(self, stay, reading):
        stay()
        reading.fail_next("lock_health", RateLimited("Too many requests.", retry_after=60))
        lock = Lock.objects.get()
        with freeze_time("2026-06-01 08:15:00"):
            (result,) = read_back_locks(account_id=lock.account_id, lock_ids=[lock.pk])
        assert result.action == "backed_off" and reading.calls["list_codes"] == 0

