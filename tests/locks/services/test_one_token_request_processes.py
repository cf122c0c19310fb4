"""One token request per account per token lifetime across worker processes: 4 processes of 8
threads (tests/vendors/token_workers.py, each a Django process with its own connections) share one
stored account whose token lapses; the emulators run here, served over HTTP to the workers, so
the token requests of all of them are counted in one place.

PostgreSQL only: the processes serialise through its advisory locks and read what the others
committed (DATABASE_URL=postgres://..., as .ci/run sets it).
"""

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection

from locks.models import ProviderAccount
from tests.vendors.token_clouds import CLIENT_SETTINGS, VENDORS, child_settings, serve_over_http

PROCESSES, THREADS = 4, 8
ROOT = Path(__file__).resolve().parents[3]

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: worker processes share the test database and its advisory locks; "
        "run with DATABASE_URL=postgres://...",
    ),
]


@pytest.fixture(autouse=True)
def vendor_clients(settings):
    for name, value in CLIENT_SETTINGS.items():
        setattr(settings, name, value)


def database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def run_processes(account: ProviderAccount, base_url: str, *, rounds: int = 1, cache_url: str | None = None) -> list[dict]:
    """PROCESSES worker processes of THREADS threads, starting their calls together; their reports."""
    env = {**os.environ, **child_settings(base_url), "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "nowistay.settings"}
    if cache_url:
        env["CACHE_URL"] = cache_url
    start_at = time.time() + 4  # every process set up (Django, imports) before the first call
    args = ["--account", str(account.pk), "--threads", str(THREADS), "--rounds", str(rounds), "--start-at", str(start_at)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.vendors.token_workers", *args],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(PROCESSES)
    ]
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


@pytest.mark.parametrize("slug", VENDORS)
def test_processes_sharing_an_account_make_one_token_request_per_lifetime(transactional_db, host, slug):
    with ExitStack() as stack:
        vendor = VENDORS[slug](stack)
        base_url = stack.enter_context(serve_over_http())
        account = ProviderAccount.objects.create(
            host=host,
            provider=vendor.slug,
            display_name=slug,
            credentials=vendor.credentials,
            token_expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        vendor.expire_at_vendor()

        # First lifetime over by its stored expiry: 32 workers in 4 processes, one token request.
        reports = run_processes(account, base_url, rounds=2)
        assert [report["errors"] for report in reports] == [{}] * PROCESSES
        assert sum(report["calls"] for report in reports) == PROCESSES * THREADS * 2
        assert vendor.token_requests() == 1

        # Second lifetime ended early at the vendor (the stored expiry says an hour left): one more.
        vendor.expire_at_vendor()
        reports = run_processes(account, base_url)
        assert [report["errors"] for report in reports] == [{}] * PROCESSES
        assert vendor.token_requests() == 2


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis, the cache the worker processes share: REDIS_URL=redis://...")
@pytest.mark.parametrize("slug", VENDORS)
def test_a_failed_token_request_is_shared_across_processes(transactional_db, host, slug):
    import redis

    # The workers' cache is Redis, as in production (CACHE_URL); only our keys are removed from it.
    cache_url = os.environ["REDIS_URL"]

    def forget_failures() -> None:
        server = redis.Redis.from_url(cache_url)
        for key in server.scan_iter(match="*nowistay:failed-token-refresh:*"):
            server.delete(key)

    forget_failures()
    with ExitStack() as stack:
        vendor = VENDORS[slug](stack)
        base_url = stack.enter_context(serve_over_http())
        account = ProviderAccount.objects.create(
            host=host,
            provider=vendor.slug,
            display_name=slug,
            credentials=vendor.credentials,
            token_expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        vendor.expire_at_vendor()
        vendor.fail_token_request()

        reports = run_processes(account, base_url, cache_url=cache_url.replace("redis://", "rediscache://"))

        assert vendor.token_requests() == 1
        assert sum(report["calls"] for report in reports) == 0
        assert sum(sum(report["errors"].values()) for report in reports) == PROCESSES * THREADS
    forget_failures()
