"""The vendor API budget per account (locks.services.api_budget, issue 21): calls counted from the
audit (not those refused before sending), TTLock's month in Beijing time, the month's forecast,
and near the limit: the periodic reads deferred (not the reads before check-in, not the writes),
the host emailed once a month, "Check this lock now" warning of the cost and refused past the limit."""

from datetime import date, timedelta

import pytest
from freezegun import freeze_time

from bookings.models import BookingStatus
from locks import services
from locks.models import AccessCode, CallOutcome, CodeState, Lock, ProviderAccount, VendorCall
from locks.providers import registry
from locks.providers.fake import READ_BACK
from locks.services import api_budget
from locks.services.api_budget import Level, account_usage, api_budget_warn_hosts, period_of
from locks.services.read_back import read_back_locks
from locks.services.read_back_request import Refusal, lock_read_back_request
from locks.services.read_back_schedule import check_in_of, due_read_backs, regular_slot
from locks.tasks import read_back_pass
from tests.helpers.lifecycle import current, tick, utc

pytestmark = pytest.mark.django_db


def record_calls(account, count: int, at, outcome=CallOutcome.OK, operation="earlier_call"):
    """`count` audit rows of `account` made at `at`."""
    with freeze_time(at):
        row = dict(account=account, provider=account.provider, operation=operation, outcome=outcome, duration_ms=5)
        VendorCall.objects.bulk_create([VendorCall(**row) for _ in range(count)])


def connected_on(account, at):
    ProviderAccount.objects.filter(pk=account.pk).update(connected_at=at)
    account.refresh_from_db()
    return account


@pytest.fixture
def ttlock(make_lock):
    return connected_on(make_lock("L1").account, utc(2026, 1, 1))


class TestCounting:
    def test_calls_refused_before_sending_and_other_accounts_calls_are_not_counted(self, make_lock, other_host, ttlock):
        now = utc(2026, 6, 10, 12)
        record_calls(ttlock, 3, now - timedelta(hours=1))
        record_calls(ttlock, 1, now - timedelta(hours=1), outcome=CallOutcome.TRANSIENT)
        record_calls(ttlock, 2, now - timedelta(hours=1), outcome=CallOutcome.LOCAL)
        record_calls(ttlock, 5, now - timedelta(days=3))
        record_calls(make_lock("O1", account_host=other_host).account, 7, now - timedelta(hours=1))
        usage = account_usage(ttlock, now)
        assert (usage.today, usage.month) == (4, 9)

    def test_ttlock_month_and_day_turn_at_midnight_beijing_time_others_at_midnight_utc(self, make_lock, ttlock):
        tedee = connected_on(make_lock("T1", provider="tedee").account, utc(2026, 1, 1))
        now = utc(2026, 5, 31, 16, 30)  # 00:30 on 1 June in Beijing; still 31 May in UTC
        for account in (ttlock, tedee):
            record_calls(account, 2, utc(2026, 5, 31, 15, 59))  # 23:59 on 31 May in Beijing
            record_calls(account, 3, utc(2026, 5, 31, 16, 1))  # 00:01 on 1 June in Beijing
        assert (account_usage(ttlock, now).today, account_usage(ttlock, now).month) == (3, 3)
        assert (account_usage(tedee, now).today, account_usage(tedee, now).month) == (5, 5)
        period = period_of("ttlock", now)
        assert (period.month_start, period.month_end) == (utc(2026, 5, 31, 16), utc(2026, 6, 30, 16))
        assert period.zone_name == "Beijing time" and period.last_day == "30 Jun"
        assert period_of("tedee", now).month_start == utc(2026, 5, 1)

    def test_one_query_for_any_number_of_accounts_and_calls(self, make_lock, django_assert_num_queries, other_host):
        now = utc(2026, 6, 10, 12)
        accounts = [make_lock(f"L{i}", provider=slug).account for i, slug in enumerate(["ttlock", "tedee", "nuki"])]
        with django_assert_num_queries(1):
            api_budget.usage_of_accounts(accounts, now)
        for account in accounts:
            record_calls(account, 40, now - timedelta(hours=2))
        with django_assert_num_queries(1):
            usages = api_budget.usage_of_accounts(accounts, now)
        assert [usage.month for usage in usages.values()] == [40, 40, 40]


