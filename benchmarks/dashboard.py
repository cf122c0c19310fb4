"""Dashboard benchmark: SQL queries and render time of the host's dashboard pages as the host grows.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/nowistay_bench_dashboard \
    .venv/bin/python benchmarks/dashboard.py

For each size (BENCH_SIZES, default "50,500" eligible properties, all of one host) it seeds four
connected lock accounts (TTLock, Tedee, Nuki, igloohome) with locks (a few unavailable or offline),
assigns a lock to four properties in five, and gives each property a staying guest, an upcoming
booking and a past stay, with codes in every state the pages describe. Then it renders, through
the Django test client, the integrations page, each provider panel, each disconnect confirmation,
the properties page and the bookings-and-codes page, and prints per page and size the SQL query
count, the median render time over BENCH_RUNS runs (default 5, after one warm-up) and the size of
the HTML, with the machine's 1-minute load average read before and after each size's renders
(other processes on a shared machine slow every time). Last, each provider panel's HTML size at
each size against the panel's budget (PANEL_BUDGET_KIB: 200 KiB at 500 properties).
The pages read the database only: no vendor is called (any vendor request fails the run).
It prints figures; it asserts nothing beyond that. The database named by BENCH_DATABASE_URL is
created if missing and emptied first (before each size).
"""

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import create_postgres_database, sample_codes  # noqa: E402

SIZES = [int(size) for size in os.environ.get("BENCH_SIZES", "50,500").split(",")]
RUNS = int(os.environ.get("BENCH_RUNS", 5))
PROVIDERS = ["ttlock", "tedee", "nuki", "igloohome"]
PANEL_BUDGET_KIB = 200  # "Panels stay light": a provider panel at 500 properties


def configure_environment() -> None:
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nowistay_bench_dashboard")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nowistay.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if url.startswith("postgres"):
        create_postgres_database(url)


