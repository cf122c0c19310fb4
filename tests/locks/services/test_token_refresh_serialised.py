"""One token refresh per account at a time.

Tedee, Nuki (OAuth) and TTLock rotate refresh tokens: each is accepted once. Workers that find
the same account's token expired must not all refresh it with the same refresh token; the first
refreshes, the others adopt what it stored.
"""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import responses
from django.db import connection
from freezegun import freeze_time

from locks.models import ProviderAccount
from locks.providers.base import AccountSession
from locks.providers.ttlock import LOCK_SCOPE
from locks.services.serialise import ACCOUNT_TOKEN_SCOPE, advisory_key
from locks.services.vendor_accounts import provider_for_account

STALE = {"access_token": "old-access", "refresh_token": "old-refresh"}
EXPIRES = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: the SQLite in-memory test database is not shared by connections in other "
    "threads; run with DATABASE_URL=postgres://...",
)


class FakeVendor:
    """A vendor that rotates refresh tokens: each refresh token is good for one refresh."""

    def __init__(self, delay: float = 0.0):
        self.calls: list[str] = []
        self.delay = delay
        self._mutex = threading.Lock()
        self._valid = {"old-refresh"}

    def refresh(self, credentials: dict) -> tuple[dict, datetime | None]:
        with self._mutex:
            self.calls.append(credentials["refresh_token"])
            number = len(self.calls)
        if self.delay:
            threading.Event().wait(self.delay)  # let any competing worker arrive meanwhile
        with self._mutex:
            if credentials["refresh_token"] not in self._valid:
                raise AssertionError(f"refresh token {credentials['refresh_token']} used twice")
            self._valid.discard(credentials["refresh_token"])
            self._valid.add(f"refresh-{number}")
        return {"access_token": f"access-{number}", "refresh_token": f"refresh-{number}"}, EXPIRES


def stale_account(host) -> ProviderAccount:
    return ProviderAccount.objects.create(host=host, provider="tedee", display_name="Tedee account", credentials=STALE)


class TestWithoutAnAccount:
    def test_the_default_session_refreshes_saves_and_adopts(self):
        saved = []
        session = AccountSession(account_id=None, credentials=dict(STALE), save_credentials=lambda c, e: saved.append((c, e)))
        vendor = FakeVendor()
        fresh = session.refresh_credentials(vendor.refresh)
        assert vendor.calls == ["old-refresh"]
        assert fresh == session.credentials == {"access_token": "access-1", "refresh_token": "refresh-1"}
        assert saved == [(fresh, EXPIRES)]

    def test_every_refresh_calls_the_vendor(self):
        session = AccountSession(account_id=None, credentials=dict(STALE))
        vendor = FakeVendor()
        session.refresh_credentials(vendor.refresh)
        session.refresh_credentials(vendor.refresh)
        assert vendor.calls == ["old-refresh", "refresh-1"]


