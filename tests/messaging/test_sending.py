"""Guest messages that carry the door code: never blank, never stale, once per booking and trigger.

Codes are made active through the real lifecycle (services + scheduler pass) on the fake cloud.
Tasks run eagerly, and on-commit callbacks are executed, so `codes_ready` reaches the messaging
receiver as it does in production.
"""

import smtplib
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from freezegun import freeze_time

from bookings import services as booking_services
from bookings.models import Booking, BookingStatus
from locks import services as lifecycle
from locks.models import AccessCode, CodeState, Lock
from locks.providers.base import IssuedCode
from locks.providers.exceptions import LockOffline
from locks.services import scheduler
from messaging import demo, ledger, schedule, services, tasks
from messaging.models import CodeChangeNotice, DeliveryStatus, MessageDelivery, MessageTemplate, TriggerKind
from nowistay.celery import app
from tests.helpers.guest_messages import ARRIVAL, DEPARTURE, GUEST
from tests.helpers.lifecycle import current

pytestmark = pytest.mark.django_db

HOST = "host@example.com"
# Paris, arriving Thursday 11 June 2026 (CEST): "1 day before at 10:00" is due 08:00 UTC on the
# 10th; check-in 15:00 = 13:00 UTC, so with the 30-minute margin the code window starts 12:30 UTC.
DUE = "2026-06-10 08:00:00"
WINDOW_START = datetime(2026, 6, 11, 12, 30, tzinfo=UTC)
CHECK_IN = datetime(2026, 6, 11, 13, 0, tzinfo=UTC)  # 15:00 in Paris


@pytest.fixture(autouse=True)
def eager():
    """Tasks run in this process when sent (as a worker would), never on the real broker."""
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(saved)


@pytest.fixture
def tick(after_commit):
    """One lock scheduler pass: creates due codes; `codes_ready` goes out after commit."""
    return lambda: after_commit(lambda: scheduler.run_pass(dispatch=scheduler.process_inline))


@pytest.fixture
def code_change(host):
    return lambda **fields: MessageTemplate.objects.create(
        host=host, name="Code changed", is_code_change=True, subject="Your new door code",
        body="Your door code changed: it is now <<nuki_code>>.", **fields,
    )


def to_guest():
    return [message for message in mail.outbox if message.to == [GUEST]]


def to_host():
    return [message for message in mail.outbox if message.to == [HOST]]


# --- the code rule ----------------------------------------------------------------------------------

def test_the_message_carries_the_active_code_and_the_ledger_records_it(stay, door_code, tick, send):
    door_code()
    with freeze_time(DUE):
        booking = stay()  # the code is created at once, and `codes_ready` sends the due message
        send()  # nothing more
    code = current(booking)
    assert code.state == CodeState.ACTIVE and len(code.pin) == 6
    (message,) = to_guest()
    assert message.subject == "Your door code for Flat L1"
    assert message.body == (
        f"Hello Grace Guest, your code is {code.pin} "
        "(14:30 on Thursday 11 June 2026 to 11:30 on Saturday 13 June 2026)."
    )
    assert message.reply_to == [HOST]
    delivery = MessageDelivery.objects.get()
    assert (delivery.status, delivery.code_id, delivery.pin, delivery.recipient) == (DeliveryStatus.SENT, code.pk, code.pin, GUEST)
    assert delivery.body == message.body  # what went out, for the log
    with connection.cursor() as cursor:
        cursor.execute("SELECT pin, body FROM messaging_messagedelivery WHERE id = %s", [delivery.pk])
        raw_pin, raw_body = cursor.fetchone()
    assert code.pin not in raw_pin and code.pin not in raw_body  # encrypted at rest