class TestForecast:
    def test_the_month_so_far_plus_the_last_seven_days_pace_for_the_rest_of_the_month(self, make_lock, settings):
        settings.LOCKS_VENDOR_MONTHLY_BUDGET = {"tedee": 4000}
        tedee = connected_on(make_lock("T1", provider="tedee").account, utc(2026, 1, 1))
        record_calls(tedee, 300, utc(2026, 6, 2, 9))
        record_calls(tedee, 700, utc(2026, 6, 7, 9))  # 700 in the last 7 days: 100 a day
        with freeze_time("2026-06-11 00:00:00"):
            usage = account_usage(tedee, utc(2026, 6, 11))
        assert (usage.month, usage.forecast) == (1000, 1000 + 100 * 20)  # 20 days left in June
        assert usage.month_words() == "API use this month: 1,000 of 4,000 calls (forecast 3,000 by 30 Jun)"
        assert usage.level == Level.OK and usage.percent == "25 %"

    def test_an_account_connected_two_days_ago_has_its_pace_over_those_two_days(self, make_lock):
        tedee = connected_on(make_lock("T1", provider="tedee").account, utc(2026, 6, 9))
        record_calls(tedee, 400, utc(2026, 6, 10))
        assert account_usage(tedee, utc(2026, 6, 11)).forecast == 400 + 200 * 20

    def test_near_from_80_percent_used_or_a_90_percent_forecast_over_at_the_budget(self, ttlock, settings):
        settings.LOCKS_VENDOR_MONTHLY_BUDGET = {"ttlock": 100}
        now = utc(2026, 6, 20, 12)
        record_calls(ttlock, 10, utc(2026, 6, 2))
        assert account_usage(ttlock, now).level == Level.OK
        record_calls(ttlock, 45, now - timedelta(days=1))  # 55 used, but 45 a week: forecast 55 + 65
        usage = account_usage(ttlock, now)
        assert usage.month_share < api_budget.NEAR_USED_SHARE and usage.forecast_share >= api_budget.NEAR_FORECAST_SHARE
        assert usage.level == Level.NEAR
        record_calls(ttlock, 45, utc(2026, 6, 5))
        assert account_usage(ttlock, now).level == Level.OVER

    def test_a_daily_budget_counts_today(self, make_lock, settings):
        settings.LOCKS_VENDOR_DAILY_BUDGET = {"tedee": 10}
        tedee = connected_on(make_lock("T1", provider="tedee").account, utc(2026, 1, 1))
        record_calls(tedee, 8, utc(2026, 6, 10, 9))
        assert account_usage(tedee, utc(2026, 6, 10, 12)).level == Level.NEAR
        assert account_usage(tedee, utc(2026, 6, 11, 0, 5)).level == Level.OK
        assert account_usage(tedee, utc(2026, 6, 10, 12)).day_words() == "API use today: 8 of 10 calls"

    def test_no_cap_for_a_vendor_that_documents_none(self, make_lock):
        nuki = connected_on(make_lock("N1", provider="nuki").account, utc(2026, 1, 1))
        record_calls(nuki, 50_000, utc(2026, 6, 10))
        usage = account_usage(nuki, utc(2026, 6, 10, 12))
        assert (usage.capped, usage.share, usage.level) == (False, None, Level.OK)
        assert usage.month_words().startswith("API use this month: 50,000 calls")


# --- near the limit -------------------------------------------------------------------------------

CREATED = "2026-06-01 08:00:00"


@pytest.fixture
def reading(fake_cloud, monkeypatch):
    monkeypatch.setattr(registry.PROVIDER_CLASSES["ttlock"], "capabilities", READ_BACK)
    return fake_cloud


@pytest.fixture
def stay(assigned_property, book, reading):
    """A Paris stay 2-5 June on Door L1 (TTLock, read back), its code created on 1 June."""
    prop = assigned_property()
    booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
    with freeze_time(CREATED):
        services.booking_created(booking=booking)
        tick()
    lock = Lock.objects.get()
    connected_on(lock.account, utc(2026, 1, 1))
    AccessCode.objects.update(confirmed_on_lock_at=utc(2026, 6, 1, 8, 5))  # no write left to confirm
    return booking


def near_the_budget(account, settings):
    """The account at 90 % of a budget of 100 calls (the calls made on 1 June)."""
    settings.LOCKS_VENDOR_MONTHLY_BUDGET = {"ttlock": 100}
    record_calls(account, 90 - VendorCall.objects.filter(account=account).count(), utc(2026, 6, 1, 7))


