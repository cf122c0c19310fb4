"""“Rotate code” on the lock (locks.services.rotation): a new code with a new PIN, the old one revoked
or on record as unrevocable, the two linked by a CodeRotation whose steps are read from the codes.
The guest's message is tested in tests/messaging/test_rotation_messages.py."""

import re
from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from freezegun import freeze_time

from bookings.models import BookingStatus
from locks import services
from locks.models import AccessCode, CodeRotation, CodeSource, CodeState, FallbackKind, LockAssignment, RotationSource
from locks.providers import registry
from locks.providers.base import Capabilities
from locks.providers.exceptions import LockOffline
from locks.rotation_status import new_pin_step, old_code_step, rotation_in_progress
from locks.services import claims, codes, rotation as rotation_service, steps as steps_module
from locks.services.ladder import run_ladder
from locks.services.rotation import (
    ALREADY_ROTATING,
    ROTATION_COOLDOWN,
    RotationRefused,
    booking_rotation_refusal,
    code_rotate,
    latest_rotation,
)
from tests.helpers.lifecycle import current, current_or_none, tick, utc
from tests.locks.services.test_lifecycle_concurrency import needs_postgres, run_in_threads

pytestmark = pytest.mark.django_db

MID_STAY = "2026-03-11 09:00:00"  # the stay is 10-14 March (Paris), its code active since before
# Before arrival a new code is retried until the end of the arrival day; after it, a failure is final.
BEFORE_ARRIVAL = "2026-03-08 09:00:00"


def active_booking(prop, book, **fields):
    booking = book(prop, date(2026, 3, 10), date(2026, 3, 14), **fields)
    services.booking_created(booking=booking)
    tick()
    assert current(booking).state == CodeState.ACTIVE
    return booking


def rotate(booking):
    return code_rotate(booking=booking, via=RotationSource.BOOKING_PAGE)


def steps(rotation_id, now):
    rotation = CodeRotation.objects.select_related("booking__property", "old_code__lock__account", "new_code__lock__account").get(
        pk=rotation_id
    )
    return new_pin_step(rotation, now=now), old_code_step(rotation, now=now)


