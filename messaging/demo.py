"""Demo data for guest messages: the demo host's "Door code" message, and a stay whose message is
due now, so `make run` shows a door code email on the console (the worker's output), and the same
message by SMS and WhatsApp on the sandbox's messages page (its provider emulators)."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction

from bookings.demo import DEMO_HOST_USERNAME, DEMO_PROPERTIES
from bookings.models import Booking, BookingStatus, Property
from locks import services as lifecycle
from messaging.models import MessageTemplate, OffsetUnit, TriggerKind

TEMPLATE_NAME = "Door code"
SEND_AT = time(10, 0)
DEMO_GUEST = "Hugo Demo"
DEMO_GUEST_EMAIL = "hugo.demo@guest.example"
DEMO_GUEST_PHONE = "+33612345678"  # E.164, as bookings store it
SUBJECT = "Your door code for {{property_name}}"
BODY = (
    "Hello {{guest_name}},\n\n"
    "Your door code for {{property_name}} is {{smartlock_code}}.\n"
    "It works from {{code_valid_from}} until {{code_valid_until}}. {{code_usage_note}}\n\n"
    "Check-in is from {{check_in_time}} on {{arrival_date}}, check-out by {{check_out_time}} on {{departure_date}}.\n"
    "Enter the code on the keypad to unlock the door.\n"
)


class DemoHostMissing(Exception):
    pass


@dataclass(frozen=True)
class SeedResult:
    template_created: bool
    booking: Booking | None
    booking_created: bool


def demo_arrival(now: datetime, tz_name: str):
    """An arrival date for which "1 day before check-in at 10:00" is due now and check-in has not
    passed: tomorrow from 10:00 local time on, else today."""
    local = now.astimezone(ZoneInfo(tz_name))
    return local.date() + timedelta(days=1) if local.time() >= SEND_AT else local.date()


@transaction.atomic
def seed_demo_messages(*, now: datetime) -> SeedResult:
    host = get_user_model().objects.filter(username=DEMO_HOST_USERNAME).first()
    if host is None:
        raise DemoHostMissing(f"There is no {DEMO_HOST_USERNAME} user: run `manage.py seed_demo` first.")
    _, template_created = MessageTemplate.objects.get_or_create(
        host=host,
        name=TEMPLATE_NAME,
        defaults={
            "trigger": TriggerKind.BEFORE_CHECK_IN,
            "offset": 1,
            "offset_unit": OffsetUnit.DAYS,
            "send_at": SEND_AT,
            "subject": SUBJECT,
            "body": BODY,
            "is_active": True,
            "send_email": True,
            "send_sms": True,
            "send_whatsapp": True,
        },
    )
    prop = Property.objects.filter(host=host, name=DEMO_PROPERTIES[0].name).first()
    if prop is None:
        return SeedResult(template_created, None, False)
    arrival = demo_arrival(now, prop.time_zone)
    booking, booking_created = Booking.objects.get_or_create(
        property=prop,
        guest_name=DEMO_GUEST,
        arrival_date=arrival,
        defaults={
            "departure_date": arrival + timedelta(days=2),
            "guest_email": DEMO_GUEST_EMAIL,
            "guest_phone": DEMO_GUEST_PHONE,
            "status": BookingStatus.CONFIRMED,
        },
    )
    if booking_created:
        lifecycle.booking_created(booking=booking)  # its code, once the demo lock is assigned
    return SeedResult(template_created, booking, booking_created)
