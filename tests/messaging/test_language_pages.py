"""The template editor's languages (issue 23): the main language, the fallback, the other
languages' texts (no JavaScript needed), errors next to the field with the typed text kept, the
list's languages, and the live preview's language switch."""

import html
from datetime import date, time

import pytest
from django.urls import reverse
from django.utils import translation
from freezegun import freeze_time

from messaging.models import MessageTemplate, MessageTemplateText, OffsetUnit, TriggerKind

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]

CODE_BODY = "Hi {{guest_name}}, your code is {{smartlock_code}} from {{arrival_date}}."


def form_data(*texts, **overrides):
    """The editor's POST: the main text, then one row per (language, subject, body[, delete, id])."""
    data = {
        "name": "Door code", "is_active": "on", "trigger": TriggerKind.BEFORE_CHECK_IN, "offset": "1",
        "offset_unit": OffsetUnit.DAYS, "send_at": "10:00", "channels": ["email"], "language": "en", "fallback_language": "",
        "subject": "Your code for {{property_name}}", "body": CODE_BODY, "action": "save",
        "texts-TOTAL_FORMS": str(len(texts)), "texts-INITIAL_FORMS": str(sum(1 for text in texts if len(text) > 4)),
        "texts-MIN_NUM_FORMS": "0", "texts-MAX_NUM_FORMS": "20",
    }
    for index, (language, subject, body, *rest) in enumerate(texts):
        data.update({f"texts-{index}-language": language, f"texts-{index}-subject": subject, f"texts-{index}-body": body})
        if rest and rest[0]:
            data[f"texts-{index}-DELETE"] = "on"
        if len(rest) > 1:
            data[f"texts-{index}-id"] = str(rest[1])
    data.update(overrides)
    return data


FRENCH = ("fr", "Votre code pour {{property_name}}", "Bonjour {{guest_name}}, votre code est {{smartlock_code}} dès le {{arrival_date}}.")


@pytest.fixture
def logged_in(client, host):
    client.force_login(host)
    return client


def text(content: str) -> str:
    return html.unescape(content)


class TestEditor:
    def test_the_new_page_offers_the_languages_without_javascript(self, logged_in):
        content = logged_in.get(reverse("messaging:template_create")).content.decode()
        assert '<select name="language"' in content and '<option value="en" selected>English</option>' in content
        assert '<select name="fallback_language"' in content
        assert 'name="texts-TOTAL_FORMS" value="1"' in content and '<select name="texts-0-language"' in content
        assert '<select id="preview-language" name="preview_language"' in content

    def test_saving_the_main_text_other_languages_and_the_fallback(self, logged_in, host):
        spanish = ("es", "Su código", "Hola {{guest_name}}, su código es {{smartlock_code}}.")
        response = logged_in.post(reverse("messaging:template_create"), form_data(FRENCH, spanish, fallback_language="fr"))
        assert response.status_code == 302
        template = MessageTemplate.objects.get(host=host)
        assert (template.language, template.fallback_language) == ("en", "fr")
        assert {t.language: t.subject for t in template.translations.all()} == {"fr": FRENCH[1], "es": "Su código"}
        page = text(logged_in.get(reverse("messaging:templates")).content.decode())
        assert '<td class="languages">English (main), Spanish, French</td>' in page

    def test_a_blank_extra_row_is_ignored_and_a_row_can_be_removed(self, logged_in, host):
        logged_in.post(reverse("messaging:template_create"), form_data(FRENCH, ("", "", "")))
        template = MessageTemplate.objects.get(host=host)
        (french,) = template.translations.all()
        edit = reverse("messaging:template_edit", args=[template.pk])
        data = form_data((*FRENCH, True, french.pk), ("", "", ""))
        data["texts-INITIAL_FORMS"] = "1"
        assert logged_in.post(edit, data).status_code == 302
        assert not MessageTemplateText.objects.exists()

    def test_a_text_without_the_code_is_refused_next_to_its_field_and_nothing_typed_is_lost(self, logged_in, host):
        german = ("de", "Ihr Aufenthalt", "Hallo {{guest_name}}, bis bald – Gruß aus dem Haus.")
        response = logged_in.post(reverse("messaging:template_create"), form_data(FRENCH, german))
        assert response.status_code == 400 and not MessageTemplate.objects.exists()
        texts = response.context["texts"]
        assert texts.forms[1].errors == {
            "body": ["The main text carries the door code, so the German text must too: add {{smartlock_code}}."]
        }
        content = text(response.content.decode())
        assert "Hallo {{guest_name}}, bis bald – Gruß aus dem Haus." in content and FRENCH[2] in content
        assert "The message was not saved" in content

    def test_the_fallback_must_be_one_of_the_messages_languages(self, logged_in):
        response = logged_in.post(reverse("messaging:template_create"), form_data(FRENCH, fallback_language="it"))
        assert response.status_code == 400
        (error,) = response.context["form"].errors["fallback_language"]
        assert error.startswith("Choose one of this message's languages (English, French)")

    def test_the_main_language_twice_is_refused(self, logged_in):
        response = logged_in.post(reverse("messaging:template_create"), form_data(("en", "Again", CODE_BODY)))
        assert response.status_code == 400
        assert response.context["texts"].forms[0].errors["language"] == ["This is the main text's language."]

    def test_after_check_out_no_language_may_carry_the_code(self, logged_in):
        data = form_data(("it", "Grazie", "Grazie! Codice {{smartlock_code}}"), trigger=TriggerKind.AFTER_CHECK_OUT, offset="2")
        data["body"] = "Thank you for staying!"
        response = logged_in.post(reverse("messaging:template_create"), data)
        assert response.status_code == 400
        assert "Italian text" in response.context["texts"].forms[0].errors["body"][0]

    def test_a_page_without_the_language_rows_keeps_the_saved_texts(self, logged_in, host):
        template = MessageTemplate.objects.create(
            host=host, name="x", trigger=TriggerKind.BEFORE_CHECK_IN, offset=1, send_at=time(10), subject="s", body=CODE_BODY,
        )
        MessageTemplateText.objects.create(template=template, language="fr", subject=FRENCH[1], body=FRENCH[2])
        data = {key: value for key, value in form_data().items() if not key.startswith("texts-")}
        del data["language"]
        assert logged_in.post(reverse("messaging:template_edit", args=[template.pk]), data).status_code == 302
        assert template.translations.count() == 1 and MessageTemplate.objects.get().language == "en"


