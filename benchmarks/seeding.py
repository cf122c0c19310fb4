"""Fast seeding for the scale benchmarks (lifecycle, burst): hosts, accounts, locks, properties and
assignments, then bookings with their codes in bulk.

Bookings and codes are written with COPY through psycopg (`Copy`), PostgreSQL only.

A property's year (`history_bookings`): back-to-back stays of 1-5 nights, about 70 % of them over
(codes expired, a few removed early or failed), the current stay's code active, the stays whose
generation moment has passed with an active code, later ones scheduled; a share of the confirmed
bookings inside the scheduler's horizon has no code at all (a missed event), a share is cancelled
(its code revoked, when it had one). The windows come from `locks.services.planning.code_plan`,
cached per (arrival, departure, time zone).
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace

ZONES = ["Europe/Paris", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "Europe/London", "Asia/Tokyo"]
PROPERTIES_PER_HOST = 10
MARGIN_MINUTES = 30
CHUNK_PROPERTIES = 100
# The scheduler's own horizon for bookings a missed event left without a code
# (locks.services.missing_codes: arrival from 2 days ago to 15 days ahead, departure from yesterday).
HORIZON_BACK_DAYS, HORIZON_AHEAD_DAYS = 2, 15
PAST_SHARE = 0.7  # of a property's stays, over before today


@dataclass
class Fixtures:
    props: list
    locks: list
    assignments: list


@dataclass
class Seeded:
    bookings: int = 0
    codes: Counter = field(default_factory=Counter)  # by state
    missing: int = 0  # confirmed bookings inside the horizon left without a code
    in_horizon: int = 0
    cancelled: int = 0
    due_left: int = 0  # generated codes left scheduled and due (their generation moment just passed)


def seed_fixtures(properties: int, *, lead_days: int, provider: str = "ttlock") -> Fixtures:
    """Hosts (10 properties each), one account per host, one lock per property, assigned."""
    from django.contrib.auth import get_user_model

    from bookings.models import PmsSource, Property
    from locks.models import Lock, LockAssignment, ProviderAccount

    users = get_user_model()
    hosts = users.objects.bulk_create(
        [users(username=f"bench-host-{i}") for i in range((properties + PROPERTIES_PER_HOST - 1) // PROPERTIES_PER_HOST)],
        batch_size=5000,
    )
    accounts = ProviderAccount.objects.bulk_create(
        [ProviderAccount(host=host, provider=provider, display_name=host.username) for host in hosts], batch_size=5000
    )
    props = Property.objects.bulk_create(
        [
            Property(host=hosts[i // PROPERTIES_PER_HOST], name=f"Property {i}", time_zone=ZONES[i % len(ZONES)],
                     pms_source=PmsSource.NOWISTAY, ai_assistant_active=True)
            for i in range(properties)
        ],
        batch_size=5000,
    )
    locks = Lock.objects.bulk_create(
        [
            Lock(account=accounts[i // PROPERTIES_PER_HOST], vendor_lock_id=lock_id(i), name=f"Lock {i}", supports_remote_codes=True)
            for i in range(properties)
        ],
        batch_size=5000,
    )
    assignments = LockAssignment.objects.bulk_create(
        [LockAssignment(property=props[i], lock=locks[i], lead_days=lead_days, margin_minutes=MARGIN_MINUTES) for i in range(properties)],
        batch_size=5000,
    )
    return Fixtures(props, locks, assignments)


def lock_id(index: int) -> str:
    return f"BL{index}"


@lru_cache(maxsize=200_000)
def plan_of(arrival: date, departure: date, zone: str, lead_days: int):
    from locks.services.planning import code_plan

    prop = SimpleNamespace(time_zone=zone, default_check_in_time=None, default_check_out_time=None)
    booking = SimpleNamespace(property=prop, arrival_date=arrival, departure_date=departure, check_in_time=None, check_out_time=None)
    return code_plan(booking, SimpleNamespace(lead_days=lead_days, margin_minutes=MARGIN_MINUTES))


def stays_for(rng: random.Random, start: date, count: int) -> list[tuple[date, date]]:
    """`count` back-to-back stays of 1-5 nights with short gaps from `start`."""
    stays, arrival = [], start + timedelta(days=rng.randint(0, 2))
    for _ in range(count):
        departure = arrival + timedelta(days=rng.randint(1, 5))
        stays.append((arrival, departure))
        arrival = departure + timedelta(days=rng.choice([0, 0, 1]))
    return stays


def history_bookings(fixtures: Fixtures, *, per_property: int, lead_days: int, now: datetime, missing_share: float,
                     cancelled_share: float, due: int, settled_for: timedelta) -> Seeded:
    """A year of bookings per property with their codes as the lifecycle would have left them.

    `due`: that many codes whose generation moment has passed are left scheduled and due (as if
    it passed just now); other codes whose step came due more than `settled_for` ago have taken it.
    """
    from bookings.models import Booking, BookingStatus
    from locks.models import AccessCode

    seeded = Seeded(due_left=due)
    today = now.date()
    start = today - timedelta(days=int(PAST_SHARE * per_property * 3.3))
    bookings_copy, codes_copy = Copy(Booking, now), Copy(AccessCode, now)
    for first in range(0, len(fixtures.props), CHUNK_PROPERTIES):
        bookings, codes = [], []
        for index in range(first, min(first + CHUNK_PROPERTIES, len(fixtures.props))):
            rng, prop = random.Random(index), fixtures.props[index]
            for arrival, departure in stays_for(rng, start, per_property):
                cancelled = rng.random() < cancelled_share
                in_horizon = (today - timedelta(days=HORIZON_BACK_DAYS) <= arrival <= today + timedelta(days=HORIZON_AHEAD_DAYS)
                              and departure >= today - timedelta(days=1))
                seeded.in_horizon += in_horizon and not cancelled
                booking_id = bookings_copy.next_id()
                bookings.append({"id": booking_id, "property_id": prop.pk, "guest_name": f"Guest {index}", "guest_phone": "+33612345678",
                                 "arrival_date": arrival, "departure_date": departure,
                                 "status": (BookingStatus.CANCELLED if cancelled else BookingStatus.CONFIRMED).value})
                if not cancelled and in_horizon and rng.random() < missing_share:
                    seeded.missing += 1
                    continue
                code = _code_for(booking_id, index, fixtures.locks[index].pk, plan_of(arrival, departure, prop.time_zone, lead_days),
                                 cancelled, now, now - settled_for, seeded)
                if code is not None:
                    codes.append(code)
        bookings_copy.write(bookings)
        for code in codes:
            code["id"] = codes_copy.next_id()
        codes_copy.write(codes)
        seeded.bookings += len(bookings)
    bookings_copy.finish()
    codes_copy.finish()
    return seeded


def _code_for(booking_id: int, index: int, lock_id_: int, plan, cancelled: bool, now: datetime, settled: datetime,
              seeded: Seeded) -> dict | None:
    from locks.models import CodeState

    common = dict(booking_id=booking_id, lock_id=lock_id_, starts_at=plan.starts_at, ends_at=plan.ends_at, generate_at=plan.generate_at,
                  retry_deadline=plan.retry_deadline, alert_at=plan.alert_at)
    generated = plan.generate_at <= now
    if cancelled:
        seeded.cancelled += 1
        if not generated:
            return None
        state = CodeState.REVOKED  # it had a code, revoked when the booking was cancelled
        code = dict(is_current=False, vendor_code_id=f"v{booking_id}", finished_at=max(plan.generate_at, min(now, plan.starts_at)))
    elif plan.ends_at <= settled:  # over: removed from the lock (a few ended early or never made it)
        roll = booking_id % 20
        state = CodeState.REVOKED if roll == 0 else CodeState.FAILED if roll == 1 else CodeState.EXPIRED
        code = dict(vendor_code_id="" if state == CodeState.FAILED else f"v{booking_id}", lock_starts_at=plan.starts_at,
                    lock_ends_at=plan.ends_at, finished_at=plan.ends_at)
    elif generated and seeded.due_left > 0 and plan.starts_at > now:
        seeded.due_left -= 1
        state, code = CodeState.SCHEDULED, dict(next_attempt_at=plan.generate_at)
    elif generated:  # on the lock; due to be removed if its window ended since `settled`
        state = CodeState.ACTIVE
        code = dict(pin=encrypted_pin((index * 7919 + booking_id * 104_729) % 4096), vendor_code_id=f"v{booking_id}",
                    lock_starts_at=plan.starts_at, lock_ends_at=plan.ends_at, activated_at=plan.generate_at, next_attempt_at=plan.ends_at)
    else:
        state, code = CodeState.SCHEDULED, dict(next_attempt_at=plan.generate_at)
    seeded.codes[state.value] += 1
    return {**common, **code, "state": state.value}


@lru_cache(maxsize=4096)
def encrypted_pin(number: int) -> str:
    """A PIN as the encrypted field stores it (a pool of 4,096 ciphertexts is reused across locks)."""
    from django.db import connection

    from locks.models import AccessCode

    return AccessCode._meta.get_field("pin").get_db_prep_save(f"{number + 100_000}", connection)


class Copy:
    """COPY rows into a model's table through psycopg: each row a dict of column values (attnames);
    every other column gets the field's default (auto_now fields: `now`), so columns added later
    with a default need nothing here. Ids are taken from the table's sequence range, set at the end."""

    def __init__(self, model, now: datetime):
        from django.db import connection

        self.model, self.fields = model, list(model._meta.concrete_fields)
        self.defaults = {}
        for item in self.fields:
            value = now if getattr(item, "auto_now", False) or getattr(item, "auto_now_add", False) else item.get_default()
            self.defaults[item.attname] = None if item.primary_key else item.get_db_prep_save(value, connection)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")
            self._last_id = cursor.fetchone()[0]

    def next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def write(self, rows: list[dict]) -> None:
        from django.db import connection

        if not rows:
            return
        names = [item.attname for item in self.fields]
        columns = ", ".join(connection.ops.quote_name(item.column) for item in self.fields)
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {self.model._meta.db_table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = {**self.defaults, **row}
                copy.write_row([values[name] for name in names])

    def finish(self) -> None:
        from django.db import connection

        table = self.model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST(%s, 1))", [self._last_id])


def analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