def test_no_email_while_the_code_is_being_created_then_at_once_on_code_ready(stay, door_code, tick, send, fake_cloud):
    door_code()
    fake_cloud.fail_next("create_code", LockOffline("The gateway is offline."))
    with freeze_time(DUE) as frozen:
        booking = stay()
        tick()
        assert current(booking).state == CodeState.CREATING
        send()
        send()
        assert to_guest() == []
        delivery = MessageDelivery.objects.get()
        assert delivery.status == DeliveryStatus.WAITING_FOR_CODE
        assert delivery.wait_deadline == CHECK_IN
        assert "not active yet" in delivery.note

        frozen.move_to("2026-06-10 09:00:00")  # the hourly retry: the gateway is back
        tick()  # codes_ready → the messaging receiver → sent now, without waiting for the beat pass
    (message,) = to_guest()
    assert current(booking).pin in message.body
    delivery.refresh_from_db()
    assert (delivery.status, delivery.pin) == (DeliveryStatus.SENT, current(booking).pin)


def test_no_code_at_all_waits_too(assigned_property, make_property, book, door_code, send):
    door_code()
    no_lock = make_property(name="No lock here")
    book(no_lock, ARRIVAL, DEPARTURE, guest_email=GUEST)
    with freeze_time(DUE):
        send()
    assert to_guest() == []
    delivery = MessageDelivery.objects.get()
    assert delivery.status == DeliveryStatus.WAITING_FOR_CODE
    assert "no door code yet" in delivery.note
    assert delivery.wait_deadline == datetime(2026, 6, 11, 13, 0, tzinfo=UTC)  # no window: the check-in moment


def test_still_waiting_when_the_guest_can_arrive_is_missed_and_the_host_emailed_once(stay, door_code, tick, send, fake_cloud):
    door_code()
    with freeze_time(DUE) as frozen:
        booking = stay(lock_online=False)
        send()
        frozen.move_to(CHECK_IN - timedelta(minutes=1))
        send()
        assert MessageDelivery.objects.get().status == DeliveryStatus.WAITING_FOR_CODE
        host_before = len(to_host())  # the lock's own alerts (evening before) are not ours
        frozen.move_to(CHECK_IN)
        send()
        send()
        fake_cloud.locks["L1"].online = True
        frozen.move_to(CHECK_IN + timedelta(minutes=20))
        tick()  # the code finally works: a missed message stays unsent (the host took over)
        send()
    assert current(booking).state == CodeState.ACTIVE
    delivery = MessageDelivery.objects.get()
    assert delivery.status == DeliveryStatus.MISSED_CODE and delivery.pin is None
    assert to_guest() == []
    (alert,) = to_host()[host_before:]
    assert alert.subject == "“Door code” not sent to Grace Guest: no door code yet"
    assert "15:00 on 11 June 2026" in alert.body  # check-in, property time
    assert current(booking).pin not in alert.body


def test_a_code_that_works_inside_the_margin_still_reaches_the_guest_before_check_in(stay, door_code, tick, send, fake_cloud):
    door_code()
    with freeze_time(DUE) as frozen:
        booking = stay(lock_online=False)
        send()
        fake_cloud.locks["L1"].online = True
        frozen.move_to(CHECK_IN - timedelta(minutes=10))  # after the window opened, before check-in
        tick()
        send()
    assert MessageDelivery.objects.get().status == DeliveryStatus.SENT
    (message,) = to_guest()
    assert current(booking).pin in message.body


def test_a_failed_code_is_never_sent_blank(stay, door_code, tick, send, fake_cloud):
    door_code(body="Code: {{smartlock_code}} / <<nuki_code>>")
    with freeze_time(DUE):
        booking = stay(lock_online=False)
        code = current(booking)
        AccessCode.objects.filter(pk=code.pk).update(state=CodeState.FAILED, next_attempt_at=None, last_error="Lock offline")
        send()
    assert to_guest() == []
    assert MessageDelivery.objects.get().status == DeliveryStatus.WAITING_FOR_CODE


def test_a_message_without_code_variables_does_not_wait(stay, door_code, send, fake_cloud):
    door_code(subject="Hi", body="See you on {{arrival_date}}, {{guest_name}}.")
    with freeze_time(DUE):
        booking = stay(lock_online=False)
        send()
    assert current(booking).state == CodeState.CREATING
    assert [m.body for m in to_guest()] == ["See you on Thursday 11 June 2026, Grace Guest."]