class TestPreviewLanguage:
    def preview(self, client, *texts, **fields):
        data = form_data(*texts, **fields)
        data.pop("action")
        return text(client.post(reverse("messaging:preview"), data).content.decode())

    def test_the_chosen_language_shows_its_text_with_its_dates(self, logged_in):
        with freeze_time("2026-03-05 09:00:00"):  # the sample guest arrives in a week: Thursday 12 March
            content = self.preview(logged_in, FRENCH, preview_language="fr")
        assert "Votre code pour Seaside Flat" in content and "dès le jeudi 12 mars 2026." in content
        assert 'data-preview-language="fr"' in content

    def test_a_language_without_text_shows_what_the_fallback_would_send_and_says_so(self, logged_in):
        with freeze_time("2026-03-05 09:00:00"):
            content = self.preview(logged_in, FRENCH, preview_language="de", fallback_language="fr")
        assert "Votre code pour Seaside Flat" in content
        assert "No German text: a guest in German gets the French text (the fallback)." in content

    def test_without_a_choice_the_sample_shows_the_main_text_in_english(self, logged_in):
        with freeze_time("2026-03-05 09:00:00"):
            content = self.preview(logged_in, FRENCH)
        assert "Your code for Seaside Flat" in content and "from Thursday 12 March 2026." in content

    def test_on_a_real_booking_it_defaults_to_the_guests_language(self, logged_in, make_property, book):
        booking = book(make_property(), date(2026, 6, 11), date(2026, 6, 13), guest_phone="+33612345678")
        content = self.preview(logged_in, FRENCH, preview_booking=booking.pk)
        assert "Bonjour Grace Guest" in content and "dès le jeudi 11 juin 2026." in content
        page = logged_in.get(reverse("messaging:template_create") + f"?preview_booking={booking.pk}&preview_language=es")
        assert '<option value="es" selected>Spanish</option>' in page.content.decode()

    def test_an_invalid_language_choice_falls_back_to_the_default(self, logged_in):
        with freeze_time("2026-03-05 09:00:00"):
            content = self.preview(logged_in, FRENCH, preview_language="x\x00" * 5000)
        assert "Your code for Seaside Flat" in content


def test_a_new_message_starts_in_the_hosts_language(logged_in):
    content = logged_in.get(reverse("messaging:template_create"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<option value="fr" selected>' in content
    with translation.override("fr"):
        example = translation.gettext("Your stay at {{property_name}}")
    assert example != "Your stay at {{property_name}}" and html.escape(example) in content
