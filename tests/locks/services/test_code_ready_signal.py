"""The `code_ready` event: sent once a code is on its lock (created or moved), after commit."""

from datetime import date

import pytest
from freezegun import freeze_time

from locks import services, signals
from locks.models import AccessCode, CodeState
from locks.providers.exceptions import LockOffline

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    events = []

    def receiver(sender, code_id, booking_id, **kwargs):
        events.append((code_id, booking_id, AccessCode.objects.get(pk=code_id).state))

    signals.code_ready.connect(receiver)
    yield events
    signals.code_ready.disconnect(receiver)


def test_sent_when_a_code_is_created_and_when_its_window_moves(assigned_property, book, fake_cloud, heard, committed_tick):
    prop = assigned_property()
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        committed_tick()
        code = AccessCode.objects.get(booking=booking)
        assert heard == [(code.pk, booking.pk, CodeState.ACTIVE)]
        booking.departure_date = date(2026, 3, 15)
        booking.save()
        services.booking_changed(booking=booking)
        committed_tick()
    assert heard[1:] == [(code.pk, booking.pk, CodeState.ACTIVE)]


def test_not_sent_while_the_lock_is_unreachable(assigned_property, book, fake_cloud, heard, committed_tick):
    prop = assigned_property()
    fake_cloud.fail_next("create_code", LockOffline("The gateway is offline."))
    with freeze_time("2026-03-11 09:00:00"):
        booking = book(prop, date(2026, 3, 12), date(2026, 3, 14))
        services.booking_created(booking=booking)
        committed_tick()
    assert AccessCode.objects.get(booking=booking).state == CodeState.CREATING
    assert heard == []
