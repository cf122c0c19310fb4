"""No guest left outside (issue 20): the escalation ladder and the backup codes on the fake cloud,
with real scheduler passes under freezegun. The stay: 2-5 June in Paris, check-in 15:00 (13:00 UTC)."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from locks import services
from locks.models import (
    AccessCode,
    BackupCode,
    BackupState,
    CodeState,
    FallbackKind,
    FindingKind,
    LadderStep,
    Lock,
    LockFinding,
    UnmanagedCode,
)
from locks.providers import registry
from locks.providers.base import Capabilities
from locks.providers.exceptions import VendorUnavailable
from locks.providers.fake import READ_BACK
from locks.services.backup_pool import backup_pins, tend_pools
from locks.services.ladder import run_ladder
from locks.services.read_back import read_back_locks
from messaging.ledger import code_values, is_usable
from tests.helpers.lifecycle import current, tick, utc

pytestmark = pytest.mark.django_db

CHECK_IN = utc(2026, 6, 2, 13, 0)


@pytest.fixture
def offline_stay(assigned_property, book, fake_cloud):
    """A Tedee-like lock (chosen PINs, no offline codes) with its backups programmed, then offline
    from before the code's generation to well after check-in."""

    def make(**assignment):
        prop = assigned_property(provider="tedee", **assignment)
        with freeze_time("2026-05-27 08:00:00"):
            tend_pools(utc(2026, 5, 27, 8))
        fake_cloud.locks["L1"].online = False
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        with freeze_time("2026-05-28 09:00:00"):
            services.booking_created(booking=booking)
            tick()
        assert current(booking).state == CodeState.CREATING
        return booking

    return make


@pytest.fixture
def ladder_at(django_capture_on_commit_callbacks):
    """One scheduler pass and one ladder pass at `moment`, their after-commit work (emails) done."""

    def run(moment):
        with freeze_time(moment), django_capture_on_commit_callbacks(execute=True):
            tick()
            return run_ladder(moment)

    return run


def kinds(booking):
    return list(LadderStep.objects.filter(booking=booking).values_list("kind", flat=True))


class TestBackupPool:
    def test_two_backups_are_kept_on_the_lock_with_pins_no_guest_code_takes(self, assigned_property, fake_cloud):
        assigned_property(provider="tedee")
        with freeze_time("2026-05-27 08:00:00"):
            assert tend_pools(utc(2026, 5, 27, 8)) == 2
        backups = list(BackupCode.objects.order_by("pk"))
        assert [backup.state for backup in backups] == [BackupState.READY, BackupState.READY]
        on_lock = {code.vendor_code_id: code for code in fake_cloud.codes_on("L1")}
        assert {on_lock[b.vendor_code_id].name for b in backups} == {b.vendor_name for b in backups}
        assert len({b.pin for b in backups}) == 2 and backup_pins(Lock.objects.get().pk) == {b.pin for b in backups}
        assert all(b.ends_at - b.starts_at == timedelta(days=30) for b in backups)

    def test_tending_full_pools_costs_the_same_queries_whatever_the_number_of_locks(self, assigned_property, fake_cloud):
        counts = []
        for locks in (2, 12):
            for n in range(locks - (2 if counts else 0)):
                assigned_property(provider="tedee", vendor_lock_id=f"T{locks}-{n}")
            with freeze_time("2026-05-27 08:00:00"):
                tend_pools(utc(2026, 5, 27, 8))  # fills the new pools
                with CaptureQueriesContext(connection) as queries:
                    assert tend_pools(utc(2026, 5, 27, 8, 10)) == 0
            counts.append(len(queries.captured_queries))
        assert BackupCode.objects.filter(state=BackupState.READY).count() == 2 * 12
        assert counts[0] == counts[1] <= 4

    def test_rotated_before_their_end_and_trimmed_to_the_hosts_number(self, assigned_property, fake_cloud):
        prop = assigned_property(provider="tedee")
        with freeze_time("2026-05-27 08:00:00"):
            tend_pools(utc(2026, 5, 27, 8))
        first = set(BackupCode.objects.values_list("vendor_code_id", flat=True))
        with freeze_time("2026-06-20 08:00:00"):  # 6 days before their end
            tend_pools(utc(2026, 6, 20, 8))
        ready = set(BackupCode.objects.filter(state=BackupState.READY).values_list("vendor_code_id", flat=True))
        assert len(ready) == 2 and not ready & first
        assert {code.vendor_code_id for code in fake_cloud.codes_on("L1")} == ready  # the old ones removed
        prop.lock_assignment.backup_codes = 1
        prop.lock_assignment.save()
        with freeze_time("2026-06-20 09:00:00"):
            tend_pools(utc(2026, 6, 20, 9))
        assert len(fake_cloud.codes_on("L1")) == 1

    def test_a_vendor_with_offline_codes_keeps_none(self, assigned_property, fake_cloud):
        assigned_property(provider="igloohome", vendor_lock_id="IG1")
        assert tend_pools(utc(2026, 5, 27, 8)) == 0 and not BackupCode.objects.exists()

    def test_an_offline_lock_gets_its_backups_once_it_is_back(self, assigned_property, fake_cloud):
        assigned_property(provider="tedee")
        fake_cloud.add_lock("L1", online=False)
        tend_pools(utc(2026, 5, 27, 8))
        assert BackupCode.objects.filter(state=BackupState.PROGRAMMING).count() == 2
        fake_cloud.locks["L1"].online = True
        tend_pools(utc(2026, 5, 27, 9))
        assert BackupCode.objects.filter(state=BackupState.READY).count() == 2


