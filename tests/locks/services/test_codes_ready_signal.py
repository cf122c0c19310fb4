"""The `codes_ready` event: sent once a code is on its lock (created or moved), after commit."""

from datetime import date

import pytest
from django.utils import timezone
from freezegun import freeze_time

from locks import services, signals
from locks.models import AccessCode, CodeState
from locks.providers.exceptions import LockOffline
from locks.services import claims, steps

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    events = []

    def receiver(sender, codes, **kwargs):
        events.extend((code.code_id, code.booking_id, AccessCode.objects.get(pk=code.code_id).state) for code in codes)

    signals.codes_ready.connect(receiver)
    yield events
    signals.codes_ready.disconnect(receiver)


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


@pytest.fixture
def announcements():
    """Each `codes_ready` event as the list of code ids it carried."""
    sent = []

    def receiver(sender, codes, **kwargs):
        sent.append([code.code_id for code in codes])

    signals.codes_ready.connect(receiver)
    yield sent
    signals.codes_ready.disconnect(receiver)


def _claimed_batch(assigned_property, book, count):
    props = [assigned_property(vendor_lock_id=f"L{n}") for n in range(count)]
    for n, prop in enumerate(props):
        services.booking_created(booking=book(prop, date(2026, 3, 12), date(2026, 3, 14), guest_name=f"G{n}"))
    return claims.claim_due_codes(now=timezone.now(), limit=count)


def test_a_batch_announces_its_ready_codes_together_in_one_event(
    assigned_property, book, fake_cloud, announcements, django_capture_on_commit_callbacks
):
    with freeze_time("2026-03-11 09:00:00"):
        token, ids = _claimed_batch(assigned_property, book, 3)
        with django_capture_on_commit_callbacks(execute=True):
            steps.process_codes(code_ids=ids, claim_token=token)
    assert announcements == [ids]


def test_a_long_batch_announces_the_codes_that_waited_without_waiting_for_its_end(
    assigned_property, book, fake_cloud, announcements, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(steps, "READY_ANNOUNCE_SECONDS", 0)  # every vendor call outlasts the wait
    with freeze_time("2026-03-11 09:00:00"):
        token, ids = _claimed_batch(assigned_property, book, 3)
        with django_capture_on_commit_callbacks(execute=True):
            steps.process_codes(code_ids=ids, claim_token=token)
    assert announcements == [[code_id] for code_id in ids]


def test_a_batch_that_breaks_part_way_still_announces_the_codes_it_made_ready(
    assigned_property, book, fake_cloud, announcements, django_capture_on_commit_callbacks, monkeypatch
):
    with freeze_time("2026-03-11 09:00:00"):
        token, ids = _claimed_batch(assigned_property, book, 2)
        renew = steps._BatchLease.keep
        calls = []

        def keep_then_break(self, remaining):
            calls.append(remaining)
            if len(calls) == 2:
                raise RuntimeError("the worker is going away")
            return renew(self, remaining)

        monkeypatch.setattr(steps._BatchLease, "keep", keep_then_break)
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
            steps.process_codes(code_ids=ids, claim_token=token)
    assert announcements == [ids[:1]]
