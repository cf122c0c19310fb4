"""Sign-in throttling (accounts.throttle, accounts.lockouts on django-axes): failures limited per
account and per address, growing lock-outs that say when to come back, no username enumeration,
staff lifting a lock-out, the admin signing in through the same throttled page, and the log."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from accounts.lockouts import lockout_duration
from accounts.models import SecurityEvent, SecurityEventKind, SignInLockout

pytestmark = pytest.mark.django_db
START = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
PASSWORD = "host-password-123"


def attempt(username: str, password: str, *, address: str = "203.0.113.1", client: Client | None = None, next_url: str = ""):
    client = client or Client()
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data, REMOTE_ADDR=address, HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def comparable(response, *typed: str) -> str:
    """The page without what differs by nature between two answers: the CSRF token and what was typed."""
    page = re.sub(r'(name="csrfmiddlewaretoken" value=|"X-CSRFToken": )"[^"]+"', "", response.content.decode())
    for text in typed:
        page = page.replace(text, "TYPED")
    return page


class TestNoEnumeration:
    def test_a_wrong_password_and_an_unknown_username_get_the_same_answer(self, host):
        wrong_password = attempt("host", "not-it")
        unknown_user = attempt("nobody-here", "not-it")
        assert wrong_password.status_code == unknown_user.status_code == 200
        assert comparable(wrong_password, "host") == comparable(unknown_user, "nobody-here")
        assert "Please enter a correct username and password" in wrong_password.content.decode()

    def test_a_locked_out_unknown_username_looks_like_a_locked_out_account(self, host):
        with freeze_time(START):
            for index in range(5):
                attempt("host", "not-it", address=f"198.51.100.{index}")
                attempt("nobody-here", "not-it", address=f"192.0.2.{index}")
            known = attempt("host", PASSWORD, address="198.51.100.99")
            unknown = attempt("nobody-here", PASSWORD, address="192.0.2.99")
        assert known.status_code == unknown.status_code == 429
        assert comparable(known) == comparable(unknown)


class TestLimits:
    def test_failures_on_one_account_from_many_addresses_lock_the_account(self, host):
        """Before the fix, 40 wrong passwords were all answered normally and the right one then worked."""
        with freeze_time(START):
            for index in range(4):
                assert attempt("host", f"guess-{index}", address=f"198.51.100.{index}").status_code == 200
            fifth = attempt("host", "guess-4", address="198.51.100.4")
            assert fifth.status_code == 429
            client = Client()
            refused = attempt("host", PASSWORD, address="198.51.100.200", client=client)
            assert refused.status_code == 429 and not signed_in(client)
        lockout = SignInLockout.objects.get()
        assert lockout.username == "host" and lockout.ip_address is None  # no single address reached its limit

    def test_failures_from_one_address_on_many_accounts_lock_the_address(self, host, settings):
        with freeze_time(START):
            for index in range(settings.SIGN_IN_FAILURES_PER_ADDRESS - 1):
                assert attempt(f"user-{index}", "guess", address="203.0.113.66").status_code == 200
            assert attempt("user-last", "guess", address="203.0.113.66").status_code == 429
            blocked, elsewhere = Client(), Client()
            assert attempt("host", PASSWORD, address="203.0.113.66", client=blocked).status_code == 429
            assert attempt("host", PASSWORD, address="203.0.113.67", client=elsewhere).status_code == 302
            assert not signed_in(blocked) and signed_in(elsewhere)
        lockout = SignInLockout.objects.get()
        assert lockout.ip_address == "203.0.113.66" and lockout.username == ""

    def test_the_admin_login_sends_to_the_throttled_sign_in_and_checks_no_password(self, host):
        staff = get_user_model().objects.create_user(username="support", password="support-pass-1", is_staff=True)
        client = Client()
        for _ in range(20):
            response = client.post("/admin/login/?next=/admin/", {"username": "support", "password": "guess"})
            assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/admin/"
        assert not signed_in(client) and not AccessAttempt.objects.exists()
        with freeze_time(START):
            for index in range(5):
                attempt("support", f"guess-{index}", next_url="/admin/")
            assert attempt("support", "support-pass-1", next_url="/admin/", client=client).status_code == 429
            assert not signed_in(client)
        assert staff.security_events.filter(kind=SecurityEventKind.LOCKED_OUT).exists()


class TestTheLockOut:
    def test_the_page_says_when_to_try_again(self, host):
        with freeze_time(START):
            for index in range(5):
                response = attempt("host", f"guess-{index}")
        assert response.status_code == 429
        page = response.content.decode()
        assert "You can try again after" in page and "1 Jun 2026, 10:15 UTC" in page and "in 15 minutes" in page
        assert 'datetime="2026-06-01T10:15:00+00:00" data-local' in page  # shown in the browser's own zone
        assert "local-time.js" in page

    def test_it_ends_at_the_time_it_named_even_while_someone_keeps_trying(self, host):
        with freeze_time(START) as clock:
            for index in range(5):
                attempt("host", f"guess-{index}")
            for _ in range(10):
                clock.tick(timedelta(seconds=60))
                assert "10:15 UTC" in attempt("host", "guess").content.decode()
            clock.move_to(START + timedelta(minutes=14, seconds=59))
            assert attempt("host", PASSWORD).status_code == 429
            clock.move_to(START + timedelta(minutes=15, seconds=1))
            assert attempt("host", PASSWORD).status_code == 302
        failures = SecurityEvent.objects.filter(kind=SecurityEventKind.SIGN_IN_FAILED).count()
        assert failures == 5  # the tries refused during the lock-out add no row each

    def test_each_new_lock_out_lasts_twice_as_long(self, host):
        ends = []
        now = START
        for round_ in range(4):
            with freeze_time(now):
                for index in range(5):
                    attempt("host", f"guess-{round_}-{index}")
            lockout = SignInLockout.objects.order_by("-locked_at").first()
            ends.append(lockout.ends_at - lockout.locked_at)
            now = lockout.ends_at + timedelta(seconds=1)
        assert ends == [timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2)]

    def test_lock_outs_older_than_the_memory_are_forgotten(self, host, settings):
        with freeze_time(START):
            for index in range(5):
                attempt("host", f"guess-{index}")
        with freeze_time(START + timedelta(seconds=settings.SIGN_IN_LOCKOUT_MEMORY_SECONDS + 1)):
            for index in range(5):
                attempt("host", f"again-{index}")
        latest = SignInLockout.objects.order_by("-locked_at").first()
        assert latest.ends_at - latest.locked_at == timedelta(minutes=15)

    @pytest.mark.parametrize(
        "earlier, expected",
        [
            (0, timedelta(minutes=15)), (1, timedelta(minutes=30)), (6, timedelta(hours=16)), (7, timedelta(hours=24)),
            (500, timedelta(hours=24)),
        ],
    )
    def test_the_duration_doubles_up_to_the_cap(self, earlier, expected):
        assert lockout_duration(earlier=earlier, base=timedelta(minutes=15), longest=timedelta(hours=24)) == expected

    def test_the_count_starts_again_after_a_quiet_window(self, host):
        """axes keeps one count per account, address and browser, renewed by each failure: failures
        count together until one comes more than SIGN_IN_LOCKOUT_SECONDS after the previous one."""
        with freeze_time(START) as clock:
            for index in range(12):
                assert attempt("host", f"guess-{index}").status_code == 200
                clock.tick(timedelta(minutes=4) if index % 4 < 3 else timedelta(minutes=16))
            assert attempt("host", PASSWORD).status_code == 302


class TestStaffLiftIt:
    @pytest.fixture
    def locked_host(self, host):
        with freeze_time(START):
            for index in range(5):
                attempt("host", f"guess-{index}", address="198.51.100.7")
        return host

    @pytest.fixture
    def staff_client(self, admin_user):
        """Signed in while the lock-out lasts (a sign-in also clears axes' counts older than its window)."""
        client = Client()
        with freeze_time(START + timedelta(minutes=1)):
            client.force_login(admin_user)
        return client

    def test_staff_see_it_and_lift_it_in_the_admin(self, locked_host, staff_client):
        with freeze_time(START + timedelta(minutes=1)):
            listing = staff_client.get(reverse("admin:accounts_signinlockout_changelist")).content.decode()
            assert "host" in listing and "Locked out" in listing
            lockout = SignInLockout.objects.get()
            response = staff_client.post(
                reverse("admin:accounts_signinlockout_changelist"), {"action": "lift", "_selected_action": [lockout.pk]}, follow=True
            )
            assert "1 lock-outs were still running" in response.content.decode()
            assert attempt("host", PASSWORD, address="198.51.100.7").status_code == 302
        lifted = SecurityEvent.objects.get(kind=SecurityEventKind.LOCK_OUT_LIFTED)
        assert lifted.user == locked_host and "by Nowistay staff" in lifted.detail
        assert SignInLockout.objects.get().lifted_by.username == "admin"

    def test_lifting_from_axes_counted_failures_works_too(self, locked_host, staff_client):
        with freeze_time(START + timedelta(minutes=1)):
            attempt_row = AccessAttempt.objects.get()
            assert "********" in attempt_row.post_data and "guess" not in attempt_row.post_data
            staff_client.post(reverse("admin:axes_accessattempt_changelist"), {"action": "lift", "_selected_action": [attempt_row.pk]})
            assert attempt("host", PASSWORD, address="198.51.100.7").status_code == 302

    def test_a_lifted_lock_out_does_not_make_the_next_one_longer(self, locked_host, staff_client):
        with freeze_time(START + timedelta(minutes=1)):
            lift = {"action": "lift", "_selected_action": [SignInLockout.objects.get().pk]}
            staff_client.post(reverse("admin:accounts_signinlockout_changelist"), lift)
            for index in range(5):
                attempt("host", f"again-{index}")
        latest = SignInLockout.objects.filter(lifted_at__isnull=True).get()
        assert latest.ends_at - latest.locked_at == timedelta(minutes=15)


class TestTheLog:
    def test_sign_in_failure_lock_out_and_sign_out_are_recorded_with_where_from(self, host):
        with freeze_time(START):
            attempt("nobody-here", "guess", address="192.0.2.9")
            client = Client()
            attempt("host", PASSWORD, address="198.51.100.1", client=client)
            client.post(reverse("logout"), REMOTE_ADDR="198.51.100.1")
            for index in range(5):
                attempt("host", f"guess-{index}", address="198.51.100.2")
        kinds = list(SecurityEvent.objects.order_by("id").values_list("kind", "username", "ip_address"))
        assert kinds[:3] == [
            (SecurityEventKind.SIGN_IN_FAILED, "nobody-here", "192.0.2.9"),
            (SecurityEventKind.SIGNED_IN, "host", "198.51.100.1"),
            (SecurityEventKind.SIGNED_OUT, "host", "198.51.100.1"),
        ]
        assert (SecurityEventKind.LOCKED_OUT, "host", "198.51.100.2") in kinds[-2:]  # with the fifth failure
        assert SecurityEvent.objects.filter(kind=SecurityEventKind.SIGN_IN_FAILED, user=host).count() == 5
        assert SecurityEvent.objects.get(username="nobody-here").user is None
        locked = SecurityEvent.objects.get(kind=SecurityEventKind.LOCKED_OUT)
        assert "until 2026-06-01 10:15 UTC" in locked.detail and locked.user_agent.startswith("Mozilla/5.0")
        every_text = " ".join(" ".join(row) for row in SecurityEvent.objects.values_list("username", "user_agent", "detail"))
        assert "guess" not in every_text and PASSWORD not in every_text

    def test_a_successful_sign_in_leaves_earlier_failures_counted(self, host):
        """A right password does not wipe the count (a person with an account could otherwise reset
        their address's count between guesses at other accounts)."""
        with freeze_time(START):
            for index in range(4):
                attempt("other", f"guess-{index}", address="198.51.100.3")
            assert attempt("host", PASSWORD, address="198.51.100.3").status_code == 302
            assert AccessAttempt.objects.filter(ip_address="198.51.100.3").exists()
