"""What the benchmark scripts share (each runs as `python benchmarks/<name>.py`)."""

from urllib.parse import urlparse


def create_postgres_database(url: str) -> None:
    """Create the benchmark's own database when it does not exist yet (benchmarks empty it)."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def sample_codes(bookings, lock_of_property: dict, *, now, today) -> list:
    """Unsaved AccessCode rows in every state a dashboard shows (active, scheduled, retrying,
    failed, superseded + replacement) for the confirmed, not-yet-over bookings that have a lock.
    Shared by benchmarks/dashboard.py and the dashboard's query-count tests."""
    from datetime import timedelta

    from bookings.models import BookingStatus
    from locks.models import AccessCode, CodeState

    codes = []
    for index, booking in enumerate(bookings):
        lock = lock_of_property.get(booking.property_id)
        if lock is None or booking.status != BookingStatus.CONFIRMED or booking.departure_date < today:
            continue
        starts = now + timedelta(days=(booking.arrival_date - today).days, hours=-3)
        ends = starts + timedelta(days=3)
        common = dict(booking=booking, lock=lock, starts_at=starts, ends_at=ends, generate_at=starts - timedelta(days=5),
                      retry_deadline=starts + timedelta(hours=10), alert_at=starts - timedelta(hours=6))
        if booking.arrival_date < today:
            codes.append(AccessCode(state=CodeState.ACTIVE, pin=f"{booking.pk % 1000000:06d}", vendor_code_id=f"v{booking.pk}",
                                    lock_starts_at=starts, lock_ends_at=ends, next_attempt_at=ends, **common))
            continue
        kind = (index // 3) % 4
        if kind == 0:
            codes.append(AccessCode(state=CodeState.SCHEDULED, next_attempt_at=starts - timedelta(days=1), **common))
        elif kind == 1:
            codes.append(AccessCode(state=CodeState.CREATING, attempts=2, last_error="The lock's gateway is offline.",
                                    last_error_kind="lock_offline", next_attempt_at=now + timedelta(minutes=40), **common))
        elif kind == 2:
            codes.append(AccessCode(state=CodeState.FAILED, attempts=5, last_error="The lock's code memory is full.",
                                    last_error_kind="storage_full", next_attempt_at=None, **common))
        else:
            codes.append(AccessCode(state=CodeState.SUPERSEDED, is_current=False, pin="482915", vendor_code_id=f"old{booking.pk}",
                                    next_attempt_at=ends, **common))
            codes.append(AccessCode(state=CodeState.ACTIVE, pin="739164", vendor_code_id=f"new{booking.pk}",
                                    lock_starts_at=starts, lock_ends_at=ends, next_attempt_at=ends, **common))
    return codes
