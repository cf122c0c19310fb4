"""The vendor's "wait" (429, Retry-After) outside "Retry now": reconnecting an account resumes due
work at once except codes the vendor asked to wait for, and a sign-in answered "too many
requests" is not sent again by that host before the vendor's time (issue 15, item 9)."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import responses
from django.urls import reverse
from freezegun import freeze_time

from locks import services
from locks.connect import oauth
from locks.connect.services import ConnectError, connect_with_credentials
from locks.models import AccessCode, AccountStatus, CodeState, ProviderAccount
from locks.providers.exceptions import RateLimited
from locks.providers.igloohome import IgloohomeProvider
from locks.providers.nuki import NukiProvider
from locks.providers.tedee import TedeeProvider
from tests.helpers.lifecycle import tick, utc

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    """Sign-in waits live in Django's cache, and host ids are reused between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# --- reconnecting -------------------------------------------------------------------------------------

@pytest.fixture
def enqueued(monkeypatch):
    from locks import tasks

    ids: list[int] = []
    monkeypatch.setattr(tasks, "process_code", SimpleNamespace(delay=ids.append))
    return ids


def test_reconnecting_resumes_due_work_at_once_but_codes_the_vendor_asked_to_wait_for_keep_waiting(
    assigned_property, book, fake_cloud, enqueued, django_capture_on_commit_callbacks
):
    prop = assigned_property()
    with freeze_time("2026-06-01 12:00:00"):
        resumed = services.booking_created(booking=book(prop, date(2026, 6, 2), date(2026, 6, 5)))
        waiting = services.booking_created(booking=book(prop, date(2026, 6, 6), date(2026, 6, 8), guest_name="Wendy Wait"))
    # Both failed with "needs reconnecting" at 12:00; the vendor had asked to hear nothing of `waiting` before 12:10.
    AccessCode.objects.filter(pk__in=[resumed.pk, waiting.pk]).update(state=CodeState.CREATING, next_attempt_at=utc(2026, 6, 1, 13))
    AccessCode.objects.filter(pk=waiting.pk).update(vendor_wait_until=utc(2026, 6, 1, 12, 10))
    account = ProviderAccount.objects.get()
    ProviderAccount.objects.filter(pk=account.pk).update(status=AccountStatus.NEEDS_RECONNECT)

    with freeze_time("2026-06-01 12:01:00"), django_capture_on_commit_callbacks(execute=True):
        services.account_reconnected(account=account, credentials={"access_token": "new"}, expires_at=None)
    resumed.refresh_from_db()
    waiting.refresh_from_db()
    assert resumed.next_attempt_at == utc(2026, 6, 1, 12, 1) and enqueued == [resumed.pk]
    assert waiting.next_attempt_at == utc(2026, 6, 1, 12, 10)  # resumed when the vendor's wait ends

    with freeze_time("2026-06-01 12:01:00"):
        assert tick().actions["created"] == 1
    assert fake_cloud.calls["create_code"] == 1
    with freeze_time("2026-06-01 12:10:00"):
        assert tick().actions["created"] == 1
    assert AccessCode.objects.get(pk=waiting.pk).state == CodeState.ACTIVE


# --- signing in ----------------------------------------------------------------------------------------

TTLOCK_API = "https://ttlock.test"
TOKEN_URL = f"{TTLOCK_API}/oauth2/token"
WRONG_PASSWORD = {"errcode": 10007, "errmsg": "invalid account or invalid password"}


@pytest.fixture
def ttlock_settings(settings):
    settings.TTLOCK_API_URL = TTLOCK_API
    settings.TTLOCK_CLIENT_ID, settings.TTLOCK_CLIENT_SECRET = "client-id", "client-secret"


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def post_ttlock(client, username="ada@example.com"):
    return client.post(reverse("locks:ttlock_connect"), {"username": username, "password": "app-password-1"})


