"""Guest phone numbers: read with libphonenumber in the property's country (its own, else its time
zone's), stored in E.164, refused with one message from the host form, the admin and the API; the
phone PIN from the national number; the numbers stored before rewritten by the data migration."""

import importlib
import json
import random
import re
from datetime import timedelta
from importlib import resources

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings.api.services import api_token_create
from bookings.models import Booking, BookingStatus, Property
from locks.models import CodeSource, LockAssignment
from locks.pins import choose_pin, generic_rule, phone_pin
from nowistay import phones
from nowistay.countries import country_names, country_of_time_zone
from nowistay.phones import PhoneRefused, to_e164
from nowistay.validators import forbidden_character, phone_in_e164, single_line_message
from tests.helpers.lifecycle import current, tick

pytestmark = pytest.mark.django_db

MIGRATION = "0006_property_country_and_phones_in_e164"


# --- reading a number ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "region, typed, e164",
    [
        ("FR", "06 12 34 56 78", "+33612345678"),
        ("FR", "+33 6 12 34 56 78", "+33612345678"),
        ("FR", "00 33 6 12 34 56 78", "+33612345678"),
        ("GB", "07400 123456", "+447400123456"),
        ("GB", "020 7946 0958", "+442079460958"),
        ("GB", "+44 (0)20 7946 0958", "+442079460958"),
        ("US", "(201) 555-0123", "+12015550123"),
        ("US", "+1.201.555.0123", "+12015550123"),
        ("ES", "612 34 56 78", "+34612345678"),
        ("ES", "+34 912 345 678", "+34912345678"),
        ("PT", "912 345 678", "+351912345678"),
        ("PT", "+351 21 234 5678", "+351212345678"),
        ("DE", "0151 23456789", "+4915123456789"),
        ("DE", "+49 30 123456", "+4930123456"),
        ("IT", "333 123 4567", "+393331234567"),
        ("IT", "06 1234 5678", "+390612345678"),  # Italy keeps the 0 of a landline
        # A number with its country code is read the same in any country.
        ("US", "+33 6 12 34 56 78", "+33612345678"),
        ("DE", "+44 7700 900123", "+447700900123"),  # an unallocated range, but the country is certain
        ("FR", "0044 7700 900123", "+447700900123"),  # the country code after France's international prefix
        (None, "+351 912 345 678", "+351912345678"),
    ],
)
def test_numbers_with_and_without_a_country_code_are_read_in_e164(region, typed, e164):
    assert to_e164(typed, region=region) == e164


@pytest.mark.parametrize(
    "region, typed, country",
    [
        ("GB", "06 12 34 56 78", "Britain (UK)"),  # a French mobile typed at a London property
        ("GB", "07700 900123", "Britain (UK)"),  # a possible length, in no allocated range
        ("FR", "07 01 23 45 67", "France"),
        ("US", "(555) 010-9999", "United States"),
    ],
)
def test_a_number_without_its_country_code_must_be_a_real_number_of_the_property_country(region, typed, country):
    with pytest.raises(PhoneRefused) as refused:
        to_e164(typed, region=region)
    assert refused.value.message == (
        f"This is not a phone number in {country}: check it. A number from another country starts with + and its country code."
    )


def test_the_same_digits_are_another_number_in_another_country():
    assert to_e164("612 34 56 78", region="ES") == "+34612345678"
    assert to_e164("612 34 56 78", region="FR") == "+33612345678"


@pytest.mark.parametrize(
    "typed, message",
    [
        ("((((", phones.NO_DIGITS),
        ("()-./", phones.NO_DIGITS),
        ("+", phones.NO_DIGITS),
        ("call me", phones.DIGITS_ONLY),
        ("12ab", phones.DIGITS_ONLY),
        ("1-800-FLOWERS", phones.DIGITS_ONLY),  # a keypad word libphonenumber would read
        ("+33 6 12 34 56 78 ext. 12", phones.NO_EXTENSION),
        ("+33 6 12 34 56 78 x12", phones.NO_EXTENSION),
        ("+33612345678#12", phones.NO_EXTENSION),
        ("+33 6 12 34 56 78;ext=12", phones.NO_EXTENSION),
        ("+999 1234 5678", phones.UNKNOWN_COUNTRY_CODE),
        ("+33 6 12 34 5", "This phone number is too short for France (+33): check it."),
        ("+33 6 12 34 56 78 9", "This phone number is too long for France (+33): check it."),
        (
            "06 12 34",
            "This phone number is too short for France: check it. A number from another country starts with + and its country code.",
        ),
        (
            "0151 23456789",
            "This phone number is too long for France: check it. A number from another country starts with + and its country code.",
        ),
        ("+1 555 0123", "Add the area code: this is a local number in United States (+1)."),
        ("12", "This phone number is too short for France: check it. A number from another country starts with + and its country code."),
        ("1", "This phone number is too short: check it."),
        ("+33 1", "This phone number is too short: check it."),
    ],
)
def test_what_is_not_a_phone_number_is_refused_saying_why(typed, message):
    with pytest.raises(PhoneRefused) as refused:
        to_e164(typed, region="FR")
    assert refused.value.message == message
    assert not re.search(r"\d{4}", message)  # the guest's number is never repeated


