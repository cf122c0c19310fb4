"""Burst benchmark: BENCH_BURST codes (100,000) due at once, scheduler passes sent as beat sends them
while embedded Celery workers drain the work on the fake cloud; a time series shows whether the
drain is continuous or stalls (today: a batch still queued when its claim's lease runs out is
skipped by its worker, and waits for a later pass to claim it again).

    BENCH_BURST=100000 .venv/bin/python benchmarks/burst.py
    BENCH_BURST=20000 LOCKS_CLAIM_LEASE_SECONDS=60 BURST_PASS_EVERY=12 .venv/bin/python benchmarks/burst.py   # 5x compressed

It seeds BENCH_BURST / BURST_CODES_PER_PROPERTY properties (one lock each) whose upcoming
bookings' codes are all scheduled and due now, then starts BENCH_WORKER_PROCESSES worker processes
sharing BENCH_CONCURRENCY threads (every vendor call costing BENCH_LATENCY seconds) and sends
`locks.tasks.scheduler_pass` to the broker at once and every BURST_PASS_EVERY seconds (beat's
job; the product's sweep period is LOCKS_SWEEP_PERIOD_SECONDS, 900 s; the claim lease is
LOCKS_CLAIM_LEASE_SECONDS, 300 s: compress both together). Every BURST_SAMPLE_EVERY seconds it
prints: codes created so far and the rate since the last line, claims outstanding (lease running),
claims whose lease ran out (held by nobody, waiting to be claimed again), codes claimed again by
the passes (passes overlap: each is a task), batch codes skipped by workers (claim not held any more), messages
waiting in the broker. Then the total time. It prints figures and asserts nothing.

Knobs (environment): BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/nowistay_bench_burst),
REDIS_URL (redis://127.0.0.1:6379/5; flushed), BENCH_BURST (100000), BURST_CODES_PER_PROPERTY (10),
BURST_PASS_EVERY (60), BURST_SAMPLE_EVERY (10), BURST_TIME_LIMIT (3600), BENCH_CONCURRENCY (64),
BENCH_WORKER_PROCESSES (4 per CPU), BENCH_LATENCY (0.2), BENCH_QUEUES (benchmarks/workers.py).
"""

import os
import re
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import create_postgres_database  # noqa: E402
from benchmarks.workers import WORKER_PROCESSES, Workers, broker_backlog, flush_broker, load  # noqa: E402