def test_the_igloohome_usage_note_is_available(stay, door_code, tick, send):
    with freeze_time(DUE):
        booking = stay(provider="igloohome")
        door_code(body="{{smartlock_code}}. {{code_usage_note}}")  # after the code's own event
        AccessCode.objects.filter(pk=current(booking).pk).update(usage_note="Use it within 24 hours of its start.")
        send()
    (message,) = to_guest()
    assert message.body == f"{current(booking).pin}. Use it within 24 hours of its start."


# --- exactly once --------------------------------------------------------------------------------------

def test_the_beat_task_run_twice_sends_once(stay, door_code, tick, after_commit):
    with freeze_time(DUE):
        stay()
        door_code()  # after the code's own event, so only the beat pass can send it
        first = after_commit(tasks.send_due_messages.delay).get()
        second = after_commit(tasks.send_due_messages.delay).get()
    assert len(to_guest()) == 1
    assert "1 planned" in first and "1 due" in first
    assert "0 planned" in second and "0 due" in second
    assert MessageDelivery.objects.count() == 1


def test_a_claimed_row_is_not_sent_by_another_worker_until_its_lease_expires(stay, door_code, tick):
    with freeze_time(DUE) as frozen:
        stay()
        door_code(body="Hi {{guest_name}}")
        services.plan_due_messages(timezone.now())
        token, ids = services.claim_due(now=timezone.now())
        assert len(ids) == 1
        assert services.claim_due(now=timezone.now())[1] == []  # held
        assert services.process_delivery(delivery_id=ids[0], claim_token="someone-else") == "skipped"
        frozen.tick(services.CLAIM_LEASE + timedelta(seconds=1))  # the first worker died
        token2, ids2 = services.claim_due(now=timezone.now())
        assert ids2 == ids
        assert services.process_delivery(delivery_id=ids[0], claim_token=token) == "skipped"  # lost its lease
        assert services.process_delivery(delivery_id=ids[0], claim_token=token2) == "sent"
    assert len(to_guest()) == 1


def test_an_email_backend_error_is_retried_later(stay, door_code, send, monkeypatch):
    door_code(body="Hi {{guest_name}}")
    real_send = mail.EmailMessage.send
    failures = iter([smtplib.SMTPServerDisconnected("gone")])

    def flaky(self, *args, **kwargs):
        error = next(failures, None)
        if error:
            raise error
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(mail.EmailMessage, "send", flaky)
    with freeze_time(DUE) as frozen:
        stay()  # the first attempt, on the code's event
        delivery = MessageDelivery.objects.get()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.DUE, 1)
        assert "could not be sent yet" in delivery.note
        send()  # not before the retry delay
        assert to_guest() == []
        frozen.tick(services.SEND_RETRY_DELAY)
        send()
    assert len(to_guest()) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.note) == (DeliveryStatus.SENT, 2, "")


def test_a_code_message_for_a_guest_without_email_fails_and_the_host_is_told(stay, door_code, tick, send):
    door_code()
    with freeze_time(DUE):
        stay(guest_email="")
        send()
    delivery = MessageDelivery.objects.get()
    assert (delivery.status, delivery.note) == (DeliveryStatus.FAILED, "The guest has no email address.")
    assert [m.subject for m in to_host()] == ["“Door code” could not be sent to Grace Guest"]


def test_the_hosts_log_notes_are_written_in_the_hosts_language(stay, door_code, send, after_commit, host):
    from django.utils import translation

    from accounts.models import HostPreferences

    HostPreferences.objects.create(user=host, language="de")
    door_code()
    with freeze_time(DUE):
        booking = stay(lock_online=False)
        send()
        after_commit(lambda: booking_services.booking_set_status(booking=booking, status=BookingStatus.CANCELLED))
        MessageDelivery.objects.update(next_attempt_at=timezone.now())
        send()
    with translation.override("de"):
        german = translation.gettext("The booking is no longer confirmed.")
    assert german != "The booking is no longer confirmed." and MessageDelivery.objects.get().note == german


