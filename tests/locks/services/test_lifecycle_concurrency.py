"""Never twice: concurrent scheduler passes, concurrent claims, and a worker that died mid-claim.

The thread tests need real row locks (`SELECT ... FOR UPDATE SKIP LOCKED`) and connections that
see each other's commits, so they run on PostgreSQL only. The crashed-worker test runs anywhere.
"""

import contextlib
import threading
from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone
from freezegun import freeze_time

from locks import services
from locks.models import AccessCode, CodeState
from locks.providers import registry
from locks.services import claims, missing_codes, scheduler, steps
from tests.helpers.lifecycle import utc

THREADS = 4
LOCKS = 4
BOOKINGS_PER_LOCK = 10  # 40 codes in all

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite has no row locks (SKIP LOCKED) and its in-memory test database "
    "is not shared by connections in other threads; run with DATABASE_URL=postgres://...",
)


def run_in_threads(target, count: int = THREADS, timeout: float = 120):
    """Run `target()` in `count` threads released together; return their results or raise their error."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = target()
        except BaseException as error:  # re-raised in the main thread
            errors.append(error)
        finally:
            connection.close()  # each thread has its own connection; leave none open

    threads = [threading.Thread(target=body, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


def create_calls_by_code() -> str:
    """The create calls of codes that had more than one, as the audit recorded them (to say why)."""
    from locks.models import VendorCall

    calls = VendorCall.objects.filter(operation="create_code").order_by("pk")
    repeated = Counter(calls.values_list("access_code_id", flat=True))
    rows = calls.filter(access_code_id__in=[code for code, count in repeated.items() if count > 1])
    return "; ".join(f"code {r.access_code_id}: {r.outcome} {r.error_kind} {r.error_message}" for r in rows)


@pytest.fixture
def no_broker(monkeypatch):
    """Tasks enqueued on commit would go to the real broker: record them instead (as if the
    messages were lost), so the scheduler passes are the only thing doing the work."""
    from locks.services import codes

    sent: list[int] = []
    monkeypatch.setattr(codes, "enqueue_code", sent.append)
    return sent


@pytest.fixture
def due_codes(assigned_property, book, no_broker):
    """40 confirmed bookings arriving tomorrow on 4 locks, each with a code due now."""
    tomorrow = timezone.now().astimezone(ZoneInfo("Europe/Paris")).date() + timedelta(days=1)
    bookings = []
    for lock_number in range(LOCKS):
        prop = assigned_property(vendor_lock_id=f"L{lock_number}")
        for guest in range(BOOKINGS_PER_LOCK):
            booking = book(prop, tomorrow, tomorrow + timedelta(days=2), guest_name=f"Guest {lock_number}-{guest}")
            code = services.booking_created(booking=booking)
            assert code.next_attempt_at <= timezone.now()
            bookings.append(booking)
    return bookings


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_concurrent_passes_create_each_code_exactly_once(due_codes, fake_cloud, settings):
    settings.LOCKS_CLAIM_BATCH_SIZE = 5  # small batches, so the passes interleave
    fake_cloud.latency = 0.05

    reports = run_in_threads(lambda: scheduler.run_pass(dispatch=scheduler.process_inline))

    codes = list(AccessCode.objects.all())
    assert len(codes) == len(due_codes)
    assert {code.state for code in codes} == {CodeState.ACTIVE}
    assert all(code.claim_token == "" and code.claimed_until is None for code in codes)
    assert sum(report.claimed for report in reports) == len(codes)
    assert sum(report.actions["created"] for report in reports) == len(codes)
    assert fake_cloud.calls["create_code"] == len(due_codes), create_calls_by_code()
    assert fake_cloud.calls["find_code"] == 0

    on_locks = {lock_id: fake_cloud.codes_on(lock_id) for lock_id in fake_cloud.locks}
    names = [issued.name for issued in sum(on_locks.values(), [])]
    assert sorted(names) == sorted(code.vendor_name for code in codes)  # one per booking
    for code in codes:
        (issued,) = [c for c in on_locks[code.lock.vendor_lock_id] if c.name == code.vendor_name]
        assert issued.vendor_code_id == code.vendor_code_id and issued.pin == code.pin
    for issued_codes in on_locks.values():
        assert len(issued_codes) == BOOKINGS_PER_LOCK
        assert len({issued.pin for issued in issued_codes}) == BOOKINGS_PER_LOCK


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_event_driven_tasks_racing_scheduler_passes_create_each_code_once(due_codes, fake_cloud, settings):
    """The on-commit `process_code` tasks of the bookings arrive while beat's passes run."""
    from locks import tasks

    settings.LOCKS_CLAIM_BATCH_SIZE = 5
    fake_cloud.latency = 0.02
    code_ids = list(AccessCode.objects.values_list("id", flat=True))
    jobs = iter(["pass", "pass", "events", "events-reversed"])
    job_lock = threading.Lock()

    def job():
        with job_lock:
            kind = next(jobs)
        if kind == "pass":
            return scheduler.run_pass(dispatch=scheduler.process_inline).actions
        ids = code_ids if kind == "events" else code_ids[::-1]
        return Counter(tasks.process_code(code_id) for code_id in ids)  # the task body, run here

    results = run_in_threads(job)

    created = sum(result["created"] for result in results)
    assert created == len(code_ids)
    assert set(AccessCode.objects.values_list("state", flat=True)) == {CodeState.ACTIVE}
    assert fake_cloud.calls["create_code"] == len(code_ids)
    assert sum(len(fake_cloud.codes_on(lock_id)) for lock_id in fake_cloud.locks) == len(code_ids)


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_overlap(due_codes, settings):
    settings.LOCKS_CLAIM_LEASE_SECONDS = 300
    now = timezone.now()

    def claim_all() -> list[tuple[str, list[int]]]:
        batches = []
        while True:
            token, ids = claims.claim_due_codes(now=now, limit=3)
            if not ids:
                return batches
            batches.append((token, ids))

    results = run_in_threads(claim_all)

    claimed = [code_id for batches in results for _, ids in batches for code_id in ids]
    assert len(claimed) == len(set(claimed)), "a code was claimed twice"
    assert sorted(claimed) == sorted(AccessCode.objects.values_list("id", flat=True))
    # What each claimer was told it owns is what the rows say it owns.
    owner = dict(AccessCode.objects.values_list("id", "claim_token"))
    for batches in results:
        for token, ids in batches:
            assert all(owner[code_id] == token for code_id in ids)


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_claimers_racing_for_the_same_rows_split_them(due_codes, settings):
    """Both ask for every due code at once: the row locks give each row to one of them."""
    now = timezone.now()
    results = run_in_threads(lambda: claims.claim_due_codes(now=now, limit=1000), count=2)
    (token_a, ids_a), (token_b, ids_b) = results
    assert token_a != token_b
    assert not set(ids_a) & set(ids_b)
    assert sorted(ids_a + ids_b) == sorted(AccessCode.objects.values_list("id", flat=True))