BURST = int(os.environ.get("BENCH_BURST", 100_000))
PER_PROPERTY = int(os.environ.get("BURST_CODES_PER_PROPERTY", 10))
PROPERTIES = max(1, -(-BURST // PER_PROPERTY))
PASS_EVERY = float(os.environ.get("BURST_PASS_EVERY", 60))
SAMPLE_EVERY = float(os.environ.get("BURST_SAMPLE_EVERY", 10))
TIME_LIMIT = float(os.environ.get("BURST_TIME_LIMIT", 3600))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", 64))
LATENCY_SECONDS = float(os.environ.get("BENCH_LATENCY", 0.2))
LEAD_DAYS = 14


def configure_environment() -> str:
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nowistay_bench_burst")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/5")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nowistay.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The drain is measured; the fake cloud has no quota (the limiter has benchmarks/rate_limiter.py).
    os.environ.setdefault("LOCKS_RATE_LIMITS_ENABLED", "false")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    create_postgres_database(url)
    return url


def seed(now) -> None:
    """Each property's next stays (1-2 nights, back to back from tomorrow), every code due now."""
    from benchmarks import seeding
    from bookings.models import Booking, BookingStatus
    from locks.models import AccessCode, CodeState

    started = time.perf_counter()
    fixtures = seeding.seed_fixtures(PROPERTIES, lead_days=LEAD_DAYS)
    bookings_copy, codes_copy = seeding.Copy(Booking, now), seeding.Copy(AccessCode, now)
    made = 0
    for first in range(0, PROPERTIES, 1000):
        bookings, codes = [], []
        for index in range(first, min(first + 1000, PROPERTIES)):
            prop, arrival = fixtures.props[index], now.date() + timedelta(days=1)
            for _ in range(min(PER_PROPERTY, BURST - made)):
                departure = arrival + timedelta(days=1 + made % 2)
                plan = seeding.plan_of(arrival, departure, prop.time_zone, LEAD_DAYS)
                booking_id = bookings_copy.next_id()
                bookings.append({"id": booking_id, "property_id": prop.pk, "guest_name": f"Guest {index}", "arrival_date": arrival,
                                 "departure_date": departure, "status": BookingStatus.CONFIRMED.value})
                codes.append({"id": codes_copy.next_id(), "booking_id": booking_id, "lock_id": fixtures.locks[index].pk,
                              "state": CodeState.SCHEDULED.value, "starts_at": plan.starts_at, "ends_at": plan.ends_at,
                              "generate_at": now, "next_attempt_at": now, "retry_deadline": plan.retry_deadline, "alert_at": plan.alert_at})
                arrival, made = departure, made + 1
        bookings_copy.write(bookings)
        codes_copy.write(codes)
    bookings_copy.finish()
    codes_copy.finish()
    seeding.analyze()
    print(f"seeded {PROPERTIES:,} properties and {made:,} bookings with a code due now in {time.perf_counter() - started:.1f} s; {load()}")


class Beat(threading.Thread):
    """Sends the scheduler pass to the broker at once, then every `every` seconds (as beat does)."""

    def __init__(self, every: float = PASS_EVERY):
        super().__init__(daemon=True)
        self.every, self.stopping, self.sent = every, threading.Event(), 0

    def run(self) -> None:
        from locks import tasks

        while not self.stopping.is_set():
            tasks.scheduler_pass.delay()
            self.sent += 1
            self.stopping.wait(self.every)


def sample(now) -> dict:
    from django.db import connection
    from django.db.models import Count, Q

    from locks.models import AccessCode, CodeState

    held = ~Q(claim_token="")
    figures = AccessCode.objects.aggregate(
        created=Count("pk", filter=Q(state=CodeState.ACTIVE)),
        claimed=Count("pk", filter=held & Q(claimed_until__gt=now)),
        lapsed=Count("pk", filter=held & Q(claimed_until__lte=now)),
    )
    connection.close()
    return figures


def run(workers: Workers) -> None:
    from django.conf import settings
    from django.utils import timezone

    beat = Beat()
    started, started_wall = time.monotonic(), time.time()
    beat.start()
    passes, claims, last_created, last_at = [], 0, 0, started
    print(f"{'t (s)':>6} {'created':>8} {'rate/s':>7} {'claimed':>8} {'lapsed':>7} {'reclaimed':>9} {'skipped':>8} "
          f"{'queued':>7}  load")
    while True:
        time.sleep(max(0.0, last_at + SAMPLE_EVERY - time.monotonic()))
        while not workers.events.empty():
            _, at, summary = workers.events.get()
            claims += int(match.group(1)) if (match := re.match(r"(\d+) due", summary)) else 0
            passes.append(summary)
            print(f"  pass {len(passes)} finished at {at - started_wall:.0f} s: {summary}")
        figures, now = sample(timezone.now()), time.monotonic()
        rate = (figures["created"] - last_created) / (now - last_at)
        # Passes overlap (each is a task any worker thread may run): a claim beyond the codes ever
        # claimed (created, held or lapsed) is a code claimed again. Passes still running not counted.
        reclaimed = max(0, claims - figures["created"] - figures["claimed"] - figures["lapsed"])
        print(f"{now - started:6.0f} {figures['created']:8,} {rate:7.1f} {figures['claimed']:8,} {figures['lapsed']:7,} {reclaimed:9,} "
              f"{workers.skipped.value:8,} {broker_backlog():7,}  {load()}")
        last_created, last_at = figures["created"], now
        if figures["created"] >= BURST or now - started > TIME_LIMIT:
            break
    beat.stopping.set()
    elapsed, ideal = time.monotonic() - started, CONCURRENCY / LATENCY_SECONDS
    print(f"total: {last_created:,} of {BURST:,} codes created in {elapsed:.0f} s "
          f"({'done' if last_created >= BURST else 'TIME LIMIT'}): {last_created / elapsed:.1f} codes/s = "
          f"{last_created / elapsed / ideal:.2f} x C/L ({ideal:.0f}/s); {beat.sent} passes sent, {len(passes)} ran, "
          f"{claims:,} claims by them; {workers.skipped.value:,} batch codes skipped; "
          f"lease {settings.LOCKS_CLAIM_LEASE_SECONDS} s; {load()}")


def main() -> None:
    url = configure_environment()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from benchmarks.seeding import lock_id

    print(f"burst benchmark: {BURST:,} codes due at once; passes every {PASS_EVERY:g} s, lease "
          f"{settings.LOCKS_CLAIM_LEASE_SECONDS} s, {WORKER_PROCESSES} worker process(es) sharing {CONCURRENCY} threads, "
          f"vendor latency {LATENCY_SECONDS * 1000:.0f} ms; database {url.rsplit('/', 1)[-1]}, broker {os.environ['REDIS_URL']}")
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    flush_broker()
    seed(timezone.now())
    workers = Workers(processes=WORKER_PROCESSES, concurrency=CONCURRENCY, fake_locks=[lock_id(i) for i in range(PROPERTIES)],
                      latency=LATENCY_SECONDS)
    workers.start()
    cpu = time.process_time()
    run(workers)
    figures = workers.stop()
    print(f"workers: {figures['queries']:,} SQL queries, {figures['cpu']:.1f} s CPU, vendor calls {figures['calls']}; "
          f"this process {time.process_time() - cpu:.1f} s CPU; {load()}")


if __name__ == "__main__":
    main()
