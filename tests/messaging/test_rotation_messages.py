"""The guest's part of "Rotate code": told the new code once it is on the lock, with the host's door
code change message or, when the host has none, Nowistay's default one; once, never without the
code; and the guest's step of the rotation read from the ledger.

As in test_sending.py: the real lifecycle on the fake cloud, tasks eager, on-commit callbacks run.
"""

import pytest
from django.core import mail
from django.utils import timezone, translation
from freezegun import freeze_time

from bookings.models import Booking, BookingStatus
from locks import services as lifecycle
from locks.models import CodeRotation, RotationSource
from locks.providers.exceptions import LockOffline
from locks.rotation_status import new_pin_step
from locks.services import scheduler
from messaging import ledger, rendering, schedule, services
from messaging.default_messages import CODE_CHANGE_BODY, CODE_CHANGE_SUBJECT, MESSAGES, default_message
from messaging.models import BuiltinMessage, CodeChangeNotice, DeliveryStatus, MessageDelivery, MessageTemplate
from messaging.rotations import guest_outlook, guest_step
from nowistay.celery import app
from tests.helpers.guest_messages import GUEST
from tests.helpers.lifecycle import current

pytestmark = pytest.mark.django_db

HOST = "host@example.com"
DUE = "2026-06-10 08:00:00"  # the "Door code" message (1 day before at 10:00, Paris) is due
LATER = "2026-06-10 12:00:00"


@pytest.fixture(autouse=True)
def eager():
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(saved)


@pytest.fixture
def tick(after_commit):
    return lambda: after_commit(lambda: scheduler.run_pass(dispatch=scheduler.process_inline))


@pytest.fixture
def rotate(after_commit):
    return lambda booking: after_commit(lambda: lifecycle.code_rotate(booking=booking, via=RotationSource.API))


@pytest.fixture
def code_change(host):
    def make(**fields):
        defaults = dict(
            host=host, name="Code changed", is_code_change=True, subject="Your new door code",
            body="Your door code changed: it is now {{smartlock_code}}.",
        )
        return MessageTemplate.objects.create(**{**defaults, **fields})

    return make


def to_guest():
    return [message for message in mail.outbox if message.to == [GUEST]]


def to_host():
    return [message for message in mail.outbox if message.to == [HOST]]


def guest_state(booking) -> tuple[str, str]:
    rotation = CodeRotation.objects.select_related("booking__property", "old_code__lock__account", "new_code__lock__account").get(
        booking=booking
    )
    step = guest_step(rotation, new_pin=new_pin_step(rotation, now=timezone.now()))
    return step.state, step.text


def sent_the_door_code(stay, door_code, tick, send, language="en"):
    """A stay whose guest (English unless said) has received their door code by message."""
    door_code()
    booking = stay(guest_language=language)
    tick()
    send()
    assert current(booking).pin in to_guest()[0].body
    return booking


# --- the default message -------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "es", "de"])
def test_the_default_message_speaks_the_guests_language(stay, door_code, tick, send, rotate, language):
    with freeze_time(DUE) as frozen:
        booking = sent_the_door_code(stay, door_code, tick, send, language=language)
        frozen.move_to(LATER)
        rotate(booking)
        tick()
        send()
    (_first, changed) = to_guest()
    with translation.override(language):
        subject = translation.gettext("Your new door code for {{property_name}}").replace("{{property_name}}", "Flat L1")
    assert subject != "Your new door code for Flat L1" and changed.subject == subject
    assert current(booking).pin in changed.body and "June" not in changed.body  # dates in the guest's language too
    assert MessageDelivery.objects.get(builtin=BuiltinMessage.CODE_CHANGE).language == language


