"""Throughput benchmark: the real adapters over real HTTP against the sandbox lock clouds, embedded
Celery workers (BENCH_CONCURRENCY threads) creating every booking's code, the vendors answering
after THROUGHPUT_LATENCY seconds, every account's access token expiring mid-run.

    .venv/bin/python benchmarks/throughput.py

What runs: the sandbox (`python -m sandbox --seed --extra-locks N` on a temporary SQLite database),
the demo host connected to each vendor through the product's connect services (as
benchmarks/chaos.py does), one property per sandbox lock, THROUGHPUT_BOOKINGS_PER_LOCK upcoming
one-night stays per property bulk-inserted without codes, so the scheduler pass plans them and
dispatches them all; passes are sent to the broker every THROUGHPUT_PASS_EVERY seconds (beat's job,
compressed). Each virtual account answers after its latency (the sandbox's `latency_ms` switch).
Once THROUGHPUT_EXPIRE_AT of the codes are created, every account's token ends both ways at once:
the sandbox's tokens expire and the stored expiry is set to now (as benchmarks/token_requests.py
does; accounts whose credentials do not expire, such as a Nuki API token, are left alone).

It prints every THROUGHPUT_SAMPLE_EVERY seconds the codes created per vendor and the rate (the dip
after the expiry shows there), then codes/s against C/L, vendor calls per created code per vendor
and operation (the product's own audit, VendorCall), token requests per vendor before and after the
expiry (counted by the sandbox: target 1 per account per expiry), with the load average. It asserts
nothing; the database is created if missing and emptied, the broker's Redis database flushed.

Knobs (environment): BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/nowistay_bench_throughput),
REDIS_URL (redis://127.0.0.1:6379/5), THROUGHPUT_VENDORS (every sandbox vendor), THROUGHPUT_LOCKS
(40 per vendor), THROUGHPUT_BOOKINGS_PER_LOCK (10), THROUGHPUT_LATENCY (0.2), BENCH_CONCURRENCY
(64), BENCH_WORKER_PROCESSES (CPUs), THROUGHPUT_EXPIRE_AT (0.4), THROUGHPUT_PASS_EVERY (5),
THROUGHPUT_SAMPLE_EVERY (5), THROUGHPUT_TIME_LIMIT (300 s), and the product's settings, compressed:
LOCKS_LISTING_DELAY_SECONDS (5), LOCKS_LOOK_AGAIN_SECONDS (2), LOCKS_RETRY_INTERVAL_SECONDS (5),
VENDOR_HTTP_TIMEOUT_SECONDS (30: the sandbox is one process on SQLite; 5 s timed out under load).
"""

import os
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import create_postgres_database  # noqa: E402
from benchmarks.workers import Workers, broker_backlog, flush_broker, load  # noqa: E402
from sandbox.demo_sign_ins import vendor_settings  # noqa: E402

VENDORS = [v for v in os.environ.get("THROUGHPUT_VENDORS", "").split(",") if v] or [
    vendor for vendor in ("ttlock", "tedee", "nuki", "igloohome", "homeit") if (ROOT / "sandbox" / "vendors" / f"{vendor}.py").exists()
]
LOCKS = int(os.environ.get("THROUGHPUT_LOCKS", 40))
PER_LOCK = int(os.environ.get("THROUGHPUT_BOOKINGS_PER_LOCK", 10))
LATENCY_SECONDS = float(os.environ.get("THROUGHPUT_LATENCY", 0.2))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", 64))
WORKER_PROCESSES = int(os.environ.get("BENCH_WORKER_PROCESSES", os.cpu_count() or 1))
EXPIRE_AT = float(os.environ.get("THROUGHPUT_EXPIRE_AT", 0.4))
PASS_EVERY = float(os.environ.get("THROUGHPUT_PASS_EVERY", 5))
SAMPLE_EVERY = float(os.environ.get("THROUGHPUT_SAMPLE_EVERY", 5))
TIME_LIMIT = float(os.environ.get("THROUGHPUT_TIME_LIMIT", 300))
# Audited operations of the scheduled lock read-backs and of connecting (locks.services.read_back).
READ_BACK_OPERATIONS = {"list_codes", "code_uses", "lock_health", "list_locks"}


