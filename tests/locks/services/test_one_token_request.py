"""One token request per account per token lifetime, for every vendor with tokens that lapse.

32 workers of one account (threads here, each with its own database connection, as Celery's
threads have) find the token expired at once, by its stored expiry or by the vendor's refusal;
exactly one of them asks the vendor's token endpoint, the others adopt what it stored. The
several-process case is tests/locks/services/test_one_token_request_processes.py.

The workers need connections that see each other's commits and advisory locks that reach across
connections, so these run on PostgreSQL only (DATABASE_URL=postgres://..., as .ci/run sets it).
"""

import threading
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from locks.models import ProviderAccount
from locks.providers.exceptions import ProviderError, TransientProviderError
from locks.services.vendor_accounts import provider_for_account
from tests.vendors.token_clouds import CLIENT_SETTINGS, VENDORS

WORKERS = 32
# Advisory locks held in this test database (other databases on the server are not ours to count).
MY_ADVISORY_LOCKS = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: the SQLite in-memory test database is not shared by connections in other "
        "threads; run with DATABASE_URL=postgres://...",
    ),
]


@pytest.fixture(autouse=True)
def vendor_clients(settings):
    for name, value in CLIENT_SETTINGS.items():
        setattr(settings, name, value)


def run_workers(account: ProviderAccount, count: int = WORKERS, *, raising: bool = True) -> list:
    """`count` threads, each loading the account as a task does and listing its locks, released
    together; their results (`raising=False`: or the error each raised)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            provider = provider_for_account(ProviderAccount.objects.get(pk=account.pk))
            barrier.wait(timeout=30)
            results[index] = provider.list_locks()
        except ProviderError as error:
            results[index] = error
            errors.append(error)
        except BaseException as error:  # re-raised in the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    if errors and (raising or not all(isinstance(error, ProviderError) for error in errors)):
        raise errors[0]
    return results


@pytest.mark.parametrize("slug", VENDORS)
@pytest.mark.parametrize("how", ["expired-by-its-stored-expiry", "refused-by-the-vendor"])
def test_workers_finding_the_token_expired_make_one_token_request(transactional_db, host, slug, how):
    with ExitStack() as stack:
        vendor = VENDORS[slug](stack)
        now = datetime.now(UTC)
        # Expired by its stored expiry: every worker sees it lapsed before sending anything.
        # Refused: the expiry we keep says an hour left, the vendor says otherwise (a 401, errcode 10004).
        expires_at = now - timedelta(minutes=1) if how == "expired-by-its-stored-expiry" else now + timedelta(hours=1)
        account = ProviderAccount.objects.create(
            host=host, provider=vendor.slug, display_name=slug, credentials=vendor.credentials, token_expires_at=expires_at
        )
        vendor.expire_at_vendor()

        results = run_workers(account)

        assert vendor.token_requests() == 1
        assert all(len(locks) == 1 for locks in results)
        account.refresh_from_db()
        assert account.credentials["access_token"] != vendor.credentials["access_token"]
        assert account.token_expires_at > now
        with connection.cursor() as cursor:
            cursor.execute(MY_ADVISORY_LOCKS)
            assert cursor.fetchone()[0] == 0


@pytest.mark.parametrize("slug", VENDORS)
def test_a_second_lifetime_costs_one_more_token_request(transactional_db, host, slug):
    with ExitStack() as stack:
        vendor = VENDORS[slug](stack)
        account = ProviderAccount.objects.create(
            host=host, provider=vendor.slug, display_name=slug, credentials=vendor.credentials,
            token_expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        vendor.expire_at_vendor()
        run_workers(account, 8)
        assert vendor.token_requests() == 1
        run_workers(account, 8)  # the token is fresh: nobody asks
        assert vendor.token_requests() == 1

        vendor.expire_at_vendor()  # the second lifetime ends early, at the vendor
        run_workers(account, 8)
        assert vendor.token_requests() == 2


@pytest.mark.parametrize("slug", VENDORS)
def test_a_failed_token_request_is_not_repeated_by_every_waiting_worker(transactional_db, host, slug):
    from django.core.cache import cache

    with ExitStack() as stack:
        vendor = VENDORS[slug](stack)
        account = ProviderAccount.objects.create(
            host=host, provider=vendor.slug, display_name=slug, credentials=vendor.credentials,
            token_expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        vendor.expire_at_vendor()
        vendor.fail_token_request()

        results = run_workers(account, raising=False)

        # The first worker's token request failed; the 31 that waited on the account's token lock
        # take its failure (a passing one: their tasks retry later) instead of asking in turn.
        assert vendor.token_requests() == 1
        assert all(isinstance(result, TransientProviderError) for result in results), {repr(r) for r in results}
        assert ProviderAccount.objects.get(pk=account.pk).credentials == vendor.credentials

        cache.clear()  # the failure is shared for a few seconds only
        results = run_workers(account)
        assert vendor.token_requests() == 2
        assert all(len(locks) == 1 for locks in results)