class TestReadBackKnowsTheBackups:
    def test_backups_are_neither_unmanaged_nor_orphans_but_a_stray_one_is_removed(self, assigned_property, fake_cloud, monkeypatch):
        monkeypatch.setattr(registry.PROVIDER_CLASSES["tedee"], "capabilities", READ_BACK)
        assigned_property(provider="tedee")
        with freeze_time("2026-05-27 08:00:00"):
            tend_pools(utc(2026, 5, 27, 8))
        stray = fake_cloud.add_unmanaged("L1", "nw-b99", "404142", utc(2026, 5, 1), utc(2026, 7, 1))  # a lost backup write
        lock = Lock.objects.get()
        with freeze_time("2026-05-27 09:00:00"):
            (result,) = read_back_locks(account_id=lock.account_id, lock_ids=[lock.pk])
        assert result.action == "read" and not UnmanagedCode.objects.exists()
        assert list(LockFinding.objects.values_list("kind", "vendor_code_id")) == [(FindingKind.ORPHAN_REMOVED, stray.vendor_code_id)]
        on_lock = {code.vendor_code_id for code in fake_cloud.codes_on("L1")}
        assert on_lock == set(BackupCode.objects.values_list("vendor_code_id", flat=True))


class TestLadder:
    def test_warned_then_given_a_backup_then_reminded(self, offline_stay, fake_cloud, ladder_at):
        booking = offline_stay()
        stuck = current(booking)
        assert ladder_at(CHECK_IN - timedelta(hours=25)) == 0
        mail.outbox.clear()
        ladder_at(CHECK_IN - timedelta(hours=24))
        assert kinds(booking) == ["host_warned"]
        assert "not on the lock yet" in mail.outbox[-1].body

        ladder_at(CHECK_IN - timedelta(hours=2))
        given = current(booking)
        assert given.fallback == FallbackKind.BACKUP and given.pk != stuck.pk
        backup = BackupCode.objects.get(access_code=given)
        assert given.pin == backup.pin and given.vendor_code_id == backup.vendor_code_id
        assert given.state == CodeState.UPDATING and is_usable(given)  # already opens for the whole stay
        assert (code_values(given).valid_from, code_values(given).valid_until) == (given.starts_at, given.ends_at)
        assert AccessCode.objects.get(pk=stuck.pk).state == CodeState.REVOKED
        assert kinds(booking) == ["host_warned", "fallback_sent"]
        assert "backup codes" in mail.outbox[-1].body and "+33 6 12 34 56 78" in mail.outbox[-1].body
        assert backup.pin not in mail.outbox[-1].body

        ladder_at(CHECK_IN)
        assert kinds(booking) == ["host_warned", "fallback_sent", "host_reminded"]
        assert "+33 6 12 34 56 78" in mail.outbox[-1].body
        assert ladder_at(CHECK_IN + timedelta(hours=1)) == 0  # each step once

        fake_cloud.locks["L1"].online = True
        with freeze_time(CHECK_IN + timedelta(hours=2)):
            tick()
        narrowed = current(booking)
        (on_lock,) = [code for code in fake_cloud.codes_on("L1") if code.vendor_code_id == narrowed.vendor_code_id]
        assert narrowed.state == CodeState.ACTIVE and (on_lock.starts_at, on_lock.ends_at) == (narrowed.starts_at, narrowed.ends_at)

    def test_after_the_stay_the_backup_is_removed_and_replaced(self, offline_stay, fake_cloud, ladder_at):
        booking = offline_stay()
        ladder_at(CHECK_IN - timedelta(hours=2))
        given = current(booking)
        fake_cloud.locks["L1"].online = True
        with freeze_time(given.ends_at + timedelta(minutes=5)):
            tick()  # narrowed to the stay, which is over
            tick()  # removed
            tend_pools(given.ends_at + timedelta(minutes=5))
        assert AccessCode.objects.get(pk=given.pk).state == CodeState.EXPIRED
        assert BackupCode.objects.get(vendor_code_id=given.vendor_code_id).state == BackupState.GONE
        assert given.vendor_code_id not in {code.vendor_code_id for code in fake_cloud.codes_on("L1")}
        assert BackupCode.objects.filter(state=BackupState.READY).count() == 2

    def test_no_backup_left_tells_the_host_at_once(self, offline_stay, ladder_at):
        booking = offline_stay(backup_codes=0)
        BackupCode.objects.update(state=BackupState.GONE)
        mail.outbox.clear()
        ladder_at(CHECK_IN - timedelta(hours=2))
        assert "no_fallback" in kinds(booking) and current(booking).fallback == ""
        assert mail.outbox[-1].subject.startswith("Urgent: no door code")

    def test_a_code_that_reaches_the_lock_ends_the_ladder(self, offline_stay, fake_cloud, ladder_at):
        booking = offline_stay()
        fake_cloud.locks["L1"].online = True
        with freeze_time(CHECK_IN - timedelta(hours=30)):
            tick()
        assert current(booking).state == CodeState.ACTIVE
        for hours in (24, 2, 0):
            ladder_at(CHECK_IN - timedelta(hours=hours))
        assert kinds(booking) == []

    def test_the_host_chooses_the_steps(self, offline_stay, ladder_at):
        booking = offline_stay(warn_host_hours_before=0, send_fallback=False, remind_host_at_check_in=False)
        for hours in (24, 2, 0):
            ladder_at(CHECK_IN - timedelta(hours=hours))
        assert kinds(booking) == [] and current(booking).fallback == ""

    def test_a_booking_made_at_the_last_minute_gets_its_first_attempt_first(self, assigned_property, book, fake_cloud):
        prop = assigned_property(provider="tedee")
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        with freeze_time(CHECK_IN - timedelta(hours=1)):
            services.booking_created(booking=booking)
            run_ladder(CHECK_IN - timedelta(hours=1))
        assert kinds(booking) == []


