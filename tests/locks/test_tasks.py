"""The Celery tasks of the code lifecycle (locks/tasks.py), run eagerly in this process.

Tasks are thin: ids in, one service call. These tests check the wiring: an event hands a due code
to `process_code` on commit, the beat pass fans claimed codes out to `process_codes` batches, a
claim held by someone else is respected, and beat is scheduled as configured.
"""

import os
from dataclasses import dataclass, field
from datetime import date

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from freezegun import freeze_time

from locks import services, tasks
from locks.models import AccessCode, CodeState
from locks.services import claims, steps
from nowistay.celery import app

pytestmark = pytest.mark.django_db

NOW = "2026-06-01 08:00:00"


@pytest.fixture
def eager():
    """Run tasks in this process when they are sent; restore Celery's configuration after."""
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    try:
        yield app
    finally:
        app.conf.update(saved)


@dataclass
class SentBatches:
    batches: list[list[int]] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)  # the queue each batch was sent to
    argsreprs: list[str] = field(default_factory=list)  # what the message's headers say of its arguments


@pytest.fixture
def sent_batches(monkeypatch):
    """Record each `process_codes` batch the beat pass sends, and its queue; then send it as usual."""
    sent = SentBatches()
    real_task = tasks.process_codes

    class Spy:
        @staticmethod
        def apply_async(args, queue, argsrepr):
            sent.batches.append(list(args[0]))
            sent.queues.append(queue)
            sent.argsreprs.append(argsrepr)
            return real_task.apply_async(args, queue=queue, argsrepr=argsrepr)

    monkeypatch.setattr(tasks, "process_codes", Spy)
    return sent


def test_booking_event_creates_the_code_through_process_code_without_a_pass(
    eager, assigned_property, book, fake_cloud, django_capture_on_commit_callbacks
):
    prop = assigned_property()  # Paris, lead 5, margin 30
    with freeze_time(NOW):
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 4))  # arriving tomorrow: due now
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            code = services.booking_created(booking=booking)
    # The code's `scheduled` event, one process_code task (eager here), then the codes_ready event
    # the created code announces.
    assert [callback.__qualname__.split(".")[0] for callback in callbacks] == ["send_code_events", "enqueue_on_commit", "_ReadyCodes"]
    code.refresh_from_db()
    assert code.state == CodeState.ACTIVE
    assert code.claim_token == "" and code.claimed_until is None
    (issued,) = fake_cloud.codes_on("L1")
    assert issued.name == code.vendor_name and issued.vendor_code_id == code.vendor_code_id
    assert fake_cloud.calls["create_code"] == 1


def test_booking_far_ahead_sends_no_task_and_no_task_does_anything(
    eager, assigned_property, book, fake_cloud, django_capture_on_commit_callbacks
):
    prop = assigned_property()
    with freeze_time(NOW):
        booking = book(prop, date(2026, 7, 20), date(2026, 7, 25))
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            code = services.booking_created(booking=booking)
        # Only the code's `scheduled` event for integrations: no task.
        assert [callback.__qualname__.split(".")[0] for callback in callbacks] == ["send_code_events"]

        # Even sent by hand, or by beat, nothing is due.
        assert tasks.process_code.delay(code.pk).get() == "skipped"
        summary = tasks.scheduler_pass.delay().get()
    assert summary.startswith("0 due")
    code.refresh_from_db()
    assert code.state == CodeState.SCHEDULED
    assert code.claim_token == "" and code.attempts == 0
    assert sum(fake_cloud.calls.values()) == 0


def test_scheduler_pass_fans_due_codes_out_to_process_codes_batches(
    eager, assigned_property, book, fake_cloud, settings, sent_batches
):
    settings.LOCKS_TASK_BATCH_SIZE = 2
    prop = assigned_property()
    with freeze_time(NOW):
        bookings = [book(prop, date(2026, 6, 2), date(2026, 6, 4), guest_name=f"Guest {n}") for n in range(5)]
        for booking in bookings:
            services.booking_created(booking=booking)  # on-commit tasks never run here: the pass must
        summary = tasks.scheduler_pass()

    assert isinstance(summary, str)
    assert summary.startswith("5 due")
    assert [len(batch) for batch in sent_batches.batches] == [2, 2, 1]
    assert sent_batches.queues == ["locks.ttlock"] * 3
    codes = AccessCode.objects.all()
    assert sorted(code_id for batch in sent_batches.batches for code_id in batch) == sorted(code.pk for code in codes)
    assert {code.state for code in codes} == {CodeState.ACTIVE}
    assert len(fake_cloud.codes_on("L1")) == 5
    assert fake_cloud.calls["create_code"] == 5


