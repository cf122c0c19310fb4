"""Product defects the chaos benchmark (benchmarks/chaos.py) found, each reproduced minimally.

Every test states the invariant the benchmark saw broken; each failed before its fix (they were
strict xfails until then).
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from freezegun import freeze_time

from bookings.models import Booking, BookingStatus
from locks import services
from locks.models import AccessCode, CodeState
from locks.providers import registry
from locks.providers.exceptions import LockOffline, RateLimited
from tests.helpers.lifecycle import current, tick
from tests.vendors.nuki import FRONT_DOOR

UTC = UTC

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("lookup_error", [RateLimited("The vendor asked us to slow down."), LockOffline("The gateway is offline.")])
def test_a_failed_lookup_after_a_lost_create_does_not_forget_the_lost_create(assigned_property, book, fake_cloud, lookup_error):
    prop = assigned_property()
    fake_cloud.lose_response_next("create_code")  # created on the lock, answer lost
    fake_cloud.fail_next("find_code", lookup_error)  # the look-up before the retry is refused
    with freeze_time("2026-06-01 00:00:00") as frozen:
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=booking)
        tick()
        frozen.move_to("2026-06-01 01:00:00")
        tick()
        frozen.move_to("2026-06-01 02:00:00")
        tick()
    code = current(booking)
    assert code.state == CodeState.ACTIVE
    assert [issued.vendor_code_id for issued in fake_cloud.codes_on("L1")] == [code.vendor_code_id]


def test_nuki_create_whose_read_back_is_rate_limited_is_not_created_twice(nuki_property, book, cloud, settings):
    prop = nuki_property()
    cloud.fail_next("GET", "auths", 429, body={"detailMessage": "Too many requests"}, headers={"Retry-After": "1"})
    with freeze_time("2026-06-01 00:00:00") as frozen:
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=booking)
        tick()
        assert len(cloud.auths_on(FRONT_DOOR)) == 1  # the PUT was carried out
        frozen.tick(timedelta(seconds=settings.LOCKS_RETRY_INTERVAL_SECONDS))
        tick()
    code = current(booking)
    assert code.state == CodeState.ACTIVE
    assert [auth["id"] for auth in cloud.auths_on(FRONT_DOOR)] == [code.vendor_code_id]


def test_a_lost_create_found_after_the_dates_changed_gets_the_new_window(assigned_property, book, fake_cloud):
    prop = assigned_property()
    fake_cloud.lose_response_next("create_code")
    with freeze_time("2026-06-01 00:00:00") as frozen:
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=booking)
        tick()  # on the lock with the first window, answer lost
        booking.departure_date = date(2026, 6, 6)
        booking.save()
        services.booking_changed(booking=booking)
        for hour in (1, 2, 3):
            frozen.move_to(f"2026-06-01 0{hour}:00:00")
            tick()
    code = current(booking)
    (on_lock,) = fake_cloud.codes_on("L1")
    assert code.state == CodeState.ACTIVE
    assert (on_lock.starts_at, on_lock.ends_at) == (code.starts_at, code.ends_at)


def test_a_create_lost_after_the_retry_deadline_is_not_left_on_the_lock(assigned_property, book, fake_cloud):
    prop = assigned_property()  # Paris
    fake_cloud.lose_response_next("create_code")
    with freeze_time("2026-06-03 12:00:00") as frozen:  # the stay began on 2 June: no more retries
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=booking)
        tick()
        assert len(fake_cloud.codes_on("L1")) == 1  # the guest's code is on the lock
        for moment in ("2026-06-05 12:00:00", "2026-06-06 12:00:00"):  # after the stay
            frozen.move_to(moment)
            tick()
    assert fake_cloud.codes_on("L1") == []


def test_an_igloohome_code_cancelled_while_its_create_is_out_stays_superseded_until_its_end(
    assigned_property, book, fake_cloud, monkeypatch
):
    prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
    provider_class = registry.PROVIDER_CLASSES["igloohome"]
    create = provider_class.create_code

    def cancelled_while_out(self, vendor_lock_id, spec):
        cancelled = Booking.objects.select_related("property").get(pk=spec_booking.pk)
        cancelled.status = BookingStatus.CANCELLED
        cancelled.save()
        services.booking_cancelled(booking=cancelled)
        fake_cloud.lose_response_next("create_code")
        return create(self, vendor_lock_id, spec)

    monkeypatch.setattr(provider_class, "create_code", cancelled_while_out)
    with freeze_time("2026-06-01 00:00:00") as frozen:
        spec_booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=spec_booking)
        tick()  # the host cancels while the create is out; the algoPIN is issued, its answer lost
        frozen.move_to("2026-06-01 01:00:00")
        tick()
    (code,) = AccessCode.objects.filter(booking=spec_booking)
    assert len(fake_cloud.codes_on("IG1")) == 1  # an algoPIN that nothing can revoke
    assert code.state == CodeState.SUPERSEDED and code.warning
    assert code.next_attempt_at >= datetime(2026, 6, 5, 9, 30, tzinfo=UTC)  # recorded as working until its end


def test_an_igloohome_create_lost_after_the_retry_deadline_is_recorded_with_a_warning(assigned_property, book, fake_cloud):
    prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
    fake_cloud.lose_response_next("create_code")
    with freeze_time("2026-06-03 12:00:00") as frozen:  # the stay began on 2 June: no more retries
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=booking)
        tick()
        frozen.move_to("2026-06-03 13:00:00")
        tick()
    assert len(fake_cloud.codes_on("IG1")) == 1  # an algoPIN nothing can list or revoke
    (code,) = AccessCode.objects.filter(booking=booking)
    assert code.warning  # the host is told a code may work until its end


def test_a_batch_does_not_act_on_a_code_whose_claim_ran_out_mid_batch(assigned_property, book, fake_cloud, settings, monkeypatch):
    from django.utils import timezone

    from locks.services.claims import claim_due_codes
    from locks.services.steps import process_codes

    settings.LOCKS_CLAIM_LEASE_SECONDS = 300
    properties = [assigned_property(vendor_lock_id="L1"), assigned_property(vendor_lock_id="L2")]
    with freeze_time("2026-06-01 00:00:00") as frozen:
        bookings = [book(prop, date(2026, 6, 2), date(2026, 6, 5)) for prop in properties]
        for booking in bookings:
            services.booking_created(booking=booking)
        tick()  # both codes on their locks
        for booking in bookings:
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
        token, ids = claim_due_codes(now=timezone.now(), limit=10)
        assert len(ids) == 2
        provider_class = registry.PROVIDER_CLASSES["ttlock"]
        delete = provider_class.delete_code
        taken_over = []

        def slow_delete(self, vendor_lock_id, vendor_code_id):
            if not taken_over:  # the first delete outlasts the lease; the pass claims what is due again
                frozen.tick(timedelta(seconds=301))
                taken_over.append(claim_due_codes(now=timezone.now(), limit=10))
            return delete(self, vendor_lock_id, vendor_code_id)

        monkeypatch.setattr(provider_class, "delete_code", slow_delete)
        process_codes(code_ids=ids, claim_token=token)
    (_, retaken), = taken_over
    assert ids[1] in retaken  # the second code now belongs to another claim...
    assert fake_cloud.calls["delete_code"] == 1  # ...so this batch must leave it alone


def test_a_code_cancelled_while_a_step_holds_it_active_is_revoked_now_not_at_its_end(
    assigned_property, book, fake_cloud, settings, monkeypatch
):
    """Chaos (slow writes, asynchronous applies, 250 bookings): a Nuki code of a cancelled booking was
    left REVOKING with its next attempt at its window's end (6 days on) and stayed on the lock. A
    worker held the row as ACTIVE (claimed and loaded; here the claim is made by hand, as a stale
    claim of a worker whose lease ran out would be) when the booking was cancelled: `booking_cancelled`
    set REVOKING, due now; the worker's ACTIVE step (`_expire`: "not over yet") then merged its
    next attempt, the window's end, into the REVOKING row and released it."""
    from django.utils import timezone

    from locks.services import steps

    settings.LOCKS_CLAIM_LEASE_SECONDS = 300
    prop = assigned_property()
    with freeze_time("2026-06-01 00:00:00") as frozen:
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=booking)
        tick()
        code = current(booking)
        assert code.state == CodeState.ACTIVE and len(fake_cloud.codes_on("L1")) == 1
        AccessCode.objects.filter(pk=code.pk).update(claim_token="stale", claimed_until=timezone.now() + timedelta(minutes=5))
        load = steps.load_claimed

        def load_then_cancel(code_ids, token, now):
            loaded = load(code_ids, token, now)  # the worker holds the row as ACTIVE...
            fresh = Booking.objects.select_related("property").get(pk=booking.pk)
            fresh.status = BookingStatus.CANCELLED
            fresh.save()
            services.booking_cancelled(booking=fresh)  # ...when the booking is cancelled
            return loaded

        monkeypatch.setattr(steps, "load_claimed", load_then_cancel)
        steps.process_codes(code_ids=[code.pk], claim_token="stale")
        monkeypatch.setattr(steps, "load_claimed", load)
        frozen.tick(timedelta(seconds=settings.LOCKS_RETRY_INTERVAL_SECONDS))
        tick()
    code.refresh_from_db()
    assert code.state == CodeState.REVOKED, f"{code.state}, next attempt {code.next_attempt_at}"
    assert fake_cloud.codes_on("L1") == []
