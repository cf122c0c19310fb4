"""Four worker processes sending as fast as they can through the limiter and the HTTP seam, their
counts shared in Redis, never exceed the configured maximum in any second; what a limit holds back
is sent later, never dropped (tests/vendors/rate_limit_workers.py; benchmarks/rate_limiter.py prints
the same figures at scale)."""

import os

import pytest

from tests.vendors.rate_limit_workers import forget_redis_counts, most_admitted_in_any_window, run_workers, serve_arrivals

REDIS_URL = os.environ.get("REDIS_URL", "")
PER_SECOND = 10

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not REDIS_URL, reason="needs Redis, where the worker processes count: REDIS_URL=redis://..."),
]


def test_four_processes_sharing_the_limit_never_exceed_it():
    forget_redis_counts(REDIS_URL)
    env = {
        "DJANGO_SETTINGS_MODULE": "nowistay.settings",
        "REDIS_URL": REDIS_URL,
        "LOCKS_RATE_LIMITS_ENABLED": "true",
        "LOCKS_RATE_LIMIT_TTLOCK_APP": f"{PER_SECOND}/second",
        "LOCKS_RATE_LIMIT_TTLOCK_ACCOUNT": "",
        "LOG_LEVEL": "WARNING",
    }
    with serve_arrivals() as (url, arrivals):
        reports = run_workers(url, processes=4, threads=3, seconds=3, env=env)
    forget_redis_counts(REDIS_URL)

    sent = [span for report in reports for span in report["sent"]]
    assert [report["errors"] for report in reports] == [{}] * 4
    assert len(arrivals) == len(sent)  # every request the limiter let through arrived
    assert most_admitted_in_any_window(sent) <= PER_SECOND
    # The limit was what held the processes back (they held back many more than they sent), and
    # over 3 seconds it let about 3 × PER_SECOND through: neither starved nor exceeded.
    assert sum(report["held_back"] for report in reports) > len(sent)
    assert 2 * PER_SECOND <= len(sent) <= 4 * PER_SECOND
    # Each process got its turn: a shared window, not one process taking it all.
    assert all(report["sent"] for report in reports)
