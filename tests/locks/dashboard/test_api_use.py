"""The vendor API budget shown (issue 21): to the host on the provider panel (this month's and
today's calls, the forecast, the notice near the limit, "Check this lock now" warning of the cost or
refused past the limit), to staff on the health page for every account, sorted; in a number of
queries that grows with neither the calls nor the accounts."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape
from freezegun import freeze_time

from locks.models import CallOutcome, LockAssignment, ProviderAccount, VendorCall
from tests.locks.dashboard.pages import messages_of, panel_url

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

NOW = "2026-06-10 16:00:00"  # midnight on 11 June in Beijing: 20 days of TTLock's June left


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def record_calls(account, count: int, at, outcome=CallOutcome.OK):
    with freeze_time(at):
        row = dict(account=account, provider=account.provider, operation="list_codes", outcome=outcome, duration_ms=5)
        VendorCall.objects.bulk_create([VendorCall(**row) for _ in range(count)])


def june_use(account):
    """1,000 calls early in June and 700 in the last week (100 a day): 1,700 used, forecast 3,700."""
    ProviderAccount.objects.filter(pk=account.pk).update(connected_at=utc(2026, 1, 1))
    record_calls(account, 1000, utc(2026, 6, 2, 9))
    record_calls(account, 700, utc(2026, 6, 10, 15))
    record_calls(account, 40, utc(2026, 6, 10, 15), outcome=CallOutcome.LOCAL)  # never sent: not counted


@pytest.fixture
def ttlock_lock(make_property, make_lock, ttlock_reads_back):
    lock = make_lock("L1")
    LockAssignment.objects.create(property=make_property(name="Paris Flat"), lock=lock)
    return lock


def panel(client, provider="ttlock") -> str:
    with freeze_time(NOW):
        response = client.get(panel_url(provider))
    assert response.status_code == 200
    return response.content.decode()


def api_use_html(html: str) -> str:
    start = html.index('id="api-use"')
    return html[start : html.index("</section>", start)]


class TestProviderPanel:
    def test_this_months_and_todays_calls_with_the_forecast(self, logged_in, ttlock_lock, other_host, make_lock):
        june_use(ttlock_lock.account)
        record_calls(make_lock("O1", account_host=other_host).account, 900, utc(2026, 6, 9))  # another host's
        html = api_use_html(panel(logged_in))
        assert "API use this month: 1,700 of 5,000 calls (forecast 3,700 by 30 Jun). API use today: 0 calls." in html
        assert "days and months are counted in Beijing time, as TTLock resets its monthly quota at midnight on the 1st there" in html
        assert "notice" not in html

    def test_near_the_limit_the_host_is_told_what_waits(self, logged_in, ttlock_lock, settings):
        settings.LOCKS_VENDOR_MONTHLY_BUDGET = {"ttlock": 4000}  # forecast 3,700: 92 %
        june_use(ttlock_lock.account)
        html = api_use_html(panel(logged_in))
        assert 'class="notice warning" role="status"' in html
        assert escape("Your TTLock account is close to the calls TTLock allows") in html
        assert "only before check-ins (24 hours and 2 hours before)" in html

    def test_past_the_limit_the_host_is_told_until_when_check_now_is_off(self, logged_in, ttlock_lock, settings):
        settings.LOCKS_VENDOR_MONTHLY_BUDGET = {"ttlock": 1700}
        june_use(ttlock_lock.account)
        html = api_use_html(panel(logged_in))
        assert escape("The limit is reached: “Check this lock now” is off until 16:00 UTC on 30 June 2026.") in html

    def test_a_vendor_without_a_documented_limit_shows_counts_only(self, logged_in, make_lock):
        account = make_lock("N1", provider="nuki").account
        june_use(account)
        html = api_use_html(panel(logged_in, "nuki"))
        assert "API use this month: 1,700 calls (forecast" in html and "Nuki publishes no call limit" in html
        assert "of 5,000" not in html and "notice" not in html

    def test_check_this_lock_now_spends_calls_near_the_limit_and_is_refused_past_it(
        self, logged_in, ttlock_lock, settings, read_backs_sent, django_capture_on_commit_callbacks
    ):
        june_use(ttlock_lock.account)
        url = reverse("integrations:check_lock_now", args=["ttlock", ttlock_lock.pk])
        settings.LOCKS_VENDOR_MONTHLY_BUDGET = {"ttlock": 2000}
        with freeze_time(NOW), django_capture_on_commit_callbacks(execute=True):
            response = logged_in.post(url)
        assert messages_of(response) == [
            "Nowistay is checking Door L1 now; results appear here in a minute. This spends calls of your TTLock account, which is "
            "close to its limit (API use this month: 1,700 of 2,000 calls (forecast 3,700 by 30 Jun))."
        ]
        assert len(read_backs_sent) == 1
        settings.LOCKS_VENDOR_MONTHLY_BUDGET = {"ttlock": 1700}
        with freeze_time("2026-06-10 16:10:00"), django_capture_on_commit_callbacks(execute=True):
            response = logged_in.post(url, headers={"HX-Request": "true"})
        assert response.status_code == 422 and len(read_backs_sent) == 1
        assert escape("Your TTLock account has used the calls TTLock allows") in response.content.decode()
        assert "Door L1 can be checked again from" in response.content.decode()


# --- the staff health page --------------------------------------------------------------------------

@pytest.fixture
def staff_client(client):
    staff = get_user_model().objects.create_user(username="support", password="support-pass-1", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def hosts_with_accounts(count: int, calls_each=lambda i: 10 * (i + 1)):
    accounts = []
    for i in range(count):
        owner = get_user_model().objects.create_user(username=f"host-{i}")
        account = ProviderAccount.objects.create(host=owner, provider="ttlock" if i % 2 == 0 else "nuki", display_name=f"account {i}")
        record_calls(account, calls_each(i), utc(2026, 6, 9))
        accounts.append(account)
    return accounts


def health(client, query="") -> str:
    with freeze_time(NOW):
        response = client.get(reverse("admin_health") + query)
    assert response.status_code == 200
    content = response.content.decode()
    return content[content.index('id="api-budgets"') :]


class TestStaffHealthPage:
    def test_every_account_with_its_use_largest_share_first(self, staff_client):
        hosts_with_accounts(4, calls_each=lambda i: [100, 50, 4000, 10][i])  # ttlock 100, nuki 50, ttlock 4000, nuki 10
        html = health(staff_client)
        order = [html.index(f"account {i}<") for i in (2, 0, 1, 3)]  # shares 80 %, 2 %, then no cap by calls
        assert order == sorted(order)
        assert "<td>80 %</td>" in html and "deferred" in html and "<td>2 %</td>" in html
        by_month = health(staff_client, "?budget_order=month")
        order = [by_month.index(f"account {i}<") for i in (2, 0, 1, 3)]  # 4,000, 100, 50, 10 calls
        assert order == sorted(order) and "<strong>month</strong>" in by_month

    def test_a_host_is_refused(self, client, host):
        client.force_login(host)
        response = client.get(reverse("admin_health"))
        assert response.status_code in (302, 403)


# --- queries ------------------------------------------------------------------------------------------

def queries_of(get) -> int:
    with CaptureQueriesContext(connection) as queries:
        get()
    return len(queries)


def test_the_panel_counts_the_calls_in_the_same_number_of_queries_at_any_size(logged_in, ttlock_lock):
    few = queries_of(lambda: panel(logged_in))
    record_calls(ttlock_lock.account, 3000, utc(2026, 6, 9))
    assert queries_of(lambda: panel(logged_in)) == few


def test_the_staff_page_counts_every_account_in_the_same_number_of_queries_at_any_size(staff_client):
    hosts_with_accounts(2)
    few = queries_of(lambda: health(staff_client))
    for i in range(8):
        account = ProviderAccount.objects.create(host=get_user_model().objects.create_user(username=f"more-{i}"), provider="tedee")
        record_calls(account, 25, utc(2026, 6, 9))
    assert queries_of(lambda: health(staff_client)) == few