def configure_environment(sandbox_url: str, sandbox_db: Path) -> str:
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nowistay_bench_throughput")
    settings = {name: str(value) for name, value in vendor_settings(sandbox_url).items()}
    settings["VENDOR_HTTP_TIMEOUT_SECONDS"] = os.environ.get("VENDOR_HTTP_TIMEOUT_SECONDS", "30")
    os.environ.update({
        **settings, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "nowistay.settings", "CELERY_TASK_ALWAYS_EAGER": "false",
        "INSTANCE_ID": "tput", "SANDBOX_DATABASE_URL": f"sqlite:///{sandbox_db}",
    })
    for name, value in {"REDIS_URL": "redis://127.0.0.1:6379/5", "LOG_LEVEL": "WARNING", "LOCKS_LISTING_DELAY_SECONDS": "5",
                        "LOCKS_LOOK_AGAIN_SECONDS": "2",
                        "LOCKS_RETRY_INTERVAL_SECONDS": "5",
                        "EMAIL_URL": "dummymail://",
                        # The adapters' own cost is measured; the vendor rate limiter (its configured
                        # quotas would cap the rate) has benchmarks/rate_limiter.py.
                        "LOCKS_RATE_LIMITS_ENABLED": "false"}.items():
        os.environ.setdefault(name, value)
    create_postgres_database(url)
    return url


def sandbox_sql(sandbox_db: Path, sql: str, params=()) -> list:
    """The sandbox's own database (its switches and tokens), written as benchmarks/chaos.py does."""
    with sqlite3.connect(sandbox_db, timeout=30) as db:
        return db.execute(sql, params).fetchall()


def token_requests(sandbox_db: Path) -> Counter:
    rows = sandbox_sql(sandbox_db, "SELECT a.vendor, COUNT(t.id) FROM sandbox_virtualtoken t "
                                   "JOIN sandbox_virtualaccount a ON a.id = t.account_id GROUP BY a.vendor")
    return Counter(dict(rows))


def expire_tokens(sandbox_db: Path) -> int:
    """Every token ends now, at the vendor and in the stored expiry; the accounts whose expiry changed."""
    from django.utils import timezone

    from locks.models import ProviderAccount

    # A second ago, not long ago: Tedee's sandbox dates a refresh token's issue from its access token's expiry.
    expired = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    sandbox_sql(sandbox_db, "UPDATE sandbox_virtualtoken SET expires_at = ? WHERE expires_at > ?", (expired, expired))
    return ProviderAccount.objects.filter(token_expires_at__isnull=False).update(token_expires_at=timezone.now())


