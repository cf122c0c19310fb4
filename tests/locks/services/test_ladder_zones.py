"""A lock offline from before its code's generation to well after arrival, in several time zones:
every guest gets a working code before check-in (an offline code, or one of the lock's backup
codes) in their door-code message, and the host is told at each step. Real scheduler, ladder and
messaging passes under freezegun, hour by hour, on the fake cloud."""

from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from freezegun import freeze_time

from locks import services, windows
from locks.models import FallbackKind, LadderStep
from locks.providers import registry
from locks.providers.base import Capabilities
from locks.services.backup_pool import tend_pools
from locks.services.ladder import run_ladder
from messaging import services as messaging
from messaging.models import DeliveryStatus, MessageDelivery
from tests.helpers.lifecycle import current, passes, tick, utc

pytestmark = pytest.mark.django_db

GUEST = "grace@guest.example"
ARRIVAL, DEPARTURE = date(2026, 10, 24), date(2026, 10, 27)  # Europe crosses back to winter time on the 25th


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"])
@pytest.mark.parametrize("vendor", ["ttlock", "tedee"])
@pytest.mark.parametrize("hosts_message", [True, False], ids=["hosts-door-code-message", "no-message-of-the-hosts"])
def test_every_guest_gets_a_working_code_before_check_in(
    vendor, zone, hosts_message, assigned_property, book, fake_cloud, door_code, monkeypatch, django_capture_on_commit_callbacks
):
    if vendor == "ttlock":
        monkeypatch.setattr(registry.PROVIDER_CLASSES["ttlock"], "capabilities", Capabilities(offline_fallback=True))
    prop = assigned_property(provider=vendor, time_zone=zone)
    if hosts_message:
        door_code()  # the host's door-code message, the day before check-in at 10:00; else Nowistay's own
    generation = utc(2026, 10, 19, 6)
    tend_pools(generation - timedelta(hours=1))  # backups go on while the lock is online (none for TTLock)
    fake_cloud.locks["L1"].online = False
    booking = book(prop, ARRIVAL, DEPARTURE, guest_email=GUEST, guest_language="en")
    check_in = windows.local_to_utc(ARRIVAL, windows.check_in_time_of(None, None), zone, prefer_later=False)

    def run(moment: datetime) -> None:
        with freeze_time(moment), django_capture_on_commit_callbacks(execute=True):
            tick()
            run_ladder(moment)
            messaging.run_pass(dispatch=messaging.process_inline)

    with freeze_time(generation), django_capture_on_commit_callbacks(execute=True):
        services.booking_created(booking=booking)
    for moment in passes(generation, check_in - timedelta(hours=30), every=timedelta(hours=6)):
        run(moment)
    for moment in passes(check_in - timedelta(hours=30), check_in + timedelta(minutes=30), every=timedelta(minutes=30)):
        run(moment)

    given = current(booking)
    expected = FallbackKind.OFFLINE if vendor == "ttlock" else FallbackKind.BACKUP
    assert given.fallback == expected and given.pin
    to_guest = [message for message in mail.outbox if GUEST in message.to]
    assert len(to_guest) == 1 and given.pin in to_guest[0].body  # the code that opens the door, once
    expected_subject = "Your door code for" if hosts_message else f"Your door code for {prop.name}"
    assert to_guest[0].subject.startswith(expected_subject)
    sent_at = MessageDelivery.objects.get(booking=booking, status=DeliveryStatus.SENT).sent_at
    assert sent_at < check_in
    steps = list(LadderStep.objects.filter(booking=booking).values_list("kind", "created_at"))
    assert [kind for kind, _ in steps] == ["host_warned", "fallback_sent", "host_reminded"]
    fallback_at = steps[1][1]
    assert check_in - timedelta(hours=2) <= fallback_at < check_in  # before check-in, at the host's moment
    subjects = [message.subject for message in mail.outbox if prop.host.email in message.to]
    assert any(s.startswith("Door code not on the lock yet") for s in subjects)
    assert any(s.startswith("Fallback door code given") for s in subjects)
    assert any(s.startswith("Check-in now") for s in subjects)
    assert all(given.pin not in message.body for message in mail.outbox if prop.host.email in message.to)
