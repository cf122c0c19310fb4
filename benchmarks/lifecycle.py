"""Lifecycle benchmark: one scheduler pass over a year of bookings, through Celery, on the fake cloud.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/nowistay_bench \
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python benchmarks/lifecycle.py

It seeds 2,000 properties and 200,000 bookings spread over a year (3 % cancelled), chooses lead
days so that about 5,000 codes are due now, then runs one pass: `locks.tasks.scheduler_pass`
claims the due codes and fans them out to `process_codes` tasks on an embedded Celery worker
(threads pool, concurrency 32), each vendor call costing 200 ms on the fake cloud.
It prints figures; it asserts nothing (targets are in the issue and in the resolving note).
The database named by BENCH_DATABASE_URL is created if missing and emptied first.
"""

import os
import random
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import create_postgres_database  # noqa: E402

PROPERTIES = int(os.environ.get("BENCH_PROPERTIES", 2000))
BOOKINGS_PER_PROPERTY = int(os.environ.get("BENCH_BOOKINGS_PER_PROPERTY", 100))
FIRST_PHASE_PER_PROPERTY = BOOKINGS_PER_PROPERTY // 10
LEAD_DAYS = int(os.environ.get("BENCH_LEAD_DAYS", 7))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", 32))
# One worker process per core, the concurrency shared among their threads.
WORKER_PROCESSES = int(os.environ.get("BENCH_WORKER_PROCESSES", os.cpu_count() or 1))
LATENCY_SECONDS = float(os.environ.get("BENCH_LATENCY", 0.2))
CANCELLED_SHARE = 0.03
ZONES = ["Europe/Paris", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "Europe/London", "Asia/Tokyo"]


def configure_environment() -> None:
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nowistay_bench")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nowistay.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The fake cloud has no vendor quota to honour: the vendor rate limiter is measured by benchmarks/rate_limiter.py.
    os.environ.setdefault("LOCKS_RATE_LIMITS_ENABLED", "false")
    if url.startswith("postgres"):
        create_postgres_database(url)


class QueryCounter:
    """Counts SQL statements from every thread, by wrapping Django's cursor."""

    def __init__(self):
        self.count = 0
        self._mutex = threading.Lock()

    def install(self) -> None:
        from django.db.backends import utils

        counter = self
        original_execute, original_many = utils.CursorWrapper.execute, utils.CursorWrapper.executemany

        def execute(self, *args, **kwargs):
            counter.bump()
            return original_execute(self, *args, **kwargs)

        def executemany(self, *args, **kwargs):
            counter.bump()
            return original_many(self, *args, **kwargs)

        utils.CursorWrapper.execute, utils.CursorWrapper.executemany = execute, executemany

    def bump(self) -> None:
        with self._mutex:
            self.count += 1


def timed(label: str, action):
    started = time.perf_counter()
    result = action()
    print(f"{label}: {time.perf_counter() - started:.2f} s")
    return result


# --- seeding --------------------------------------------------------------------------------------

