"""Ending a guest's access early and regenerating a PIN: the services behind "End access now"
(host) and "Revoke now" / "Regenerate PIN" (staff)."""

from datetime import UTC, date, datetime

import pytest
from freezegun import freeze_time

from locks import services
from locks.models import AccessCode, CodeState
from locks.services import missing_codes
from tests.helpers.lifecycle import current_or_none, tick

pytestmark = pytest.mark.django_db
UTC = UTC


def active_code(prop, book, arrival=date(2026, 3, 10), departure=date(2026, 3, 14)):
    booking = book(prop, arrival, departure)
    services.booking_created(booking=booking)
    tick()
    code = current_or_none(booking)
    assert code.state == CodeState.ACTIVE
    return booking, code


class TestEndAccess:
    def test_mid_stay_the_active_code_is_revoked_at_once_and_never_replaced(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        with freeze_time("2026-03-11 09:00:00") as frozen:
            booking, code = active_code(prop, book)
            retired = services.booking_end_access(booking=booking)
            assert retired.pk == code.pk and retired.state == CodeState.REVOKING and not retired.is_current
            tick()
            code.refresh_from_db()
            assert code.state == CodeState.REVOKED
            assert fake_cloud.codes_on("L1") == []
            booking.refresh_from_db()
            assert booking.access_ended_at == datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
            frozen.move_to("2026-03-11 12:00:00")
            services.booking_changed(booking=booking)  # any later event: still no code
            tick()
        assert current_or_none(booking) is None
        assert AccessCode.objects.filter(booking=booking).count() == 1

    def test_before_arrival_a_code_not_on_the_lock_yet_is_simply_dropped(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        with freeze_time("2026-03-01 09:00:00"):
            booking = book(prop, date(2026, 3, 20), date(2026, 3, 22))
            services.booking_created(booking=booking)
            assert current_or_none(booking).state == CodeState.SCHEDULED
            retired = services.booking_end_access(booking=booking)
        assert retired.state == CodeState.REVOKED and retired.next_attempt_at is None
        assert fake_cloud.codes_on("L1") == []

    def test_the_scheduler_backstop_does_not_recreate_an_ended_access(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        with freeze_time("2026-03-11 09:00:00"):
            booking, _ = active_code(prop, book)
            services.booking_end_access(booking=booking)
            tick()
            assert missing_codes.bookings_missing_a_code(datetime(2026, 3, 11, 9, 0, tzinfo=UTC)).filter(pk=booking.pk).count() == 0
            tick()
        assert current_or_none(booking) is None

    def test_igloohome_codes_cannot_be_revoked_and_say_until_when_they_work(self, assigned_property, book, fake_cloud):
        prop = assigned_property(provider="igloohome")
        with freeze_time("2026-03-11 09:00:00"):
            booking, code = active_code(prop, book)
            retired = services.booking_end_access(booking=booking)
        assert retired.state == CodeState.SUPERSEDED
        assert "cannot revoke this code" in retired.warning


class TestRegenerate:
    def test_the_booking_gets_a_new_code_with_another_pin_and_the_old_one_is_revoked(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        with freeze_time("2026-03-11 09:00:00"):
            booking, old = active_code(prop, book)
            message = services.code_regenerate(code_id=old.pk)
            tick()
        assert "new PIN" in message
        old.refresh_from_db()
        new = current_or_none(booking)
        assert old.state == CodeState.REVOKED and not old.is_current
        assert new.pk != old.pk and new.state == CodeState.ACTIVE and new.pin != old.pin
        assert [issued.pin for issued in fake_cloud.codes_on("L1")] == [new.pin]

    def test_only_the_current_code_of_a_live_booking_can_be_regenerated(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        with freeze_time("2026-03-11 09:00:00"):
            booking, old = active_code(prop, book)
            services.code_regenerate(code_id=old.pk)
            again = services.code_regenerate(code_id=old.pk)
            newest = current_or_none(booking)
            services.booking_end_access(booking=booking)
            after_end = services.code_regenerate(code_id=newest.pk)
        assert "not the booking's current code" in again
        assert "nothing to regenerate" in after_end
        assert services.code_regenerate(code_id=999999) == "This code no longer exists."
