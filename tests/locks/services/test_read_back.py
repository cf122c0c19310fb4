"""Reading a lock back (locks.services.read_back, reconcile): drift on the fake cloud is found,
recorded in plain words and repaired through the normal steps; other people's codes are listed
and never touched."""

from datetime import date, timedelta

import pytest
from django.core import mail
from freezegun import freeze_time

from locks import services
from locks.code_status import describe_code
from locks.models import AccessCode, CodeSource, CodeState, FindingKind, Lock, LockFinding, UnmanagedCode, VendorCall
from locks.providers import registry
from locks.providers.fake import READ_BACK
from locks.services.read_back import read_back_locks
from tests.helpers.lifecycle import current, on_lock, tick, utc

pytestmark = pytest.mark.django_db

CREATED = "2026-06-01 08:00:00"  # the stay (2-5 June, Paris) is inside its lead time: created at once


@pytest.fixture
def reading(fake_cloud, monkeypatch):
    """The fake TTLock cloud can be read back (listed, its log read, its health reported)."""
    monkeypatch.setattr(registry.PROVIDER_CLASSES["ttlock"], "capabilities", READ_BACK)
    return fake_cloud


@pytest.fixture
def stay(assigned_property, book, reading):
    def make(arrival=date(2026, 6, 2), departure=date(2026, 6, 5), **assignment):
        prop = assigned_property(**assignment)
        booking = book(prop, arrival, departure)
        services.booking_created(booking=booking)
        tick()
        assert current(booking).state == CodeState.ACTIVE
        return booking

    return make


def read_back(lock_id=None):
    lock = Lock.objects.get(pk=lock_id) if lock_id else Lock.objects.get()
    return read_back_locks(account_id=lock.account_id, lock_ids=[lock.pk])


def kinds():
    return sorted(LockFinding.objects.values_list("kind", flat=True))


def status_of(code):
    code = AccessCode.objects.select_related("lock__account", "booking__property").get(pk=code.pk)
    return describe_code(code, booking=code.booking, has_lock=True, now=utc(2026, 6, 1, 9))


class TestConfirmation:
    def test_a_write_is_confirmed_once_a_listing_shows_it(self, stay):
        with freeze_time(CREATED) as frozen:
            booking = stay()
            code = current(booking)
            assert code.confirmed_on_lock_at is None
            assert "sent, not yet confirmed on the lock" in status_of(code).text
            frozen.tick(timedelta(minutes=10))
            (result,) = read_back()
        assert result.action == "read"
        code = current(booking)
        assert code.confirmed_on_lock_at == utc(2026, 6, 1, 8, 10)
        assert "not yet confirmed" not in status_of(code).text
        assert kinds() == []

    def test_a_write_not_listed_yet_is_not_called_missing_within_the_listing_delay(self, stay, reading):
        with freeze_time(CREATED) as frozen:
            booking = stay()
            reading.wipe("L1")  # e.g. Nuki has not applied it yet
            frozen.tick(timedelta(seconds=30))
            read_back()
        assert current(booking).state == CodeState.ACTIVE and kinds() == []

    @pytest.mark.parametrize(
        "provider, note",
        [
            ("igloohome", "igloohome codes cannot be read back from the lock"),
            ("homeit", "homeit keys are not read back from the lock, so they cannot be confirmed there"),
        ],
    )
    def test_a_vendor_that_cannot_list_says_so(self, assigned_property, book, reading, provider, note):
        prop = assigned_property(provider=provider, vendor_lock_id="IG1")
        with freeze_time(CREATED):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        assert status_of(current(booking)).text.endswith(f" — {note}")