class QueryCounter:
    """Counts the SQL statements of this thread's connection (Django's execute_wrapper hook)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def refuse_vendor_calls() -> None:
    """Every vendor adapter goes through requests: make any request an error."""
    import requests

    def refuse(*args, **kwargs):
        raise RuntimeError("a dashboard page called a vendor")

    requests.Session.request = refuse


# --- seeding --------------------------------------------------------------------------------------

def seed(size: int):
    """One host with `size` eligible properties (and 2 ineligible ones), four accounts, locks,
    assignments, bookings and codes. Returns the host."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from bookings.models import Booking, BookingStatus, PmsSource, Property
    from locks.models import AccessCode, Lock, LockAssignment, ProviderAccount

    now, today = timezone.now(), timezone.localdate()
    host = get_user_model().objects.create_user(username=f"bench-host-{size}")
    props = Property.objects.bulk_create(
        [
            Property(host=host, name=f"Property {i:04d}", time_zone="Europe/Paris", pms_source=PmsSource.NOWISTAY, ai_assistant_active=True)
            for i in range(size)
        ]
        + [
            Property(host=host, name="OTA property", time_zone="Europe/Paris", pms_source=PmsSource.DIRECT_OTA, ai_assistant_active=True),
            Property(host=host, name="Unsubscribed property", time_zone="Europe/Paris", ai_assistant_active=False),
        ]
    )
    accounts = {
        provider: ProviderAccount.objects.create(
            host=host, provider=provider, display_name=f"{provider} account", credentials={"access_token": "bench-token"}
        )
        for provider in PROVIDERS
    }
    per_account = size // 4 + 5
    rows = []
    for provider, account in accounts.items():
        for j in range(per_account):
            rows.append(Lock(account=account, vendor_lock_id=f"{provider}-{j}", name=f"{provider} door {j:04d}",
                             supports_remote_codes=True, is_online=(j % 7 != 3), vendor_utc_offset_minutes=60))
        for j in range(2):
            rows.append(Lock(account=account, vendor_lock_id=f"{provider}-x{j}", name=f"{provider} garage {j}",
                             supports_remote_codes=False, unavailable_reason="No keypad is paired."))
    locks = {provider: [] for provider in PROVIDERS}
    for lock in Lock.objects.bulk_create(rows):
        if lock.supports_remote_codes:
            locks[lock.account.provider].append(lock)
    assigned = {}
    assignments = []
    for i, prop in enumerate(props[:size]):
        if i % 5 == 4:
            continue
        lock = locks[PROVIDERS[i % 4]][i // 4]
        assignments.append(LockAssignment(property=prop, lock=lock))
        assigned[prop.pk] = lock
    LockAssignment.objects.bulk_create(assignments)

    bookings = []
    for i, prop in enumerate(props):
        bookings += [
            Booking(property=prop, guest_name=f"Staying guest {i}", arrival_date=today - timedelta(days=1),
                    departure_date=today + timedelta(days=2), status=BookingStatus.CONFIRMED),
            Booking(property=prop, guest_name=f"Upcoming guest {i}", arrival_date=today + timedelta(days=3 + i % 10),
                    departure_date=today + timedelta(days=6 + i % 10), status=BookingStatus.CONFIRMED),
            Booking(property=prop, guest_name=f"Past guest {i}", arrival_date=today - timedelta(days=20),
                    departure_date=today - timedelta(days=15), status=BookingStatus.CONFIRMED),
        ]
    bookings = Booking.objects.bulk_create(bookings, batch_size=2000)
    codes = sample_codes(bookings, assigned, now=now, today=today)
    AccessCode.objects.bulk_create(codes, batch_size=2000)
    print(
        f"seeded {size} eligible properties (+2 ineligible), {len(rows)} locks, {len(assignments)} assignments, "
        f"{len(bookings)} bookings, {len(codes)} codes"
    )
    return host


# --- measuring ---------------------------------------------------------------------------------------

def pages() -> list[tuple[str, str]]:
    from django.urls import reverse

    listed = [("integrations", reverse("integrations:index"))]
    listed += [(f"panel {provider}", reverse("integrations:panel", args=[provider])) for provider in PROVIDERS]
    listed += [(f"disconnect {provider}", reverse("integrations:disconnect", args=[provider])) for provider in PROVIDERS]
    listed += [("properties", reverse("bookings:properties")), ("bookings and codes", reverse("bookings:codes"))]
    return listed


def measure(client, url: str) -> tuple[int, float, int]:
    """(queries of one render, median seconds over RUNS renders, response size in bytes)."""
    from django.db import connection

    response = client.get(url)  # warm-up: templates compiled, connection open
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        client.get(url)
    durations = []
    for _ in range(RUNS):
        started = time.perf_counter()
        client.get(url)
        durations.append(time.perf_counter() - started)
    return counter.count, statistics.median(durations), len(response.content)


def main() -> None:
    configure_environment()
    import warnings

    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise without collectstatic
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    refuse_vendor_calls()
    print(f"database: {connection.vendor}; {RUNS} timed renders per page after one warm-up; times are medians")
    print(f"load = 1-minute load average before → after each size's renders ({os.cpu_count()} CPUs)")
    call_command("migrate", verbosity=0)
    results: dict[str, dict[int, tuple[int, float, int]]] = {}
    loads: dict[int, tuple[float, float]] = {}
    for size in SIZES:
        call_command("flush", interactive=False, verbosity=0)
        started = time.perf_counter()
        host = seed(size)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(f"  (seeding took {time.perf_counter() - started:.1f} s)")
        client = Client()
        client.force_login(host)
        load_before = os.getloadavg()[0]
        for label, url in pages():
            results.setdefault(label, {})[size] = measure(client, url)
        loads[size] = (load_before, os.getloadavg()[0])
    header = f"{'page':<22}" + "".join(f"{f'{size} properties':>34}" for size in SIZES)
    print()
    print(header)
    print(f"{'':<22}" + "".join(f"{'queries':>10}{'median ms':>12}{'KiB':>12}" for _ in SIZES))
    for label, by_size in results.items():
        line = f"{label:<22}"
        for size in SIZES:
            queries, seconds, size_bytes = by_size[size]
            line += f"{queries:>10}{seconds * 1000:>12.1f}{size_bytes / 1024:>12.0f}"
        print(line)
    print(f"{'load':<22}" + "".join(f"{f'{loads[size][0]:.2f} → {loads[size][1]:.2f}':>34}" for size in SIZES))
    constant = all(len({by_size[size][0] for size in SIZES}) == 1 for by_size in results.values())
    print(f"\nquery counts identical across sizes: {'yes' if constant else 'NO'}")
    print(f"provider panel HTML (budget {PANEL_BUDGET_KIB} KiB at 500 properties):")
    for provider in PROVIDERS:
        sizes = ", ".join(f"{results[f'panel {provider}'][size][2] / 1024:.1f} KiB at {size}" for size in SIZES)
        print(f"  {provider:<10} {sizes}")


if __name__ == "__main__":
    main()