@pytest.mark.django_db
def test_a_crashed_workers_claim_blocks_others_until_its_lease_ends_then_is_processed_once(
    assigned_property, book, fake_cloud, settings
):
    settings.LOCKS_CLAIM_LEASE_SECONDS = 120
    prop = assigned_property()
    with freeze_time("2026-06-01 08:00:00") as frozen:
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 4))
        code = services.booking_created(booking=booking)

        dead_token, ids = claims.claim_due_codes(now=timezone.now(), limit=10)
        claims.renew_claims(ids, dead_token, timezone.now())  # a worker takes the batch... and dies
        assert ids == [code.pk]
        code.refresh_from_db()
        assert code.claimed_until == utc(2026, 6, 1, 8, 2)

        for moment in ("2026-06-01 08:00:30", "2026-06-01 08:01:59", "2026-06-01 08:02:00"):
            frozen.move_to(moment)
            report = scheduler.run_pass(dispatch=scheduler.process_inline)
            assert report.claimed == 0
            assert claims.claim_code(code_id=code.pk, now=timezone.now()) is None  # nor event-driven
        assert sum(fake_cloud.calls.values()) == 0
        code.refresh_from_db()
        assert code.state == CodeState.SCHEDULED and code.claim_token == dead_token

        frozen.move_to("2026-06-01 08:02:01")  # the lease is over
        report = scheduler.run_pass(dispatch=scheduler.process_inline)
        assert report.claimed == 1 and dict(report.actions) == {"created": 1}

        # The "dead" worker wakes up and carries on with its stale claim: nothing happens.
        stale = steps.process_code(code_id=code.pk, claim_token=dead_token)
        assert stale.action == "skipped"

        frozen.move_to("2026-06-01 09:00:00")
        assert scheduler.run_pass(dispatch=scheduler.process_inline).claimed == 0

    code.refresh_from_db()
    assert code.state == CodeState.ACTIVE and code.claim_token == ""
    assert fake_cloud.calls["create_code"] == 1
    assert len(fake_cloud.codes_on("L1")) == 1