def test_a_burst_goes_out_in_larger_batches_never_more_messages_than_the_cap(
    eager, assigned_property, book, fake_cloud, settings, sent_batches
):
    settings.LOCKS_TASK_BATCH_SIZE, settings.LOCKS_MESSAGES_PER_CLAIM = 2, 3
    prop = assigned_property()
    with freeze_time(NOW):
        for n in range(10):
            services.booking_created(booking=book(prop, date(2026, 6, 2), date(2026, 6, 4), guest_name=f"Guest {n}"))
        tasks.scheduler_pass()
    assert [len(batch) for batch in sent_batches.batches] == [4, 4, 2]
    assert sent_batches.argsreprs == ["(4 codes)", "(4 codes)", "(2 codes)"]  # not every id in the headers
    assert set(AccessCode.objects.values_list("state", flat=True)) == {CodeState.ACTIVE}


def test_each_vendors_batches_go_to_that_vendors_queue(eager, assigned_property, book, fake_cloud, settings, sent_batches):
    settings.LOCKS_TASK_BATCH_SIZE = 2
    props = {slug: assigned_property(provider=slug, vendor_lock_id=f"{slug}-1") for slug in ("ttlock", "tedee", "nuki")}
    with freeze_time(NOW):
        for slug, prop in props.items():
            for n in range(3):
                services.booking_created(booking=book(prop, date(2026, 6, 2), date(2026, 6, 4), guest_name=f"{slug} {n}"))
        tasks.scheduler_pass()
    providers = dict(AccessCode.objects.values_list("pk", "lock__account__provider"))
    for batch, queue in zip(sent_batches.batches, sent_batches.queues, strict=True):
        assert {f"locks.{providers[code_id]}" for code_id in batch} == {queue}
    assert sorted(sent_batches.queues) == sorted(f"locks.{slug}" for slug in props for _ in range(2))
    assert set(AccessCode.objects.values_list("state", flat=True)) == {CodeState.ACTIVE}


def test_every_vendor_has_a_queue_that_a_worker_consumes_by_default():
    from locks.providers import registry

    consumed = {queue.name for queue in app.conf.task_queues}
    assert {tasks.vendor_queue(slug) for slug in registry.PROVIDER_CLASSES} <= consumed
    assert {tasks.vendor_queue(slug, reads=True) for slug in registry.PROVIDER_CLASSES} <= consumed
    assert app.conf.task_default_queue in consumed
    assert tasks.vendor_queue("no-such-vendor") == app.conf.task_default_queue


def test_the_missing_codes_pass_plans_codes_whose_event_was_missed_and_asks_for_a_pass_when_one_is_due(
    eager, assigned_property, book, fake_cloud, monkeypatch
):
    prop = assigned_property()
    passes_asked = []
    monkeypatch.setattr(tasks.scheduler_pass, "delay", lambda: passes_asked.append(tasks.scheduler_pass()))
    with freeze_time(NOW):
        later = book(prop, date(2026, 6, 10), date(2026, 6, 12))  # no event sent; beyond its lead time
        assert tasks.missing_codes_pass.delay().get() == "1 missing codes planned, 0 due at once"
        assert passes_asked == []
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 4))  # no event sent; due now
        assert tasks.missing_codes_pass.delay().get() == "1 missing codes planned, 1 due at once"
    assert passes_asked == ["1 due"]  # its batch went to a worker (eager here): created
    assert AccessCode.objects.get(booking=booking).state == CodeState.ACTIVE
    assert AccessCode.objects.get(booking=later).state == CodeState.SCHEDULED


def test_process_codes_returns_each_codes_action_and_skips_codes_it_does_not_hold(
    eager, assigned_property, book, fake_cloud
):
    prop = assigned_property()
    with freeze_time(NOW):
        first, second = (book(prop, date(2026, 6, 2), date(2026, 6, 4), guest_name=name) for name in ("A", "B"))
        code_a = services.booking_created(booking=first)
        code_b = services.booking_created(booking=second)
        token, ids = claims.claim_due_codes(now=timezone.now(), limit=1)
        both = [code_a.pk, code_b.pk]
        actions = tasks.process_codes.delay(both, token).get()
    (held,) = ids
    assert actions == ["created" if code_id == held else "skipped" for code_id in both]
    assert fake_cloud.calls["create_code"] == 1