class TestTTLockSignIn:
    def test_a_429_shows_when_to_try_again_and_keeps_the_username(self, client, host, ttlock_settings, rsps):
        rsps.post(TOKEN_URL, status=429, headers={"Retry-After": "120"}, body="")
        client.force_login(host)
        with freeze_time("2026-06-01 12:00:00"):
            response = post_ttlock(client)
        page = response.content.decode()
        assert response.status_code == 400
        assert "TTLock asked Nowistay to wait before signing in again: please try again in 2 minutes. Nothing was connected." in page
        assert 'value="ada@example.com"' in page and "app-password-1" not in page
        assert not ProviderAccount.objects.exists()

    def test_no_new_sign_in_is_sent_before_the_vendors_time(self, client, host, ttlock_settings, rsps):
        rsps.post(TOKEN_URL, status=429, headers={"Retry-After": "120"}, body="")
        client.force_login(host)
        with freeze_time("2026-06-01 12:00:00") as frozen:
            post_ttlock(client)
            frozen.tick(timedelta(seconds=60))
            page = post_ttlock(client).content.decode()
            assert len(rsps.calls) == 1  # refused here: nothing sent to TTLock
            assert "please try again in 1 minute." in page and 'value="ada@example.com"' in page
            frozen.tick(timedelta(seconds=59))
            assert "please try again in 1 second." in post_ttlock(client).content.decode()
            frozen.tick(timedelta(seconds=1))  # 120 s after the 429
            rsps.replace(responses.POST, TOKEN_URL, json=WRONG_PASSWORD)
            page = post_ttlock(client).content.decode()
        assert len(rsps.calls) == 2 and "did not accept this username and password" in page

    def test_the_wait_is_the_hosts_own(self, client, host, other_host, ttlock_settings, rsps):
        rsps.post(TOKEN_URL, status=429, headers={"Retry-After": "120"}, body="")
        client.force_login(host)
        with freeze_time("2026-06-01 12:00:00"):
            post_ttlock(client)
            client.force_login(other_host)
            post_ttlock(client, username="bob@example.com")
        assert len(rsps.calls) == 2

    def test_a_429_without_retry_after_waits_a_minute(self, client, host, ttlock_settings, rsps):
        rsps.post(TOKEN_URL, status=429, body="")
        client.force_login(host)
        with freeze_time("2026-06-01 12:00:00") as frozen:
            assert "please try again in 1 minute." in post_ttlock(client).content.decode()
            frozen.tick(timedelta(seconds=59))
            post_ttlock(client)
            assert len(rsps.calls) == 1
            frozen.tick(timedelta(seconds=1))
            post_ttlock(client)
        assert len(rsps.calls) == 2