def seed_fixtures():
    """Hosts, accounts, locks, properties and assignments (one lock each)."""
    from django.contrib.auth import get_user_model

    from bookings.models import PmsSource, Property
    from locks.models import Lock, LockAssignment, ProviderAccount

    users = get_user_model()
    hosts = users.objects.bulk_create([users(username=f"bench-host-{i}") for i in range(PROPERTIES // 10)])
    accounts = ProviderAccount.objects.bulk_create(
        [ProviderAccount(host=host, provider="ttlock", display_name=host.username) for host in hosts]
    )
    props = Property.objects.bulk_create(
        [
            Property(
                host=hosts[i // 10], name=f"Property {i}", time_zone=ZONES[i % len(ZONES)],
                pms_source=PmsSource.NOWISTAY, ai_assistant_active=True,
            )
            for i in range(PROPERTIES)
        ]
    )
    locks = Lock.objects.bulk_create(
        [
            Lock(account=accounts[i // 10], vendor_lock_id=f"BL{i}", name=f"Lock {i}", supports_remote_codes=True)
            for i in range(PROPERTIES)
        ]
    )
    assignments = LockAssignment.objects.bulk_create(
        [LockAssignment(property=props[i], lock=locks[i], lead_days=LEAD_DAYS) for i in range(PROPERTIES)]
    )
    return props, locks, assignments


def stays_for(rng: random.Random, start: date) -> list[tuple[date, date]]:
    """A year of back-to-back stays of 1-5 nights with short gaps."""
    stays, arrival = [], start + timedelta(days=rng.randint(0, 2))
    for _ in range(BOOKINGS_PER_PROPERTY):
        departure = arrival + timedelta(days=rng.randint(1, 5))
        stays.append((arrival, departure))
        arrival = departure + timedelta(days=rng.choice([0, 0, 1]))
    return stays


def seed_bookings(props, per_property: slice, today: date) -> int:
    from bookings.models import Booking, BookingStatus
    from locks.models import AccessCode, CodeState
    from locks.services.planning import code_plan

    created = 0
    for first in range(0, len(props), 200):
        bookings = []
        for index in range(first, min(first + 200, len(props))):
            rng = random.Random(index)
            for arrival, departure in stays_for(rng, today)[per_property]:
                cancelled = rng.random() < CANCELLED_SHARE
                bookings.append(
                    Booking(
                        property=props[index], guest_name=f"Guest {index}", guest_phone="+33 6 12 34 56 78",
                        arrival_date=arrival, departure_date=departure,
                        status=BookingStatus.CANCELLED if cancelled else BookingStatus.CONFIRMED,
                    )
                )
        Booking.objects.bulk_create(bookings, batch_size=5000)
        codes = []
        for booking in bookings:
            if booking.status != BookingStatus.CONFIRMED:
                continue
            assignment = booking.property._bench_assignment
            plan = code_plan(booking, assignment)
            codes.append(
                AccessCode(
                    booking=booking, lock_id=assignment.lock_id, state=CodeState.SCHEDULED,
                    starts_at=plan.starts_at, ends_at=plan.ends_at, generate_at=plan.generate_at,
                    retry_deadline=plan.retry_deadline, alert_at=plan.alert_at, next_attempt_at=plan.generate_at,
                )
            )
        AccessCode.objects.bulk_create(codes, batch_size=5000)
        created += len(bookings)
    return created


# --- measuring --------------------------------------------------------------------------------------

def measure_finding_due_work(counter: QueryCounter, label: str) -> int:
    """Time and count what a pass does to find its work (planning backstop + claims), then release."""
    from django.conf import settings
    from django.utils import timezone

    from locks.models import AccessCode
    from locks.services.claims import claim_due_codes
    from locks.services.scheduler import bookings_missing_a_code

    now = timezone.now()
    before, started = counter.count, time.perf_counter()
    missing = len(list(bookings_missing_a_code(now)))
    tokens, claimed = [], 0
    while True:
        token, ids = claim_due_codes(now=now, limit=settings.LOCKS_CLAIM_BATCH_SIZE)
        tokens.append(token)
        claimed += len(ids)
        if len(ids) < settings.LOCKS_CLAIM_BATCH_SIZE:
            break
    elapsed, queries = time.perf_counter() - started, counter.count - before
    AccessCode.objects.filter(claim_token__in=tokens).update(claim_token="", claimed_until=None)
    print(
        f"finding due work at {label}: {elapsed * 1000:.0f} ms, {queries} SQL queries,"
        f" {claimed} codes due and claimed, {missing} missing codes"
    )
    return claimed


def worker_process(ready, stop, reports, threads: int) -> None:
    """One Celery worker process (threads pool) with its own fake cloud; reports its counts at the end."""
    from celery.contrib.testing.worker import start_worker
    from django.db import connections

    from nowistay.celery import app

    connections.close_all()  # never share the parent's connections across fork
    cloud = install_fake_cloud()
    counter = QueryCounter()
    counter.install()
    with start_worker(app, pool="threads", concurrency=threads, perform_ping_check=False, shutdown_timeout=60):
        cpu_before = time.process_time()
        ready.put(True)
        stop.wait()
        reports.put({"queries": counter.count, "calls": dict(cloud.calls), "cpu": time.process_time() - cpu_before})
    connections.close_all()


def install_fake_cloud():
    from locks.providers import registry
    from locks.providers.fake import FakeCloud, fake_provider_class

    cloud = FakeCloud()
    cloud.latency = LATENCY_SECONDS
    for i in range(PROPERTIES):
        cloud.add_lock(f"BL{i}")
    registry.PROVIDER_CLASSES["ttlock"] = fake_provider_class("ttlock", cloud)
    return cloud


def run_pass(due: int) -> None:
    """The pass through `locks.tasks.scheduler_pass` on worker processes sharing CONCURRENCY threads."""
    import multiprocessing

    from django.db import connections

    from locks import tasks
    from locks.models import AccessCode, CodeState

    connections.close_all()
    context = multiprocessing.get_context("fork")
    ready, reports, stop = context.Queue(), context.Queue(), context.Event()
    threads = CONCURRENCY // WORKER_PROCESSES
    workers = [context.Process(target=worker_process, args=(ready, stop, reports, threads)) for _ in range(WORKER_PROCESSES)]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    cpu_before, started = time.process_time(), time.perf_counter()
    tasks.scheduler_pass.delay()
    settled = wait_until_settled(due)
    elapsed = time.perf_counter() - started
    stop.set()
    results = [reports.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=120)
    created = AccessCode.objects.filter(state=CodeState.ACTIVE).count()
    queries = sum(result["queries"] for result in results)
    calls = sum(sum(result["calls"].values()) for result in results)
    creates = sum(result["calls"].get("create_code", 0) for result in results)
    cpu = sum(result["cpu"] for result in results) + time.process_time() - cpu_before
    rate, ideal = created / elapsed, CONCURRENCY / LATENCY_SECONDS
    print(
        f"pass: {created} codes created of {due} due in {elapsed:.1f} s ({'settled' if settled else 'TIMED OUT'}); "
        f"{WORKER_PROCESSES} worker process(es) x {threads} threads"
    )
    print(f"codes created per second: {rate:.1f} (ideal {ideal:.0f} at concurrency {CONCURRENCY} and {LATENCY_SECONDS * 1000:.0f} ms)")
    print(f"efficiency: {rate / ideal:.2f}")
    print(f"SQL queries per created code: {queries / max(created, 1):.2f} (the pass's own included)")
    print(f"vendor calls per created code: {calls / max(created, 1):.2f} (create_code calls: {creates})")
    print(f"CPU time per code: {cpu / max(created, 1) * 1000:.2f} ms (worker processes; the database server not included)")


def wait_until_settled(due: int, timeout: float = 600) -> bool:
    from django.db import connection

    from locks.models import AccessCode, CodeState

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = AccessCode.objects.filter(state=CodeState.ACTIVE).count()
        connection.close()
        if done >= due:
            return True
        time.sleep(0.25)
    return False


def main() -> None:
    configure_environment()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    print(f"database: {connection.vendor}; broker: {os.environ['REDIS_URL']}")
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    counter = QueryCounter()
    counter.install()
    today = timezone.now().date()
    started = time.perf_counter()
    props, locks, assignments = seed_fixtures()
    for prop, assignment in zip(props, assignments, strict=True):
        prop._bench_assignment = assignment
    first = seed_bookings(props, slice(0, FIRST_PHASE_PER_PROPERTY), today)
    print(f"seeded {PROPERTIES} properties and {first} bookings in {time.perf_counter() - started:.1f} s")
    measure_finding_due_work(counter, f"{first:,} bookings")
    started = time.perf_counter()
    rest = seed_bookings(props, slice(FIRST_PHASE_PER_PROPERTY, None), today)
    print(f"seeded {rest} more bookings ({first + rest:,} in all) in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE") if connection.vendor == "postgresql" else None
    due = measure_finding_due_work(counter, f"{first + rest:,} bookings")
    run_pass(due)


if __name__ == "__main__":
    main()