def test_a_cancelled_booking_drops_its_waiting_message(stay, door_code, send, after_commit, fake_cloud):
    door_code()
    with freeze_time(DUE):
        booking = stay(lock_online=False)
        send()
        after_commit(lambda: booking_services.booking_set_status(booking=booking, status=BookingStatus.CANCELLED))
        MessageDelivery.objects.update(next_attempt_at=timezone.now())
        send()
    delivery = MessageDelivery.objects.get()
    assert (delivery.status, delivery.note) == (DeliveryStatus.SKIPPED, "The booking is no longer confirmed.")
    assert to_guest() == []


def test_a_deleted_template_closes_its_waiting_messages_and_keeps_the_ledger(stay, door_code, send, fake_cloud):
    template = door_code()
    with freeze_time(DUE):
        stay(lock_online=False)
        send()
        assert services.message_template_delete(template=template) == 1
    delivery = MessageDelivery.objects.get()
    assert (delivery.status, delivery.template_id, delivery.template_name) == (DeliveryStatus.SKIPPED, None, "Door code")


# --- on confirmation -------------------------------------------------------------------------------------

def test_on_confirmation_is_sent_when_the_booking_becomes_confirmed_and_only_then(make_property, book, host, after_commit):
    MessageTemplate.objects.create(
        host=host, name="Thanks", trigger=TriggerKind.ON_CONFIRMATION, subject="Booking confirmed",
        body="Thank you {{guest_name}}, see you on {{arrival_date}}.",
    )
    prop = make_property()
    with freeze_time("2026-05-01 10:00:00"):
        booking = book(prop, ARRIVAL, DEPARTURE, status=BookingStatus.PENDING, guest_email=GUEST)
        assert not MessageDelivery.objects.exists()
        after_commit(lambda: booking_services.booking_set_status(booking=booking, status=BookingStatus.CONFIRMED))
        assert [m.body for m in to_guest()] == ["Thank you Grace Guest, see you on Thursday 11 June 2026."]
        # Editing the confirmed booking, or saving it again, is not a new confirmation.
        after_commit(lambda: booking_services.booking_update(booking=booking, data={"guest_name": "Grace G."}))
        reloaded = Booking.objects.get(pk=booking.pk)
        after_commit(reloaded.save)
    assert len(to_guest()) == 1
    assert MessageDelivery.objects.get().trigger_key == "on_confirmation"


def test_a_booking_created_confirmed_gets_its_confirmation_message(make_property, host, after_commit):
    MessageTemplate.objects.create(
        host=host, name="Thanks", trigger=TriggerKind.ON_CONFIRMATION, subject="Hi", body="Thanks {{guest_name}}"
    )
    prop = make_property()
    with freeze_time("2026-05-01 10:00:00"):
        after_commit(lambda: booking_services.booking_create(host=host, data={
            "property": prop.pk, "guest_name": "Grace Guest", "guest_email": GUEST, "arrival_date": ARRIVAL,
            "departure_date": DEPARTURE, "status": BookingStatus.CONFIRMED,
        }))
    assert [m.body for m in to_guest()] == ["Thanks Grace Guest"]


def test_a_late_confirmation_gets_its_door_code_message_as_soon_as_the_code_is_active(
    assigned_property, book, door_code, after_commit, tick
):
    door_code()
    prop = assigned_property()
    with freeze_time("2026-06-11 09:00:00"):  # arrival day: the "day before" moment has passed, check-in has not
        booking = book(prop, ARRIVAL, DEPARTURE, status=BookingStatus.PENDING, guest_email=GUEST)
        after_commit(lambda: booking_services.booking_set_status(booking=booking, status=BookingStatus.CONFIRMED))
        tick()
    (message,) = to_guest()
    assert current(booking).pin in message.body


# --- code changes ------------------------------------------------------------------------------------------

