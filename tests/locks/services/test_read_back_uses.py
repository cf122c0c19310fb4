"""Reading a lock back: its access log into each code's first and latest use, the host's emails
(first entry, a code not used on check-in day) and the lock's health alert, on the fake cloud."""

from datetime import date

import pytest
from django.core import mail
from freezegun import freeze_time

from locks import services
from locks.models import CodeState, FindingKind, Lock, LockFinding, VendorCall
from locks.providers import registry
from locks.providers.fake import READ_BACK
from locks.services.read_back import read_back_locks
from tests.helpers.lifecycle import current, tick, utc

pytestmark = pytest.mark.django_db

CREATED = "2026-06-01 08:00:00"  # the stay (2-5 June, Paris, check-in 15:00 = 13:00Z) is created at once


@pytest.fixture
def reading(fake_cloud, monkeypatch):
    monkeypatch.setattr(registry.PROVIDER_CLASSES["ttlock"], "capabilities", READ_BACK)
    return fake_cloud


@pytest.fixture
def stay(assigned_property, book, reading):
    def make(**assignment):
        prop = assigned_property(**assignment)
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        with freeze_time(CREATED):
            services.booking_created(booking=booking)
            tick()
        assert current(booking).state == CodeState.ACTIVE
        return booking

    return make


def read_back_at(moment: str):
    with freeze_time(moment):
        lock = Lock.objects.get()
        return read_back_locks(account_id=lock.account_id, lock_ids=[lock.pk])


class TestUses:
    def test_first_and_latest_use_by_code_id_name_or_pin(self, stay, reading):
        booking = stay()
        code = current(booking)
        reading.record_use("L1", utc(2026, 6, 2, 13, 0), vendor_code_id=code.vendor_code_id)
        read_back_at("2026-06-02 13:05:00")
        code = current(booking)
        assert (code.first_used_at, code.last_used_at) == (utc(2026, 6, 2, 13, 0), utc(2026, 6, 2, 13, 0))
        reading.record_use("L1", utc(2026, 6, 2, 18, 0), pin=code.pin)
        reading.record_use("L1", utc(2026, 6, 3, 9, 0), name=code.vendor_name)
        reading.record_use("L1", utc(2026, 6, 3, 9, 30), pin="000111")  # someone else's code
        read_back_at("2026-06-03 10:00:00")
        code = current(booking)
        assert (code.first_used_at, code.last_used_at) == (utc(2026, 6, 2, 13, 0), utc(2026, 6, 3, 9, 0))

    def test_the_host_is_emailed_once_when_the_guest_first_enters(self, stay, reading):
        booking = stay(notify_first_entry=True)
        code = current(booking)
        reading.record_use("L1", utc(2026, 6, 2, 13, 42), vendor_code_id=code.vendor_code_id)
        read_back_at("2026-06-02 13:50:00")
        reading.record_use("L1", utc(2026, 6, 2, 16, 0), vendor_code_id=code.vendor_code_id)
        read_back_at("2026-06-02 16:10:00")
        (email,) = mail.outbox
        assert email.subject == "Grace Guest has arrived at Flat L1"
        assert "15:42 on 2 June 2026" in email.body and code.pin not in email.body

    def test_no_email_unless_asked(self, stay, reading):
        code = current(stay())
        reading.record_use("L1", utc(2026, 6, 2, 13, 42), vendor_code_id=code.vendor_code_id)
        read_back_at("2026-06-02 13:50:00")
        read_back_at("2026-06-02 22:30:00")
        assert mail.outbox == []

    def test_a_code_never_used_by_the_end_of_check_in_day_is_emailed_about_once(self, stay, reading):
        booking = stay(notify_unused_code=True)
        read_back_at("2026-06-02 21:50:00")  # 23:50 in Paris: the day is not over
        assert mail.outbox == []
        read_back_at("2026-06-02 22:05:00")
        read_back_at("2026-06-02 23:05:00")
        (email,) = mail.outbox
        assert email.subject == "Grace Guest's door code was not used on check-in day"
        assert current(booking).unused_notified_at == utc(2026, 6, 2, 22, 5)

    def test_a_used_code_is_not_emailed_about(self, stay, reading):
        code = current(stay(notify_unused_code=True))
        reading.record_use("L1", utc(2026, 6, 2, 20, 0), vendor_code_id=code.vendor_code_id)
        read_back_at("2026-06-02 22:05:00")
        assert mail.outbox == []


class TestHealth:
    def test_a_low_battery_emails_the_host_once_and_again_only_after_recovery(self, stay, reading):
        stay()
        reading.set_health("L1", battery=15)
        read_back_at("2026-06-01 09:00:00")
        read_back_at("2026-06-01 11:00:00")
        (email,) = mail.outbox
        assert email.subject == "Your lock Door L1 needs attention"
        assert "battery is at 15 %" in email.body and "Flat L1" in email.body and "Grace Guest's stay at Flat L1" in email.body
        lock = Lock.objects.get()
        assert lock.battery_percent == 15 and lock.health_alert_sent_at == utc(2026, 6, 1, 9)
        assert list(LockFinding.objects.values_list("kind", flat=True)) == [FindingKind.BATTERY_LOW]
        reading.set_health("L1", battery=90)
        read_back_at("2026-06-01 13:00:00")
        assert Lock.objects.get().health_alert_sent_at is None
        reading.set_health("L1", battery=12)
        read_back_at("2026-06-01 15:00:00")
        assert len(mail.outbox) == 2

    def test_a_lock_offline_for_a_day_emails_the_host(self, stay, reading):
        stay()
        reading.set_health("L1", online=False)
        read_back_at("2026-06-01 09:00:00")
        read_back_at("2026-06-01 20:00:00")
        assert mail.outbox == []
        assert Lock.objects.get().offline_since == utc(2026, 6, 1, 9)
        read_back_at("2026-06-02 09:30:00")
        (email,) = mail.outbox
        assert "offline since 11:00 on 1 June 2026" in email.body
        reading.set_health("L1", online=True)
        read_back_at("2026-06-02 11:00:00")
        lock = Lock.objects.get()
        assert (lock.offline_since, lock.health_alert_sent_at, lock.is_online) == (None, None, True)


def test_every_read_is_in_the_vendor_call_audit(stay, reading):
    stay()
    read_back_at("2026-06-01 09:00:00")
    operations = sorted(VendorCall.objects.exclude(operation="create_code").values_list("operation", flat=True))
    assert operations == ["code_uses", "list_codes", "lock_health"]