@pytest.mark.django_db
class TestStoredAccount:
    def test_a_second_worker_adopts_the_tokens_the_first_stored(self, host):
        account = stale_account(host)
        # Two workers loaded the account before either refreshed.
        first = provider_for_account(ProviderAccount.objects.get(pk=account.pk)).session
        second = provider_for_account(ProviderAccount.objects.get(pk=account.pk)).session
        vendor = FakeVendor()

        assert first.refresh_credentials(vendor.refresh)["access_token"] == "access-1"
        assert second.refresh_credentials(vendor.refresh)["access_token"] == "access-1"

        assert vendor.calls == ["old-refresh"]
        assert second.credentials == first.credentials
        account.refresh_from_db()
        assert account.credentials == {"access_token": "access-1", "refresh_token": "refresh-1"}
        assert account.token_expires_at == EXPIRES

    def test_the_session_carries_the_stored_expiry_and_follows_each_refresh(self, host):
        account = stale_account(host)
        ProviderAccount.objects.filter(pk=account.pk).update(token_expires_at=EXPIRES - timedelta(days=1))
        first = provider_for_account(ProviderAccount.objects.get(pk=account.pk)).session
        second = provider_for_account(ProviderAccount.objects.get(pk=account.pk)).session
        assert first.expires_at == EXPIRES - timedelta(days=1)
        vendor = FakeVendor()
        first.refresh_credentials(vendor.refresh)
        second.refresh_credentials(vendor.refresh)  # adopts what the first stored
        assert first.expires_at == second.expires_at == EXPIRES

    def test_sessions_serialise_across_processes_through_the_services(self, host):
        from locks.services.serialise import one_at_a_time

        assert provider_for_account(stale_account(host)).session.serialise is one_at_a_time

    def test_a_session_holding_the_stored_tokens_refreshes_them(self, host):
        account = stale_account(host)
        session = provider_for_account(account).session
        vendor = FakeVendor()
        session.refresh_credentials(vendor.refresh)
        session.refresh_credentials(vendor.refresh)  # it holds what is stored: a real refresh again
        assert vendor.calls == ["old-refresh", "refresh-1"]
        account.refresh_from_db()
        assert account.credentials["refresh_token"] == "refresh-2"

    def test_a_refused_refresh_stores_nothing(self, host):
        account = stale_account(host)
        session = provider_for_account(account).session

        def refused(credentials):
            raise RuntimeError("vendor said no")

        with pytest.raises(RuntimeError):
            session.refresh_credentials(refused)
        account.refresh_from_db()
        assert account.credentials == STALE and session.credentials == STALE
        # The lock was released: the next refresh goes ahead.
        assert session.refresh_credentials(FakeVendor().refresh)["access_token"] == "access-1"

    def test_a_refresh_answered_after_a_disconnection_writes_nothing_back(self, host):
        from locks.models import AccountStatus

        account = stale_account(host)
        session = provider_for_account(account).session

        def refresh_while_disconnected(credentials):
            # Another process finishes disconnecting while the vendor answers this refresh.
            ProviderAccount.objects.filter(pk=account.pk).update(credentials={}, token_expires_at=None, status=AccountStatus.DISCONNECTED)
            return FakeVendor().refresh(credentials)

        session.refresh_credentials(refresh_while_disconnected)
        account.refresh_from_db()
        assert account.credentials == {} and account.token_expires_at is None

    def test_a_refresh_answered_after_a_reconnection_keeps_the_new_credentials(self, host):
        account = stale_account(host)
        session = provider_for_account(account).session
        reconnected = {"access_token": "B-access", "refresh_token": "B-refresh"}

        def refresh_while_reconnected(credentials):
            ProviderAccount.objects.filter(pk=account.pk).update(credentials=reconnected)
            return FakeVendor().refresh(credentials)

        session.refresh_credentials(refresh_while_reconnected)
        account.refresh_from_db()
        assert account.credentials == reconnected

    def test_the_ttlock_adapter_refreshes_through_the_account(self, host, settings):
        settings.TTLOCK_API_URL = "https://euapi.ttlock.com"
        with freeze_time("2026-06-01 08:00:00"):
            expiring = {"access_token": "ttlock-old-access", "refresh_token": "ttlock-old-refresh", "username": "+33612345678"}
            account = ProviderAccount.objects.create(
                host=host,
                provider="ttlock",
                display_name="t",
                credentials=expiring,
                token_expires_at=datetime(2026, 6, 1, 8, 0, tzinfo=UTC) + timedelta(hours=2),
            )
            workers = [provider_for_account(ProviderAccount.objects.get(pk=account.pk)) for _ in range(2)]
            with responses.RequestsMock() as rsps:
                rsps.post(
                    "https://euapi.ttlock.com/oauth2/token",
                    json={"access_token": "ttlock-new-access", "refresh_token": "ttlock-new-refresh", "expires_in": 7776000},
                )
                for worker in workers:
                    worker.keep_alive()
                assert len(rsps.calls) == 1
            assert [w.session.credentials["access_token"] for w in workers] == ["ttlock-new-access"] * 2
            account.refresh_from_db()
            assert account.credentials["refresh_token"] == "ttlock-new-refresh"

    def test_account_keys_are_not_ttlock_lock_keys(self):
        assert advisory_key(ACCOUNT_TOKEN_SCOPE, "3001") != advisory_key(LOCK_SCOPE, "3001")


@needs_postgres
@pytest.mark.postgres
def test_concurrent_workers_refresh_an_account_once(transactional_db, host):
    account = stale_account(host)
    workers = 2
    barrier = threading.Barrier(workers)
    vendor = FakeVendor(delay=0.2)
    results: list = [None] * workers
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            session = provider_for_account(ProviderAccount.objects.get(pk=account.pk)).session
            barrier.wait(timeout=30)
            results[index] = session.refresh_credentials(vendor.refresh)
        except BaseException as error:  # re-raised in the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]

    assert vendor.calls == ["old-refresh"]
    assert results[0] == results[1] == {"access_token": "access-1", "refresh_token": "refresh-1"}
    account.refresh_from_db()
    assert account.credentials == results[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert cursor.fetchone()[0] == 0