def test_a_number_without_a_country_code_needs_a_country_to_be_read_in():
    with pytest.raises(PhoneRefused) as refused:
        to_e164("06 12 34 56 78", region=None)
    assert refused.value.message == phones.NO_COUNTRY
    assert to_e164("+33 6 12 34 56 78", region=None) == "+33612345678"


@pytest.mark.parametrize("character", ["\x00", "\n", "\x1b", "\x85", "\u2028", "\t"])
def test_control_characters_keep_the_message_of_the_plain_text_rule(make_property, character):
    typed = f"+33 6{character} 12 34 56 78"
    booking = Booking(property=make_property(), guest_name="Grace", guest_phone=typed,
                      arrival_date=timezone.localdate(), departure_date=timezone.localdate() + timedelta(days=2))
    with pytest.raises(ValidationError) as refused:
        booking.full_clean()
    assert single_line_message(forbidden_character(typed)) in refused.value.message_dict["guest_phone"]


def test_an_empty_phone_stays_empty():
    assert to_e164("", region="FR") == "" and to_e164("  ", region=None) == ""
    assert phone_in_e164("", region=None) == ""


# --- the property's country -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone, country",
    [
        ("Europe/Paris", "FR"), ("Europe/London", "GB"), ("America/New_York", "US"), ("Europe/Madrid", "ES"),
        ("Europe/Lisbon", "PT"), ("Europe/Berlin", "DE"), ("Europe/Rome", "IT"), ("Europe/Monaco", "MC"),
        ("Atlantic/Madeira", "PT"), ("Europe/Busingen", "DE"),
        # Old names, through tzdata's links
        ("US/Eastern", "US"), ("Europe/Kiev", "UA"), ("Asia/Calcutta", "IN"), ("Portugal", "PT"),
        # Zones of no one country: no guess (a guessed country would misread a number)
        ("UTC", None), ("Etc/GMT+2", None), ("CET", None), ("EET", None), ("EST", None),
        ("Atlantic/Jan_Mayen", None), ("Europe/Belfast", None), ("Mars/Olympus", None), ("", None),
    ],
)
def test_the_country_of_a_time_zone(zone, country):
    assert country_of_time_zone(zone) == country


def test_the_tables_come_from_the_installed_tzdata_package():
    files = resources.files("tzdata.zoneinfo")
    assert all(files.joinpath(name).is_file() for name in ("iso3166.tab", "zone.tab", "tzdata.zi"))
    names = country_names()
    assert names["FR"] == "France" and names["PT"] == "Portugal" and len(names) > 240
    zone_tab = files.joinpath("zone.tab").read_text(encoding="utf-8")
    listed = [line.split("\t") for line in zone_tab.splitlines() if line and not line.startswith("#")]
    assert all(country_of_time_zone(row[2]) == row[0] for row in listed)


def test_the_property_country_comes_first_then_its_time_zones(make_property):
    assert make_property(time_zone="Europe/Lisbon").phone_region == "PT"
    assert make_property(time_zone="Europe/Paris", country="ES").phone_region == "ES"
    assert make_property(time_zone="UTC").phone_region is None


@pytest.mark.parametrize("code", ["XX", "fr", "F", "FRA", "\x1b"])
def test_a_property_country_is_an_iso_code(make_property, code):
    prop = make_property()
    prop.country = code
    with pytest.raises(ValidationError) as refused:
        prop.full_clean()
    assert "country" in refused.value.message_dict


# --- one rule from the host form, the admin and the API -----------------------------------------


def some_days():
    today = timezone.localdate()
    return str(today + timedelta(days=30)), str(today + timedelta(days=32))


