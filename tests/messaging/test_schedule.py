"""When scheduled guest messages fall due (messaging/schedule.py), in each property's time zone,
across daylight-saving changes; and the beat pass sending them at that moment, once."""

from datetime import date, time, timedelta

import pytest
from django.core import mail
from freezegun import freeze_time

from messaging import schedule, services
from messaging.models import DeliveryStatus, MessageDelivery, MessageTemplate, OffsetUnit, TriggerKind
from tests.helpers.lifecycle import utc


def stay(arrival, departure, tz_name, check_in=time(15), check_out=time(11)) -> schedule.Stay:
    return schedule.Stay(arrival=arrival, departure=departure, tz_name=tz_name, check_in=check_in, check_out=check_out)


DAY_BEFORE_AT_10 = schedule.Trigger(schedule.BEFORE_CHECK_IN, offset=1, unit=schedule.DAYS, at=time(10))


class TestOccurrence:
    def test_paris_before_and_after_the_spring_forward_sunday(self):
        # 29 March 2026 is the last Sunday of March: 02:00 CET jumps to 03:00 CEST.
        arriving_on_the_sunday = schedule.occurrence(DAY_BEFORE_AT_10, stay(date(2026, 3, 29), date(2026, 4, 1), "Europe/Paris"))
        assert arriving_on_the_sunday.due_at == utc(2026, 3, 28, 9, 0)  # 10:00 CET
        assert arriving_on_the_sunday.expires_at == utc(2026, 3, 29, 13, 0)  # check-in 15:00 CEST
        arriving_the_day_after = schedule.occurrence(DAY_BEFORE_AT_10, stay(date(2026, 3, 30), date(2026, 4, 1), "Europe/Paris"))
        assert arriving_the_day_after.due_at == utc(2026, 3, 29, 8, 0)  # 10:00 CEST

    def test_hours_before_check_in_are_real_hours_across_the_change(self):
        trigger = schedule.Trigger(schedule.BEFORE_CHECK_IN, offset=24, unit=schedule.HOURS)
        due = schedule.occurrence(trigger, stay(date(2026, 3, 29), date(2026, 4, 1), "Europe/Paris")).due_at
        # Check-in 15:00 CEST = 13:00 UTC; 24 real hours earlier is 14:00 CET on the wall clock.
        assert due == utc(2026, 3, 28, 13, 0)

    def test_a_local_time_skipped_by_the_change_moves_forward_by_the_gap(self):
        trigger = schedule.Trigger(schedule.ARRIVAL_DAY, at=time(2, 30))
        assert schedule.occurrence(trigger, stay(date(2026, 3, 29), date(2026, 4, 1), "Europe/Paris")).due_at == utc(2026, 3, 29, 1, 30)

    def test_a_repeated_local_time_takes_its_first_occurrence(self):
        # New York falls back on 1 November 2026: 01:30 happens in EDT, then in EST.
        trigger = schedule.Trigger(schedule.ARRIVAL_DAY, at=time(1, 30))
        assert schedule.occurrence(trigger, stay(date(2026, 11, 1), date(2026, 11, 3), "America/New_York")).due_at == utc(
            2026, 11, 1, 5, 30
        )

    def test_new_york_spring_forward(self):
        # 8 March 2026: New York springs forward. 10:00 that day is EDT (UTC-4).
        occurrence = schedule.occurrence(DAY_BEFORE_AT_10, stay(date(2026, 3, 9), date(2026, 3, 12), "America/New_York"))
        assert occurrence.due_at == utc(2026, 3, 8, 14, 0)
        assert occurrence.key == "before_check_in:2026-03-09"

    def test_kathmandu_quarter_hour_offset(self):
        occurrence = schedule.occurrence(DAY_BEFORE_AT_10, stay(date(2026, 6, 11), date(2026, 6, 13), "Asia/Kathmandu"))
        assert occurrence.due_at == utc(2026, 6, 10, 4, 15)  # 10:00 at UTC+05:45

    def test_after_check_out_in_hours(self):
        trigger = schedule.Trigger(schedule.AFTER_CHECK_OUT, offset=3, unit=schedule.HOURS)
        occurrence = schedule.occurrence(trigger, stay(date(2026, 3, 29), date(2026, 4, 1), "Europe/Paris", check_out=time(10)))
        assert occurrence.due_at == utc(2026, 4, 1, 11, 0)  # 10:00 CEST + 3 h
        assert occurrence.key == "after_check_out:2026-04-01"

    def test_arrival_day_expires_at_local_midnight(self):
        trigger = schedule.Trigger(schedule.ARRIVAL_DAY, at=time(18))
        occurrence = schedule.occurrence(trigger, stay(date(2026, 6, 11), date(2026, 6, 12), "Asia/Kathmandu"))
        assert occurrence.due_at == utc(2026, 6, 11, 12, 15)
        assert occurrence.expires_at == utc(2026, 6, 11, 18, 15)

    def test_on_confirmation_is_an_event(self):
        with pytest.raises(ValueError):
            schedule.occurrence(schedule.Trigger(schedule.ON_CONFIRMATION), stay(date(2026, 6, 11), date(2026, 6, 12), "UTC"))


