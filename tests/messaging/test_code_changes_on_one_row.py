"""Door code changes on one code row: a code found gone from its lock is created again on the same
row (locks.services.outcomes.forget_vendor_code), and a vendor that generates PINs (homeit) gives
it a new PIN each time. Every such change the guest needs to know about is noticed once: the host
is emailed and the change message planned, however often the same row changes.

Driven by the fake cloud standing in for homeit: the key is deleted behind our back, the booking's
departure moves (the check-in, so the door code message's moment, stays), the update finds the key
gone and the lifecycle creates it again with a PIN homeit picks.
"""

import smtplib
from datetime import date

import pytest
from django.core import mail
from freezegun import freeze_time

from locks import services as lifecycle
from locks.models import CodeState
from messaging import ledger, services
from messaging.models import CodeChangeNotice, DeliveryStatus, MessageDelivery, MessageTemplate
from nowistay.celery import app
from tests.helpers.guest_messages import GUEST
from tests.helpers.lifecycle import current, tick

pytestmark = pytest.mark.django_db

DUE = "2026-06-10 08:00:00"  # the door code message of the conftest's `stay` is due
HOST = "host@example.com"
CHANGED = "Door code changed for Grace Guest"


@pytest.fixture(autouse=True)
def eager():
    """Tasks run in this process when sent (as a worker would), so `codes_ready` reaches messaging."""
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(saved)


@pytest.fixture
def code_change(host):
    return lambda: MessageTemplate.objects.create(
        host=host,
        name="Code changed",
        is_code_change=True,
        subject="Your new door code",
        body="Your door code changed: it is now {{smartlock_code}}.",
    )


@pytest.fixture
def created_again(fake_cloud, after_commit):
    """The booking's key vanishes from homeit and comes back on the same row with a new PIN."""

    def recreate(booking, departure: date):
        gone = current(booking)
        fake_cloud.delete_behind_our_back("L1", gone.vendor_code_id)
        booking.departure_date = departure
        booking.save()
        after_commit(lambda: lifecycle.booking_changed(booking=booking))
        after_commit(tick)  # the update finds the key gone; the code is created again (codes_ready)
        after_commit(tick)
        fresh = current(booking)
        assert (fresh.pk, fresh.state) == (gone.pk, CodeState.ACTIVE)
        assert fresh.vendor_code_id != gone.vendor_code_id and fresh.pin != gone.pin
        return gone.pin, fresh.pin

    return recreate


def to_guest():
    return [message for message in mail.outbox if message.to == [GUEST]]


def told_host():
    return [message for message in mail.outbox if message.to == [HOST] and message.subject == CHANGED]


def test_each_new_pin_on_the_same_row_is_noticed_and_sent_to_the_guest(stay, door_code, code_change, created_again, send):
    door_code()
    code_change()
    with freeze_time(DUE) as frozen:
        booking = stay(provider="homeit")
        send()
        first_pin = current(booking).pin
        assert first_pin in to_guest()[0].body
        frozen.move_to("2026-06-10 12:00:00")
        _, second_pin = created_again(booking, date(2026, 6, 14))
        send()
        frozen.move_to("2026-06-10 14:00:00")
        _, third_pin = created_again(booking, date(2026, 6, 15))
        send()
    notices = list(CodeChangeNotice.objects.order_by("pk"))
    # What the guest last received each time: the first PIN, then the first change message's.
    assert [(n.previous_pin, n.new_pin) for n in notices] == [(first_pin, second_pin), (second_pin, third_pin)]
    assert [n.change_messages for n in notices] == [1, 1]
    assert len(told_host()) == 2
    assert [m.body for m in to_guest()][1:] == [
        f"Your door code changed: it is now {second_pin}.",
        f"Your door code changed: it is now {third_pin}.",
    ]


def test_two_new_pins_before_the_guest_hears_of_either_are_two_notices_from_the_pin_they_have(stay, door_code, created_again, send):
    door_code()  # no door code change message: the host is asked to tell the guest
    with freeze_time(DUE) as frozen:
        booking = stay(provider="homeit")
        send()
        first_pin = current(booking).pin
        frozen.move_to("2026-06-10 12:00:00")
        _, second_pin = created_again(booking, date(2026, 6, 14))
        frozen.move_to("2026-06-10 14:00:00")
        _, third_pin = created_again(booking, date(2026, 6, 15))
    notices = list(CodeChangeNotice.objects.order_by("pk"))
    assert [(n.previous_pin, n.new_pin) for n in notices] == [(first_pin, second_pin), (first_pin, third_pin)]
    assert len(told_host()) == 2 and len(to_guest()) == 1


def test_changes_on_the_same_row_whose_code_ready_was_lost_are_caught_by_the_beat_pass(
    stay, door_code, code_change, created_again, send, monkeypatch
):
    door_code()
    code_change()
    with freeze_time(DUE) as frozen:
        booking = stay(provider="homeit")
        send()
        monkeypatch.setattr(ledger, "enqueue_booking", lambda booking_id: None)  # codes_ready is lost, each time
        frozen.move_to("2026-06-10 12:00:00")
        _, second_pin = created_again(booking, date(2026, 6, 14))
        assert send().code_changes == 1  # the beat pass catches it, and its message goes out
        frozen.move_to("2026-06-10 14:00:00")
        _, third_pin = created_again(booking, date(2026, 6, 15))
        assert send().code_changes == 1
        assert send().code_changes == 0
    assert CodeChangeNotice.objects.count() == 2 and len(told_host()) == 2
    assert [m.body for m in to_guest()][1:] == [
        f"Your door code changed: it is now {second_pin}.",
        f"Your door code changed: it is now {third_pin}.",
    ]


def test_a_change_message_overtaken_by_a_newer_change_is_not_sent(stay, door_code, code_change, created_again, send, monkeypatch):
    door_code()
    code_change()
    with freeze_time(DUE) as frozen:
        booking = stay(provider="homeit")
        send()
        first_pin = current(booking).pin
        real_send = services.CHANNELS["email"].send
        monkeypatch.setattr(services.CHANNELS["email"], "send", refuse_once(real_send))
        frozen.move_to("2026-06-10 12:00:00")
        created_again(booking, date(2026, 6, 14))  # its change message cannot be sent yet
        frozen.move_to("2026-06-10 12:05:00")
        _, third_pin = created_again(booking, date(2026, 6, 15))
        frozen.move_to("2026-06-10 13:00:00")  # the first change message's retry is due
        send()
    first, second = CodeChangeNotice.objects.order_by("pk")
    assert (second.previous_pin, second.new_pin) == (first_pin, third_pin)  # the guest never had the second PIN
    changes = MessageDelivery.objects.filter(trigger_key__startswith="code_change:").order_by("pk")
    assert [d.status for d in changes] == [DeliveryStatus.SKIPPED, DeliveryStatus.SENT]
    assert [m.body for m in to_guest()][1:] == [f"Your door code changed: it is now {third_pin}."]


def refuse_once(real_send):
    """A guest email sender whose first email is refused for now (retried later)."""
    failures = iter([smtplib.SMTPServerDisconnected("gone")])

    def flaky(*args):
        error = next(failures, None)
        if error:
            raise error
        return real_send(*args)

    return flaky