def through_the_form(host, prop, phone: str) -> tuple[str | None, list[str]]:
    client = Client()
    client.force_login(host)
    arrival, departure = some_days()
    response = client.post(reverse("booking_pages:new"), {
        "property": prop.pk, "guest_name": "Form Guest", "guest_email": "", "guest_phone": phone,
        "arrival_date": arrival, "departure_date": departure, "status": BookingStatus.PENDING, "step": "save",
    })
    if response.status_code == 400:
        return None, response.context["form"].errors["guest_phone"]
    assert response.status_code == 302, response.status_code
    return Booking.objects.get(guest_name="Form Guest").guest_phone, []


def through_the_admin(staff, prop, phone: str) -> tuple[str | None, list[str]]:
    client = Client()
    client.force_login(staff)
    arrival, departure = some_days()
    response = client.post(reverse("admin:bookings_booking_add"), {
        "property": prop.pk, "guest_name": "Admin Guest", "guest_email": "", "guest_phone": phone,
        "arrival_date": arrival, "departure_date": departure, "status": BookingStatus.PENDING,
        "check_in_time": "", "check_out_time": "",
        "external_ref-TOTAL_FORMS": "0", "external_ref-INITIAL_FORMS": "0",
        "external_ref-MIN_NUM_FORMS": "0", "external_ref-MAX_NUM_FORMS": "1",
    })
    if response.status_code == 200:
        return None, response.context["adminform"].form.errors["guest_phone"]
    assert response.status_code == 302, response.status_code
    return Booking.objects.get(guest_name="Admin Guest").guest_phone, []


def through_the_api(token: str, prop, phone: str) -> tuple[str | None, list[str]]:
    arrival, departure = some_days()
    body = {"property": prop.pk, "guest_name": "Api Guest", "guest_phone": phone,
            "arrival_date": arrival, "departure_date": departure, "status": "pending"}
    response = Client().put("/api/v1/bookings/PHONE-1/", json.dumps(body), content_type="application/json",
                            headers={"Authorization": f"Bearer {token}"})
    if response.status_code == 400:
        errors = response.json()["errors"]
        assert [error["field"] for error in errors] == ["guest_phone"], errors
        return None, [error["message"] for error in errors]
    assert response.status_code in (200, 201), response.content
    stored = Booking.objects.get(guest_name="Api Guest").guest_phone
    assert response.json()["guest_phone"] == stored
    return stored, []


@pytest.fixture
def paths(host, make_property, django_user_model):
    prop = make_property(name="Lisbon Flat", time_zone="Europe/Lisbon")
    staff = django_user_model.objects.create_superuser(username="staff", email="staff@example.com", password="staff-pw-123")
    _, token = api_token_create(host=host, name="PMS")
    return {
        "form": lambda phone: through_the_form(host, prop, phone),
        "admin": lambda phone: through_the_admin(staff, prop, phone),
        "api": lambda phone: through_the_api(token, prop, phone),
    }


ACCEPTED = [
    ("912 345 678", "+351912345678"),  # Lisbon: read as a Portuguese number
    ("+351 912 345 678", "+351912345678"),
    ("+44 7700 900123", "+447700900123"),
    ("00 33 6 12 34 56 78", "+33612345678"),
    ("+1 555 010 9999", "+15550109999"),
    ("+1 (201) 555-0123", "+12015550123"),
    ("", ""),
]
REFUSED = [
    "((((", "call me", "12ab", "+351 912 345 678 ext. 9", "+351 91", "+351 912 345 678 9", "06 12 34 56 78", "812 345 678",
    "+999 123 456 789", "+351 9\x0012", "+351 912 345 678\n", "+351\u2028912", "\t+351 912 345 678",
]


@pytest.mark.parametrize("typed, stored", ACCEPTED)
def test_the_form_the_admin_and_the_api_store_the_same_e164(paths, typed, stored):
    for name, path in paths.items():
        assert path(typed) == (stored, []), name


@pytest.mark.parametrize("typed", REFUSED, ids=[repr(value) for value in REFUSED])
def test_the_form_the_admin_and_the_api_refuse_with_the_same_message(paths, typed):
    answers = {name: path(typed) for name, path in paths.items()}
    assert answers["form"][0] is None and len(answers["form"][1]) == 1, answers
    assert answers["admin"] == answers["form"] == answers["api"], answers
    assert not Booking.objects.exists()


