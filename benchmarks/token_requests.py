"""Token-request benchmark: one account per vendor (TTLock, Tedee, Nuki, igloohome), 4 worker
processes × 8 threads calling it in a loop while its access token lapses mid-run; prints how many
token requests each account made in each token lifetime (target: 1) and the machine's load.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/nowistay_tokens \
    .venv/bin/python benchmarks/token_requests.py

What runs: the vendors' emulators (tests/vendors/, the ones the test suite uses) in this process,
served over local HTTP (tests/vendors/token_clouds.py) so that every worker process talks to the
same cloud and its token requests are counted in one place; the workers are real Django processes
(tests/vendors/token_workers.py), each thread loading the account as a task does and listing its
locks, serialising refreshes through PostgreSQL advisory locks like Celery's workers. A lifetime
ends (every TOKENS_LIFETIME_SECONDS) both ways at once: the vendor refuses every token issued so
far and the stored expiry is set to now, so some workers refresh because the expiry says so,
others because the vendor refused their token. The first lifetime ends before the workers start
(the account is connected with an expired token). One vendor at a time (the emulators' `responses`
mocks patch the process's HTTP adapters and do not stack).

It prints figures and asserts nothing (exit 0 unless it cannot run). The database named by
BENCH_DATABASE_URL is created if missing and emptied.

Knobs (environment): TOKENS_VENDORS (ttlock,tedee,nuki,igloohome), TOKENS_PROCESSES (4),
TOKENS_THREADS (8), TOKENS_LIFETIMES (4 per vendor), TOKENS_LIFETIME_SECONDS (2.0),
TOKENS_PAUSE_SECONDS (0.01, between one thread's calls).
"""

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import create_postgres_database  # noqa: E402

VENDORS = os.environ.get("TOKENS_VENDORS", "ttlock,tedee,nuki,igloohome").split(",")
PROCESSES = int(os.environ.get("TOKENS_PROCESSES", 4))
THREADS = int(os.environ.get("TOKENS_THREADS", 8))
LIFETIMES = int(os.environ.get("TOKENS_LIFETIMES", 4))
LIFETIME_SECONDS = float(os.environ.get("TOKENS_LIFETIME_SECONDS", 2.0))
PAUSE_SECONDS = float(os.environ.get("TOKENS_PAUSE_SECONDS", 0.01))


def configure_environment() -> str:
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nowistay_tokens")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nowistay.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    create_postgres_database(url)
    return url


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def run_vendor(slug: str, host) -> tuple[list[int], int, dict]:
    """One vendor's run: the token requests of each lifetime, the calls made and the workers' errors."""
    from django.conf import settings

    from locks.models import ProviderAccount
    from tests.vendors.token_clouds import CLIENT_SETTINGS, VENDORS as CLOUDS, child_settings, serve_over_http

    for name, value in CLIENT_SETTINGS.items():
        setattr(settings, name, value)
    with ExitStack() as stack:
        vendor = CLOUDS[slug](stack)
        base_url = stack.enter_context(serve_over_http())
        account = ProviderAccount.objects.create(
            host=host, provider=slug, display_name=f"{slug} benchmark", credentials=vendor.credentials,
            token_expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        vendor.expire_at_vendor()  # the first lifetime is over before the workers start

        env = {**os.environ, **child_settings(base_url)}
        # The run starts once every worker is set up (Django's start-up takes seconds under load).
        args = ["--account", str(account.pk), "--threads", str(THREADS), "--rounds", "1", "--pause", str(PAUSE_SECONDS)]
        workers = [
            subprocess.Popen([sys.executable, "-m", "tests.vendors.token_workers", *args], cwd=ROOT, env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            if worker.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a worker did not start:\n{worker.stderr.read()[-3000:]}")
        start_at = time.time() + 0.5
        until = start_at + LIFETIMES * LIFETIME_SECONDS
        for worker in workers:
            worker.stdin.write(f"{start_at} {until}\n")
            worker.stdin.flush()
        per_lifetime, counted = [], 0
        for lifetime in range(1, LIFETIMES + 1):
            time.sleep(max(0.0, start_at + lifetime * LIFETIME_SECONDS - time.time()))
            total = vendor.token_requests()
            per_lifetime.append(total - counted)
            counted = total
            if lifetime < LIFETIMES:  # this lifetime ends: at the vendor and by the stored expiry
                vendor.expire_at_vendor()
                ProviderAccount.objects.filter(pk=account.pk).update(token_expires_at=datetime.now(UTC))
        calls, errors = 0, {}
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            if worker.returncode != 0:
                raise RuntimeError(f"a worker failed:\n{err[-3000:]}")
            report = json.loads(out.strip().splitlines()[-1])
            calls += report["calls"]
            for error, count in report["errors"].items():
                errors[error] = errors.get(error, 0) + count
        per_lifetime[-1] += vendor.token_requests() - counted  # any request after the last count
        return per_lifetime, calls, errors


def main() -> int:
    url = configure_environment()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    host = get_user_model().objects.create_user(username="token-bench-host")
    print(f"token requests per account per lifetime: {PROCESSES} processes × {THREADS} threads, "
          f"{LIFETIMES} lifetimes of {LIFETIME_SECONDS:g} s per vendor; database {url.rsplit('/', 1)[-1]}")
    print(f"before: {load()}")
    worst = 0
    for slug in VENDORS:
        started = time.monotonic()
        per_lifetime, calls, errors = run_vendor(slug, host)
        worst = max(worst, *per_lifetime)
        print(f"{slug:9} token requests per lifetime {per_lifetime} (target 1 each); {calls} calls in "
              f"{time.monotonic() - started:.1f} s; errors {errors or 0}; {load()}")
    print(f"after: {load()}; most token requests in one lifetime: {worst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
