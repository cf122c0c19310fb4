"""Worker processes sending vendor requests as fast as they can through the real rate limiter and
HTTP seam (`VendorHttp`, locks/providers/rate_limits.py), to a local server that notes when each
arrives: for the limiter's several-process test and benchmarks/rate_limiter.py.

A worker prints "ready" once set up, reads the instant to start at (epoch seconds) from its input,
and runs `threads` threads from then for `seconds`; each thread sends
GET requests to `url` as TTLock (no account: the app limit), and when the limiter holds one back it
waits the `retry_after` it was given and sends it again (rescheduled, never dropped). It prints one
JSON line: {"sent": [[before, after], ...], "held_back": n, "errors": {...}}, where before/after
are the instants around the limiter's admission of each request sent.

    DJANGO_SETTINGS_MODULE=nowistay.settings REDIS_URL=redis://... LOCKS_RATE_LIMIT_TTLOCK_APP=20/second \
        python -m tests.vendors.rate_limit_workers --url http://127.0.0.1:8123/ --threads 4 --seconds 3
"""

import argparse
import bisect
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEY_PREFIX = "nowistay-vendor-limits"  # locks.providers.rate_limits' keys in Redis


class _Arrivals(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.arrivals.append(time.time())
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:  # quiet
        pass


@contextmanager
def serve_arrivals() -> Iterator[tuple[str, list[float]]]:
    """A local server answering every GET at once; yields its URL and the list of arrival instants."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Arrivals)
    server.daemon_threads = True
    server.arrivals = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v3/lock/list", server.arrivals
    finally:
        server.shutdown()
        server.server_close()


def forget_redis_counts(redis_url: str) -> None:
    """Remove the limiter's counts from this Redis database, so a run starts from an empty window."""
    import redis

    server = redis.Redis.from_url(redis_url)
    for key in server.scan_iter(match=f"{KEY_PREFIX}*"):
        server.delete(key)


def run_workers(url: str, *, processes: int, threads: int, seconds: float, env: dict[str, str]) -> list[dict]:
    """`processes` worker processes, started together once all are set up; their reports."""
    args = ["--url", url, "--threads", str(threads), "--seconds", str(seconds)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.vendors.rate_limit_workers", *args],
            cwd=ROOT, env={**os.environ, **env}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    for worker in workers:  # each says "ready" once Django is set up
        line = worker.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"a worker did not start: {line!r} {worker.stderr.read()[-3000:]}")
    start_at = time.time() + 0.5
    reports = []
    for worker in workers:
        worker.stdin.write(f"{start_at}\n")
        worker.stdin.flush()
    for worker in workers:
        out, err = worker.communicate(timeout=seconds + 120)
        if worker.returncode != 0:
            raise RuntimeError(err[-3000:])
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def most_in_any_window(instants: list[float], length: float = 1.0) -> int:
    """The most instants any window [t, t + length) holds."""
    instants, most, first = sorted(instants), 0, 0
    for last, instant in enumerate(instants):
        while instant - instants[first] >= length:
            first += 1
        most = max(most, last - first + 1)
    return most


def most_admitted_in_any_window(sent: list[list[float]], length: float = 1.0) -> int:
    """The most requests the limiter surely admitted within one window [t, t + length): those whose
    whole (before, after) span around the admission lies inside it. A sound lower bound of what the
    limiter let through in that window, whatever the network did to the requests afterwards."""
    spans = sorted(sent)
    befores = [before for before, _ in spans]
    most = 0
    for index, (start, _) in enumerate(spans):
        end = bisect.bisect_left(befores, start + length)
        most = max(most, sum(1 for _, after in spans[index:end] if after < start + length))
    return most


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    import django

    django.setup()
    from locks.providers.exceptions import RateLimitedLocally
    from locks.providers.http import VendorHttp

    print("ready", flush=True)
    args.start_at = float(sys.stdin.readline())

    sent: list[list[float]] = []
    held_back, errors, mutex = [0], Counter(), threading.Lock()
    until = args.start_at + args.seconds

    def work() -> None:
        http = VendorHttp("TTLock")  # one session per thread: a requests.Session is not thread-safe
        time.sleep(max(0.0, args.start_at - time.time()))
        while time.time() < until:
            before = time.time()
            try:
                http.request("GET", args.url)
            except RateLimitedLocally as held:
                with mutex:
                    held_back[0] += 1
                time.sleep(min(held.retry_after or 0.01, max(0.0, until - time.time())))
                continue
            except Exception as error:
                with mutex:
                    errors[type(error).__name__] += 1
                continue
            # The admission happened before the request was sent; `after` bounds it from above.
            with mutex:
                sent.append([before, _admitted_by.get(threading.get_ident(), time.time())])

    _admitted_by: dict[int, float] = {}
    _note_admissions(_admitted_by)
    workers = [threading.Thread(target=work) for _ in range(args.threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    print(json.dumps({"sent": sent, "held_back": held_back[0], "errors": dict(errors)}), flush=True)


def _note_admissions(admitted_by: dict[int, float]) -> None:
    """Note, per thread, the instant right after the limiter admitted its last request."""
    from locks.providers import rate_limits

    admit = rate_limits.admit

    def noted(vendor=None):
        admit(vendor)
        admitted_by[threading.get_ident()] = time.time()

    rate_limits.admit = noted


if __name__ == "__main__":
    main()