# --- through the beat pass -------------------------------------------------------------------------

@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def run_pass():
        with django_capture_on_commit_callbacks(execute=True):
            return services.run_pass(dispatch=services.process_inline)

    return run_pass


@pytest.fixture
def welcome(host):
    """A message without the door code: its timing is tested alone."""

    def make(**fields):
        defaults = dict(
            host=host, name="Welcome", trigger=TriggerKind.BEFORE_CHECK_IN, offset=1, offset_unit=OffsetUnit.DAYS,
            send_at=time(10), subject="See you soon at {{property_name}}", body="Hello {{guest_name}}, check-in from {{check_in_time}}.",
        )
        defaults.update(fields)
        return MessageTemplate.objects.create(**defaults)

    return make


def guest_emails():
    return [message for message in mail.outbox if message.to == ["grace@guest.example"]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "time_zone, arrival, due",
    [
        ("Europe/Paris", date(2026, 3, 29), utc(2026, 3, 28, 9, 0)),  # the day before the spring-forward Sunday: CET
        ("Europe/Paris", date(2026, 3, 30), utc(2026, 3, 29, 8, 0)),  # on the Sunday itself: already CEST
        ("America/New_York", date(2026, 3, 9), utc(2026, 3, 8, 14, 0)),
        ("Asia/Kathmandu", date(2026, 6, 11), utc(2026, 6, 10, 4, 15)),
    ],
)
def test_the_pass_sends_at_the_local_moment_once(make_property, book, welcome, run, time_zone, arrival, due):
    prop = make_property(time_zone=time_zone, name="Flat")
    welcome()
    book(prop, arrival, arrival + timedelta(days=2), guest_email="grace@guest.example")
    with freeze_time(due - timedelta(minutes=1)):
        run()
    assert guest_emails() == [] and not MessageDelivery.objects.exists()
    with freeze_time(due):
        report = run()
        run()  # a second pass (or a task run twice) sends nothing more
    assert report.planned == 1 and report.actions["sent"] == 1
    (sent,) = guest_emails()
    assert sent.subject == "See you soon at Flat"
    assert sent.body == "Hello Grace Guest, check-in from 15:00."
    delivery = MessageDelivery.objects.get()
    assert (delivery.status, delivery.sent_at, delivery.due_at) == (DeliveryStatus.SENT, due, due)
    assert delivery.pin is None and delivery.code_id is None


@pytest.mark.django_db
def test_a_template_limited_to_other_properties_is_not_sent(make_property, book, welcome, run):
    here = make_property(name="Here")
    there = make_property(name="There")
    template = welcome()
    template.properties.set([there])
    book(here, date(2026, 6, 11), date(2026, 6, 13), guest_email="grace@guest.example")
    book(there, date(2026, 6, 11), date(2026, 6, 13), guest_email="other@guest.example")
    with freeze_time("2026-06-10 08:00:00"):
        run()
    assert [m.to for m in mail.outbox] == [["other@guest.example"]]


@pytest.mark.django_db
def test_another_hosts_template_is_not_used(make_property, book, other_host, welcome, run):
    welcome(host=other_host)
    book(make_property(), date(2026, 6, 11), date(2026, 6, 13), guest_email="grace@guest.example")
    with freeze_time("2026-06-10 08:00:00"):
        assert run().planned == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_pending_and_cancelled_bookings_get_nothing(make_property, book, welcome, run):
    prop = make_property()
    welcome()
    book(prop, date(2026, 6, 11), date(2026, 6, 13), status="pending", guest_email="grace@guest.example")
    book(prop, date(2026, 6, 11), date(2026, 6, 13), status="cancelled", guest_email="grace@guest.example")
    with freeze_time("2026-06-10 08:00:00"):
        run()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_late_booking_still_gets_its_message_until_check_in_but_not_after(make_property, book, welcome, run):
    prop = make_property()  # Paris
    welcome()
    book(prop, date(2026, 6, 11), date(2026, 6, 13), guest_email="grace@guest.example")
    with freeze_time("2026-06-11 12:59:00"):  # due the day before at 10:00; check-in 15:00 CEST = 13:00 UTC
        run()
    assert len(guest_emails()) == 1
    book(prop, date(2026, 6, 11), date(2026, 6, 13), guest_name="Late Larry", guest_email="larry@guest.example")
    with freeze_time("2026-06-11 13:00:00"):
        run()
    assert [m.to for m in mail.outbox] == [["grace@guest.example"]]


