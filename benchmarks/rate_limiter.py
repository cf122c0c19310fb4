"""Rate-limiter benchmark: 4 worker processes × 8 threads send TTLock requests as fast as they can
through the real limiter and HTTP seam (locks/providers/rate_limits.py, VendorHttp), their counts
shared in Redis, to a local server that notes when each request arrives; a request the limiter
holds back waits the time it was given and is sent again. Prints, for the configured per-second
app limit, the most requests the limiter admitted within any one second and the most that arrived
within any one second, the calls sent and held back, and the machine's load.

    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python benchmarks/rate_limiter.py

What runs: the worker processes of tests/vendors/rate_limit_workers.py (the ones the limiter's
several-process test uses), each a Django process; no database is used. "Admitted within one
second" counts the requests whose whole span around the limiter's admission lies inside a
one-second window (a sound lower bound); "arrived" is measured at the server, after the network
and thread scheduling may have bunched requests up or spread them out.

It prints figures and asserts nothing (exit 0 unless it cannot run). The limiter's keys in that
Redis database are removed before and after the run.

Knobs (environment): RATE_PROCESSES (4), RATE_THREADS (8), RATE_SECONDS (10), RATE_LIMIT (20,
requests per second for the app).
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROCESSES = int(os.environ.get("RATE_PROCESSES", 4))
THREADS = int(os.environ.get("RATE_THREADS", 8))
SECONDS = float(os.environ.get("RATE_SECONDS", 10))
LIMIT = int(os.environ.get("RATE_LIMIT", 20))


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    from tests.vendors.rate_limit_workers import (
        forget_redis_counts,
        most_admitted_in_any_window,
        most_in_any_window,
        run_workers,
        serve_arrivals,
    )

    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    env = {
        "DJANGO_SETTINGS_MODULE": "nowistay.settings",
        "REDIS_URL": redis_url,
        "LOCKS_RATE_LIMITS_ENABLED": "true",
        "LOCKS_RATE_LIMIT_TTLOCK_APP": f"{LIMIT}/second",
        "LOCKS_RATE_LIMIT_TTLOCK_ACCOUNT": "",
        "LOG_LEVEL": "WARNING",
    }
    forget_redis_counts(redis_url)
    print(f"{PROCESSES} processes × {THREADS} threads for {SECONDS:g} s; limit {LIMIT}/second for the app; Redis {redis_url}")
    print(f"before: {load()}")
    started = time.monotonic()
    with serve_arrivals() as (url, arrivals):
        reports = run_workers(url, processes=PROCESSES, threads=THREADS, seconds=SECONDS, env=env)
        time.sleep(0.2)  # the last answers on their way
        arrived = list(arrivals)
    took = time.monotonic() - started
    forget_redis_counts(redis_url)

    sent = [span for report in reports for span in report["sent"]]
    held_back = sum(report["held_back"] for report in reports)
    errors = {}
    for report in reports:
        for name, count in report["errors"].items():
            errors[name] = errors.get(name, 0) + count
    per_process = ", ".join(str(len(report["sent"])) for report in reports)
    print(f"calls sent: {len(sent)} ({per_process} by process), {len(sent) / SECONDS:.1f}/s; arrived at the server: {len(arrived)}")
    print(f"held back by the limiter and sent again later: {held_back}; errors: {errors or 'none'}")
    print(f"most admitted within any one second: {most_admitted_in_any_window(sent)} (configured maximum {LIMIT})")
    print(f"most arrived within any one second:  {most_in_any_window(arrived)} (configured maximum {LIMIT})")
    print(f"run took {took:.1f} s (with the workers' start-up); after: {load()}")


if __name__ == "__main__":
    main()
