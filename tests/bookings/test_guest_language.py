"""The guest's language on a booking (issue 23): normalised codes, the phone number's country as a
hint, the booking form, the detail page and the PMS API."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from freezegun import freeze_time

import nowistay.urls  # noqa: F401  (the API's schemas are built before freezegun runs)
from bookings.api.services import api_token_create
from bookings.models import Booking
from nowistay.guest_languages import (
    INVALID_LANGUAGE,
    LanguageRefused,
    guest_language_choices,
    language_from_phone,
    language_name,
    normalise_language,
)
from tests.bookings.api.test_api import Api, booking_body, errors_of

pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")


@pytest.mark.parametrize(
    ("written", "code"),
    [("fr", "fr"), ("FR", "fr"), ("fr-FR", "fr"), ("pt_BR", "pt"), ("zh-Hant-HK", "zh"), (" de ", "de"), ("", ""), ("  ", "")],
)
def test_a_code_is_normalised_to_iso_639_1(written, code):
    assert normalise_language(written) == code


@pytest.mark.parametrize(
    "written", ["xx", "fra", "f", "french", "fr\x00", "\x00", "fr\n", "fr;DROP", "é", "fr FR", "-fr", "a" * 10_000, "fr-" + "x" * 10_000]
)
def test_anything_else_is_refused_cleanly(written):
    with pytest.raises(LanguageRefused) as refused:
        normalise_language(written)
    assert refused.value.message == INVALID_LANGUAGE


@pytest.mark.parametrize(
    ("phone", "language"),
    [
        ("+33612345678", "fr"),
        ("+34612345678", "es"),
        ("+41791234567", "de"),
        ("+5511987654321", "pt"),
        ("+12025550123", "en"),
        ("+447700900123", "en"),
        ("+393123456789", "it"),
        ("+80012345678", ""),  # international freephone: no country
        ("+999", ""),
        ("0612345678", ""),  # not E.164 (kept as written before numbers were read)
        ("", ""),
    ],
)
def test_the_phone_numbers_country_hints_the_language(phone, language):
    assert language_from_phone(phone) == language


def test_choices_are_named_in_the_hosts_language_and_sorted_by_name():
    english = dict(guest_language_choices("en"))
    assert english["fr"] == "French" and english["de"] == "German"
    assert dict(guest_language_choices("fr"))["de"] == "Allemand"
    names = [name.casefold() for _code, name in guest_language_choices("en")]
    assert names == sorted(names)
    assert language_name("es", "de") == "Spanisch"


class TestBookingModel:
    def test_the_model_stores_the_code_normalised(self, make_property, book):
        booking = book(make_property(), date(2026, 6, 1), date(2026, 6, 3), guest_language="fr-FR")
        booking.full_clean()
        assert booking.guest_language == "fr"

    @pytest.mark.parametrize("written", ["klingon", "xx", "a" * 10_000])
    def test_the_model_refuses_an_unknown_code_with_one_clear_error(self, make_property, book, written):
        booking = book(make_property(), date(2026, 6, 1), date(2026, 6, 3))
        booking.guest_language = written
        with pytest.raises(ValidationError) as refused:
            booking.full_clean()
        assert refused.value.message_dict == {"guest_language": [INVALID_LANGUAGE]}

    def test_a_control_character_is_named_as_in_every_text_field(self, make_property, book):
        booking = book(make_property(), date(2026, 6, 1), date(2026, 6, 3))
        booking.guest_language = "f\x00"
        with pytest.raises(ValidationError) as refused:
            booking.full_clean()
        (message,) = refused.value.message_dict["guest_language"]
        assert message == "Remove the NUL character U+0000 (character 2): only printable text is allowed."

    def test_effective_language_set_else_the_phone_else_none(self, make_property, book):
        prop = make_property()
        set_one = book(prop, date(2026, 6, 1), date(2026, 6, 3), guest_language="it", guest_phone="+34612345678")
        from_phone = book(prop, date(2026, 6, 1), date(2026, 6, 3), guest_phone="+34612345678")
        unknown = book(prop, date(2026, 6, 1), date(2026, 6, 3), guest_phone="")
        assert set_one.guest_language_with_source == ("it", "set")
        assert from_phone.guest_language_with_source == ("es", "phone") and from_phone.effective_guest_language == "es"
        assert unknown.guest_language_with_source == ("", "") and unknown.effective_guest_language == ""


@pytest.fixture
def logged_in(client, host):
    client.force_login(host)
    return client


def form_data(prop, **overrides) -> dict:
    data = {
        "property": prop.pk, "guest_name": "Ada Lovelace", "guest_email": "ada@example.com", "guest_phone": "+33 6 11 22 33 44",
        "guest_language": "", "arrival_date": "2026-03-12", "departure_date": "2026-03-15", "check_in_time": "",
        "check_out_time": "", "status": "confirmed",
    }
    data.update(overrides)
    return data


class TestBookingPages:
    def test_the_form_offers_the_languages_and_saves_the_chosen_one(self, logged_in, make_property):
        prop = make_property()
        page = logged_in.get(reverse("booking_pages:new")).content.decode()
        assert '<select name="guest_language"' in page and '<option value="fr">French</option>' in page
        assert "the phone number&#x27;s country is used" in page
        with freeze_time("2026-03-01 09:00:00"):
            review = logged_in.post(reverse("booking_pages:new"), {**form_data(prop, guest_language="es"), "step": "review"})
            assert 'name="guest_language" value="es"' in review.content.decode()
            logged_in.post(reverse("booking_pages:new"), {**form_data(prop, guest_language="es"), "step": "save"})
        assert Booking.objects.get().guest_language == "es"

    def test_an_unknown_language_is_a_400_next_to_the_field(self, logged_in, make_property):
        response = logged_in.post(reverse("booking_pages:new"), {**form_data(make_property(), guest_language="xx"), "step": "review"})
        assert response.status_code == 400
        assert "guest_language" in response.context["form"].errors
        assert not Booking.objects.exists()

    def test_the_detail_page_says_the_language_and_where_it_came_from(self, logged_in, make_property, book):
        prop = make_property()
        from_phone = book(prop, date(2026, 6, 1), date(2026, 6, 3), guest_phone="+33612345678")
        chosen = book(prop, date(2026, 6, 1), date(2026, 6, 3), guest_language="de")
        unknown = book(prop, date(2026, 6, 1), date(2026, 6, 3), guest_phone="")
        page = lambda booking: logged_in.get(reverse("booking_pages:edit", args=[booking.pk])).content.decode()  # noqa: E731
        assert '<dd id="guest-language">French (from the phone number)</dd>' in page(from_phone)
        assert '<dd id="guest-language">German</dd>' in page(chosen)
        assert "Not known" in page(unknown)


class TestApi:
    @pytest.fixture
    def api(self, client, host):
        import json

        import schemathesis

        from tests.helpers.openapi import SNAPSHOT

        return Api(client, schemathesis.openapi.from_dict(json.loads(SNAPSHOT.read_text())), api_token_create(host=host, name="PMS")[1])

    def test_put_stores_and_returns_the_normalised_code(self, api, make_property):
        response = api.put("/bookings/R1/", booking_body(make_property(), guest_language="pt-BR"))
        assert response.status_code == 201, response.content
        assert response.json()["guest_language"] == "pt"
        assert Booking.objects.get().guest_language == "pt"

    def test_left_out_it_is_empty_and_patch_sets_it(self, api, make_property):
        api.put("/bookings/R1/", booking_body(make_property()))
        assert api.get("/bookings/R1/").json()["guest_language"] == ""
        response = api.patch("/bookings/R1/", {"guest_language": "IT"})
        assert response.status_code == 200 and response.json()["guest_language"] == "it"

    @pytest.mark.parametrize("written", ["xx", "fr\u0000", "a" * 10_000])
    def test_an_invalid_code_is_a_400_naming_the_field(self, api, make_property, written):
        errors = errors_of(api.put("/bookings/R1/", booking_body(make_property(), guest_language=written)))
        assert errors == {"guest_language": INVALID_LANGUAGE}
        assert not Booking.objects.exists()

    def test_a_number_is_refused(self, api, make_property):
        assert set(errors_of(api.put("/bookings/R1/", booking_body(make_property(), guest_language=33)))) == {"guest_language"}