def setup(sandbox_url: str, sandbox_db: Path) -> int:
    """Accounts connected, one property per lock, bookings without codes; the number of bookings."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from benchmarks.chaos import connect, setup_properties
    from bookings.models import Booking, BookingStatus

    host = get_user_model().objects.create_user(username="tput-host", email="tput-host@nowistay.example", password="tput-password")
    for vendor in VENDORS:
        account = connect(host, vendor)
        if account.last_error:
            raise RuntimeError(f"{vendor}: {account.last_error}")
    properties = setup_properties(SimpleNamespace(vendors=VENDORS, locks_per_vendor=LOCKS), host, sandbox_url)
    today, bookings = timezone.now().date(), []
    for _, prop in properties:
        for day in range(PER_LOCK):
            arrival = today + timedelta(days=1 + day)
            bookings.append(Booking(property=prop, guest_name=f"Guest {prop.pk}-{day}", arrival_date=arrival,
                                    departure_date=arrival + timedelta(days=1), status=BookingStatus.CONFIRMED))
    Booking.objects.bulk_create(bookings, batch_size=5000)
    sandbox_sql(sandbox_db, "UPDATE sandbox_virtualaccount SET latency_ms = ?", (int(LATENCY_SECONDS * 1000),))
    return len(bookings)


def created_by_vendor(total: int) -> tuple[Counter, int]:
    """Active codes by vendor, and the codes still to be settled (neither active nor final; -1 before all are planned)."""
    from django.db import connection
    from django.db.models import Count

    from locks.models import FINAL_CODE_STATES, AccessCode, CodeState

    rows = AccessCode.objects.filter(state=CodeState.ACTIVE).values("lock__account__provider").annotate(n=Count("pk"))
    created = Counter({row["lock__account__provider"]: row["n"] for row in rows})
    codes = AccessCode.objects.count()
    open_ = AccessCode.objects.exclude(state__in=[CodeState.ACTIVE, *FINAL_CODE_STATES]).count()
    connection.close()
    return created, open_ if codes >= total else -1


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of another process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(sandbox_db: Path, total: int, started_at) -> float:
    from benchmarks.burst import Beat

    beat, expired_at, tokens_at_expiry = Beat(PASS_EVERY), None, None
    tokens_before = token_requests(sandbox_db)
    started = last_at = time.monotonic()
    beat.start()
    last, last_growth = 0, started
    print(f"{'t (s)':>6} {'created':>8} {'rate/s':>7} {'queued':>7}  by vendor; load")
    while True:
        time.sleep(max(0.0, last_at + SAMPLE_EVERY - time.monotonic()))
        (created, open_), now = created_by_vendor(total), time.monotonic()
        done = sum(created.values())
        last_growth = now if done > last else last_growth
        note = ""
        if expired_at is None and done >= EXPIRE_AT * total:
            tokens_at_expiry, accounts = token_requests(sandbox_db), expire_tokens(sandbox_db)
            expired_at, note = now, f"  <- every token expired now ({accounts} stored expiries set to now)"
        print(f"{now - started:6.0f} {done:8,} {(done - last) / (now - last_at):7.1f} {broker_backlog():7,}  "
              f"{dict(sorted(created.items()))}; {load()}{note}")
        last, last_at = done, now
        if done >= total or (open_ == 0 and done > 0) or now - started > TIME_LIMIT:
            break
    beat.stopping.set()
    report(created, last_growth - started, tokens_before, tokens_at_expiry, token_requests(sandbox_db), started_at, total)
    return sum(created.values())


def report(created: Counter, elapsed: float, before: Counter, at_expiry: Counter | None, after: Counter, started_at, total: int) -> None:
    from django.db.models import Count

    from locks.models import VendorCall

    done, ideal = sum(created.values()), CONCURRENCY / LATENCY_SECONDS
    rate = done / elapsed
    print(f"total: {done:,} of {total:,} codes created in {elapsed:.0f} s (to the last one): {rate:.1f} codes/s = {rate / ideal:.2f} x C/L "
          f"(C {CONCURRENCY}, L {LATENCY_SECONDS * 1000:.0f} ms: {ideal:.0f}/s); {load()}")
    calls = VendorCall.objects.filter(created_at__gte=started_at).values("provider", "operation").annotate(n=Count("pk"))
    by_vendor: dict[str, dict[str, int]] = {}
    for row in calls:
        by_vendor.setdefault(row["provider"], {})[row["operation"]] = row["n"]
    for vendor in VENDORS:
        operations = by_vendor.get(vendor, {})
        per = max(created[vendor], 1)
        writes = sum(n for op, n in operations.items() if op not in READ_BACK_OPERATIONS)
        before_expiry = (at_expiry or after)[vendor] - before[vendor]
        after_expiry = after[vendor] - (at_expiry or after)[vendor]
        detail = ", ".join(f"{op} {n / per:.2f}" for op, n in sorted(operations.items()))
        print(f"  {vendor:9} {created[vendor]:5,} codes; vendor calls per created code {writes / per:.2f} without the lock read-backs, "
              f"{sum(operations.values()) / per:.2f} with them ({detail}); token requests before the expiry "
              f"{before_expiry}, after it {after_expiry if at_expiry else 'n/a (no expiry)'}; {load()}")


def main() -> int:
    from benchmarks.chaos import Processes, free_port, wait_for_http

    work_dir = Path(tempfile.mkdtemp(prefix="nowistay-throughput-"))
    sandbox_db, port = work_dir / "sandbox.sqlite3", free_port()
    sandbox_url = f"http://127.0.0.1:{port}"
    url = configure_environment(sandbox_url, sandbox_db)
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    print(f"throughput benchmark: {', '.join(VENDORS)} on the sandbox ({sandbox_url}), {LOCKS} locks x {PER_LOCK} bookings per "
          f"vendor, latency {LATENCY_SECONDS * 1000:.0f} ms, {WORKER_PROCESSES} worker process(es) sharing {CONCURRENCY} threads; "
          f"database {url.rsplit('/', 1)[-1]}, broker {os.environ['REDIS_URL']}, logs {work_dir}; {load()}")
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    flush_broker()
    processes = Processes(work_dir)
    try:
        sandbox = processes.start("sandbox", [sys.executable, "-m", "sandbox", "--port", str(port), "--seed", "--extra-locks", str(LOCKS)])
        wait_for_http(sandbox_url + "/", sandbox)
        total = setup(sandbox_url, sandbox_db)
        workers = Workers(processes=WORKER_PROCESSES, concurrency=CONCURRENCY)
        workers.start()
        sandbox_cpu, created = cpu_seconds(sandbox.pid), 0
        try:
            created = run(sandbox_db, total, timezone.now())
        finally:
            figures, per = workers.stop(), max(created, 1)
            sandbox_ms = (cpu_seconds(sandbox.pid) - sandbox_cpu) / per * 1000
            print(f"workers: {figures['queries'] / per:.1f} SQL queries and {figures['cpu'] / per * 1000:.1f} ms CPU per created code "
                  f"(the passes, planning, read-backs, emails and retries included); the sandbox: {sandbox_ms:.1f} "
                  f"ms CPU per created code; {load()}")
    finally:
        processes.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
