"""Lifecycle benchmark: a real scheduler pass (planning, claims, dispatch to the broker) over a year
of bookings with their history, then the work it dispatched drained by embedded Celery workers on
the fake cloud (locks/providers/fake.py) with a vendor latency.

    BENCH_BOOKINGS=200000 .venv/bin/python benchmarks/lifecycle.py          # 200 k bookings
    BENCH_BOOKINGS=2000000 .venv/bin/python benchmarks/lifecycle.py         # 2 M bookings

Seeding (benchmarks/seeding.py, bulk inserts, timed apart): BENCH_PROPERTIES properties (or
BENCH_BOOKINGS / BENCH_BOOKINGS_PER_PROPERTY) with BENCH_BOOKINGS_PER_PROPERTY back-to-back stays
each, about 70 % of them over (codes expired, some removed early or failed), the current stay's code
active, codes already made for the stays whose generation moment passed, later ones scheduled,
3 % cancelled (codes revoked), BENCH_MISSING_SHARE (5 %) of the confirmed bookings inside the
scheduler's horizon with no code at all, and BENCH_DUE codes whose generation moment has just
passed (scheduled and due). Codes whose step came due more than one sweep period ago have taken it.

Then it measures, with the load average next to each figure (first the missing codes pass, as beat runs it):
(a) the pass: `locks.tasks.scheduler_pass` run in this process (`.apply()`, as a worker runs it),
    its batches published to the broker (REDIS_URL) with no worker consuming: wall time, CPU time,
    SQL queries, task messages published; then a second pass at once (nothing new to do).
(b) the work: BENCH_WORKER_PROCESSES worker processes sharing BENCH_CONCURRENCY threads drain
    what was dispatched, every vendor call costing BENCH_LATENCY seconds: codes created per second
    against C/L, SQL queries, worker CPU time and fake-cloud calls per created code.

Knobs (environment): BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/nowistay_bench_lifecycle),
REDIS_URL (redis://127.0.0.1:6379/5; its database is flushed), BENCH_BOOKINGS, BENCH_PROPERTIES
(2000), BENCH_BOOKINGS_PER_PROPERTY (100), BENCH_LEAD_DAYS (7), BENCH_MISSING_SHARE (0.05),
BENCH_DUE (2000), BENCH_CONCURRENCY (64), BENCH_WORKER_PROCESSES (4 per CPU), BENCH_LATENCY (0.2),
BENCH_DRAIN_LIMIT (900 s), BENCH_QUEUES (benchmarks/workers.py). It prints figures and asserts
nothing; the database is created if missing and emptied first.
"""

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import create_postgres_database  # noqa: E402
from benchmarks.workers import (  # noqa: E402
    WORKER_PROCESSES,
    Publishes,
    QueryCounter,
    Workers,
    broker_backlog,
    flush_broker,
    load,
    server_cpu_seconds,
)

BOOKINGS_PER_PROPERTY = int(os.environ.get("BENCH_BOOKINGS_PER_PROPERTY", 100))
PROPERTIES = (int(os.environ["BENCH_BOOKINGS"]) // BOOKINGS_PER_PROPERTY if os.environ.get("BENCH_BOOKINGS")
              else int(os.environ.get("BENCH_PROPERTIES", 2000)))
LEAD_DAYS = int(os.environ.get("BENCH_LEAD_DAYS", 7))
MISSING_SHARE = float(os.environ.get("BENCH_MISSING_SHARE", 0.05))
DUE = int(os.environ.get("BENCH_DUE", 2000))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", 64))
LATENCY_SECONDS = float(os.environ.get("BENCH_LATENCY", 0.2))
DRAIN_LIMIT = float(os.environ.get("BENCH_DRAIN_LIMIT", 900))
CANCELLED_SHARE = 0.03


def configure_environment() -> str:
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nowistay_bench_lifecycle")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nowistay.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    # The fake cloud has no vendor quota to honour: the vendor rate limiter is measured by benchmarks/rate_limiter.py.
    os.environ.setdefault("LOCKS_RATE_LIMITS_ENABLED", "false")
    if url.startswith("postgres"):
        create_postgres_database(url)
    return url


def seed(now):
    from django.conf import settings

    from benchmarks import seeding

    started = time.perf_counter()
    fixtures = seeding.seed_fixtures(PROPERTIES, lead_days=LEAD_DAYS)
    seeded = seeding.history_bookings(
        fixtures, per_property=BOOKINGS_PER_PROPERTY, lead_days=LEAD_DAYS, now=now, missing_share=MISSING_SHARE,
        cancelled_share=CANCELLED_SHARE, due=DUE, settled_for=timedelta(seconds=settings.LOCKS_SWEEP_PERIOD_SECONDS),
    )
    seeding_seconds = time.perf_counter() - started
    started = time.perf_counter()
    seeding.analyze()
    codes = sum(seeded.codes.values())
    print(f"seeded {PROPERTIES:,} properties, {seeded.bookings:,} bookings and {codes:,} codes in {seeding_seconds:.1f} s "
          f"({(seeded.bookings + codes) / seeding_seconds:,.0f} rows/s; ANALYZE {time.perf_counter() - started:.1f} s); {load()}")
    print(f"  codes by state: {dict(sorted(seeded.codes.items()))}")
    print(f"  {seeded.in_horizon:,} confirmed bookings inside the scheduler's horizon, {seeded.missing:,} of them "
          f"without a code ({seeded.missing / max(seeded.in_horizon, 1):.1%}); {seeded.cancelled:,} cancelled; "
          f"{DUE - seeded.due_left:,} codes just due")
    return fixtures