@pytest.mark.django_db
def test_a_worker_that_died_mid_request_is_found_not_created_again(assigned_property, book, fake_cloud, settings):
    """The vendor created the code, then the worker died before recording it: the next worker
    looks for it by name instead of creating a second one."""
    settings.LOCKS_CLAIM_LEASE_SECONDS = 120
    prop = assigned_property()
    with freeze_time("2026-06-01 08:00:00") as frozen:
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 4))
        code = services.booking_created(booking=booking)
        token, _ = claims.claim_due_codes(now=timezone.now(), limit=10)

        class WorkerDied(BaseException):  # not an Exception: nothing in the worker may catch it
            pass

        adapter = registry.PROVIDER_CLASSES["ttlock"]
        vendor_create = adapter.create_code

        def die_after_the_vendor_acted(self, vendor_lock_id, spec):
            vendor_create(self, vendor_lock_id, spec)
            raise WorkerDied

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(adapter, "create_code", die_after_the_vendor_acted)
            with pytest.raises(WorkerDied):
                steps.process_codes(code_ids=[code.pk], claim_token=token)
        assert len(fake_cloud.codes_on("L1")) == 1
        code.refresh_from_db()
        assert code.create_outcome_unknown and code.vendor_code_id == ""

        frozen.move_to("2026-06-01 08:02:01")
        report = scheduler.run_pass(dispatch=scheduler.process_inline)
    assert dict(report.actions) == {"created": 1}
    code.refresh_from_db()
    (issued,) = fake_cloud.codes_on("L1")
    assert code.state == CodeState.ACTIVE and code.vendor_code_id == issued.vendor_code_id
    assert fake_cloud.calls["create_code"] == 1 and fake_cloud.calls["find_code"] == 1


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["missing codes pass", "booking event"])
def test_a_booking_planned_by_two_workers_at_once_gets_one_code_and_neither_crashes(
    first, assigned_property, book, fake_cloud, no_broker, monkeypatch
):
    """Both reconcilers read "no current code" before either inserts (forced with a barrier; in
    production it takes a pass overlapping another pass, `locks_tick`, or a booking event)."""
    from locks.services import codes

    prop = assigned_property()
    tomorrow = timezone.now().astimezone(ZoneInfo("Europe/Paris")).date() + timedelta(days=1)
    booking = book(prop, tomorrow, tomorrow + timedelta(days=2))  # its event was missed

    both_looked = threading.Barrier(2)
    looks = []
    original = codes.usable_assignment

    def usable_assignment_after_both_looked(b):
        looks.append(b.pk)
        if len(looks) <= 2:
            # a fix that serialises the two makes the other wait elsewhere: carry on
            with contextlib.suppress(threading.BrokenBarrierError):
                both_looked.wait(timeout=3)
        return original(b)

    monkeypatch.setattr(codes, "usable_assignment", usable_assignment_after_both_looked)

    def pass_():  # the missed-event backstop, then the pass that claims what it planned
        missing_codes.missing_codes_pass(timezone.now())
        return scheduler.run_pass(dispatch=scheduler.process_inline)

    def event():
        from bookings.models import Booking

        return services.booking_created(booking=Booking.objects.get(pk=booking.pk))

    jobs = iter([pass_, pass_] if first == "missing codes pass" else [event, pass_])
    job_lock = threading.Lock()

    def next_job():
        with job_lock:
            job = next(jobs)
        return job()

    run_in_threads(next_job, count=2)

    (code,) = AccessCode.objects.filter(booking=booking)
    assert code.is_current
    scheduler.run_pass(dispatch=scheduler.process_inline)
    code.refresh_from_db()
    assert code.state == CodeState.ACTIVE
    assert len(fake_cloud.codes_on("L1")) == 1
    connection.close()