class TestOtherVendors:
    @pytest.fixture
    def busy(self):
        """A sign-in function the vendor answers 429 (Retry-After: 30), counting its calls."""
        calls = []

        def sign_in(*args, **kwargs):
            calls.append(1)
            raise RateLimited("Busy.", retry_after=30)

        return SimpleNamespace(sign_in=sign_in, calls=calls)

    def test_igloohome(self, client, host, busy, monkeypatch):
        monkeypatch.setattr(IgloohomeProvider, "sign_in", staticmethod(busy.sign_in))
        client.force_login(host)
        form = {"client_id": "my-client", "client_secret": "s3cret"}
        with freeze_time("2026-06-01 12:00:00"):
            first = client.post(reverse("locks:igloohome_connect"), form).content.decode()
            second = client.post(reverse("locks:igloohome_connect"), form).content.decode()
        assert "igloohome asked Nowistay to wait before signing in again: please try again in 30 seconds." in first
        assert "please try again in 30 seconds." in second and 'value="my-client"' in second
        assert len(busy.calls) == 1

    def test_nuki_api_token(self, client, host, busy, monkeypatch):
        monkeypatch.setattr(NukiProvider, "sign_in_with", staticmethod(busy.sign_in))
        client.force_login(host)
        with freeze_time("2026-06-01 12:00:00"):
            first = client.post(reverse("locks:nuki_connect"), {"token": "t0ken"}).content.decode()
            second = client.post(reverse("locks:nuki_connect"), {"token": "t0ken"}).content.decode()
        assert "Nuki asked Nowistay to wait before signing in again: please try again in 30 seconds." in first
        assert "please try again in 30 seconds." in second and len(busy.calls) == 1

    def test_nuki_sign_in_is_not_started_while_waiting(self, client, host, busy, monkeypatch, settings):
        settings.NUKI_CLIENT_ID, settings.NUKI_CLIENT_SECRET = "id", "secret"
        monkeypatch.setattr(NukiProvider, "sign_in_with", staticmethod(busy.sign_in))
        client.force_login(host)
        with freeze_time("2026-06-01 12:00:00") as frozen:
            client.post(reverse("locks:nuki_connect"), {"token": "t0ken"})
            response = client.get(reverse("locks:nuki_connect_oauth"), follow=True)
            assert "please try again in 30 seconds." in response.content.decode()
            assert response.redirect_chain[0][0] == reverse("integrations:panel", args=["nuki"])
            frozen.tick(timedelta(seconds=30))
            assert client.get(reverse("locks:nuki_connect_oauth"))["Location"].startswith(settings.NUKI_API_URL)

    def test_tedee_sign_in_is_not_started_while_waiting(self, client, host, busy, monkeypatch, settings):
        settings.TEDEE_CLIENT_ID = "tedee-client"
        monkeypatch.setattr(TedeeProvider, "exchange_code", staticmethod(busy.sign_in))
        client.force_login(host)
        with freeze_time("2026-06-01 12:00:00") as frozen:
            start = client.get(reverse("locks:tedee_connect"))
            state = client.session[oauth.SESSION_KEY]["state"]
            callback = client.get(reverse("locks:tedee_callback"), {"state": state, "code": "auth-code"})
            assert "Tedee asked Nowistay to wait before signing in again: please try again in 30 seconds." in callback.content.decode()
            again = client.get(reverse("locks:tedee_connect"))
            assert again.status_code != 302 and "please try again in 30 seconds." in again.content.decode()
            frozen.tick(timedelta(seconds=30))
            assert client.get(reverse("locks:tedee_connect")).status_code == 302
        assert start.status_code == 302 and len(busy.calls) == 1


def test_the_connect_services_refuse_too(host, monkeypatch):
    """Not only the views: the connect services (scripts, the demo) honour the wait as well."""
    calls = []

    def busy(**kwargs):
        calls.append(1)
        raise RateLimited("Busy.", retry_after=30)

    monkeypatch.setattr(IgloohomeProvider, "sign_in", staticmethod(busy))
    with freeze_time("2026-06-01 12:00:00"):
        for _ in range(3):
            with pytest.raises(ConnectError, match="please try again in 30 seconds"):
                connect_with_credentials(
                    host=host, provider="igloohome", method="api-client", values={"client_id": "c", "client_secret": "s"}
                )
    assert len(calls) == 1


# --- disconnecting ---------------------------------------------------------------------------------------

def test_disconnecting_waits_for_a_code_the_vendor_asked_to_wait_for_instead_of_giving_it_up(assigned_property, book, fake_cloud):
    """The claim holds a code back until the vendor's wait ends; the disconnection waits for it (as
    for a code a worker holds) rather than leave it working on the lock until its end."""
    from locks.services.accounts import WorkerHoldsCode, account_disconnect_finish, account_disconnect_start

    prop = assigned_property()
    with freeze_time("2026-06-01 12:00:00"):
        booking = book(prop, date(2026, 6, 3), date(2026, 6, 5))
        services.booking_created(booking=booking)
        tick()
    code = AccessCode.objects.get(booking=booking)
    assert code.state == CodeState.ACTIVE
    AccessCode.objects.filter(pk=code.pk).update(vendor_wait_until=utc(2026, 6, 1, 12, 1))
    account = ProviderAccount.objects.get()
    with freeze_time("2026-06-01 12:00:30"):
        account_disconnect_start(account=account)
        with pytest.raises(WorkerHoldsCode):
            account_disconnect_finish(account_id=account.pk, wait_for_workers=True)
    assert AccessCode.objects.get(pk=code.pk).state == CodeState.REVOKING and fake_cloud.codes_on("L1")
    with freeze_time("2026-06-01 12:01:00"):
        account_disconnect_finish(account_id=account.pk, wait_for_workers=True)
    assert AccessCode.objects.get(pk=code.pk).state == CodeState.REVOKED and fake_cloud.codes_on("L1") == []