class TestRotate:
    def test_a_new_pin_goes_on_the_lock_and_the_old_code_is_revoked(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        with freeze_time(MID_STAY):
            booking = active_booking(prop, book)
            old = current(booking)
            rotation = rotate(booking)
            new_pin, old_code = steps(rotation.pk, utc(2026, 3, 11, 9))
            assert (rotation.old_code_id, rotation.booking_id) == (old.pk, booking.pk)
            assert rotation.new_code_id == current(booking).pk != old.pk
            assert (new_pin.state, new_pin.text) == ("pending", "pending: being created now")
            assert (old_code.state, old_code.text) == ("being_revoked", "being revoked")
            assert rotation_in_progress(latest_rotation(booking.pk), now=utc(2026, 3, 11, 9))
            tick()
            new_pin, old_code = steps(rotation.pk, utc(2026, 3, 11, 9))
        old.refresh_from_db()
        new = current(booking)
        assert (old.state, old.is_current) == (CodeState.REVOKED, False)
        assert new.state == CodeState.ACTIVE and new.pin and new.pin != old.pin
        assert [issued.pin for issued in fake_cloud.codes_on("L1")] == [new.pin]
        assert (new_pin.state, new_pin.text) == ("done", "done: on the lock since 10:00 11 Mar")
        assert (old_code.state, old_code.text) == ("revoked", "revoked")
        assert not rotation_in_progress(latest_rotation(booking.pk), now=utc(2026, 3, 11, 9))
        assert rotation.requested_via == RotationSource.BOOKING_PAGE and rotation.created_at == utc(2026, 3, 11, 9)

    def test_an_igloohome_code_cannot_be_revoked_and_says_until_when_it_works(self, assigned_property, book, fake_cloud):
        prop = assigned_property(provider="igloohome")
        with freeze_time(MID_STAY):
            booking = active_booking(prop, book)
            old = current(booking)
            rotation = rotate(booking)
            tick()
            new_pin, old_code = steps(rotation.pk, utc(2026, 3, 11, 9))
        old.refresh_from_db()
        new = current(booking)
        assert old.state == CodeState.SUPERSEDED and "cannot revoke this code" in old.warning
        assert new.state == CodeState.ACTIVE and new.pin != old.pin
        assert sorted(issued.pin for issued in fake_cloud.codes_on("L1")) == sorted([old.pin, new.pin])
        assert new_pin.state == "done"
        assert (old_code.state, old_code.text) == ("unrevocable", "unrevocable until 11:30 14 Mar: igloohome cannot revoke it")
        assert not rotation_in_progress(latest_rotation(booking.pk), now=utc(2026, 3, 11, 9))

    def test_a_lost_answer_keeps_the_rotation_in_progress_until_the_code_is_found(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        with freeze_time(BEFORE_ARRIVAL) as frozen:
            booking = active_booking(prop, book)
            old = current(booking)
            fake_cloud.lose_response_next("create_code")
            fake_cloud.lose_response_next("delete_code")
            rotation = rotate(booking)
            tick()  # both requests acted, neither answer came back
            new = current(booking)
            assert new.state == CodeState.CREATING and new.create_outcome_unknown
            new_pin, old_code = steps(rotation.pk, timezone.now())
            assert new_pin.state == "pending" and old_code.state == "being_revoked"
            frozen.move_to("2026-03-08 09:05:00")  # past the cool-down: still refused, the rotation is under way
            with pytest.raises(RotationRefused, match=r"already in progress \(started at 10:00\)"):
                rotate(booking)
            frozen.move_to("2026-03-08 10:00:00")
            tick()  # the new code is found on the lock, the old one is gone: nothing sent twice
            new_pin, old_code = steps(rotation.pk, timezone.now())
        old.refresh_from_db()
        new = current(booking)
        assert (new_pin.state, old_code.state) == ("done", "revoked")
        assert new.state == CodeState.ACTIVE and old.state == CodeState.REVOKED
        assert [issued.vendor_code_id for issued in fake_cloud.codes_on("L1")] == [new.vendor_code_id]
        assert fake_cloud.calls["create_code"] == 2  # the first code, then the new one: never the new one twice
        assert CodeRotation.objects.count() == 1

    def test_a_lock_offline_leaves_the_new_pin_pending_and_retrying(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        with freeze_time(BEFORE_ARRIVAL):
            booking = active_booking(prop, book)
            fake_cloud.fail_next("create_code", LockOffline("Gateway offline."))
            rotation = rotate(booking)
            tick()
            new_pin, _ = steps(rotation.pk, timezone.now())
        assert new_pin.state == "pending"
        assert new_pin.text == "pending: retrying: lock or gateway offline, next try 11:00"

    def test_mid_stay_a_failing_new_code_fails_at_once_as_any_new_code_after_arrival(self, assigned_property, book, fake_cloud):
        """The lifecycle's rule for a code made after the arrival day (retrying stops then): the
        rotation says the new PIN failed, and the host has "Retry now" on the booking's code."""
        prop = assigned_property()
        with freeze_time(MID_STAY):
            booking = active_booking(prop, book)
            fake_cloud.fail_next("create_code", LockOffline("Gateway offline."))
            rotation = rotate(booking)
            tick()
            new_pin, old_code = steps(rotation.pk, timezone.now())
        assert (new_pin.state, old_code.state) == ("failed", "revoked")
        assert new_pin.text == "failed: Gateway offline."

    def test_a_guest_phone_pin_is_not_chosen_again(self, assigned_property, book, fake_cloud):
        """The phone's digits were the PIN rotated away: once the old code is revoked (its task is
        enqueued first, so a worker may well finish it first) they are free again, but the new
        code draws a random PIN."""
        prop = assigned_property(code_source=CodeSource.GUEST_PHONE)
        with freeze_time(MID_STAY):
            booking = active_booking(prop, book, guest_phone="+33612482793")
            old = current(booking)
            assert old.pin == "482793"  # +33 6 12 48 27 93
            rotate(booking)
            token = claims.claim_code(code_id=old.pk, now=timezone.now())
            assert steps_module.process_code(code_id=old.pk, claim_token=token).action == "revoked"
            tick()
        old.refresh_from_db()
        assert old.state == CodeState.REVOKED
        assert current(booking).state == CodeState.ACTIVE and current(booking).pin != "482793"

    def test_without_a_rotation_the_phone_pin_is_still_chosen(self, assigned_property, book, fake_cloud):
        prop = assigned_property(code_source=CodeSource.GUEST_PHONE)
        with freeze_time(MID_STAY):
            booking = active_booking(prop, book, guest_phone="+33612482793")
            services.booking_end_access(booking=booking)
            tick()
            services.booking_restore_access(booking=booking)
            tick()
        assert current(booking).pin == "482793"


class TestRefusals:
    def refused(self, booking, match):
        before = list(AccessCode.objects.order_by("pk").values_list("pk", "state", "is_current"))
        with pytest.raises(RotationRefused, match=match):
            rotate(booking)
        assert re.search(match, booking_rotation_refusal(booking, now=timezone.now()))  # the preview says the same
        assert list(AccessCode.objects.order_by("pk").values_list("pk", "state", "is_current")) == before

    @pytest.mark.parametrize(
        "status, match",
        [(BookingStatus.PENDING, "not confirmed"), (BookingStatus.CANCELLED, "cancelled")],
    )
    def test_a_booking_not_confirmed(self, assigned_property, book, fake_cloud, status, match):
        prop = assigned_property()
        with freeze_time(MID_STAY):
            booking = book(prop, date(2026, 3, 10), date(2026, 3, 14), status=status)
            self.refused(booking, match)
        assert not CodeRotation.objects.exists()

    def test_no_current_code(self, make_property, book):
        with freeze_time(MID_STAY):
            booking = book(make_property(), date(2026, 3, 10), date(2026, 3, 14))
            self.refused(booking, "has no door code to rotate")

    def test_access_ended(self, assigned_property, book, fake_cloud):
        with freeze_time(MID_STAY):
            booking = active_booking(assigned_property(), book)
            services.booking_end_access(booking=booking)
            self.refused(booking, "access was ended early")

    def test_stay_over(self, assigned_property, book, fake_cloud):
        with freeze_time(MID_STAY) as frozen:
            booking = active_booking(assigned_property(), book)
            frozen.move_to("2026-03-14 11:00:00")  # 12:00 in Paris: past check-out and its margin
            self.refused(booking, "The stay is over")

    def test_a_code_not_on_the_lock_yet(self, assigned_property, book, fake_cloud):
        with freeze_time("2026-03-01 09:00:00"):
            booking = book(assigned_property(), date(2026, 3, 20), date(2026, 3, 22))
            services.booking_created(booking=booking)
            assert current(booking).state == CodeState.SCHEDULED
            self.refused(booking, "not on the lock yet")

    def test_a_code_still_being_created(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", LockOffline("Gateway offline."))
        with freeze_time(BEFORE_ARRIVAL):
            booking = book(prop, date(2026, 3, 10), date(2026, 3, 14))
            services.booking_created(booking=booking)
            tick()
            assert current(booking).state == CodeState.CREATING
            self.refused(booking, "still being created")

    def test_no_lock_for_the_new_code(self, assigned_property, book, fake_cloud):
        with freeze_time(MID_STAY):
            booking = active_booking(assigned_property(), book)
            LockAssignment.objects.filter(property=booking.property).delete()  # behind the lifecycle's back
            self.refused(booking, "No new code can be made")

    def test_a_rotation_in_progress(self, assigned_property, book, fake_cloud):
        with freeze_time(MID_STAY):
            booking = active_booking(assigned_property(), book)
            rotate(booking)
            self.refused(booking, r"already in progress \(started at 10:00\): new PIN on the lock: pending: being created now; old")
        assert CodeRotation.objects.count() == 1

    def test_a_rotation_done_a_moment_ago_is_not_repeated_then_may_be(self, assigned_property, book, fake_cloud):
        with freeze_time(MID_STAY) as frozen:
            booking = active_booking(assigned_property(), book)
            rotate(booking)
            tick()
            frozen.tick(timedelta(seconds=30))
            self.refused(booking, "rotated at 10:00, a moment ago: you can rotate it again in 90 seconds")
            frozen.tick(ROTATION_COOLDOWN)
            second = rotate(booking)
            tick()
        assert CodeRotation.objects.count() == 2
        assert second.old_code_id == CodeRotation.objects.order_by("pk").first().new_code_id
        assert current(booking).pk == second.new_code_id and current(booking).state == CodeState.ACTIVE

    def test_a_concurrent_rotation_of_the_same_code_is_refused_whole(self, assigned_property, book, fake_cloud, monkeypatch):
        """Two requests both past the checks (PostgreSQL row locks make them take turns; here the
        checks are skipped): the second insert of the same old code fails and undoes everything."""
        with freeze_time(MID_STAY):
            booking = active_booking(assigned_property(), book)
            old = current(booking)
            other = AccessCode.objects.create(
                booking=booking, lock=old.lock, state=CodeState.REVOKED, is_current=False, starts_at=old.starts_at,
                ends_at=old.ends_at, generate_at=old.generate_at, retry_deadline=old.retry_deadline, alert_at=old.alert_at,
            )
            CodeRotation.objects.create(
                booking=booking, old_code=old, new_code=other, requested_via=RotationSource.API, created_at=timezone.now()
            )
            monkeypatch.setattr(rotation_service, "rotation_refusal", lambda *args, **kwargs: "")
            with pytest.raises(RotationRefused, match="already being rotated"):
                rotate(booking)
        assert current(booking).pk == old.pk and current(booking).state == CodeState.ACTIVE
        assert fake_cloud.codes_on("L1")[0].pin == old.pin


def test_a_code_is_rotated_away_once_at_most(assigned_property, book, fake_cloud):
    with freeze_time(MID_STAY):
        booking = active_booking(assigned_property(), book)
        rotation = rotate(booking)
        with pytest.raises(IntegrityError), transaction.atomic():
            CodeRotation.objects.create(
                booking=booking, old_code_id=rotation.old_code_id, new_code_id=rotation.old_code_id,
                requested_via=RotationSource.API, created_at=utc(2026, 3, 11, 9),
            )
    assert current_or_none(booking).pk == rotation.new_code_id


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_simultaneous_requests_rotate_once(assigned_property, book, fake_cloud, monkeypatch):
    """A double click, a retried API call and the booking page at once: the booking's row lock makes
    them take turns; the first rotates, the others find it under way and change nothing."""
    monkeypatch.setattr(codes, "enqueue_code", lambda code_id, **kwargs: None)  # the passes below do the work
    booking = book(assigned_property(), timezone.localdate() + timedelta(days=1), timezone.localdate() + timedelta(days=3))
    services.booking_created(booking=booking)
    tick()
    old = current(booking)
    assert old.state == CodeState.ACTIVE

    def attempt():
        try:
            return code_rotate(booking=booking, via=RotationSource.API).pk
        except RotationRefused as refusal:
            return str(refusal)

    results = run_in_threads(attempt)

    rotations = [result for result in results if isinstance(result, int)]
    assert len(rotations) == 1 and CodeRotation.objects.count() == 1
    refused = [result for result in results if result != rotations[0]]
    assert all(result.startswith(("A rotation of this code is already in progress", ALREADY_ROTATING)) for result in refused)
    assert AccessCode.objects.filter(booking=booking).count() == 2
    tick()
    assert [issued.pin for issued in fake_cloud.codes_on("L1")] == [current(booking).pin] != [old.pin]


def test_a_guests_offline_code_is_rotated_and_left_working_until_its_end(assigned_property, book, fake_cloud, monkeypatch):
    """The lock was offline and the ladder gave the guest a TTLock offline code (issue 20): nothing
    can delete it remotely, so the rotation records it as unrevocable and never tries."""
    monkeypatch.setattr(registry.PROVIDER_CLASSES["ttlock"], "capabilities", Capabilities(offline_fallback=True))
    prop = assigned_property(provider="ttlock")
    fake_cloud.locks["L1"].online = False
    booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
    with freeze_time("2026-05-28 09:00:00"):
        services.booking_created(booking=booking)
        tick()
    with freeze_time("2026-06-02 11:00:00"):  # two hours before check-in
        tick()
        run_ladder(utc(2026, 6, 2, 11))
    offline = current(booking)
    assert offline.fallback == FallbackKind.OFFLINE and offline.state == CodeState.ACTIVE
    fake_cloud.locks["L1"].online = True
    with freeze_time("2026-06-02 12:00:00"):
        rotation = rotate(booking)
        tick()
        new_pin, old_code = steps(rotation.pk, timezone.now())
    offline.refresh_from_db()
    assert offline.state == CodeState.SUPERSEDED and fake_cloud.calls["delete_code"] == 0
    assert new_pin.state == "done" and current(booking).pin != offline.pin and current(booking).fallback == ""
    assert (old_code.state, old_code.text) == (
        "unrevocable", "unrevocable until 12:00 5 Jun: an offline code cannot be revoked remotely (TTLock)"
    )