def test_regenerated_code_tells_the_host_and_sends_the_change_message_once(stay, door_code, code_change, tick, send, after_commit):
    door_code()
    code_change()
    with freeze_time(DUE) as frozen:
        booking = stay()
        tick()
        send()
        old = current(booking)
        assert old.pin in to_guest()[0].body
        frozen.move_to("2026-06-10 12:00:00")
        after_commit(lambda: lifecycle.code_regenerate(code_id=old.pk))
        tick()  # the new code is created → codes_ready → notice + change message
        send()
        tick()
        send()
    new = current(booking)
    assert new.pk != old.pk and new.pin != old.pin and new.state == CodeState.ACTIVE
    guest = to_guest()
    assert [m.subject for m in guest] == ["Your door code for Flat L1", "Your new door code"]
    assert guest[1].body == f"Your door code changed: it is now {new.pin}."
    changed = MessageDelivery.objects.get(trigger_key=schedule.code_change_key(new.pk, new.vendor_code_id))
    assert (changed.status, changed.pin, changed.code_id) == (DeliveryStatus.SENT, new.pin, new.pk)
    notice = CodeChangeNotice.objects.get()
    assert (notice.previous_code_id, notice.previous_pin, notice.new_code_id, notice.new_pin) == (old.pk, old.pin, new.pk, new.pin)
    assert notice.change_messages == 1
    (told,) = [m for m in to_host() if m.subject.startswith("Door code changed")]
    assert "being sent to the guest automatically" in told.body and new.pin not in told.body


def test_without_a_change_template_the_host_is_asked_to_tell_the_guest(stay, door_code, tick, send, after_commit):
    door_code()
    with freeze_time(DUE) as frozen:
        booking = stay()
        tick()
        send()
        frozen.move_to("2026-06-10 12:00:00")
        after_commit(lambda: lifecycle.code_regenerate(code_id=current(booking).pk))
        tick()
        send()
    assert len(to_guest()) == 1
    (told,) = [m for m in to_host() if m.subject == "Door code changed for Grace Guest"]
    assert "Please send the guest their new code" in told.body
    assert CodeChangeNotice.objects.get().change_messages == 0


def test_a_lock_change_whose_new_lock_refuses_the_pin_is_a_change(
    stay, door_code, code_change, make_lock, tick, send, after_commit, fake_cloud
):
    door_code()
    code_change()
    with freeze_time(DUE) as frozen:
        booking = stay()
        tick()
        send()
        old = current(booking)
        new_lock = make_lock(vendor_lock_id="L2")
        start = datetime(2026, 1, 1, tzinfo=UTC)
        fake_cloud.locks["L2"].codes["taken"] = IssuedCode("taken", old.pin, start, start + timedelta(days=365), name="other")
        frozen.move_to("2026-06-10 12:00:00")
        after_commit(lambda: lifecycle.lock_assignment_set(prop=booking.property, lock=new_lock))
        tick()
        tick()
        send()
    new = current(booking)
    assert new.lock_id == new_lock.pk and new.pin != old.pin
    assert [m.subject for m in to_guest()] == ["Your door code for Flat L1", "Your new door code"]
    assert new.pin in to_guest()[1].body
    assert CodeChangeNotice.objects.filter(new_code=new).count() == 1


def test_a_lock_change_keeping_the_pin_is_not_a_change(stay, door_code, code_change, make_lock, tick, send, after_commit):
    door_code()
    code_change()
    with freeze_time(DUE) as frozen:
        booking = stay()
        tick()
        send()
        old = current(booking)
        new_lock = make_lock(vendor_lock_id="L2")
        frozen.move_to("2026-06-10 12:00:00")
        after_commit(lambda: lifecycle.lock_assignment_set(prop=booking.property, lock=new_lock))
        tick()
        send()
    new = current(booking)
    assert (new.lock_id, new.pin, new.state) == (new_lock.pk, old.pin, CodeState.ACTIVE)
    assert len(to_guest()) == 1 and not CodeChangeNotice.objects.exists()