def measure_pass(label: str, task_name: str = "scheduler_pass") -> dict:
    """A beat task (`locks.tasks.scheduler_pass`, or `task_name`) run here as a worker runs it;
    publishing to the broker counted."""
    from django.db import connection

    from locks import tasks

    counter, publishes = QueryCounter(), Publishes()

    def count(execute, sql, params, many, context):
        counter.bump()
        return execute(sql, params, many, context)

    publishes.install()
    cpu, started = time.process_time(), time.perf_counter()
    with connection.execute_wrapper(count):
        summary = getattr(tasks, task_name).apply().get()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{label}: {wall:.3f} s wall, {cpu:.3f} s CPU, {counter.count:,} SQL queries, {publishes.count:,} task messages "
          f"published ({publishes.seconds:.3f} s of it); {summary}; {load()}")
    return {"wall": wall, "queries": counter.count}


def vacuum() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) bookings_booking, locks_accesscode")
    print(f"VACUUM of bookings and codes: {time.perf_counter() - started:.1f} s; {load()}")


def drain(workers: Workers, pass_now) -> tuple[float, bool]:
    """Until no code due at the pass is left undone, no message waits and the workers are idle."""
    from django.db import connection

    from locks.models import FINAL_CODE_STATES, AccessCode

    started = time.perf_counter()
    workers.start()
    started_work, last_report = time.perf_counter(), time.perf_counter()
    while time.perf_counter() - started_work < DRAIN_LIMIT:
        left = AccessCode.objects.filter(next_attempt_at__lte=pass_now).exclude(state__in=FINAL_CODE_STATES).count()
        backlog = broker_backlog()
        connection.close()
        if time.perf_counter() - last_report >= 30:
            print(f"  draining: {left:,} codes left, {backlog:,} messages waiting, {time.perf_counter() - started_work:.0f} s; {load()}")
            last_report = time.perf_counter()
        if left == 0 and backlog == 0:
            return time.perf_counter() - started_work, True
        time.sleep(0.25)
    print(f"  (workers started in {started_work - started:.1f} s)")
    return time.perf_counter() - started_work, False


def measure_work(fixtures, pass_now) -> None:
    from benchmarks.seeding import lock_id
    from locks.models import AccessCode, CodeState

    workers = Workers(processes=WORKER_PROCESSES, concurrency=CONCURRENCY, fake_locks=[lock_id(i) for i in range(PROPERTIES)],
                      latency=LATENCY_SECONDS)
    servers_before = server_cpu_seconds()
    elapsed, drained = drain(workers, pass_now)
    servers = {name: used - servers_before[name] for name, used in server_cpu_seconds().items()}
    # Whatever the workers did until they stop counts (late skips included).
    figures = workers.stop()
    created = AccessCode.objects.filter(activated_at__gte=pass_now).count()
    removed = AccessCode.objects.filter(finished_at__gte=pass_now, state__in=[CodeState.EXPIRED, CodeState.REVOKED]).count()
    calls = sum(figures["calls"].values())
    rate, ideal = created / elapsed, CONCURRENCY / LATENCY_SECONDS
    per = max(created, 1)
    print(f"work: {created:,} codes created and {removed:,} removed in {elapsed:.1f} s ({'drained' if drained else 'NOT DRAINED'}); "
          f"{WORKER_PROCESSES} worker process(es) x {workers.threads} threads; {load()}")
    print(f"  codes created per second: {rate:.1f} = {rate / ideal:.2f} x C/L (C {CONCURRENCY}, L {LATENCY_SECONDS * 1000:.0f} ms: "
          f"{ideal:.0f}/s); {load()}")
    print(f"  SQL queries per created code: {figures['queries'] / per:.2f} (all the workers' queries, removals included); {load()}")
    print(f"  worker CPU per created code: {figures['cpu'] / per * 1000:.2f} ms (worker processes; the database server "
          f"not included); {load()}")
    print(f"  server CPU per created code: PostgreSQL {servers['postgres'] / per * 1000:.2f} ms, Redis "
          f"{servers['redis-server'] / per * 1000:.2f} ms (this machine's server processes while draining, the "
          f"benchmark's own progress checks included); {load()}")
    print(f"  vendor calls per created code: {calls / per:.2f} ({figures['calls']}); "
          f"batch codes skipped (claim not held): {workers.skipped.value:,}; {load()}")


def main() -> None:
    url = configure_environment()
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from benchmarks.seeding import lock_id
    from benchmarks.workers import install_fake_cloud

    print(f"lifecycle benchmark: database {url.rsplit('/', 1)[-1]}, broker {os.environ['REDIS_URL']}; {load()}")
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    flush_broker()
    now = timezone.now()
    fixtures = seed(now)
    # The pass sees the registry the workers see (the fake stands in for TTLock: no read-backs).
    install_fake_cloud([lock_id(i) for i in range(PROPERTIES)], LATENCY_SECONDS)
    # As beat runs them: the missed-event backstop plans the codes of bookings without one (when
    # one is due at once it asks for a pass, which the next line is), then the pass claims and dispatches.
    measure_pass(f"missing codes pass over {PROPERTIES * BOOKINGS_PER_PROPERTY:,} bookings", "missing_codes_pass")
    flush_broker()  # the pass it asked for: run below, measured
    pass_now = timezone.now()
    measure_pass(f"pass over {PROPERTIES * BOOKINGS_PER_PROPERTY:,} bookings")
    measure_pass("second pass at once (nothing new)")
    measure_pass("second missing codes pass (nothing new)", "missing_codes_pass")
    vacuum()  # as autovacuum leaves a table that is not freshly loaded
    measure_pass("missing codes pass after VACUUM (nothing new)", "missing_codes_pass")
    print(f"  messages waiting in the broker: {broker_backlog():,}")
    measure_work(fixtures, pass_now)


if __name__ == "__main__":
    main()