class TestOfflineCode:
    """TTLock-like: the vendor's cloud issues a code without reaching the lock; no backup pool."""

    @pytest.fixture
    def ttlock_offline(self, assigned_property, book, fake_cloud, monkeypatch):
        monkeypatch.setattr(registry.PROVIDER_CLASSES["ttlock"], "capabilities", Capabilities(offline_fallback=True))
        prop = assigned_property(provider="ttlock")
        fake_cloud.locks["L1"].online = False
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        with freeze_time("2026-05-28 09:00:00"):
            services.booking_created(booking=booking)
            tick()
        return booking

    def test_the_guest_gets_an_offline_code_recorded_honestly(self, ttlock_offline, fake_cloud, ladder_at):
        booking = ttlock_offline
        assert tend_pools(utc(2026, 5, 28, 10)) == 0 and not BackupCode.objects.exists()
        stuck = current(booking)
        ladder_at(CHECK_IN - timedelta(hours=2))
        given = current(booking)
        assert given.fallback == FallbackKind.OFFLINE and given.state == CodeState.ACTIVE and is_usable(given)
        assert (given.lock_starts_at, given.lock_ends_at) == (utc(2026, 6, 2, 12), utc(2026, 6, 5, 10))  # 12:30 and 09:30 UTC to the hour
        assert "within 24 hours" in given.usage_note and "cannot be revoked remotely" in given.warning
        assert AccessCode.objects.get(pk=stuck.pk).state == CodeState.REVOKED
        assert kinds(booking) == ["host_warned", "fallback_sent"]
        assert "offline code" in LadderStep.objects.get(kind="fallback_sent").detail

    def test_a_changed_stay_replaces_it_and_never_tries_to_delete_it(self, ttlock_offline, fake_cloud, ladder_at):
        booking = ttlock_offline
        ladder_at(CHECK_IN - timedelta(hours=2))
        offline = current(booking)
        fake_cloud.locks["L1"].online = True
        booking.departure_date = date(2026, 6, 6)
        booking.save()
        with freeze_time(CHECK_IN - timedelta(hours=1)):
            services.booking_changed(booking=booking)
            tick()
            tick()
        assert fake_cloud.calls["update_code"] == 0 and fake_cloud.calls["delete_code"] == 0
        old = AccessCode.objects.get(pk=offline.pk)
        assert old.state == CodeState.SUPERSEDED and not old.is_current
        fresh = current(booking)
        assert fresh.fallback == "" and fresh.state == CodeState.ACTIVE and fresh.ends_at > offline.ends_at

    def test_no_offline_code_issued_tells_the_host(self, ttlock_offline, fake_cloud, ladder_at):
        booking = ttlock_offline
        fake_cloud.fail_next("issue_offline_code", VendorUnavailable("The cloud failed."))
        mail.outbox.clear()
        ladder_at(CHECK_IN - timedelta(hours=2))
        assert "no_fallback" in kinds(booking) and current(booking).fallback == ""
        assert "offline code could not be issued" in LadderStep.objects.get(kind="no_fallback").detail
        assert mail.outbox[-1].subject.startswith("Urgent: no door code")