class TestDrift:
    def test_a_code_deleted_behind_our_back_is_put_back_with_the_same_pin(self, stay, reading):
        with freeze_time(CREATED) as frozen:
            booking = stay()
            before = current(booking)
            reading.delete_behind_our_back("L1", before.vendor_code_id)
            frozen.tick(timedelta(minutes=10))
            read_back()
            assert current(booking).state == CodeState.CREATING
            tick()
        after = current(booking)
        (issued,) = on_lock(reading)
        assert after.state == CodeState.ACTIVE and after.pk == before.pk
        assert issued.pin == before.pin == after.pin and issued.vendor_code_id == after.vendor_code_id != before.vendor_code_id
        (finding,) = LockFinding.objects.all()
        assert (finding.kind, finding.access_code_id) == (FindingKind.MISSING_ON_LOCK, before.pk)
        assert "Grace Guest's stay at Flat L1" in finding.detail and before.pin not in finding.detail
        (email,) = mail.outbox  # the host is told once, in the finding's words
        assert finding.detail in email.body and before.pin not in email.body
        assert LockFinding.objects.get().host_notified_at is not None

    def test_a_window_changed_in_the_vendor_app_is_restored(self, stay, reading):
        with freeze_time(CREATED) as frozen:
            booking = stay()
            code = current(booking)
            reading.change_code("L1", code.vendor_code_id, ends_at=code.ends_at + timedelta(days=3))
            frozen.tick(timedelta(minutes=10))
            read_back()
            assert current(booking).state == CodeState.UPDATING
            tick()
        (issued,) = on_lock(reading)
        assert (issued.vendor_code_id, issued.ends_at, issued.pin) == (code.vendor_code_id, code.ends_at, code.pin)
        (finding,) = LockFinding.objects.all()
        assert finding.kind == FindingKind.MODIFIED_EXTERNALLY and "its times" in finding.detail

    def test_a_pin_changed_in_the_vendor_app_is_replaced_by_ours(self, stay, reading):
        with freeze_time(CREATED) as frozen:
            booking = stay()
            code = current(booking)
            reading.change_code("L1", code.vendor_code_id, pin="246813")
            frozen.tick(timedelta(minutes=10))
            read_back()
            tick()
        (issued,) = on_lock(reading)
        assert issued.pin == code.pin and current(booking).state == CodeState.ACTIVE
        (finding,) = LockFinding.objects.all()
        assert finding.kind == FindingKind.MODIFIED_EXTERNALLY and "its PIN" in finding.detail
        assert "246813" not in finding.detail and code.pin not in finding.detail

    def test_a_write_that_landed_twice_and_a_lost_one_are_removed(self, stay, reading):
        with freeze_time(CREATED) as frozen:
            booking = stay()
            code = current(booking)
            twin = reading.duplicate("L1", code.vendor_code_id)
            stray = reading.add_unmanaged("L1", "nw-99999", "112358")  # named as ours, explained by no code
            frozen.tick(timedelta(minutes=10))
            read_back()
        (issued,) = on_lock(reading)
        assert issued.vendor_code_id == code.vendor_code_id
        assert kinds() == [FindingKind.ORPHAN_REMOVED] * 2
        assert set(LockFinding.objects.values_list("vendor_code_id", flat=True)) == {twin.vendor_code_id, stray.vendor_code_id}
        assert not UnmanagedCode.objects.exists()

    def test_a_lost_create_still_looked_for_is_no_orphan(self, stay, reading):
        with freeze_time(CREATED) as frozen:
            booking = stay()
            code = current(booking)
            # Our row no longer knows the vendor id (e.g. an answer lost): a step is under way.
            AccessCode.objects.filter(pk=code.pk).update(state=CodeState.CREATING, vendor_code_id="", create_outcome_unknown=True)
            frozen.tick(timedelta(minutes=10))
            read_back()
        assert len(on_lock(reading)) == 1 and kinds() == []

    def test_a_wiped_lock_gets_every_code_back(self, stay, assigned_property, book, reading):
        with freeze_time(CREATED) as frozen:
            first = stay()
            second = book(first.property, date(2026, 6, 5), date(2026, 6, 6))
            services.booking_created(booking=second)
            tick()
            pins = {current(first).pin, current(second).pin}
            reading.wipe("L1")
            frozen.tick(timedelta(minutes=10))
            read_back()
            tick()
        assert {issued.pin for issued in on_lock(reading)} == pins
        assert kinds() == [FindingKind.MISSING_ON_LOCK] * 2


class TestUnmanagedCodes:
    def test_listed_for_the_host_never_touched_and_dropped_once_gone(self, stay, reading):
        with freeze_time(CREATED) as frozen:
            stay()
            cleaner = reading.add_unmanaged("L1", "Cleaner", "135790", utc(2026, 6, 1), utc(2026, 7, 1))
            frozen.tick(timedelta(minutes=10))
            read_back()
            frozen.tick(timedelta(hours=3))
            read_back()  # seen again: no second finding
        (row,) = UnmanagedCode.objects.all()
        assert (row.name, row.pin, row.vendor_code_id) == ("Cleaner", "135790", cleaner.vendor_code_id)
        (finding,) = LockFinding.objects.all()
        assert finding.kind == FindingKind.UNMANAGED_CODE and "“Cleaner”" in finding.detail and "135790" not in finding.detail
        assert cleaner in on_lock(reading)
        touched = VendorCall.objects.filter(operation__in=["delete_code", "update_code"]).count()
        assert touched == 0
        assert mail.outbox == []  # shown on the lock's panel, not emailed
        with freeze_time("2026-06-01 12:00:00"):
            reading.delete_behind_our_back("L1", cleaner.vendor_code_id)
            read_back()
        assert not UnmanagedCode.objects.exists()

    def test_its_pin_is_never_chosen_for_a_guest(self, assigned_property, book, reading):
        prop = assigned_property(code_source=CodeSource.GUEST_PHONE)
        with freeze_time(CREATED) as frozen:
            first = book(prop, date(2026, 6, 2), date(2026, 6, 3), guest_phone="+33 6 00 00 00 01")
            services.booking_created(booking=first)
            tick()
            reading.add_unmanaged("L1", "Owner", "345678")  # the next guest's phone ends in 345678
            frozen.tick(timedelta(minutes=10))
            read_back()
            second = book(prop, date(2026, 6, 3), date(2026, 6, 4))
            services.booking_created(booking=second)
            tick()
        code = current(second)
        assert code.state == CodeState.ACTIVE and code.pin != "345678"
        assert code.pin_rejections == 0  # never sent to the lock to be refused


class TestCapacity:
    def test_a_lock_near_full_is_warned_about_once_a_day(self, stay, reading):
        with freeze_time(CREATED) as frozen:
            stay()
            reading.set_health("L1", capacity=2)
            reading.add_unmanaged("L1", "Owner", "975310")
            frozen.tick(timedelta(minutes=10))
            read_back()
            frozen.tick(timedelta(hours=2))
            read_back()
        assert kinds() == [FindingKind.CAPACITY_LOW, FindingKind.UNMANAGED_CODE]
        lock = Lock.objects.get(vendor_lock_id="L1")
        assert (lock.codes_held, lock.code_capacity) == (2, 2)
        assert "holds 2 of the 2 codes" in LockFinding.objects.get(kind=FindingKind.CAPACITY_LOW).detail
        with freeze_time("2026-06-02 08:30:00"):
            read_back(lock.pk)
        assert LockFinding.objects.filter(kind=FindingKind.CAPACITY_LOW).count() == 2