class TestDeferred:
    def test_the_regular_read_backs_wait_near_the_budget(self, stay, settings):
        lock = Lock.objects.get()
        now = regular_slot(lock.pk, utc(2026, 6, 1, 10, 0)) + timedelta(minutes=1)  # before T-24 h (13:00 on 1 June)
        assert due_read_backs(now) == {lock.account_id: [lock.pk]}
        near_the_budget(lock.account, settings)
        assert due_read_backs(now) == {}

    def test_the_read_backs_before_check_in_go_on(self, stay, settings):
        lock = Lock.objects.get()
        near_the_budget(lock.account, settings)
        for before in (timedelta(hours=24), timedelta(hours=2)):
            moment = check_in_of(current(stay)) - before + timedelta(minutes=1)
            assert due_read_backs(moment) == {lock.account_id: [lock.pk]}
            with freeze_time(moment):
                read_back_locks(account_id=lock.account_id, lock_ids=[lock.pk])
        assert VendorCall.objects.filter(operation="list_codes").count() == 2

    def test_the_end_of_check_in_day_read_waits(self, stay, settings):
        lock = Lock.objects.get()
        end_of_day = utc(2026, 6, 2, 22, 1)  # midnight in Paris
        Lock.objects.filter(pk=lock.pk).update(reconciled_at=end_of_day - timedelta(minutes=30))
        assert due_read_backs(end_of_day) == {lock.account_id: [lock.pk]}
        near_the_budget(lock.account, settings)
        assert due_read_backs(end_of_day) == {}

    def test_the_access_log_is_not_read_near_the_budget(self, stay, settings):
        lock = Lock.objects.get()
        with freeze_time("2026-06-01 10:00:00"):
            read_back_locks(account_id=lock.account_id, lock_ids=[lock.pk])
        assert VendorCall.objects.filter(operation="code_uses").count() == 1
        near_the_budget(lock.account, settings)
        with freeze_time("2026-06-01 12:00:00"):
            read_back_locks(account_id=lock.account_id, lock_ids=[lock.pk])
        assert VendorCall.objects.filter(operation="code_uses").count() == 1
        assert VendorCall.objects.filter(operation="list_codes").count() == 2

    def test_codes_are_still_created_and_removed(self, assigned_property, book, fake_cloud, settings):
        prop = assigned_property()
        account = Lock.objects.get().account
        connected_on(account, utc(2026, 1, 1))
        settings.LOCKS_VENDOR_MONTHLY_BUDGET = {"ttlock": 100}
        record_calls(account, 100, utc(2026, 6, 1, 7))  # used up, even
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        with freeze_time(CREATED):
            services.booking_created(booking=booking)
            tick()
        assert current(booking).state == CodeState.ACTIVE
        with freeze_time("2026-06-01 09:00:00"):
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            tick()
        assert AccessCode.objects.get(booking=booking).state == CodeState.REVOKED


class TestHostTold:
    def test_emailed_once_a_month_per_account(self, stay, settings, mailoutbox):
        account = Lock.objects.get().account
        with freeze_time("2026-06-01 10:00:00"):
            assert api_budget_warn_hosts(now=utc(2026, 6, 1, 10)) == 0
        near_the_budget(account, settings)
        with freeze_time("2026-06-01 10:00:00"):
            assert api_budget_warn_hosts(now=utc(2026, 6, 1, 10)) == 1
            tick()
        assert api_budget_warn_hosts(now=utc(2026, 6, 20, 10)) == 0
        assert len(mailoutbox) == 1
        email = mailoutbox[0]
        assert email.to == ["host@example.com"] and email.subject == "Your TTLock account is close to its API limit"
        assert "API use this month: 90 of 100 calls" in email.body
        assert "only before check-ins (24 hours and 2 hours before)" in email.body
        assert "30 Jun, Beijing time" in email.body
        record_calls(account, 95, utc(2026, 7, 2, 9))
        assert api_budget_warn_hosts(now=utc(2026, 7, 2, 10)) == 1  # a new month
        assert len(mailoutbox) == 2

    def test_the_read_back_pass_tells_the_host(self, stay, settings, mailoutbox):
        near_the_budget(Lock.objects.get().account, settings)
        with freeze_time("2026-06-01 10:00:00"):
            read_back_pass()
            read_back_pass()
        assert [email.subject for email in mailoutbox] == ["Your TTLock account is close to its API limit"]

    def test_check_this_lock_now_says_it_spends_calls_near_the_budget_and_is_refused_past_it(self, stay, settings):
        lock = Lock.objects.select_related("account").get()
        now = utc(2026, 6, 1, 12)
        answer = lock_read_back_request(lock=lock, now=now)
        assert answer.queued and answer.usage is None
        near_the_budget(lock.account, settings)
        answer = lock_read_back_request(lock=lock, now=now)
        assert answer.queued and answer.usage.month == 90
        record_calls(lock.account, 10, utc(2026, 6, 1, 7))
        answer = lock_read_back_request(lock=lock, now=now)
        assert (answer.refusal, answer.again_at) == (Refusal.OVER_BUDGET, utc(2026, 6, 30, 16))


def test_the_audit_is_indexed_by_account_and_time():
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, VendorCall._meta.db_table)
    assert constraints["vendorcall_account_idx"]["columns"] == ["account_id", "created_at"]
