"""Demo data: a host with eligible and ineligible properties in several zones, and bookings
placed around today and around the next daylight-saving changes, so every rule shows up."""

from dataclasses import dataclass
from datetime import date, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts import demo as accounts_demo
from bookings.models import Booking, BookingStatus, PmsSource, Property

DEMO_HOST_USERNAME = "demo-host"
DEMO_HOST_PASSWORD = "demo-host-password"
# A host with properties and bookings but no lock account yet: try connecting from scratch.
NEW_HOST_USERNAME = "new-host"
NEW_HOST_PASSWORD = "new-host-password"
DEMO_STAFF_USERNAME = "demo-staff"
DEMO_STAFF_PASSWORD = "demo-staff-password"
# The demo host's API token for the interactive API docs (seed_api_token): a fixed, public value so
# `make run` can print it; that command refuses to set it outside the demo.
DEMO_TOKEN = "nwk_demo_" + "0P3n-7h3-d0cs-w1th-7h15-d3m0-70k3n"
# Its lock's gateway is kept offline by the sandbox on purpose (locks.demo): the name says so, on
# every page and email that shows it.
OFFLINE_DEMO_PROPERTY = "Canal Loft (lock offline on purpose, to show retries)"


@dataclass(frozen=True)
class DemoProperty:
    name: str
    time_zone: str
    pms_source: str = PmsSource.NOWISTAY
    ai_assistant_active: bool = True
    check_in: time | None = None
    check_out: time | None = None
    # The first day of a daylight-saving change worth a booking across it, if the zone has one.
    dst_change: date | None = None


DEMO_PROPERTIES = [
    DemoProperty("Montmartre Loft", "Europe/Paris", check_in=time(16), check_out=time(10), dst_change=date(2027, 3, 28)),
    DemoProperty("Brooklyn Brownstone", "America/New_York", dst_change=date(2027, 3, 14)),
    DemoProperty("Lord Howe Beach House", "Australia/Lord_Howe", dst_change=date(2027, 4, 4)),
    DemoProperty("Thamel Guesthouse", "Asia/Kathmandu", check_in=time(14), check_out=time(12)),
    DemoProperty("Porto Riverside Flat", "Europe/Lisbon", check_in=time(15), check_out=time(11), dst_change=date(2027, 3, 28)),
    # Its lock's gateway is offline in the sandbox: codes retry hourly, so a failing code can be studied.
    DemoProperty(OFFLINE_DEMO_PROPERTY, "Europe/Amsterdam"),
    DemoProperty("Lisbon Flat (direct OTA)", "Europe/Lisbon", pms_source=PmsSource.DIRECT_OTA),
    DemoProperty("Austin Cabin (other PMS)", "America/Chicago", pms_source=PmsSource.OTHER_PMS),
    DemoProperty("Berlin Studio (no AI Assistant)", "Europe/Berlin", ai_assistant_active=False),
]

NEW_HOST_PROPERTIES = [
    DemoProperty("Canal House", "Europe/Amsterdam"),
    DemoProperty("Harbour Cottage", "Europe/Dublin", check_in=time(16)),
    DemoProperty("Porto Riverside (direct OTA)", "Europe/Lisbon", pms_source=PmsSource.DIRECT_OTA),
]

DEMO_GUESTS = ["Alice Martin", "Bruno Costa", "Chen Wei", "Dana Cohen", "Emeka Obi", "Freya Lund"]


@dataclass(frozen=True)
class SeedResult:
    created: bool
    properties: int
    bookings: int


def _users():
    users = get_user_model()
    host, host_created = users.objects.get_or_create(
        username=DEMO_HOST_USERNAME, defaults={"email": "host@nowistay.example", "first_name": "Demo"}
    )
    if host_created:
        host.set_password(DEMO_HOST_PASSWORD)
        host.save()
    staff, staff_created = users.objects.get_or_create(
        username=DEMO_STAFF_USERNAME,
        defaults={"email": "staff@nowistay.example", "is_staff": True, "is_superuser": True},
    )
    if staff_created:
        staff.set_password(DEMO_STAFF_PASSWORD)
        staff.save()
    accounts_demo.enrol_demo_staff(staff)  # the admin needs a second factor: the demo's is published
    return host, host_created


def _bookings_for(prop: Property, spec: DemoProperty, today: date, offset: int) -> list[Booking]:
    stays = [
        (today - timedelta(days=1), 3, BookingStatus.CONFIRMED),  # staying now
        (today + timedelta(days=2), 4, BookingStatus.CONFIRMED),  # code due now
        (today + timedelta(days=9), 2, BookingStatus.CONFIRMED),  # code not due yet
        (today + timedelta(days=12), 5, BookingStatus.PENDING),
        (today + timedelta(days=20), 3, BookingStatus.CANCELLED),
    ]
    if spec.dst_change:
        stays.append((spec.dst_change - timedelta(days=1), 3, BookingStatus.CONFIRMED))
    bookings = []
    for index, (arrival, nights, status) in enumerate(stays):
        guest = DEMO_GUESTS[(offset + index) % len(DEMO_GUESTS)]
        bookings.append(
            Booking(
                property=prop,
                guest_name=guest,
                guest_email=f"{guest.split()[0].lower()}@guest.example",
                guest_phone=f"+33 6 {12 + index:02d} {34 + offset:02d} 56 7{index}",
                arrival_date=arrival,
                departure_date=arrival + timedelta(days=nights),
                status=status,
                check_in_time=time(13) if index == 1 else None,  # one negotiated early check-in
            )
        )
    return bookings


@transaction.atomic
def seed_demo(*, today: date) -> SeedResult:
    """Create the demo host, staff user, properties and bookings; a second run changes nothing."""
    host, created = _users()
    _seed_new_host(today)
    if not created and Property.objects.filter(host=host).exists():
        return SeedResult(created=False, properties=host.properties.count(), bookings=Booking.objects.filter(property__host=host).count())
    count = _seed_properties(host, DEMO_PROPERTIES, today)
    return SeedResult(created=True, properties=len(DEMO_PROPERTIES), bookings=count)


def _seed_new_host(today: date) -> None:
    host, created = get_user_model().objects.get_or_create(
        username=NEW_HOST_USERNAME, defaults={"email": "new-host@nowistay.example", "first_name": "New"}
    )
    if created:
        host.set_password(NEW_HOST_PASSWORD)
        host.save()
    if not Property.objects.filter(host=host).exists():
        _seed_properties(host, NEW_HOST_PROPERTIES, today)


def _seed_properties(host, specs: list[DemoProperty], today: date) -> int:
    bookings: list[Booking] = []
    for offset, spec in enumerate(specs):
        prop = Property.objects.create(
            host=host,
            name=spec.name,
            time_zone=spec.time_zone,
            default_check_in_time=spec.check_in,
            default_check_out_time=spec.check_out,
            pms_source=spec.pms_source,
            ai_assistant_active=spec.ai_assistant_active,
        )
        bookings.extend(_bookings_for(prop, spec, today, offset))
    for booking in bookings:
        booking.full_clean()
    Booking.objects.bulk_create(bookings)
    return len(bookings)
