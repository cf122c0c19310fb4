"""Exactly once under concurrency: passes and booking events racing for the same message.

The thread tests need row locks and connections that see each other's commits, so they run on
PostgreSQL only (like tests/locks/services/test_lifecycle_concurrency.py).
"""

import threading
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from locks import services as lifecycle
from locks.models import AccessCode, CodeState
from locks.services import scheduler
from messaging import ledger, services
from messaging.models import DeliveryStatus, MessageDelivery, MessageTemplate, OffsetUnit, TriggerKind

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite has no concurrent writers and its in-memory test database is not "
    "shared by connections in other threads; run with DATABASE_URL=postgres://...",
)

GUEST = "grace@guest.example"
THREADS = 4


def run_in_threads(targets, timeout: float = 60):
    """Run each target in its own thread, released together by a barrier; raise the first error."""
    barrier = threading.Barrier(len(targets))
    results = [None] * len(targets)
    errors: list[BaseException] = []

    def body(index, target):
        try:
            barrier.wait(timeout=30)
            results[index] = target()
        except BaseException as error:  # re-raised in the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def due_code_message(host, assigned_property, book, fake_cloud, monkeypatch):
    """A booking arriving tomorrow with its code active, and a door code message due now. Events
    are muted (recorded, not run), so only the racing calls below can send it; sending is slowed
    down to widen the race."""
    monkeypatch.setattr(ledger, "enqueue_booking", lambda booking_id: None)
    prop = assigned_property()
    tomorrow = timezone.now().astimezone(ZoneInfo(prop.time_zone)).date() + timedelta(days=1)
    booking = book(prop, tomorrow, tomorrow + timedelta(days=2), guest_email=GUEST)
    lifecycle.booking_created(booking=booking)
    scheduler.run_pass(dispatch=scheduler.process_inline)
    assert AccessCode.objects.get(booking=booking).state == CodeState.ACTIVE
    MessageTemplate.objects.create(
        host=host, name="Door code", trigger=TriggerKind.BEFORE_CHECK_IN, offset=48, offset_unit=OffsetUnit.HOURS,
        subject="Your door code", body="{{smartlock_code}}",
    )
    real_send = services.CHANNELS["email"].send

    def slow_send(*args):
        time.sleep(0.05)
        return real_send(*args)

    monkeypatch.setattr(services.CHANNELS["email"], "send", slow_send)
    mail.outbox.clear()
    return booking


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_beat_passes_send_one_email(due_code_message):
    run_in_threads([lambda: services.run_pass(dispatch=services.process_inline)] * THREADS)
    assert [m.to for m in mail.outbox] == [[GUEST]]
    delivery = MessageDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.pin == AccessCode.objects.get(booking=due_code_message).pin


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_passes_and_booking_events_racing_send_one_email(due_code_message):
    booking_id = due_code_message.pk
    targets = [
        lambda: services.run_pass(dispatch=services.process_inline),
        lambda: services.booking_messages_send(booking_id=booking_id),
    ] * (THREADS // 2)
    run_in_threads(targets)
    assert [m.to for m in mail.outbox] == [[GUEST]]
    assert MessageDelivery.objects.get().status == DeliveryStatus.SENT


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_code_change_checks_tell_the_host_once(due_code_message, host):
    from messaging.models import CodeChangeNotice

    services.run_pass(dispatch=services.process_inline)
    old = AccessCode.objects.get(booking=due_code_message, is_current=True)
    lifecycle.code_regenerate(code_id=old.pk)
    scheduler.run_pass(dispatch=scheduler.process_inline)
    assert AccessCode.objects.get(booking=due_code_message, is_current=True).pin != old.pin
    mail.outbox.clear()
    run_in_threads([lambda: services.booking_code_change_check(booking=due_code_message)] * THREADS)
    assert CodeChangeNotice.objects.count() == 1
    assert [m.subject for m in mail.outbox] == ["Door code changed for Grace Guest"]


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checks_of_a_code_created_again_on_its_row_tell_the_host_once(due_code_message, fake_cloud):
    from messaging.models import CodeChangeNotice

    services.run_pass(dispatch=services.process_inline)
    first = AccessCode.objects.get(booking=due_code_message, is_current=True)
    lifecycle.code_regenerate(code_id=first.pk)
    scheduler.run_pass(dispatch=scheduler.process_inline)
    services.booking_code_change_check(booking=due_code_message)  # the first change: told
    code = AccessCode.objects.get(booking=due_code_message, is_current=True)
    # The same row created again on its lock, with another PIN (as homeit picks a new one).
    AccessCode.objects.filter(pk=code.pk).update(vendor_code_id=f"{code.vendor_code_id}-again", pin="904172")
    mail.outbox.clear()
    run_in_threads([lambda: services.booking_code_change_check(booking=due_code_message)] * THREADS)
    assert list(CodeChangeNotice.objects.filter(new_code=code).values_list("new_vendor_code_id", flat=True).order_by("pk")) == [
        code.vendor_code_id,
        f"{code.vendor_code_id}-again",
    ]
    assert [m.subject for m in mail.outbox] == ["Door code changed for Grace Guest"]
