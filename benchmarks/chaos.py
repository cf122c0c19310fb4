"""Chaos benchmark: 1,000 bookings on the sandbox lock clouds, under transient failures, lost
answers and a worker killed mid-run; then every code on every virtual lock is checked against the
database.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/nowistay_chaos \
    REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python benchmarks/chaos.py

What it runs, all real processes: the sandbox clouds (`python -m sandbox --seed --extra-locks N`,
on a temporary SQLite database), two Celery workers (`celery -A nowistay worker --pool threads`)
and beat, on Redis, the real adapters over HTTP. The lifecycle's time is compressed through its
settings (retry interval, claim lease, sweep period, vendor timeout). The benchmark process is the
"web app": it connects the four demo accounts through the ordinary connect services, assigns one
lock per property, creates the bookings (due now; some with windows ending during the run), then
cancels a share and changes the dates of a share while the workers are busy, and SIGKILLs a worker
(starting another). Every sandbox account fails a share of requests at random (503 or 429, nothing
done) and loses the answer of a share of writes (done, answer held past the client's timeout).
When no work is due any more (or the time limit is reached) the workers stop and the figures are
printed: lock contents come from the sandbox's control endpoint, `/_control/<vendor>/locks/<id>/`.

Defect counts (target 0): live bookings without exactly one current, active code whose window is
on its lock (igloohome: the rounded window recorded as lock_starts_at/lock_ends_at); duplicates
(more than one code for a booking on its lock); codes left for cancelled bookings; codes left
after their window; codes the database and the lock disagree on (on the lock but unknown to the
database, believed on the lock but absent, or another PIN or window). igloohome's algoPINs cannot
be revoked, so they are counted apart: each must be the booking's code or recorded (superseded
with a warning, a lost create's warning, or expired once over); any other is a defect.

It prints figures and asserts nothing (exit 0 unless it cannot run). The database named by
BENCH_DATABASE_URL is created if missing and emptied; the Redis database is flushed.

Knobs (environment): CHAOS_VENDORS (default ttlock,tedee,nuki,igloohome,homeit: the clouds present in
sandbox/vendors/), CHAOS_BOOKINGS (1000), CHAOS_BOOKINGS_PER_LOCK (5), CHAOS_FAILURE_RATE (0.30),
CHAOS_LOSS_RATE (0.05), CHAOS_WORKERS (2), CHAOS_WORKER_THREADS (8), CHAOS_TIME_LIMIT (600 s
from the first booking), CHAOS_SEED (6), and the compressed lifecycle times:
LOCKS_RETRY_INTERVAL_SECONDS (3), LOCKS_CLAIM_LEASE_SECONDS (15), LOCKS_SWEEP_PERIOD_SECONDS (2, also
the look-again period of writes awaited on the lock), LOCKS_LISTING_DELAY_SECONDS (10, every vendor's),
VENDOR_HTTP_TIMEOUT_SECONDS (3), SANDBOX_HANG_SECONDS (4: how long a lost answer is held),
LOCKS_READ_BACKS_PER_LOCK_PER_DAY (8640: half of them spread over the day, so each lock is read
back every 20 s; the product's default, 24, would read a lock again only hours later).

Drift (issue 19): DRIFT_AFTER s after the last booking, on the vendors whose provider lists a
lock's codes (`capabilities.lists_codes`), a seeded random sample of locks is changed behind the
product's back through the sandbox's drift switches (`/_control/<vendor>/locks/<id>/drift/`): one of
our codes deleted "in the vendor's app" on some, another's window changed on others, a lock wiped,
an unmanaged code (a cleaner's) added on a few. The run is not settled until every live booking
on a drifted lock has its code back on the lock as it should be (or the time limit). The figures
add: the injections, the findings the read-backs recorded (LockFinding by kind), orphans left (codes
named as ours that no live code explains) and unmanaged codes touched (each injected one must be
on its lock unchanged at the end).

Slow writes, asynchronous applies and token expiry (issue 21), through the sandbox's switches:
CHAOS_SLOW_RATE (0.10) of the writes that go through answer late, each after a random wait of up to
CHAOS_SLOW_SECONDS (twice the vendor timeout: 6 s), before the vendor acts, so about half of them
end past the client's timeout with the outcome unknown (and land after the client gave up);
TTLock's and Nuki's writes (a code created, its window changed, the code deleted) are applied
asynchronously, on the lock and in its listing CHAOS_APPLY_DELAY s (half the listing delay: 5 s)
after the vendor accepted them, within the product's listing delay; every
CHAOS_TOKEN_EXPIRY_EVERY s (60; 0: never) from the first booking, every access token expires at
the vendor (`POST /_control/<vendor>/tokens/expire/`; the product
still believes its stored expiry), which then refuses it as the real vendor does (TTLock errcode
10004, the others 401), so the product must refresh. Nuki signs in through OAuth then (its API
token never expires; CHAOS_NUKI_OAUTH=0 keeps the API token); homeit's API key has no token. The
figures add the slow writes (and how many waited past the client's timeout), the asynchronous
applies, and the token requests each account made after each expiry (target 1: one refresh shared
by every worker thread).
"""

import os
import random
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import create_postgres_database  # noqa: E402
from sandbox.demo_sign_ins import vendor_settings  # noqa: E402