def test_without_a_change_message_the_guest_gets_the_default_one_with_the_new_code(stay, door_code, tick, send, rotate):
    with freeze_time(DUE) as frozen:
        booking = sent_the_door_code(stay, door_code, tick, send)
        old = current(booking)
        frozen.move_to(LATER)
        rotate(booking)  # the new code is created at once (tasks are eager) → codes_ready → notice + the default message
        tick()
        send()
    new = current(booking)
    assert new.pk != old.pk and new.pin != old.pin
    (first, changed) = to_guest()
    assert changed.subject == "Your new door code for Flat L1"
    assert f"Your new code is {new.pin}." in changed.body and old.pin not in changed.body
    assert "It works from 14:30 on Thursday 11 June 2026 until 11:30 on Saturday 13 June 2026." in changed.body
    row = MessageDelivery.objects.get(builtin=BuiltinMessage.CODE_CHANGE)
    assert (row.template_id, row.template_name) == (None, "Door code change (Nowistay's default)")
    assert (row.status, row.pin, row.code_id) == (DeliveryStatus.SENT, new.pin, new.pk)
    assert row.trigger_key == schedule.code_change_key(new.pk, new.vendor_code_id)
    assert CodeChangeNotice.objects.get().change_messages == 1
    (told,) = [m for m in to_host() if m.subject == "Door code changed for Grace Guest"]
    assert "Nowistay's default door code change message is being sent to the guest" in told.body and new.pin not in told.body
    assert guest_state(booking) == ("sent", f"sent at 14:00 10 Jun to {GUEST}")


def test_the_hosts_own_change_message_is_sent_instead(stay, door_code, code_change, tick, send, rotate):
    code_change()
    with freeze_time(DUE) as frozen:
        booking = sent_the_door_code(stay, door_code, tick, send)
        frozen.move_to(LATER)
        assert "with your door code change message “Code changed”" in guest_outlook(booking)
        rotate(booking)
        tick()
        send()
    assert [m.subject for m in to_guest()] == ["Your door code for Flat L1", "Your new door code"]
    assert not MessageDelivery.objects.exclude(builtin="").exists()
    assert guest_state(booking)[0] == "sent"


def test_a_change_message_switched_off_or_for_another_property_does_not_count(
    stay, door_code, code_change, make_property, tick, send, rotate
):
    code_change(is_active=False)
    code_change(name="Elsewhere").properties.add(make_property(name="Elsewhere"))
    with freeze_time(DUE) as frozen:
        booking = sent_the_door_code(stay, door_code, tick, send)
        frozen.move_to(LATER)
        assert "Nowistay's default door code change message" in guest_outlook(booking)
        rotate(booking)
        tick()
        send()
    assert [m.subject for m in to_guest()] == ["Your door code for Flat L1", "Your new door code for Flat L1"]


def test_a_code_regenerated_by_staff_is_no_rotation_and_gets_no_default_message(stay, door_code, tick, send, after_commit):
    with freeze_time(DUE) as frozen:
        booking = sent_the_door_code(stay, door_code, tick, send)
        frozen.move_to(LATER)
        after_commit(lambda: lifecycle.code_regenerate(code_id=current(booking).pk))
        tick()
        send()
    assert len(to_guest()) == 1 and CodeChangeNotice.objects.get().change_messages == 0


# --- exactly once, never without the code ----------------------------------------------------------


def test_the_default_message_goes_once_however_often_the_change_is_checked(stay, door_code, tick, send, rotate):
    with freeze_time(DUE) as frozen:
        booking = sent_the_door_code(stay, door_code, tick, send)
        frozen.move_to(LATER)
        rotate(booking)
        tick()
        for _ in range(3):
            services.booking_code_change_check(booking=booking)
            services.booking_messages_send(booking_id=booking.pk)
            send()
        frozen.move_to("2026-06-10 13:00:00")
        send()
        tick()
    assert len(to_guest()) == 2
    assert MessageDelivery.objects.filter(builtin=BuiltinMessage.CODE_CHANGE).count() == 1


def test_with_the_lock_offline_the_guest_waits_and_gets_the_code_once_it_is_on_the_lock(stay, door_code, tick, send, rotate, fake_cloud):
    with freeze_time(DUE) as frozen:
        booking = sent_the_door_code(stay, door_code, tick, send)
        frozen.move_to(LATER)
        fake_cloud.fail_next("create_code", LockOffline("Gateway offline."))
        rotate(booking)
        tick()
        send()
        assert len(to_guest()) == 1 and not MessageDelivery.objects.exclude(builtin="").exists()
        assert guest_state(booking) == ("waiting", "waiting for the new code to be on the lock")
        frozen.move_to("2026-06-10 13:00:00")
        tick()
        send()
    assert current(booking).pin in to_guest()[1].body
    assert guest_state(booking)[0] == "sent"