def test_a_patch_reads_the_number_in_the_propertys_country(host, make_property):
    prop = make_property(time_zone="Europe/Madrid")
    _, token = api_token_create(host=host, name="PMS")
    auth = {"Authorization": f"Bearer {token}"}
    arrival, departure = some_days()
    created = Client().put("/api/v1/bookings/P-1/", json.dumps({
        "property": prop.pk, "guest_name": "Grace", "arrival_date": arrival, "departure_date": departure, "status": "pending",
    }), content_type="application/json", headers=auth)
    assert created.status_code == 201
    patched = Client().patch("/api/v1/bookings/P-1/", json.dumps({"guest_phone": "612 34 56 78"}),
                             content_type="application/json", headers=auth)
    assert patched.status_code == 200 and patched.json()["guest_phone"] == "+34612345678"
    assert Booking.objects.get().guest_phone == "+34612345678"


def test_a_repeated_push_of_the_number_as_typed_changes_nothing(host, make_property):
    prop = make_property()
    _, token = api_token_create(host=host, name="PMS")
    arrival, departure = some_days()
    body = json.dumps({"property": prop.pk, "guest_name": "Grace", "guest_phone": "06 12 34 56 78",
                       "arrival_date": arrival, "departure_date": departure, "status": "pending"})

    def put():
        return Client().put("/api/v1/bookings/P-2/", body, content_type="application/json", headers={"Authorization": f"Bearer {token}"})

    assert put().status_code == 201
    updated_at = Booking.objects.get().updated_at
    assert put().status_code == 200
    assert Booking.objects.get().updated_at == updated_at


def test_a_number_stored_before_that_could_not_be_read_does_not_block_other_changes(book, make_property):
    """The data migration keeps what it cannot read: a cancellation must still go through."""
    from bookings.services import booking_set_status, booking_update

    booking = book(make_property(time_zone="UTC"), timezone.localdate() + timedelta(days=5), timezone.localdate() + timedelta(days=7),
                   guest_phone="06 12 34 56 78")
    booking_set_status(booking=booking, status=BookingStatus.CANCELLED)
    assert Booking.objects.get().status == BookingStatus.CANCELLED
    assert Booking.objects.get().guest_phone == "06 12 34 56 78"
    with pytest.raises(ValidationError) as refused:  # changed, it is read like any other
        booking_update(booking=booking, data={"guest_phone": "06 12 34 56 79"})
    assert refused.value.message_dict["guest_phone"] == [phones.NO_COUNTRY]


# --- the property settings page and the admin ---------------------------------------------------


def test_the_settings_page_offers_the_countries_and_says_what_empty_means(client, host, make_property):
    prop = make_property(time_zone="Europe/Lisbon")
    client.force_login(host)
    page = client.get(reverse("bookings:property_settings", args=[prop.pk])).content.decode()
    assert '<select name="country"' in page
    assert '<option value="" selected>The time zone&#x27;s country (Portugal)</option>' in page
    assert '<option value="ES">Spain (ES)</option>' in page

    utc = make_property(name="Nowhere", time_zone="UTC")
    page = client.get(reverse("bookings:property_settings", args=[utc.pk])).content.decode()
    assert "None: guest phone numbers need their country code" in page


def test_a_country_set_on_the_settings_page_reads_the_next_numbers(client, host, make_property):
    prop = make_property(time_zone="Europe/Paris")
    client.force_login(host)
    url = reverse("bookings:property_settings", args=[prop.pk])
    response = client.post(url, {"time_zone": "Europe/Paris", "country": "ES", "default_check_in_time": "", "default_check_out_time": ""})
    assert response.status_code == 302
    prop.refresh_from_db()
    assert prop.country == "ES"
    stored, _ = through_the_form(host, prop, "612 34 56 78")
    assert stored == "+34612345678"

    refused = client.post(url, {"time_zone": "Europe/Paris", "country": "XX", "default_check_in_time": "", "default_check_out_time": ""})
    assert refused.status_code == 400 and "country" in refused.context["form"].errors
    assert Property.objects.get(pk=prop.pk).country == "ES"


def test_the_admin_edits_the_country_from_the_list(rf, make_property, django_user_model):
    prop = make_property(time_zone="Europe/Rome")
    request = rf.get("/admin/")
    request.user = django_user_model.objects.create_superuser(username="staff", email="s@example.com", password="staff-pw-123")
    form_class = admin.site._registry[Property].get_form(request, prop)
    field = form_class.base_fields["country"]
    assert field.choices[0] == ("", "The time zone's country (Italy)") and ("IT", "Italy (IT)") in field.choices
    data = {"name": prop.name, "time_zone": prop.time_zone, "country": "SM", "pms_source": prop.pms_source,
            "ai_assistant_active": "on", "default_check_in_time": "", "default_check_out_time": ""}
    form = form_class(data=data, instance=prop)
    assert form.is_valid(), form.errors
    assert form.save().country == "SM"