def test_process_code_on_a_code_claimed_by_another_worker_is_skipped(eager, assigned_property, book, fake_cloud):
    prop = assigned_property()
    with freeze_time(NOW):
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 4))
        code = services.booking_created(booking=booking)
        other_token, ids = claims.claim_due_codes(now=timezone.now(), limit=10)
        assert ids == [code.pk]

        assert tasks.process_code.delay(code.pk).get() == "skipped"
        assert tasks.process_code(code.pk) == "skipped"  # called directly, as well
    assert sum(fake_cloud.calls.values()) == 0
    code.refresh_from_db()
    assert code.state == CodeState.SCHEDULED
    assert code.claim_token == other_token  # the other worker's claim is untouched


def test_beat_runs_the_scheduler_pass_every_sweep_period():
    entries = [entry for entry in django_settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == "locks.tasks.scheduler_pass"]
    assert len(entries) == 1
    assert float(entries[0]["schedule"]) == float(django_settings.LOCKS_SWEEP_PERIOD_SECONDS)
    if "LOCKS_SWEEP_PERIOD_SECONDS" not in os.environ:
        assert django_settings.LOCKS_SWEEP_PERIOD_SECONDS == 900  # 15 minutes: :30 and :45 zones
    # Celery reads the same schedule, and the task it names exists.
    assert app.conf.beat_schedule == django_settings.CELERY_BEAT_SCHEDULE
    assert "locks.tasks.scheduler_pass" in app.tasks
    assert tasks.scheduler_pass.name == "locks.tasks.scheduler_pass"


def test_lifecycle_tasks_are_acknowledged_late():
    """Services are idempotent, so a task lost with its worker is simply run again."""
    for task in (tasks.scheduler_pass, tasks.process_codes, tasks.process_code):
        assert task.acks_late is True


def test_a_code_changed_while_a_worker_held_it_is_handed_on_when_released(
    assigned_property, book, fake_cloud, django_capture_on_commit_callbacks, monkeypatch
):
    """Cancelled while its create was out: the event could not claim it, so the worker that
    releases it hands its next step on at once instead of leaving it to the next pass."""
    from datetime import date

    from freezegun import freeze_time

    from bookings.models import BookingStatus
    from locks import services
    from locks.models import CodeState
    from locks.services import codes, vendor_accounts

    enqueued = []
    monkeypatch.setattr(codes, "enqueue_code", lambda code_id: enqueued.append(("event", code_id)))
    monkeypatch.setattr(claims, "enqueue_code", lambda code_id: enqueued.append(("released", code_id)))
    prop = assigned_property()
    with freeze_time("2026-06-01 00:00:00"):
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        code = services.booking_created(booking=booking)
        token, ids = claims.claim_due_codes(now=claims.timezone.now(), limit=10)
        def cancel_meanwhile(*args, **kwargs):
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            return real_create(*args, **kwargs)

        provider_class = type(vendor_accounts.provider_for_account(code.lock.account))
        real_create = provider_class.create_code.__get__(vendor_accounts.provider_for_account(code.lock.account))
        monkeypatch.setattr(provider_class, "create_code", lambda self, *a, **k: cancel_meanwhile(*a, **k))
        enqueued.clear()
        steps.process_codes(code_ids=ids, claim_token=token)
    code.refresh_from_db()
    assert code.state == CodeState.REVOKING and code.vendor_code_id and not code.claim_token
    assert ("released", code.pk) in enqueued


def test_each_accounts_read_backs_go_to_its_vendors_read_back_queue(monkeypatch, django_capture_on_commit_callbacks):
    from locks.services import read_back_schedule

    due = {1: [11, 12], 2: [21], 3: [31]}
    monkeypatch.setattr(read_back_schedule, "_due_read_backs", lambda now: (due, {1: "tedee", 2: "nuki", 3: "no-such-vendor"}))
    sent = []

    class Spy:
        @staticmethod
        def apply_async(args, queue):
            sent.append((args, queue))

    monkeypatch.setattr(tasks, "read_back_account_locks", Spy)
    with django_capture_on_commit_callbacks(execute=True):
        assert read_back_schedule.enqueue_due_read_backs(timezone.now()) == 4
    assert sent == [((1, [11, 12]), "locks.tedee.reads"), ((2, [21]), "locks.nuki.reads"), ((3, [31]), app.conf.task_default_queue)]
    consumed = {queue.name for queue in app.conf.task_queues}
    assert {"locks.tedee.reads", "locks.nuki.reads"} <= consumed
