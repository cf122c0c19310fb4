"""Door code changes for a vendor whose guests also get a link that opens the door: a code issued
again with the same PIN comes with a new link, so the guest's old link is dead and that is a change
too. Driven by a fake provider that gives every issued code a link of its own."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from freezegun import freeze_time

from locks import services as lifecycle
from locks.models import CodeState
from locks.providers import registry
from locks.services import scheduler
from messaging import services as messaging_services
from messaging.models import CodeChangeNotice, MessageDelivery, MessageTemplate
from tests.helpers.guest_messages import GUEST
from tests.helpers.lifecycle import current

pytestmark = pytest.mark.django_db

DUE = "2026-06-10 08:00:00"  # the door code message of the conftest's `stay` is due


@pytest.fixture
def linking_vendor(fake_cloud, monkeypatch):
    """The fake TTLock as a vendor that gives each issued code a link of its own."""
    base = registry.PROVIDER_CLASSES["ttlock"]
    issued_links = []

    class LinkingProvider(base):
        capabilities = replace(base.capabilities, access_links=True)

        def create_code(self, vendor_lock_id, spec):
            issued = super().create_code(vendor_lock_id, spec)
            issued_links.append(f"https://open.example/k/{vendor_lock_id}-{issued.vendor_code_id}-{len(issued_links) + 1}")
            return replace(issued, access_link=issued_links[-1])

    monkeypatch.setitem(registry.PROVIDER_CLASSES, "ttlock", LinkingProvider)
    return issued_links


@pytest.fixture
def tick(after_commit):
    return lambda: after_commit(lambda: scheduler.run_pass(dispatch=scheduler.process_inline))


def to_guest():
    return [message for message in mail.outbox if message.to == [GUEST]]


def test_a_lock_change_keeping_the_pin_but_not_the_link_is_a_change(
    stay, door_code, host, make_lock, linking_vendor, tick, send, after_commit
):
    door_code(body="Your code is {{smartlock_code}}, or open with {{smartlock_link}}.")
    MessageTemplate.objects.create(
        host=host,
        name="Code changed",
        is_code_change=True,
        subject="Your new door code",
        body="Your door changed: code {{smartlock_code}}, link {{smartlock_link}}.",
    )
    with freeze_time(DUE) as frozen:
        booking = stay()
        tick()
        send()
        old = current(booking)
        assert old.access_link and old.access_link in to_guest()[0].body
        sent = MessageDelivery.objects.get()
        assert sent.access_link == old.access_link
        with connection.cursor() as cursor:
            cursor.execute("SELECT access_link FROM messaging_messagedelivery WHERE id = %s", [sent.pk])
            assert old.access_link not in cursor.fetchone()[0]  # encrypted at rest, like the PIN
        new_lock = make_lock(vendor_lock_id="L2")
        frozen.move_to("2026-06-10 12:00:00")
        after_commit(lambda: lifecycle.lock_assignment_set(prop=booking.property, lock=new_lock))
        tick()
        send()
        tick()
        send()
    new = current(booking)
    assert (new.lock_id, new.pin, new.state) == (new_lock.pk, old.pin, CodeState.ACTIVE)
    assert new.access_link and new.access_link != old.access_link
    notice = CodeChangeNotice.objects.get()
    assert (notice.previous_pin, notice.new_pin) == (old.pin, new.pin)
    assert (notice.previous_link, notice.new_link) == (old.access_link, new.access_link)
    guest = to_guest()
    assert [message.subject for message in guest][-1] == "Your new door code"
    assert new.access_link in guest[-1].body
    (told,) = [message for message in mail.outbox if message.to == ["host@example.com"]]
    assert told.subject == "Door link changed for Grace Guest" and "Their door code is the same." in told.body


def test_the_same_pin_and_link_is_not_a_change(stay, door_code, linking_vendor, tick, send):
    door_code(body="Your code is {{smartlock_code}}, or open with {{smartlock_link}}.")
    with freeze_time(DUE):
        booking = stay()
        tick()
        send()
        assert messaging_services.booking_code_change_check(booking=booking) is None
    assert len(to_guest()) == 1 and not CodeChangeNotice.objects.exists()


def test_the_link_is_erased_with_the_pin_for_old_stays(stay, door_code, linking_vendor, tick, send):
    door_code(body="Open with {{smartlock_link}}.")
    with freeze_time(DUE):
        booking = stay()
        tick()
        send()
    assert MessageDelivery.objects.get().access_link
    messaging_services.deliveries_erase_personal_data(departed_before=booking.departure_date + timedelta(days=1))
    assert MessageDelivery.objects.get().access_link is None