def test_staff_find_a_booking_by_the_number_as_people_write_it(client, book, make_property, django_user_model):
    booking = book(make_property(), timezone.localdate(), timezone.localdate() + timedelta(days=2), guest_phone="+33612345678")
    book(make_property(name="Other"), timezone.localdate(), timezone.localdate() + timedelta(days=2), guest_phone="+447700900123")
    client.force_login(django_user_model.objects.create_superuser(username="staff", email="s@example.com", password="staff-pw-123"))
    for typed in ("06 12 34 56 78", "+33 6 12 34 56 78", "612345678"):
        response = client.get(reverse("admin:bookings_booking_changelist"), {"q": typed})
        assert list(response.context["cl"].result_list) == [booking], typed


# --- the phone PIN ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stored, pin",
    [
        ("+447700900123", "900123"),  # national number 7700 900123: its last 6 digits
        ("+33612345678", "345678"),
        ("+390612345678", "345678"),
        ("+15550109999", "109999"),
        ("+6834002", None),  # Niue: a 4-digit national number; the old rule took "834002", country code included
        ("+2902345", None),  # Saint Helena
    ],
)
def test_the_phone_pin_is_the_end_of_the_national_number(stored, pin):
    assert phone_pin(stored) == pin


def test_a_short_national_number_gives_a_random_pin_not_the_country_codes_digits():
    pin = choose_pin(source="guest_phone", phone="+6834002", taken=(), rule=generic_rule, rng=random.Random(5))
    assert pin == choose_pin(source="random", phone=None, taken=(), rule=generic_rule, rng=random.Random(5))
    assert pin != "834002"


def test_a_uk_guest_gets_the_national_numbers_digits(host, assigned_property):
    prop = assigned_property(time_zone="Europe/London")
    LockAssignment.objects.filter(property=prop).update(code_source=CodeSource.GUEST_PHONE)
    _, token = api_token_create(host=host, name="PMS")
    today = timezone.localdate()
    response = Client().put("/api/v1/bookings/UK-1/", json.dumps({
        "property": prop.pk, "guest_name": "Grace", "guest_phone": "+44 7700 900123",
        "arrival_date": str(today + timedelta(days=1)), "departure_date": str(today + timedelta(days=3)), "status": "confirmed",
    }), content_type="application/json", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201 and response.json()["guest_phone"] == "+447700900123"
    tick()
    assert current(Booking.objects.get()).pin == "900123"


# --- the numbers stored before ------------------------------------------------------------------------


def historical_apps():
    return MigrationExecutor(connection).loader.project_state(("bookings", MIGRATION)).apps


def test_the_migration_rewrites_what_reads_in_each_propertys_country_and_keeps_the_rest(book, make_property, capsys):
    day = timezone.localdate()
    paris, london = make_property(name="Paris"), make_property(name="London", time_zone="Europe/London")
    madrid_set = make_property(name="Paris, set to Spain", country="ES")
    utc = make_property(name="UTC", time_zone="UTC")
    stored = {
        (paris, "06 12 34 56 78"): "+33612345678",
        (paris, "+33 6 12 34 56 78"): "+33612345678",
        (paris, "+1 (555) 010-9999"): "+15550109999",
        (london, "07400 123456"): "+447400123456",
        (london, "020 7946 0958"): "+442079460958",
        (madrid_set, "612 34 56 78"): "+34612345678",
        (paris, "+33612345678"): "+33612345678",  # already E.164
        (paris, ""): "",
        # Not a number of its property's country: kept as written, nothing lost.
        (paris, "07700 900123"): "07700 900123",
        (london, "06 12 34 56 78"): "06 12 34 56 78",  # a possible UK length, but no UK number
        (utc, "06 12 34 56 78"): "06 12 34 56 78",
        (paris, "(((("): "((((",
        (paris, "+33 6 12"): "+33 6 12",
    }
    bookings = {key: book(key[0], day, day + timedelta(days=1), guest_phone=key[1]) for key in stored}

    module = importlib.import_module(f"bookings.migrations.{MIGRATION}")
    converted, left = module.phones_to_e164(historical_apps(), None)

    assert {key: Booking.objects.get(pk=booking.pk).guest_phone for key, booking in bookings.items()} == stored
    assert (converted, left) == (6, 5)
    report = capsys.readouterr().out
    assert "6 rewritten in E.164, 5 left as written" in report
    assert not re.search(r"\d{3}", report.replace("E.164", ""))  # counts only, never a number

    assert module.phones_to_e164(historical_apps(), None) == (0, 5)  # a second run changes nothing