def planned_not_sent(booking, rotate, tick, monkeypatch):
    """Rotate with the `codes_ready` event lost: the new code is active and the default message is
    planned (by the check the beat pass would make), not sent yet."""
    monkeypatch.setattr(ledger, "enqueue_booking", lambda booking_id: None)
    rotate(booking)
    tick()
    services.booking_code_change_check(booking=booking)
    monkeypatch.undo()
    row = MessageDelivery.objects.get(builtin=BuiltinMessage.CODE_CHANGE)
    assert row.status == DeliveryStatus.DUE
    return row


def test_a_newer_code_closes_the_default_message_unsent(stay, door_code, tick, send, rotate, after_commit, monkeypatch):
    """The guest is never sent a code that was replaced before the message went."""
    with freeze_time(DUE) as frozen:
        booking = sent_the_door_code(stay, door_code, tick, send)
        frozen.move_to(LATER)
        row = planned_not_sent(booking, rotate, tick, monkeypatch)
        lifecycle.code_regenerate(code_id=current(booking).pk)  # no commit: the newest code is not made yet
        send()
    row.refresh_from_db()
    assert (row.status, row.note) == (DeliveryStatus.SKIPPED, "A newer door code replaced the one this message was for.")
    assert len(to_guest()) == 1
    assert guest_state(booking) == ("not_sent", "not sent: A newer door code replaced the one this message was for.")


def test_a_cancelled_booking_skips_the_default_message(stay, door_code, tick, send, rotate, monkeypatch):
    with freeze_time(DUE) as frozen:
        booking = sent_the_door_code(stay, door_code, tick, send)
        frozen.move_to(LATER)
        row = planned_not_sent(booking, rotate, tick, monkeypatch)
        Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CANCELLED)
        send()
    row.refresh_from_db()
    assert (row.status, row.note) == (DeliveryStatus.SKIPPED, "The booking is no longer confirmed.")
    assert len(to_guest()) == 1


# --- what the guest's step says ---------------------------------------------------------------------


def test_a_guest_never_sent_a_code_by_message_is_not_sent_a_change(stay, tick, send, rotate):
    with freeze_time(DUE) as frozen:
        booking = stay()
        tick()
        frozen.move_to(LATER)
        assert guest_outlook(booking).startswith("the guest has not been sent a door code by message")
        rotate(booking)
        tick()
        send()
    assert to_guest() == []
    assert guest_state(booking)[0] == "not_needed"


def test_a_guest_without_an_email_address_is_reported_as_failed(stay, door_code, tick, send, rotate):
    with freeze_time(DUE) as frozen:
        booking = sent_the_door_code(stay, door_code, tick, send)
        booking.guest_email = ""
        booking.save()
        frozen.move_to(LATER)
        assert guest_outlook(booking) == "the guest has no email address: give them the new code yourself"
        rotate(booking)
        tick()
        send()
    assert guest_state(booking) == ("failed", "failed: The guest has no email address.")
    assert any(m.subject.startswith("“Door code change (Nowistay's default)” could not be sent") for m in to_host())


# --- the text --------------------------------------------------------------------------------------


def test_the_default_text_uses_known_variables_and_carries_the_code():
    for text in (CODE_CHANGE_SUBJECT, CODE_CHANGE_BODY):
        rendering.validate_text(text)
    assert rendering.uses_code(CODE_CHANGE_SUBJECT, CODE_CHANGE_BODY)
    assert {"smartlock_code", "property_name", "code_valid_from", "code_valid_until"} <= set(rendering.VARIABLES)
    assert all(name in CODE_CHANGE_BODY for name in ("{{smartlock_code}}", "{{property_name}}", "{{code_valid_until}}"))
    assert set(MESSAGES) == set(BuiltinMessage.values)


def test_a_door_link_is_added_for_locks_that_give_one(stay, tick):
    with freeze_time(DUE):
        code = current(stay())
    message = default_message(BuiltinMessage.CODE_CHANGE)
    assert message.for_code(code).body == CODE_CHANGE_BODY
    code.access_link = "https://open.example/k/abc"
    linked = message.for_code(code).body
    assert linked.startswith(CODE_CHANGE_BODY) and linked.endswith("Your new door link, which opens the door too: {{smartlock_link}}\n")
    rendering.validate_text(linked)
