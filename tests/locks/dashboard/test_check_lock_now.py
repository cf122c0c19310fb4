""" "Check this lock now" on the provider panel's "Your locks, as last read back": a POST hands one
read-back of the lock to a worker (through the schedule's READ_BACK_LOCKS) and says so; it is
refused in plain words, with nothing queued, while the lock is being read, once today's read-backs
are spent, for a vendor that cannot be read back and for an account that needs a new sign-in.
Only the host's own locks: another host's is a 404."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from locks.models import AccountStatus, Lock, LockAssignment, ProviderAccount
from locks.notifications import local_time
from tests.locks.dashboard.pages import messages_of, panel_url, unavailable_lock

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]

HTMX = {"HX-Request": "true"}
CHECKING = "Nowistay is checking Door L1 now; results appear here in a minute."


def check_url(lock, provider="ttlock"):
    return reverse("integrations:check_lock_now", args=[provider, lock.pk])


def lock_html(content: str, lock: Lock) -> str:
    start = content.index(f'id="lock-{lock.pk}"')
    return content[start : content.index("</details>", start)]


def budget_of(lock) -> tuple:
    return Lock.objects.filter(pk=lock.pk).values_list("reconciled_at", "read_back_day", "read_backs_today").get()


@pytest.fixture
def paris_lock(make_property, make_lock, ttlock_reads_back):
    """Door L1 (TTLock, which can be read back) opening a Paris flat."""
    lock = make_lock("L1")
    LockAssignment.objects.create(property=make_property(name="Paris Flat", time_zone="Europe/Paris"), lock=lock)
    return lock


@pytest.fixture
def press(logged_in, django_capture_on_commit_callbacks):
    """Press the button (a POST, by a form or by htmx), with the work it hands on at commit done."""

    def post(lock, provider="ttlock", headers=None):
        with django_capture_on_commit_callbacks(execute=True):
            return logged_in.post(check_url(lock, provider), headers=headers or {})

    return post


class TestQueued:
    def test_each_lock_that_can_be_read_back_has_the_button(self, logged_in, paris_lock):
        html = lock_html(logged_in.get(panel_url("ttlock")).content.decode(), paris_lock)
        assert f'action="{check_url(paris_lock)}"' in html and "Check this lock now" in html
        assert "csrfmiddlewaretoken" in html

    def test_a_press_hands_one_read_back_of_that_lock_to_a_worker(self, press, paris_lock, read_backs_sent):
        before = budget_of(paris_lock)
        response = press(paris_lock)
        assert response.status_code == 302 and response["Location"] == f"{panel_url('ttlock')}#lock-{paris_lock.pk}"
        assert messages_of(response) == [CHECKING]
        assert read_backs_sent == [(paris_lock.account_id, [paris_lock.pk])]
        assert budget_of(paris_lock) == before  # the worker's claim spends the read-back, not the press

    def test_the_panel_says_so_after_the_press(self, logged_in, paris_lock, read_backs_sent, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = logged_in.post(check_url(paris_lock), follow=True)
        assert escape(CHECKING) in response.content.decode() and len(read_backs_sent) == 1

    def test_htmx_swaps_the_locks_entry_saying_so_inside_it(self, press, paris_lock, read_backs_sent):
        response = press(paris_lock, headers=HTMX)
        content = response.content.decode()
        assert response.status_code == 200 and content.lstrip().startswith(f'<details class="lock-health" id="lock-{paris_lock.pk}" open>')
        assert f'<p class="notice" role="status">{escape(CHECKING)}</p>' in content
        assert "Check this lock now" in content and "not read back yet" in content
        assert read_backs_sent == [(paris_lock.account_id, [paris_lock.pk])]


class TestRefused:
    def test_a_get_is_refused(self, logged_in, paris_lock, read_backs_sent):
        assert logged_in.get(check_url(paris_lock)).status_code == 405
        assert read_backs_sent == []

    def test_logged_out_is_sent_to_sign_in(self, client, paris_lock, read_backs_sent):
        response = client.post(check_url(paris_lock))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
        assert read_backs_sent == []

    @pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
    def test_another_hosts_lock_is_a_404(self, press, paris_lock, other_host, make_lock, read_backs_sent, headers):
        theirs = make_lock("L9", account_host=other_host)
        assert press(theirs, headers=headers).status_code == 404
        nuki = make_lock("N9", provider="nuki", account_host=other_host)  # a brand only they have
        assert press(nuki, provider="nuki", headers=headers).status_code == 404
        assert press(paris_lock, provider="nuki", headers=headers).status_code == 404  # mine, under another brand
        assert read_backs_sent == []
        assert budget_of(theirs) == (None, None, 0)

    def test_a_lock_that_cannot_take_guest_codes_is_a_404(self, press, paris_lock, read_backs_sent):
        unavailable = unavailable_lock(paris_lock.account)
        assert press(unavailable).status_code == 404 and read_backs_sent == []

    def test_a_disconnected_account_is_a_404(self, press, paris_lock, read_backs_sent):
        ProviderAccount.objects.update(status=AccountStatus.DISCONNECTED)
        assert press(paris_lock).status_code == 404 and read_backs_sent == []

    @pytest.mark.parametrize("provider", ["igloohome", "homeit"])
    def test_a_vendor_that_cannot_be_read_back_has_no_button_and_refuses_a_forged_post(
        self, logged_in, press, make_lock, read_backs_sent, provider
    ):
        lock = make_lock("G1", provider=provider)
        label = lock.account.provider_name
        assert "Check this lock now" not in lock_html(logged_in.get(panel_url(provider)).content.decode(), lock)
        refusal = f"{label} does not let Nowistay read its locks back, so Door G1 cannot be checked."
        response = press(lock, provider=provider)
        assert response.status_code == 302 and messages_of(response) == [refusal]
        response = press(lock, provider=provider, headers=HTMX)
        assert response.status_code == 422 and f'<p class="notice warning" role="status">{escape(refusal)}</p>' in response.content.decode()
        assert read_backs_sent == []

    def test_an_account_that_needs_a_new_sign_in_has_no_button_and_says_why(self, logged_in, press, paris_lock, read_backs_sent):
        ProviderAccount.objects.update(status=AccountStatus.NEEDS_RECONNECT)
        assert "Check this lock now" not in lock_html(logged_in.get(panel_url("ttlock")).content.decode(), paris_lock)
        response = press(paris_lock)
        assert messages_of(response) == ["TTLock no longer accepts Nowistay's access: sign in again above, then check Door L1."]
        assert read_backs_sent == []

    def test_a_lock_being_read_now(self, press, paris_lock, read_backs_sent, settings):
        settings.LOCKS_CLAIM_LEASE_SECONDS = 300
        claimed = timezone.now() - timedelta(seconds=30)
        Lock.objects.filter(pk=paris_lock.pk).update(reconciled_at=claimed)
        again = local_time(claimed + timedelta(seconds=300), "Europe/Paris")
        response = press(paris_lock)
        assert messages_of(response) == [
            "Nowistay is checking Door L1 already, or has just checked it; results appear here in a minute. "
            f"You can ask again from {again}."
        ]
        assert read_backs_sent == []
        content = press(paris_lock, headers=HTMX).content.decode()
        assert f"last read back {local_time(claimed, 'Europe/Paris')}" in content  # when it was last checked, in property time
        assert read_backs_sent == []

    def test_todays_read_backs_spent(self, press, paris_lock, read_backs_sent, settings):
        settings.LOCKS_READ_BACKS_PER_LOCK_PER_DAY = 6
        now = timezone.now()
        Lock.objects.filter(pk=paris_lock.pk).update(reconciled_at=now - timedelta(hours=1), read_back_day=now.date(), read_backs_today=6)
        before = budget_of(paris_lock)
        tomorrow = datetime.combine(now.date() + timedelta(days=1), time.min, tzinfo=UTC)
        response = press(paris_lock, headers=HTMX)
        assert response.status_code == 422
        message = (
            "Door L1 has been read back 6 times today, the most Nowistay reads a lock in a day; "
            f"you can check it again from {local_time(tomorrow, 'Europe/Paris')}."
        )
        assert f'<p class="notice warning" role="status">{escape(message)}</p>' in response.content.decode()
        assert read_backs_sent == [] and budget_of(paris_lock) == before