@pytest.mark.django_db
def test_moved_dates_send_again_for_the_new_dates_and_drop_the_old_occurrence(make_property, book, welcome, run):
    prop = make_property()
    welcome()
    booking = book(prop, date(2026, 6, 11), date(2026, 6, 13), guest_email="grace@guest.example")
    with freeze_time("2026-06-10 08:00:00"):
        run()
        booking.arrival_date, booking.departure_date = date(2026, 6, 20), date(2026, 6, 22)
        booking.save()
        run()
    assert len(guest_emails()) == 1
    with freeze_time("2026-06-19 08:00:00"):
        run()
    assert len(guest_emails()) == 2
    assert sorted(MessageDelivery.objects.values_list("trigger_key", flat=True)) == [
        "before_check_in:2026-06-11", "before_check_in:2026-06-20",
    ]


@pytest.mark.django_db
def test_arrival_day_and_after_check_out_triggers(make_property, book, welcome, run):
    prop = make_property(time_zone="Asia/Kathmandu")
    welcome(name="Arrival", trigger=TriggerKind.ARRIVAL_DAY, offset=None, send_at=time(9), body="Welcome {{guest_name}}")
    welcome(name="Thanks", trigger=TriggerKind.AFTER_CHECK_OUT, offset=2, send_at=None, body="Thanks, {{guest_name}}")
    book(prop, date(2026, 6, 11), date(2026, 6, 13), guest_email="grace@guest.example")
    with freeze_time("2026-06-11 03:14:00"):  # 08:59 in Kathmandu
        run()
    assert mail.outbox == []
    with freeze_time("2026-06-11 03:15:00"):
        run()
    assert [m.body for m in mail.outbox] == ["Welcome Grace Guest"]
    with freeze_time("2026-06-13 07:14:00"):  # check-out 11:00 +05:45 = 05:15 UTC; +2 h = 07:15
        run()
    assert len(mail.outbox) == 1
    with freeze_time("2026-06-13 07:15:00"):
        run()
    assert [m.body for m in mail.outbox] == ["Welcome Grace Guest", "Thanks, Grace Guest"]


@pytest.mark.django_db
def test_the_booking_and_property_times_are_used(make_property, book, welcome, run):
    prop = make_property(default_check_in_time=time(16, 30))
    welcome(offset=2, offset_unit=OffsetUnit.HOURS, send_at=None)
    book(prop, date(2026, 6, 11), date(2026, 6, 13), guest_email="grace@guest.example", check_in_time=time(13))
    with freeze_time("2026-06-11 08:59:00"):  # 13:00 CEST = 11:00 UTC; 2 h before is 09:00 UTC
        run()
    assert mail.outbox == []
    with freeze_time("2026-06-11 09:00:00"):
        run()
    assert guest_emails()[0].body == "Hello Grace Guest, check-in from 13:00."


@pytest.mark.django_db
def test_a_booking_with_unusable_dates_does_not_stop_the_pass(make_property, book, welcome, run):
    prop = make_property()
    welcome()
    book(prop, date(9999, 12, 30), date(9999, 12, 31), guest_email="far@guest.example")  # no UTC moment exists
    book(prop, date(2026, 6, 11), date(2026, 6, 13), guest_email="grace@guest.example")
    with freeze_time("9999-12-29 08:00:00"):
        run()
    with freeze_time("2026-06-10 08:00:00"):
        run()
    assert [m.to for m in mail.outbox] == [["grace@guest.example"]]


def test_a_code_change_key_names_the_code_row_and_the_vendors_code():
    key = schedule.code_change_key(42, "1001")
    assert key != schedule.code_change_key(42, "1002") and key != schedule.code_change_key(43, "1001")
    assert len(schedule.code_change_key(2**63 - 1, "x" * 64)) <= 64  # MessageDelivery.trigger_key
    assert schedule.is_code_change_key_of(key, 42, "1001")
    assert not schedule.is_code_change_key_of(key, 42, "1002")  # created again on its lock since
    assert schedule.is_code_change_key_of("code_change:42", 42, "1002")  # planned before keys named the vendor's code
    assert not schedule.is_code_change_key_of("code_change:4", 42, "1002")