def test_a_lost_code_ready_is_caught_by_the_beat_pass(stay, door_code, code_change, tick, send, after_commit, monkeypatch):
    door_code()
    code_change()
    with freeze_time(DUE) as frozen:
        booking = stay()
        tick()
        send()
        old = current(booking)
        frozen.move_to("2026-06-10 12:00:00")
        monkeypatch.setattr(ledger, "enqueue_booking", lambda booking_id: None)  # the event is lost
        after_commit(lambda: lifecycle.code_regenerate(code_id=old.pk))
        tick()
        assert current(booking).pk != old.pk and current(booking).state == CodeState.ACTIVE
        assert len(to_guest()) == 1 and not CodeChangeNotice.objects.exists()
        monkeypatch.undo()
        report = send()
    assert report.code_changes == 1
    assert [m.subject for m in to_guest()][1:] == ["Your new door code"]


def test_a_message_sent_while_the_code_changed_is_followed_by_the_change(stay, door_code, code_change, tick, after_commit):
    """The code changed between reading it and recording the send: the check after sending sees it."""
    with freeze_time(DUE):
        booking = stay()
        door_code()
        code_change()
        services.plan_due_messages(timezone.now())
        token, ids = services.claim_due(now=timezone.now())
        old = current(booking)
        real_send = services.CHANNELS["email"].send

        def send_then_change(delivery, recipient, subject, body, language):
            result = real_send(delivery, recipient, subject, body, language)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(ledger, "enqueue_booking", lambda booking_id: None)  # its codes_ready comes too early
                after_commit(lambda: lifecycle.code_regenerate(code_id=old.pk))
                tick()
            return result

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(services.CHANNELS["email"], "send", send_then_change)
            after_commit(lambda: services.process_deliveries(delivery_ids=ids, claim_token=token))
    new = current(booking)
    assert [m.body for m in to_guest()][-1] == f"Your door code changed: it is now {new.pin}."
    assert CodeChangeNotice.objects.get().new_code_id == new.pk


# --- retention, demo --------------------------------------------------------------------------------------

def test_personal_data_of_old_stays_can_be_erased(stay, door_code, tick, send):
    door_code()
    with freeze_time(DUE):
        stay()
        tick()
        send()
    assert services.deliveries_erase_personal_data(departed_before=DEPARTURE) == 0
    assert services.deliveries_erase_personal_data(departed_before=DEPARTURE + timedelta(days=1)) == 1
    delivery = MessageDelivery.objects.get()
    assert (delivery.pin, delivery.body, delivery.subject, delivery.recipient, delivery.status) == (
        None,
        None,
        None,
        "",
        DeliveryStatus.SENT,
    )


def test_seed_demo_messages_gives_the_demo_host_a_door_code_message(db, after_commit, fake_cloud, tick, send, settings):
    from django.contrib.auth import get_user_model

    from locks.models import LockAssignment, ProviderAccount

    settings.DEBUG = True  # demo mode, as `make run` runs the demo commands
    with freeze_time("2026-06-10 09:30:00"):  # 11:30 in Paris: the demo stay arrives tomorrow
        call_command("seed_demo")
        after_commit(lambda: call_command("seed_demo_messages"))
        after_commit(lambda: call_command("seed_demo_messages"))  # idempotent
        host = get_user_model().objects.get(username="demo-host")
        template = MessageTemplate.objects.get(host=host)
        assert (template.name, template.trigger, template.offset, template.send_at, template.is_active) == (
            "Door code", TriggerKind.BEFORE_CHECK_IN, 1, time(10), True,
        )
        assert template.uses_code
        booking = Booking.objects.get(guest_name=demo.DEMO_GUEST)
        assert booking.arrival_date == date(2026, 6, 11)
        # What `make run` does next: the demo lock is assigned, the code made, the message sent.
        account = ProviderAccount.objects.create(host=host, provider="ttlock", display_name="demo")
        fake_cloud.add_lock("D1")
        lock = Lock.objects.create(account=account, vendor_lock_id="D1", name="Front door", supports_remote_codes=True)
        assert template.channels == ["email", "sms", "whatsapp"] and booking.guest_phone == demo.DEMO_GUEST_PHONE
        send()
        assert set(MessageDelivery.objects.filter(booking=booking).values_list("channel", "status")) == {
            (channel, DeliveryStatus.WAITING_FOR_CODE) for channel in ("email", "sms", "whatsapp")
        }
        after_commit(lambda: lifecycle.lock_assignment_set(prop=booking.property, lock=lock))
        assert LockAssignment.objects.filter(property=booking.property).exists()
        tick()
    (message,) = [m for m in mail.outbox if m.to == [demo.DEMO_GUEST_EMAIL]]
    assert current(booking).pin in message.body and "Montmartre Loft" in message.subject