ALL_VENDORS = ("ttlock", "tedee", "nuki", "igloohome", "homeit")
ZONES = ["Europe/Paris", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "Europe/London", "Asia/Tokyo"]
DEMO_LOGIN = "demo-host@nowistay.example"
INSTANCE_ID = "chaos"
LEAD_DAYS = 14
MARGIN_MINUTES = 30
# Windows that end during the run, this many seconds after the bookings start being made. Such a
# stay began the day before (a window cannot end sooner than the day after arrival), so its arrival
# day is over: by the spec its code is not retried, and a first failure marks it failed.
SHORT_END_SECONDS = (90, 180)
# Cancellation and date-change waves, seconds after the last booking was made; each takes half of
# each share. The SIGKILL comes halfway through making the bookings, the new worker RESTART_AFTER later.
WAVES = (10, 45)
RESTART_AFTER = 3
CANCELLED_SHARE = 0.10
CHANGED_SHARE = 0.10
PROGRESS_EVERY = 15
# Drift: seconds after the last booking was made (after the cancellation and date-change waves),
# and how many locks of each drift-capable vendor get each kind (distinct locks).
DRIFT_AFTER = 60
DRIFT_LOCKS = {"delete_code": 3, "change_window": 3, "wipe": 1, "add_unmanaged": 3}
DRIFT_CHECK_EVERY = 10
UNMANAGED_NAME = "Cleaner (added in the app)"
# How long the benchmark waits for the sandbox's control endpoints: a write there waits for SQLite's
# write lock (busy timeout 30 s), which a machine loaded with other work can hold up past 30 s.
CONTROL_TIMEOUT = 120


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass
class Config:
    vendors: list[str]
    bookings: int = env_int("CHAOS_BOOKINGS", 1000)
    per_lock: int = env_int("CHAOS_BOOKINGS_PER_LOCK", 5)
    failure_rate: float = env_float("CHAOS_FAILURE_RATE", 0.30)
    loss_rate: float = env_float("CHAOS_LOSS_RATE", 0.05)
    workers: int = env_int("CHAOS_WORKERS", 2)
    threads: int = env_int("CHAOS_WORKER_THREADS", 8)
    time_limit: int = env_int("CHAOS_TIME_LIMIT", 600)
    seed: int = env_int("CHAOS_SEED", 6)
    retry: int = env_int("LOCKS_RETRY_INTERVAL_SECONDS", 3)
    lease: int = env_int("LOCKS_CLAIM_LEASE_SECONDS", 15)
    sweep: int = env_int("LOCKS_SWEEP_PERIOD_SECONDS", 2)
    listing_delay: int = env_int("LOCKS_LISTING_DELAY_SECONDS", 10)
    timeout: float = env_float("VENDOR_HTTP_TIMEOUT_SECONDS", 3)
    hang: float = env_float("SANDBOX_HANG_SECONDS", 4)
    read_backs: int = env_int("LOCKS_READ_BACKS_PER_LOCK_PER_DAY", 8640)
    slow_rate: float = env_float("CHAOS_SLOW_RATE", 0.10)
    slow_seconds: float = env_float("CHAOS_SLOW_SECONDS", 2 * env_float("VENDOR_HTTP_TIMEOUT_SECONDS", 3))
    apply_delay: float = env_float("CHAOS_APPLY_DELAY", env_int("LOCKS_LISTING_DELAY_SECONDS", 10) / 2)
    token_expiry_every: float = env_float("CHAOS_TOKEN_EXPIRY_EVERY", 60)
    nuki_oauth: bool = env_int("CHAOS_NUKI_OAUTH", 1) == 1

    @property
    def locks_per_vendor(self) -> int:
        return -(-self.bookings // (len(self.vendors) * self.per_lock))


def default_vendors() -> list[str]:
    listed = os.environ.get("CHAOS_VENDORS")
    if listed:
        return [vendor.strip() for vendor in listed.split(",") if vendor.strip()]
    return [vendor for vendor in ALL_VENDORS if (ROOT / "sandbox" / "vendors" / f"{vendor}.py").exists()]


# --- environment and processes -----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configure_environment(config: Config, sandbox_url: str, sandbox_db: Path) -> None:
    """Everything the benchmark and its child processes (sandbox, workers, beat) read."""
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nowistay_chaos")
    values = {
        "DATABASE_URL": url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"),
        "DJANGO_SETTINGS_MODULE": "nowistay.settings",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "INSTANCE_ID": INSTANCE_ID,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # Time is compressed here, the vendor quotas are not: the rate limiter is measured by benchmarks/rate_limiter.py.
        "LOCKS_RATE_LIMITS_ENABLED": os.environ.get("LOCKS_RATE_LIMITS_ENABLED", "false"),
        "EMAIL_URL": os.environ.get("CHAOS_EMAIL_URL", "dummymail://"),  # host alerts are sent, not printed
        # Production-shaped: with DEBUG off, `celery worker` and `beat` refuse the development values.
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LOCKS_RETRY_INTERVAL_SECONDS": str(config.retry),
        "LOCKS_CLAIM_LEASE_SECONDS": str(config.lease),
        "LOCKS_SWEEP_PERIOD_SECONDS": str(config.sweep),
        "LOCKS_LOOK_AGAIN_SECONDS": str(config.sweep),
        "LOCKS_LISTING_DELAY_SECONDS": str(config.listing_delay),
        "VENDOR_HTTP_TIMEOUT_SECONDS": str(config.timeout),
        "SANDBOX_HANG_SECONDS": str(config.hang),
        "LOCKS_READ_BACKS_PER_LOCK_PER_DAY": str(config.read_backs),
        "SANDBOX_DATABASE_URL": f"sqlite:///{sandbox_db}",
    }
    # Every vendor on the sandbox, at the addresses the sandbox declares (as `make run` does).
    sandbox_settings = {name: str(value) for name, value in vendor_settings(sandbox_url).items()}
    sandbox_settings.pop("VENDOR_HTTP_TIMEOUT_SECONDS")  # the benchmark's own, above
    os.environ.update({**values, **sandbox_settings})
    if url.startswith("postgres"):
        create_postgres_database(url)


class Processes:
    """The child processes, each logging to its own file; stopped by their own ids."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        with open(self.log_dir / f"{name}.log", "w") as log:
            process = subprocess.Popen(args, cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT)
        self.running[name] = process
        return process

    def kill(self, name: str) -> int:
        process = self.running.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait()
        return process.pid

    def stop(self, name: str, grace: float = 10) -> None:
        process = self.running.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name, grace=5)


def celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "nowistay", *args]


def start_worker(processes: Processes, config: Config, number: int) -> str:
    name = f"worker{number}"
    processes.start(name, celery(
        "worker", "--pool", "threads", "--concurrency", str(config.threads), "-n", f"chaos{number}@%h",
        "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
    ))
    return name


def wait_for_workers(names: list[str], timeout: float = 60) -> None:
    from nowistay.celery import app

    wanted = {f"chaos{name.removeprefix('worker')}" for name in names}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        answered = {host.split("@", 1)[0] for reply in replies for host in reply}
        if wanted <= answered:
            return
    raise RuntimeError(f"workers {sorted(wanted)} did not answer a ping within {timeout:.0f} s")


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the sandbox exited with status {process.returncode}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the sandbox at {url} did not answer within {timeout:.0f} s")


# The vendors whose clouds apply a code to the lock asynchronously (Nuki through its bridge, TTLock
# through its gateway): the sandbox's apply_delay_seconds is set on their accounts only.
ASYNC_VENDORS = ("ttlock", "nuki")


def set_sandbox_faults(sandbox_db: Path, config: Config, *, retry_after: int) -> None:
    """Switch the probabilistic faults on for every virtual account (sandbox/models.py, Faults).

    The sandbox's JSON control endpoint takes only the one-shot switches, so the benchmark writes
    its own temporary sandbox database; the sandbox reads the switches on every request.
    """
    with sqlite3.connect(sandbox_db, timeout=30) as db:
        db.execute(
            "UPDATE sandbox_virtualaccount SET failure_rate = ?, loss_rate = ?, retry_after_seconds = ?, slow_rate = ?,"
            " slow_seconds = ?",
            (config.failure_rate, config.loss_rate, retry_after, config.slow_rate, config.slow_seconds),
        )
        db.execute(
            f"UPDATE sandbox_virtualaccount SET apply_delay_seconds = ? WHERE vendor IN ({', '.join('?' * len(ASYNC_VENDORS))})",
            (config.apply_delay, *ASYNC_VENDORS),
        )


@dataclass
class TokenExpiries:
    """Each expiry of every access token at the vendor: when, and for each vendor how many tokens it
    expired and the highest token id right after (the vendors are expired one after the other, so
    each vendor has its own mark: a refresh may land before the next vendor's expiry)."""

    every: float
    events: list = field(default_factory=list)  # (t, {vendor: (expired, last token id)})
    next_at: float | None = None

    def due(self, elapsed: float) -> bool:
        return self.every > 0 and self.next_at is not None and elapsed >= self.next_at


def expire_tokens(sandbox_url: str, vendors: list[str]) -> dict:
    """Every access token of these vendors expires now at the vendor: {vendor: (expired, the highest token id then)}."""
    import requests

    expired = {}
    for vendor in vendors:
        for attempt in range(3):  # a loaded sandbox (SQLite's write lock) may answer late
            try:
                answer = requests.post(f"{sandbox_url}/_control/{vendor}/tokens/expire/", timeout=CONTROL_TIMEOUT)
                answer.raise_for_status()
                break
            except requests.RequestException:
                if attempt == 2:
                    raise
        payload = answer.json()
        expired[vendor] = (payload["expired"], payload["last_token"])
    return expired


def token_requests_per_expiry(sandbox_db: Path, expiries: TokenExpiries) -> dict:
    """(vendor, account login) -> the tokens issued after each expiry that expired one of the
    vendor's tokens, before the next such expiry (or the end of the run). An expiry that found no
    live token of the vendor (it had not asked for a new one yet) does not end the interval: a
    token issued after it still answers the earlier expiry."""
    with sqlite3.connect(sandbox_db, timeout=30) as db:
        issued = db.execute(
            "SELECT t.id, a.vendor, a.login FROM sandbox_virtualtoken t JOIN sandbox_virtualaccount a ON a.id = t.account_id"
        ).fetchall()
        holders = db.execute(
            "SELECT DISTINCT a.vendor, a.login FROM sandbox_virtualtoken t JOIN sandbox_virtualaccount a ON a.id = t.account_id"
        ).fetchall()
    counts = {}
    for vendor, login in holders:
        bounds = [last for _, expired in expiries.events for n, last in [expired.get(vendor, (0, 0))] if n] + [float("inf")]
        counts[(vendor, login)] = [
            sum(1 for pk, v, who in issued if v == vendor and who == login and low < pk <= high)
            for low, high in zip(bounds, bounds[1:], strict=False)
        ]
    return counts


def fault_tally(sandbox_url: str) -> dict:
    import requests

    answer = requests.get(f"{sandbox_url}/_control/tally/", timeout=CONTROL_TIMEOUT)
    answer.raise_for_status()
    return answer.json()


# --- connecting the demo accounts -------------------------------------------------------------------

def connect(host, vendor: str, *, nuki_oauth: bool = False):
    """Sign the demo host in to the vendor's sandbox cloud through the product's own connect
    services, as `make run` does (OAuth vendors through the sandbox's sign-in page). `nuki_oauth`:
    Nuki through "Sign in with Nuki" rather than the API token, so its access token can expire."""
    from dataclasses import replace

    from locks.demo import connect_demo_account
    from sandbox.demo_sign_ins import DEMO_SIGN_INS, NUKI_API_TOKEN

    demo = DEMO_SIGN_INS[vendor]
    if vendor == "nuki" and nuki_oauth:  # the sign-in page's password is the API token (sandbox/vendors/nuki.py)
        demo = replace(demo, method="oauth", values={"email": DEMO_LOGIN, "password": NUKI_API_TOKEN})
    return connect_demo_account(host, demo)


# --- the scenario -----------------------------------------------------------------------------------

@dataclass
class Plan:
    """The bookings to make, and what happens to which of them mid-run."""

    properties: list = field(default_factory=list)  # (vendor, Property)
    rows: list = field(default_factory=list)  # (vendor, Property, arrival, departure, check-out time, short)
    bookings: list = field(default_factory=list)  # Booking
    short: set = field(default_factory=set)  # booking ids with windows ending during the run
    to_cancel: list = field(default_factory=list)  # [wave][booking ids]
    to_change: list = field(default_factory=list)
    cancelled: set = field(default_factory=set)
    changed: set = field(default_factory=set)
    short_end: datetime | None = None


def switched_offline(sandbox_url: str, vendor: str, vendor_lock_id: str) -> bool:
    """The sandbox's offline switch (the seeded "offline" lock kind): such a lock is assignable,
    since offline is a passing state, but its codes would only be retried all run long."""
    import requests

    answer = requests.get(f"{sandbox_url}/_control/{vendor}/locks/{vendor_lock_id}/", timeout=10)
    answer.raise_for_status()
    return bool(answer.json().get("offline"))


def setup_properties(config: Config, host, sandbox_url: str) -> list:
    """One property per lock, each assigned one eligible lock of its vendor's account."""
    from bookings.models import PmsSource, Property
    from locks.models import ProviderAccount
    from locks.services import lock_assignment_set

    properties = []
    for vendor in config.vendors:
        account = ProviderAccount.objects.get(host=host, provider=vendor)
        candidates = account.locks.filter(supports_remote_codes=True).exclude(is_online=False).order_by("vendor_lock_id")
        locks = [lock for lock in candidates if not switched_offline(sandbox_url, vendor, lock.vendor_lock_id)]
        if len(locks) < config.locks_per_vendor:
            raise RuntimeError(f"{vendor}: {len(locks)} eligible locks, {config.locks_per_vendor} needed")
        for index, lock in enumerate(locks[: config.locks_per_vendor]):
            prop = Property.objects.create(
                host=host, name=f"{vendor} flat {index:03d}", time_zone=ZONES[index % len(ZONES)],
                pms_source=PmsSource.NOWISTAY, ai_assistant_active=True,
            )
            lock_assignment_set(prop=prop, lock=lock, lead_days=LEAD_DAYS, margin_minutes=MARGIN_MINUTES, ladder=LADDER_OFF)
            properties.append((vendor, prop))
    return properties


# The escalation ladder (issue 20) is off here: this run measures the lifecycle converging under
# faults, and its stays start today, so every retried code would get a fallback code at once. The
# ladder has its own lifecycle tests (tests/locks/services/test_ladder.py).
LADDER_OFF = {"warn_host_hours_before": 0, "send_fallback": False, "remind_host_at_check_in": False, "backup_codes": 0}


def stays_for(rng: random.Random, base, count: int) -> list[tuple]:
    """Back-to-back stays of 1-2 nights from `base`, all arriving within the lead time."""
    stays, arrival = [], base + timedelta(days=rng.choice([0, 1]))
    for _ in range(count):
        departure = arrival + timedelta(days=rng.randint(1, 2))
        stays.append((arrival, departure))
        arrival = departure + timedelta(days=rng.choice([0, 0, 1]))
    return stays


def short_stay(zone: ZoneInfo, ends_at: datetime) -> tuple:
    """(arrival, departure, check-out time) for a one-night stay whose window ends near `ends_at`."""
    check_out = (ends_at - timedelta(minutes=MARGIN_MINUTES)).astimezone(zone)
    check_out = (check_out + timedelta(minutes=1)).replace(second=0, microsecond=0)
    departure = check_out.date()
    return departure - timedelta(days=1), departure, check_out.time()


def plan_bookings(config: Config, properties: list, now: datetime) -> Plan:
    """Per property: `per_lock` bookings; every other property's first is a short stay."""
    rng = random.Random(config.seed)
    plan = Plan(properties=properties)
    per_vendor = config.bookings // len(config.vendors)
    made = Counter()
    rows = []  # (vendor, prop, arrival, departure, check_out_time, short)
    for index, (vendor, prop) in enumerate(properties):
        zone = ZoneInfo(prop.time_zone)
        count = min(config.per_lock, per_vendor - made[vendor])
        if count <= 0:
            continue
        made[vendor] += count
        # Arrival days whose retry deadline (local midnight) cannot pass during the run.
        base = (now + timedelta(minutes=30)).astimezone(zone).date()
        if index % 2 == 0:
            ends = now + timedelta(seconds=rng.uniform(*SHORT_END_SECONDS))
            rows.append((vendor, prop, *short_stay(zone, ends), True))
            count -= 1
        for arrival, departure in stays_for(rng, base, count):
            rows.append((vendor, prop, arrival, departure, None, False))
    plan.rows = rows
    return plan


def create_bookings(plan: Plan, rng: random.Random, tick) -> None:
    """Each through `booking_created`, as the web app does; `tick()` runs due mid-run events."""
    from bookings.models import Booking, BookingStatus
    from locks import services

    for vendor, prop, arrival, departure, check_out, short in plan.rows:
        tick(len(plan.bookings))
        booking = Booking.objects.create(
            property=prop, guest_name=f"Guest {len(plan.bookings)}", guest_phone="+33 6 12 34 56 78",
            arrival_date=arrival, departure_date=departure, check_out_time=check_out, status=BookingStatus.CONFIRMED,
        )
        booking.vendor = vendor
        services.booking_created(booking=booking)
        plan.bookings.append(booking)
        if short:
            plan.short.add(booking.pk)
    # Mid-run events: cancel a share and change the dates of a share, in two waves.
    ordinary = [booking for booking in plan.bookings if booking.pk not in plan.short]
    last_of_property = {}
    for booking in ordinary:
        last_of_property[booking.property_id] = booking
    changeable = list(last_of_property.values())
    rng.shuffle(changeable)
    changing = changeable[: int(len(plan.bookings) * CHANGED_SHARE)]
    changing_ids = {booking.pk for booking in changing}
    cancellable = [booking for booking in ordinary if booking.pk not in changing_ids]
    rng.shuffle(cancellable)
    cancelling = cancellable[: int(len(plan.bookings) * CANCELLED_SHARE)]
    waves = len(WAVES)
    plan.to_cancel = [cancelling[wave::waves] for wave in range(waves)]
    plan.to_change = [changing[wave::waves] for wave in range(waves)]


def cancel(booking) -> None:
    from bookings.models import Booking, BookingStatus
    from locks import services

    booking = Booking.objects.select_related("property").get(pk=booking.pk)
    booking.status = BookingStatus.CANCELLED
    booking.save(update_fields=["status", "updated_at"])
    services.booking_cancelled(booking=booking)


def change_dates(booking, rng: random.Random, latest_arrival) -> None:
    """Move the stay a day later, or extend it by a night (a later stay is never overlapped:
    only the last booking of a property changes)."""
    from bookings.models import Booking
    from locks import services

    booking = Booking.objects.select_related("property").get(pk=booking.pk)
    if rng.random() < 0.5 and booking.arrival_date + timedelta(days=1) <= latest_arrival(booking):
        booking.arrival_date += timedelta(days=1)
    booking.departure_date += timedelta(days=1)
    booking.save(update_fields=["arrival_date", "departure_date", "updated_at"])
    services.booking_changed(booking=booking)


# --- drift behind the product's back -----------------------------------------------------------------

@dataclass
class Drift:
    """What was changed on the locks behind the product's back, and whether it is repaired."""

    injected: Counter = field(default_factory=Counter)  # (vendor, action) -> count
    refused: list = field(default_factory=list)  # the sandbox's refusals, in words
    locks: set = field(default_factory=set)  # Lock ids drifted
    unmanaged: dict = field(default_factory=dict)  # (lock id, vendor code id) -> the entry as added
    at: float | None = None
    unrepaired: int | None = None  # live bookings on drifted locks not yet as they should be
    checked_at: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.injected.values())


def drift_vendors(vendors: list[str]) -> list[str]:
    from locks.providers import registry

    return [vendor for vendor in vendors if registry.provider_class(vendor).capabilities.lists_codes]


def post_drift(sandbox_url: str, vendor: str, vendor_lock_id: str, body: dict):
    """One drift switch; (True, its result) or (False, the refusal)."""
    import requests

    answer = requests.post(f"{sandbox_url}/_control/{vendor}/locks/{vendor_lock_id}/drift/", json=body, timeout=CONTROL_TIMEOUT)
    payload = answer.json()
    return (True, payload.get("result")) if answer.ok else (False, payload.get("error", answer.status_code))


def unmanaged_pin(rng: random.Random, taken: set[str]) -> str:
    """Six digits 1-9 not starting with "12" (every vendor's keypad takes it), not a PIN of ours."""
    while True:
        pin = "".join(rng.choice("123456789") for _ in range(6))
        if pin not in taken and not pin.startswith("12"):
            return pin


def drift_candidates(plan: Plan, vendor: str) -> dict:
    """Lock -> the current, active codes on it of confirmed bookings left alone by the waves."""
    from bookings.models import BookingStatus
    from locks.models import AccessCode, CodeState

    untouched = plan.short | plan.changed | plan.cancelled
    codes = (
        AccessCode.objects.filter(
            lock__account__provider=vendor, state=CodeState.ACTIVE, is_current=True, booking__status=BookingStatus.CONFIRMED
        )
        .exclude(vendor_code_id="")
        .exclude(booking_id__in=untouched)
        .select_related("lock")
        .order_by("pk")
    )
    by_lock = defaultdict(list)
    for code in codes:
        by_lock[code.lock].append(code)
    return by_lock


def drift_body(action: str, codes: list, rng: random.Random) -> dict:
    if action in ("delete_code", "change_window"):
        code = rng.choice(codes)
        body = {"action": action, "code_id": code.vendor_code_id}
        if action == "change_window":  # a day later, as a host might move it by mistake in the app
            starts, ends = code.lock_starts_at or code.starts_at, code.lock_ends_at or code.ends_at
            body.update(starts_at=(starts + timedelta(days=1)).isoformat(), ends_at=(ends + timedelta(days=1)).isoformat())
        return body
    if action == "add_unmanaged":
        return {"action": action, "name": UNMANAGED_NAME, "pin": unmanaged_pin(rng, {code.pin for code in codes})}
    return {"action": action}


def inject_drift(config: Config, plan: Plan, sandbox_url: str, rng: random.Random) -> Drift:
    """On a seeded sample of each drift-capable vendor's locks (distinct locks per kind)."""
    drift = Drift()
    for vendor in drift_vendors(config.vendors):
        by_lock = drift_candidates(plan, vendor)
        locks = sorted(by_lock, key=lambda lock: lock.pk)
        rng.shuffle(locks)
        for action, count in DRIFT_LOCKS.items():
            chosen, locks = locks[:count], locks[count:]
            for lock in chosen:
                body = drift_body(action, by_lock[lock], rng)
                done, result = post_drift(sandbox_url, vendor, lock.vendor_lock_id, body)
                if not done:
                    drift.refused.append(f"{vendor} lock {lock.vendor_lock_id} {action}: {result}")
                    continue
                drift.injected[(vendor, action)] += 1
                drift.locks.add(lock.pk)
                if action == "add_unmanaged":
                    entry = next(e for e in lock_contents(sandbox_url, vendor, lock.vendor_lock_id) if e["id"] == result)
                    drift.unmanaged[(lock.pk, result)] = entry
    return drift


def unrepaired_on(lock_ids: set, sandbox_url: str, now: datetime) -> int:
    """Live bookings on these locks without their one current code, active, as it should be on the lock."""
    from bookings.models import BookingStatus
    from locks.models import AccessCode, LockAssignment
    from locks.services.planning import code_plan

    missing = 0
    for assignment in LockAssignment.objects.filter(lock_id__in=lock_ids).select_related("lock__account", "property"):
        lock = assignment.lock
        contents = {e["id"]: e for e in lock_contents(sandbox_url, lock.account.provider, lock.vendor_lock_id)}
        for booking in assignment.property.bookings.filter(status=BookingStatus.CONFIRMED).select_related("property"):
            wanted = code_plan(booking, assignment)
            if not (wanted.generate_at <= now < wanted.ends_at):
                continue
            current = list(AccessCode.objects.filter(booking=booking, is_current=True))
            if live_problem(current, wanted, contents, exact=True) is not None:
                missing += 1
    return missing


def unmanaged_touched(drift: Drift, sandbox_url: str) -> list[str]:
    """Each injected unmanaged code must still be on its lock, unchanged."""
    from locks.models import Lock

    touched, contents = [], {}
    for (lock_id, code_id), added in drift.unmanaged.items():
        if lock_id not in contents:
            lock = Lock.objects.select_related("account").get(pk=lock_id)
            contents[lock_id] = {e["id"]: e for e in lock_contents(sandbox_url, lock.account.provider, lock.vendor_lock_id)}
        now_on_lock = contents[lock_id].get(code_id)
        fields = ("name", "pin", "starts", "ends")
        if now_on_lock is None:
            touched.append(f"lock {lock_id} code {code_id}: gone")
        elif any(now_on_lock[name] != added[name] for name in fields):
            touched.append(f"lock {lock_id} code {code_id}: changed")
    return touched


# --- watching the run -------------------------------------------------------------------------------

WORK_STATES = ("creating", "updating", "revoking", "expiring")


def snapshot(now: datetime) -> dict:
    from django.db.models import Count

    from locks.models import AccessCode, CallOutcome, VendorCall

    states = dict(AccessCode.objects.values_list("state").annotate(n=Count("id")).order_by())
    due = AccessCode.objects.filter(next_attempt_at__lte=now).count()
    claimed = AccessCode.objects.filter(claimed_until__gt=now).count()
    waiting = AccessCode.objects.filter(state="scheduled", generate_at__lte=now).count()
    calls = dict(VendorCall.objects.values_list("outcome").annotate(n=Count("id")).order_by())
    return {
        "states": states, "due": due, "claimed": claimed, "scheduled_due": waiting,
        "calls": sum(calls.values()), "unknown": calls.get(CallOutcome.UNKNOWN, 0),
    }


def settled(snap: dict) -> bool:
    return (
        snap["due"] == 0 and snap["claimed"] == 0 and snap["scheduled_due"] == 0
        and not any(snap["states"].get(state) for state in WORK_STATES)
    )


def progress_line(elapsed: float, snap: dict) -> str:
    states = snap["states"]
    shown = " ".join(f"{state} {states[state]}" for state in sorted(states))
    return f"  t={elapsed:5.0f} s  {shown} | due {snap['due']}, claimed {snap['claimed']}, vendor calls {snap['calls']}"


# --- checking ---------------------------------------------------------------------------------------

def parse_instant(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def lock_contents(sandbox_url: str, vendor: str, vendor_lock_id: str) -> list[dict]:
    import requests

    answer = requests.get(f"{sandbox_url}/_control/{vendor}/locks/{vendor_lock_id}/", timeout=CONTROL_TIMEOUT)
    answer.raise_for_status()
    codes = answer.json()["codes"]
    for code in codes:
        code["starts"], code["ends"] = parse_instant(code["starts_at"]), parse_instant(code["ends_at"])
    return codes


LOST_CREATE_WARNING = "got no answer"


@dataclass
class Findings:
    live: int = 0
    live_ok: int = 0
    live_problems: Counter = field(default_factory=Counter)
    live_by_vendor: Counter = field(default_factory=Counter)
    live_ok_by_vendor: Counter = field(default_factory=Counter)
    duplicates: int = 0
    left_cancelled: int = 0
    left_expired: int = 0
    disagree: int = 0
    disagree_kinds: Counter = field(default_factory=Counter)
    igloo_apart: Counter = field(default_factory=Counter)
    igloo_unexplained: int = 0
    igloo_unexplained_kinds: Counter = field(default_factory=Counter)
    orphans: int = 0  # codes named as ours on revocable locks that no live code explains
    examples: dict = field(default_factory=lambda: defaultdict(list))
    per_vendor: dict = field(default_factory=lambda: defaultdict(Counter))  # defect kind -> vendor -> count

    def add(self, kind: str, vendor: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        self.per_vendor[kind][vendor] += 1

    def split(self, kind: str) -> str:
        counts = self.per_vendor[kind]
        return f" ({', '.join(f'{vendor} {n}' for vendor, n in counts.most_common())})" if counts else ""

    def example(self, kind: str, text: str) -> None:
        if len(self.examples[kind]) < 3:
            self.examples[kind].append(text)


def check(plan: Plan, sandbox_url: str, now: datetime, unmanaged: set) -> Findings:
    """`unmanaged`: (lock id, vendor code id) of the codes added in the app (drift), left apart."""
    from bookings.models import Booking, BookingStatus
    from locks.models import AccessCode, CodeState, LockAssignment
    from locks.providers import registry
    from locks.services.planning import code_plan

    findings = Findings()
    name_pattern = re.compile(rf"^{INSTANCE_ID}-(\d+)$")
    codes = list(AccessCode.objects.select_related("booking", "lock__account"))
    by_id = {code.pk: code for code in codes}
    by_vendor_id = {(code.lock_id, code.vendor_code_id): code for code in codes if code.vendor_code_id}
    assignments = list(LockAssignment.objects.select_related("lock__account", "property"))
    revocable = {vendor: registry.provider_class(vendor).capabilities.remote_revoke for vendor in ALL_VENDORS}
    on_lock: dict[int, dict[str, dict]] = {}
    per_booking_on_lock: dict[int, list] = defaultdict(list)

    for assignment in assignments:
        lock = assignment.lock
        vendor = lock.account.provider
        contents = lock_contents(sandbox_url, vendor, lock.vendor_lock_id)
        on_lock[lock.pk] = {entry["id"]: entry for entry in contents}
        for entry in contents:
            entry["vendor"] = vendor
            if (lock.pk, entry["id"]) in unmanaged:
                continue  # not ours: checked apart, unchanged (unmanaged_touched)
            matched = by_vendor_id.get((lock.pk, entry["id"]))
            name = name_pattern.match(entry["name"] or "")
            named = by_id.get(int(name.group(1))) if name else None
            owner = matched or named
            label = f"{vendor} lock {lock.vendor_lock_id} code {entry['id']} ({entry['name']})"
            ended = entry["ends"] <= now
            if not revocable[vendor]:
                explained = classify_unrevocable(findings, entry, matched, named, ended, label)
                if owner and not ended and not explained:  # the current code, or one nothing explains
                    per_booking_on_lock[owner.booking_id].append(entry)
                continue
            if owner:
                per_booking_on_lock[owner.booking_id].append(entry)
            if name and not explained_by_live_code(matched):
                findings.add("orphans", vendor)
                findings.example("orphans", f"{label}: named as ours, code {matched.state if matched else 'unknown'}")
            if matched is None:
                findings.add("disagree", vendor)
                kind = f"on the lock, unknown to the database (named code: {named.state if named else 'none'})"
                findings.disagree_kinds[kind] += 1
                findings.example("disagree", f"{label}: {kind}")
            else:
                problems = []
                if matched.state not in (CodeState.ACTIVE, CodeState.UPDATING):
                    problems.append(f"database says {matched.state}")
                if matched.pin != entry["pin"]:
                    problems.append("PIN differs")
                if (matched.lock_starts_at, matched.lock_ends_at) != (entry["starts"], entry["ends"]):
                    problems.append("window differs from the recorded lock window")
                for problem in problems:
                    findings.disagree_kinds[problem] += 1
                if problems:
                    findings.add("disagree", vendor)
                    findings.example("disagree", f"{label}: {', '.join(problems)}")
            if owner and owner.booking.status == BookingStatus.CANCELLED:
                findings.add("left_cancelled", vendor)
                findings.example("cancelled", f"{label}: booking {owner.booking_id} cancelled, code {owner.pk} {owner.state}")
            if ended:
                findings.add("left_expired", vendor)
                owner_code = f"{owner.pk} {owner.state}" if owner else "? "
                findings.example("expired", f"{label}: ended {entry['ends_at']}, code {owner_code}")

    # The database's side: codes it believes are on a lock that the lock does not hold.
    for code in codes:
        if not code.vendor_code_id or code.lock_id not in on_lock:
            continue
        believed = code.state in (CodeState.ACTIVE, CodeState.UPDATING, CodeState.REVOKING, CodeState.EXPIRING)
        if not revocable[code.lock.account.provider]:
            believed = believed or code.state == CodeState.SUPERSEDED
        if believed and code.vendor_code_id not in on_lock[code.lock_id]:
            findings.add("disagree", code.lock.account.provider)
            kind = f"database says {code.state} on the lock, the lock does not hold it"
            findings.disagree_kinds[kind] += 1
            findings.example("disagree", f"code {code.pk} ({code.lock.account.provider}): {kind}")

    for booking_id, entries in per_booking_on_lock.items():
        if len(entries) > 1:
            findings.add("duplicates", entries[0]["vendor"])
            findings.example("duplicates", f"booking {booking_id}: {len(entries)} codes " + ", ".join(e["id"] for e in entries))

    # Live bookings: exactly one current code, active, with the exact window on its lock.
    current = defaultdict(list)
    for code in codes:
        if code.is_current:
            current[code.booking_id].append(code)
    assignment_of = {assignment.property_id: assignment for assignment in assignments}
    for booking in Booking.objects.filter(status=BookingStatus.CONFIRMED).select_related("property"):
        assignment = assignment_of.get(booking.property_id)
        if assignment is None:
            continue
        wanted = code_plan(booking, assignment)
        if not (wanted.generate_at <= now < wanted.ends_at):
            continue
        vendor = assignment.lock.account.provider
        findings.live += 1
        findings.live_by_vendor[vendor] += 1
        problem = live_problem(current[booking.pk], wanted, on_lock.get(assignment.lock_id, {}), revocable[vendor])
        if problem is None:
            findings.live_ok += 1
            findings.live_ok_by_vendor[vendor] += 1
        else:
            findings.live_problems[f"{problem} ({vendor})"] += 1
            findings.example("live", f"booking {booking.pk} ({vendor}): {problem}")
    return findings


def explained_by_live_code(matched) -> bool:
    from bookings.models import BookingStatus
    from locks.models import LIVE_CODE_STATES, CodeState

    live = [*LIVE_CODE_STATES, CodeState.UPDATING]
    return matched is not None and matched.state in live and matched.booking.status == BookingStatus.CONFIRMED


def classify_unrevocable(findings: Findings, entry: dict, matched, named, ended: bool, label: str) -> bool:
    """igloohome's algoPINs stay on the lock: each must be explained by the database.
    True when the code is counted apart (explained), False for a current or unexplained one."""
    from locks.models import CodeState

    if matched is not None:
        window_ok = (matched.lock_starts_at, matched.lock_ends_at) == (entry["starts"], entry["ends"]) and matched.pin == entry["pin"]
        if not window_ok:
            findings.add("disagree", "igloohome")
            findings.disagree_kinds["igloohome: PIN or window differs from the recorded one"] += 1
            findings.example("disagree", f"{label}: PIN or window differs")
        if matched.is_current and matched.state == CodeState.ACTIVE:
            if matched.booking.status != "confirmed":
                findings.add("igloo_unexplained", "igloohome")
                findings.igloo_unexplained_kinds["current code of a cancelled booking"] += 1
            return False  # the booking's own code (in its stay, or its rounded tail)
        if matched.state == CodeState.SUPERSEDED and matched.warning:
            reason = "cancelled" if matched.booking.status == "cancelled" else "dates changed"
            findings.igloo_apart[f"superseded after the booking was {reason} (recorded, with a warning)"] += 1
            return True
        if matched.state == CodeState.EXPIRED and ended:
            findings.igloo_apart["past their end (no longer open; recorded as expired)"] += 1
            return True
        kind = f"database says {matched.state}{' with a warning' if matched.warning else ''}, lock window {'over' if ended else 'open'}"
    elif named is not None and named.state == CodeState.SUPERSEDED and named.warning:
        findings.igloo_apart["from a create whose answer was lost, its code then superseded (recorded, with a warning)"] += 1
        return True
    elif named is not None and LOST_CREATE_WARNING in (named.warning or ""):
        findings.igloo_apart["from creates whose answer was lost (recorded on the code, with a warning)"] += 1
        return True
    elif named is not None and named.state == CodeState.FAILED and named.warning:
        findings.igloo_apart["from a create whose answer was lost, its code failed (recorded, with a warning)"] += 1
        return True
    else:
        kind = f"unknown to the database (named code: {named.state + (' with a warning' if named.warning else '') if named else 'none'})"
    findings.add("igloo_unexplained", "igloohome")
    findings.igloo_unexplained_kinds[kind] += 1
    findings.example("igloohome", f"{label}: {kind}")
    return False


def live_problem(current: list, wanted, lock_codes: dict, exact: bool) -> str | None:
    from locks.models import CodeState

    if not current:
        return "no current code"
    if len(current) > 1:
        return "more than one current code"
    code = current[0]
    if code.state != CodeState.ACTIVE:
        return f"current code {code.state}" + (f" ({code.last_error_kind})" if code.last_error_kind else "")
    if (code.starts_at, code.ends_at) != (wanted.starts_at, wanted.ends_at):
        return "the code's window is not the booking's"
    entry = lock_codes.get(code.vendor_code_id)
    if entry is None:
        return "not on its lock"
    if entry["pin"] != code.pin:
        return "another PIN on the lock"
    on_lock = (entry["starts"], entry["ends"])
    if exact and on_lock != (code.starts_at, code.ends_at):
        return "another window on the lock"
    if not exact:  # igloohome: the rounded window it enforces, as recorded, covering the stay's end
        if on_lock != (code.lock_starts_at, code.lock_ends_at):
            return "another window on the lock than recorded"
        if not (code.lock_ends_at >= code.ends_at and code.lock_ends_at - code.ends_at < timedelta(hours=1)):
            return "the lock's window does not cover the stay's end"
        if code.lock_starts_at > max(code.starts_at, code.activated_at or code.starts_at):
            return "the lock's window starts after the stay"
    return None


# --- the report ---------------------------------------------------------------------------------------

def report(config: Config, plan: Plan, findings: Findings, now: datetime, timings: dict, kill: dict) -> None:
    from django.db.models import Count

    from locks.models import AccessCode, CodeState, VendorCall

    print()
    print("== chaos benchmark figures ==")
    vendors = Counter(booking.vendor for booking in plan.bookings)
    per_vendor = ", ".join(f"{v} {n}" for v, n in vendors.items())
    print(f"bookings: {len(plan.bookings)} ({per_vendor}) on {len(plan.properties)} properties, one lock each")
    print(
        f"  cancelled mid-run {len(plan.cancelled)}, dates changed mid-run {len(plan.changed)},"
        f" windows ending during the run {len(plan.short)}"
    )
    by_vendor = ", ".join(f"{v} {findings.live_ok_by_vendor[v]}/{findings.live_by_vendor[v]}" for v in config.vendors)
    print(
        f"live bookings: {findings.live}; with exactly one current code and the exact window on their lock:"
        f" {findings.live_ok} ({by_vendor})"
    )
    print(f"  live bookings without that (defects): {findings.live - findings.live_ok}")
    for problem, count in findings.live_problems.most_common():
        print(f"    {count} {problem}")
    print(f"duplicates (more than one code for a booking on a lock): {findings.duplicates}{findings.split('duplicates')}")
    print(f"codes left for cancelled bookings: {findings.left_cancelled}{findings.split('left_cancelled')}")
    print(f"codes left after expiry: {findings.left_expired}{findings.split('left_expired')}")
    print(f"codes the database and the lock disagree on: {findings.disagree}{findings.split('disagree')}")
    for kind, count in findings.disagree_kinds.most_common():
        print(f"    {count} {kind}")
    if "igloohome" in config.vendors:
        apart = sum(findings.igloo_apart.values())
        print(f"igloohome codes that cannot be revoked (counted apart): {apart}")
        for kind, count in findings.igloo_apart.most_common():
            print(f"    {count} {kind}")
        print(f"  igloohome codes on locks the database does not explain (defects): {findings.igloo_unexplained}")
        for kind, count in findings.igloo_unexplained_kinds.most_common():
            print(f"    {count} {kind}")
    defects = (
        (findings.live - findings.live_ok) + findings.duplicates + findings.left_cancelled + findings.left_expired
        + findings.disagree + findings.igloo_unexplained
    )
    print(f"defect counts, summed: {defects} (target 0)")
    for kind, lines in findings.examples.items():
        for line in lines:
            print(f"  e.g. [{kind}] {line}")

    short_codes = AccessCode.objects.filter(booking_id__in=plan.short)
    short_states = Counter(short_codes.values_list("state", flat=True))
    print(f"windows ending during the run: {len(plan.short)} bookings; their codes: "
          + ", ".join(f"{state} {n}" for state, n in short_states.most_common()))
    failed = Counter(
        (code.booking_id in plan.short, code.last_error_kind or "?")
        for code in AccessCode.objects.filter(state=CodeState.FAILED)
    )
    if failed:
        print("failed codes: " + ", ".join(
            f"{n} {kind}{' (short window: arrival day over, so no retries by the spec)' if short else ''}"
            for (short, kind), n in failed.most_common()))
    states = AccessCode.objects.values_list("state").annotate(n=Count("id")).order_by("state")
    print("codes by state: " + ", ".join(f"{state} {n}" for state, n in states))
    calls = VendorCall.objects.values_list("provider", "outcome").annotate(n=Count("id")).order_by("provider", "outcome")
    per_vendor = defaultdict(list)
    for provider, outcome, n in calls:
        per_vendor[provider].append(f"{outcome} {n}")
    total = VendorCall.objects.count()
    print(f"vendor calls: {total}; " + "; ".join(f"{p}: {', '.join(parts)}" for p, parts in per_vendor.items()))
    operations = VendorCall.objects.values_list("operation").annotate(n=Count("id")).order_by("-n")
    print("  by operation: " + ", ".join(f"{op} {n}" for op, n in operations))
    print(f"worker killed (SIGKILL) at t={kill.get('at', 0):.0f} s with {kill.get('claimed', 0)} codes claimed by the workers; "
          f"a new worker started {RESTART_AFTER} s later")
    ran_out = kill.get("ran_out", [])
    states = Counter(AccessCode.objects.filter(id__in=ran_out).values_list("state", flat=True))
    print(f"  {len(ran_out)} of those claims ran out unreleased (the dead worker's, or batches still queued) and were "
          f"taken again by the pass" + ("; those codes now: " if ran_out else "")
          + ", ".join(f"{state} {n}" for state, n in states.most_common()))
    print(f"time: setup {timings['setup']:.0f} s, bookings made in {timings['booking']:.0f} s, "
          f"{'settled' if timings['settled'] else 'NOT settled (time limit)'} {timings['run']:.0f} s after the first booking; "
          f"total {timings['total']:.0f} s")


def report_drift(config: Config, drift: Drift, findings: Findings, touched: list[str]) -> None:
    from django.db.models import Count

    from locks.models import LockFinding, UnmanagedCode

    vendors = drift_vendors(config.vendors)
    print(f"drift injections (on {', '.join(vendors) or 'no vendor'}, the vendors that list a lock's codes): "
          f"{drift.total} on {len(drift.locks)} locks" + (f" at t={drift.at:.0f} s" if drift.at is not None else " (never)"))
    for (vendor, action), n in sorted(drift.injected.items()):
        print(f"    {vendor} {action} {n}")
    for refusal in drift.refused:
        print(f"    refused: {refusal}")
    kinds = LockFinding.objects.values_list("kind").annotate(n=Count("id")).order_by("kind")
    print("findings recorded (LockFinding by kind): " + (", ".join(f"{kind} {n}" for kind, n in kinds) or "none"))
    print(f"unmanaged codes recorded by the product: {UnmanagedCode.objects.count()}")
    missing = sum(n for problem, n in findings.live_problems.items() if problem.startswith(("not on its lock", "another")))
    print(f"missing codes at check-in (live bookings whose code is not on the lock as it should be): "
          f"{findings.live - findings.live_ok} ({missing} of them not on the lock or another PIN/window there)")
    print(f"orphans left (codes named as ours that no live code explains): {findings.orphans}{findings.split('orphans')}")
    print(f"unmanaged codes touched: {len(touched)} of {len(drift.unmanaged)} injected")
    for line in touched:
        print(f"    {line}")
    if drift.unrepaired:
        print(f"  live bookings on drifted locks not repaired at the last look: {drift.unrepaired}")


def report_new_faults(config: Config, tally: dict, tokens: TokenExpiries, requests_per_expiry: dict) -> None:
    """Slow writes, asynchronous applies and token expiry (issue 21), as the sandbox counted them."""
    from django.db.models import Count

    from locks.models import CallOutcome, VendorCall

    waits = tally.get("slow_writes", {})
    late = {vendor: sum(1 for wait in values if wait > config.timeout) for vendor, values in waits.items()}
    total = sum(len(values) for values in waits.values())
    print(f"slow writes: {total}, of which {sum(late.values())} waited past the client's timeout ({config.timeout:g} s): "
          + (", ".join(f"{vendor} {len(values)} ({late[vendor]} past)" for vendor, values in sorted(waits.items())) or "none"))
    unknown = VendorCall.objects.filter(outcome=CallOutcome.UNKNOWN).values_list("provider").annotate(n=Count("id")).order_by("provider")
    print("  vendor calls with an unknown outcome (lost answers and slow writes past the timeout): "
          + (", ".join(f"{provider} {n}" for provider, n in unknown) or "none"))
    applies = tally.get("async_applies", {})
    split = "; ".join(
        f"{vendor} " + ", ".join(f"{write} {n}" for write, n in sorted(writes.items())) for vendor, writes in sorted(applies.items())
    )
    print(f"asynchronous applies (writes on the lock and in its listing {config.apply_delay:g} s after they were accepted): "
          f"{sum(sum(writes.values()) for writes in applies.values())}" + (f" ({split})" if applies else ""))
    if config.token_expiry_every <= 0:
        print("token expiry: off")
        return
    expired = Counter()
    for _, per_vendor in tokens.events:
        expired.update({vendor: n for vendor, (n, _) in per_vendor.items()})
    print(f"token expiries: {len(tokens.events)} (every {config.token_expiry_every:g} s), access tokens expired at the vendor: "
          + (", ".join(f"{vendor} {n}" for vendor, n in sorted(expired.items()) if n) or "none"))
    print("  token requests per account after each expiry (target 1; 0: the account was not called again before the next "
          "expiry or the end):")
    for (vendor, login), counts in sorted(requests_per_expiry.items()):
        if counts:
            spread = Counter(counts)
            print(f"    {vendor} {login}: " + " ".join(str(n) for n in counts)
                  + f"  (max {max(counts)}; " + ", ".join(f"{n}: {times}x" for n, times in sorted(spread.items())) + ")")
    untouched = [vendor for vendor in config.vendors if not expired.get(vendor)]
    if untouched:
        print(f"  no access token to expire on: {', '.join(untouched)} (an API key, or a token that never expires)")


class Timeline:
    """The mid-run events: a worker SIGKILLed halfway through the bookings and another started
    RESTART_AFTER s later; cancellations and date changes in waves after the bookings are made, then
    drift on the locks."""

    def __init__(
        self, config: Config, processes: Processes, plan: Plan, workers: list[str], rng: random.Random, now: datetime,
        sandbox_url: str,
    ):
        self.config, self.processes, self.plan, self.workers, self.rng = config, processes, plan, workers, rng
        self.sandbox_url = sandbox_url
        self.drift = Drift()
        self.tokens = TokenExpiries(every=config.token_expiry_every)
        self.started = time.monotonic()
        self.kill_after = len(plan.rows) // 2
        self.kill: dict = {}
        self.restarted = False
        self.next_worker = config.workers + 1
        self.booking_seconds: float | None = None
        self.waves_done = 0
        latest = {prop.pk: (now + timedelta(minutes=30)).astimezone(ZoneInfo(prop.time_zone)).date() + timedelta(days=LEAD_DAYS - 2)
                  for _, prop in plan.properties}
        self.latest_arrival = lambda booking: latest[booking.property_id]

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def bookings_made(self) -> None:
        self.booking_seconds = self.elapsed()

    @property
    def done(self) -> bool:
        return self.restarted and self.waves_done == len(WAVES) and "ran_out" in self.kill and self.drift.at is not None

    def drift_repaired(self, now: datetime) -> bool:
        """Every live booking on a drifted lock as it should be (looked at every DRIFT_CHECK_EVERY s)."""
        if self.elapsed() - self.drift.checked_at >= DRIFT_CHECK_EVERY:
            self.drift.unrepaired = unrepaired_on(self.drift.locks, self.sandbox_url, now)
            self.drift.checked_at = self.elapsed()
        return self.drift.unrepaired == 0

    def say(self, text: str) -> None:
        print(f"  t={self.elapsed():5.0f} s  {text}")

    def tick(self, created: int | None = None) -> None:
        from django.utils import timezone

        from locks.models import AccessCode

        if self.tokens.every > 0 and self.tokens.next_at is None:
            self.tokens.next_at = self.elapsed() + self.tokens.every
        if self.tokens.due(self.elapsed()):
            expired = expire_tokens(self.sandbox_url, self.config.vendors)
            self.tokens.events.append((self.elapsed(), expired))
            self.tokens.next_at += self.tokens.every
            self.say("access tokens expired at the vendor: " + ", ".join(f"{v} {n}" for v, (n, _) in expired.items() if n))
        if not self.kill and created is not None and created >= self.kill_after:
            claims = dict(AccessCode.objects.filter(claimed_until__gt=timezone.now()).values_list("id", "claim_token"))
            claimed = len(claims)
            victim = self.workers[0]
            pid = self.processes.kill(victim)
            self.kill = {"at": self.elapsed(), "pid": pid, "claimed": claimed, "claims": claims}
            self.say(f"SIGKILL {victim} (pid {pid}) after {created} bookings, {claimed} codes claimed by the workers")
        if self.kill and "ran_out" not in self.kill and self.elapsed() >= self.kill["at"] + self.config.lease + 1:
            # Claims of the kill moment never released before their lease ran out: the dead worker's
            # (or batches still queued when the lease ended); the pass takes them again.
            claims = self.kill["claims"]
            now = timezone.now()
            still = AccessCode.objects.filter(id__in=list(claims), claimed_until__lte=now).values_list("id", "claim_token")
            self.kill["ran_out"] = [code_id for code_id, token in still if token == claims[code_id]]
        if self.kill and not self.restarted and self.elapsed() >= self.kill["at"] + RESTART_AFTER:
            name = start_worker(self.processes, self.config, self.next_worker)
            self.workers = self.workers[1:] + [name]
            self.next_worker += 1
            self.restarted = True
            self.say(f"started {name}")
        while (
            self.booking_seconds is not None and self.waves_done < len(WAVES)
            and self.elapsed() >= self.booking_seconds + WAVES[self.waves_done]
        ):
            wave = self.waves_done
            self.waves_done += 1
            for booking in self.plan.to_cancel[wave]:
                cancel(booking)
                self.plan.cancelled.add(booking.pk)
            for booking in self.plan.to_change[wave]:
                change_dates(booking, self.rng, self.latest_arrival)
                self.plan.changed.add(booking.pk)
            self.say(f"cancelled {len(self.plan.to_cancel[wave])} bookings, changed the dates of {len(self.plan.to_change[wave])}")
        if (
            self.drift.at is None and self.waves_done == len(WAVES)
            and self.elapsed() >= self.booking_seconds + DRIFT_AFTER
        ):
            self.drift = inject_drift(self.config, self.plan, self.sandbox_url, self.rng)
            self.drift.at = self.elapsed()
            kinds = Counter()
            for (_, action), n in self.drift.injected.items():
                kinds[action] += n
            self.say(f"drift on {len(self.drift.locks)} locks: " + ", ".join(f"{action} {n}" for action, n in kinds.items())
                     + (f"; {len(self.drift.refused)} refused" if self.drift.refused else ""))


# --- main ---------------------------------------------------------------------------------------------

def main() -> int:
    started = time.monotonic()
    config = Config(vendors=default_vendors())
    unknown = set(config.vendors) - set(ALL_VENDORS)
    if unknown or not config.vendors:
        print(f"cannot run: unknown vendors {sorted(unknown)}" if unknown else "cannot run: no vendor", file=sys.stderr)
        return 2
    work_dir = Path(tempfile.mkdtemp(prefix="nowistay-chaos-"))
    sandbox_db = work_dir / "sandbox.sqlite3"
    port = free_port()
    sandbox_url = f"http://127.0.0.1:{port}"
    configure_environment(config, sandbox_url, sandbox_db)
    processes = Processes(work_dir)
    try:
        return run(config, processes, sandbox_url, sandbox_db, work_dir, started)
    finally:
        processes.stop_all()


def run(config: Config, processes: Processes, sandbox_url: str, sandbox_db: Path, work_dir: Path, started: float) -> int:
    import django

    django.setup()
    import redis
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    print(f"chaos benchmark: {config.bookings} bookings on {', '.join(config.vendors)}; "
          f"{config.failure_rate:.0%} transient failures, {config.loss_rate:.0%} lost answers")
    async_on = [vendor for vendor in config.vendors if vendor in ASYNC_VENDORS]
    print(f"  {config.slow_rate:.0%} slow writes (waits up to {config.slow_seconds:g} s before acting); "
          f"asynchronous applies on {', '.join(async_on) or 'no vendor'} ({config.apply_delay:g} s); "
          + (f"access tokens expired at the vendor every {config.token_expiry_every:g} s"
             + (" (Nuki signed in through OAuth)" if "nuki" in config.vendors and config.nuki_oauth else "")
             if config.token_expiry_every > 0 else "no token expiry"))
    print(f"time compressed: retry {config.retry} s, lease {config.lease} s, sweep {config.sweep} s, "
          f"vendor timeout {config.timeout:g} s (a lost answer is held {config.hang:g} s), "
          f"{config.read_backs} read-backs per lock per day (a lock read every {86400 / max(1, config.read_backs // 2):g} s); "
          f"{config.workers} workers x {config.threads} threads")
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; broker: {os.environ['REDIS_URL']}; "
          f"sandbox: {sandbox_url}; logs: {work_dir}")
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()

    sandbox = processes.start("sandbox", [
        sys.executable, "-m", "sandbox", "--port", sandbox_url.rsplit(":", 1)[1], "--seed",
        "--extra-locks", str(config.locks_per_vendor),
    ])
    wait_for_http(sandbox_url + "/", sandbox)
    host = get_user_model().objects.create_user(
        username="chaos-host", email="chaos-host@nowistay.example", password="chaos-host-password"
    )
    for vendor in config.vendors:
        account = connect(host, vendor, nuki_oauth=config.nuki_oauth and config.token_expiry_every > 0)
        if account.last_error:
            raise RuntimeError(f"{vendor}: {account.last_error}")
    properties = setup_properties(config, host, sandbox_url)
    set_sandbox_faults(sandbox_db, config, retry_after=max(1, config.retry - 1))
    workers = [start_worker(processes, config, number) for number in range(1, config.workers + 1)]
    processes.start("beat", celery("beat", "-s", str(work_dir / "beat-schedule"), "--loglevel", "WARNING"))
    wait_for_workers(workers)
    setup_seconds = time.monotonic() - started
    print(f"setup: {len(config.vendors)} accounts connected through the connect services, {len(properties)} properties "
          f"with one lock each, {len(workers)} workers and beat up ({setup_seconds:.0f} s)")

    rng = random.Random(config.seed)
    now = timezone.now()
    plan = plan_bookings(config, properties, now)
    timeline = Timeline(config, processes, plan, workers, rng, now, sandbox_url)
    create_bookings(plan, rng, timeline.tick)
    timeline.bookings_made()
    print(f"  t={timeline.elapsed():5.0f} s  {len(plan.bookings)} bookings created through booking_created "
          f"({len(plan.short)} with windows ending during the run)")
    # The last short window's end: its check-out is rounded up to the minute.
    short_end = now + timedelta(seconds=SHORT_END_SECONDS[1] + 60 + 5)
    last_progress, stable, is_settled = 0.0, 0, False
    while True:
        timeline.tick()
        elapsed = timeline.elapsed()
        now = timezone.now()
        snap = snapshot(now)
        if elapsed - last_progress >= PROGRESS_EVERY:
            print(progress_line(elapsed, snap))
            last_progress = elapsed
        if timeline.done and now > short_end and settled(snap) and timeline.drift_repaired(now):
            stable += 1
            if stable >= 3:
                is_settled = True
                break
        else:
            stable = 0
        if elapsed > config.time_limit:
            print(f"  t={elapsed:5.0f} s  time limit reached")
            break
        connection.close()
        time.sleep(1)
    run_started, booking_seconds, kill = timeline.started, timeline.booking_seconds, timeline.kill
    next_worker = timeline.next_worker
    run_seconds = time.monotonic() - run_started
    print(progress_line(run_seconds, snapshot(timezone.now())))
    for name in list(processes.running):
        if name != "sandbox":
            processes.stop(name)
    # Writes accepted before the workers stopped reach the lock apply_delay later: look after that.
    time.sleep(config.apply_delay + 1 if async_on else 0)
    check_at = timezone.now()
    drift = timeline.drift
    findings = check(plan, sandbox_url, check_at, set(drift.unmanaged))
    worker_errors = sum(
        (work_dir / f"{name}.log").read_text(errors="replace").count("Traceback")
        for name in (f"worker{n}" for n in range(1, next_worker)) if (work_dir / f"{name}.log").exists()
    )
    report(config, plan, findings, check_at,
           {"setup": setup_seconds, "booking": booking_seconds, "run": run_seconds, "settled": is_settled,
            "total": time.monotonic() - started}, kill)
    report_drift(config, drift, findings, unmanaged_touched(drift, sandbox_url))
    report_new_faults(config, fault_tally(sandbox_url), timeline.tokens, token_requests_per_expiry(sandbox_db, timeline.tokens))
    print(f"tracebacks in the worker logs: {worker_errors} (logs in {work_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