def test_the_demo_arrival_is_due_whatever_the_hour():
    assert demo.demo_arrival(datetime(2026, 6, 10, 7, 59, tzinfo=UTC), "Europe/Paris") == date(2026, 6, 10)  # 09:59 local
    assert demo.demo_arrival(datetime(2026, 6, 10, 8, 0, tzinfo=UTC), "Europe/Paris") == date(2026, 6, 11)  # 10:00 local


def test_code_ready_for_a_host_without_messages_enqueues_nothing(stay, tick, monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(tasks.send_booking_messages, "delay", sent.append)
    with freeze_time(DUE):
        booking = stay()  # the code is created and `codes_ready` sent, but there is no message to care
    assert current(booking).state == CodeState.ACTIVE
    assert sent == [] and not MessageDelivery.objects.exists()


def test_code_ready_for_a_host_with_messages_enqueues_the_booking(stay, door_code, monkeypatch):
    door_code()
    sent: list[int] = []
    monkeypatch.setattr(tasks.send_booking_messages, "delay", sent.append)
    with freeze_time(DUE):
        booking = stay()
    assert sent == [booking.pk]


def test_the_daily_retention_job_erases_old_messages_too(stay, door_code, tick, send, settings):
    from nowistay import retention

    door_code()
    with freeze_time(DUE):
        stay()
        tick()
        send()
    settings.RETENTION_GUEST_DATA_DAYS = 30
    with freeze_time(datetime.combine(DEPARTURE + timedelta(days=31), datetime.min.time())):
        summary = retention.prune_old_data()
    assert "1 sent messages' texts and PINs erased" in summary and "1 bookings anonymised" in summary
    delivery = MessageDelivery.objects.get()
    assert (delivery.pin, delivery.body, delivery.recipient) == (None, None, "")


def test_the_codes_ready_check_is_one_query_for_a_whole_batch_and_only_for_each_bookings_host(
    host, other_host, make_property, book, django_assert_num_queries
):
    booking = book(make_property(), ARRIVAL, DEPARTURE)
    others = [book(make_property(), ARRIVAL + timedelta(days=9 * n), DEPARTURE + timedelta(days=9 * n)) for n in range(1, 4)]
    everyone = [booking.pk, *(other.pk for other in others)]
    with django_assert_num_queries(1):
        assert services.bookings_with_messaging(everyone) == []
    MessageTemplate.objects.create(host=other_host, name="Theirs", trigger=TriggerKind.ON_CONFIRMATION, subject="s", body="b")
    assert services.bookings_with_messaging([booking.pk]) == []
    mine = MessageTemplate.objects.create(host=host, name="Mine", trigger=TriggerKind.ON_CONFIRMATION, subject="s", body="b")
    with django_assert_num_queries(1):
        assert sorted(services.bookings_with_messaging(everyone)) == sorted(everyone)
    MessageTemplate.objects.filter(pk=mine.pk).update(is_active=False)
    assert services.bookings_with_messaging([booking.pk]) == []
    MessageDelivery.objects.create(
        booking=booking, template_name="Mine", trigger_key="on_confirmation", due_at=datetime(2026, 6, 1, tzinfo=UTC)
    )
    assert services.bookings_with_messaging([booking.pk, others[0].pk]) == [booking.pk]
