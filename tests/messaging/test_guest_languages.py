"""Guest messages in the guest's language (issue 23): one text per language with a fallback, the
door code rule in every language, variables written in the language of the text sent, and a real
pass choosing the guest's text."""

from datetime import UTC, date, datetime, time
from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from freezegun import freeze_time

from locks.models import AccessCode
from locks.providers.usage_notes import first_use_note
from messaging import default_messages, rendering
from messaging.models import MessageDelivery, MessageTemplate, MessageTemplateText, TriggerKind
from messaging.usage_notes import usage_note_in
from nowistay.celery import app
from tests.helpers.guest_messages import GUEST
from tests.helpers.lifecycle import current

DUE = "2026-06-10 08:00:00"  # the door_code fixture's message (1 day before at 10:00, Paris) is due


def sample_values(language: str, **code_fields) -> dict[str, str]:
    return rendering.values_for(
        guest_name="Grace", property_name="Flat", arrival=date(2026, 3, 12), departure=date(2026, 3, 15),
        check_in=time(15, 0), check_out=time(9, 30), tz_name="Europe/Paris", language=language,
        code=rendering.CodeValues(
            pin="123456", valid_from=datetime(2026, 3, 12, 14, 0, tzinfo=UTC), valid_until=datetime(2026, 3, 15, 9, 0, tzinfo=UTC),
            **code_fields,
        ),
    )


# --- variables in the guest's language -------------------------------------------------------------

@pytest.mark.parametrize(
    ("language", "arrival", "check_out", "valid_from"),
    [
        ("", "Thursday 12 March 2026", "09:30", "15:00 on Thursday 12 March 2026"),
        ("en", "Thursday 12 March 2026", "09:30", "15:00 on Thursday 12 March 2026"),
        ("fr", "jeudi 12 mars 2026", "09:30", "jeudi 12 mars 2026, 15:00"),
        ("es", "jueves, 12 de marzo de 2026", "9:30", "jueves, 12 de marzo de 2026, 15:00"),
        ("de", "Donnerstag, 12. März 2026", "09:30", "Donnerstag, 12. März 2026, 15:00"),
        ("it", "giovedì 12 marzo 2026", "09:30", "giovedì 12 marzo 2026 15:00"),
        ("pt", "quinta-feira, 12 de março de 2026", "09:30", "quinta-feira, 12 de março de 2026 15:00"),
    ],
)
def test_dates_times_and_moments_are_written_in_the_language(language, arrival, check_out, valid_from):
    values = sample_values(language)
    assert values["arrival_date"] == arrival
    assert values["check_in_time"] == "15:00"  # 24-hour in all six
    assert values["check_out_time"] == check_out
    assert values["code_valid_from"] == valid_from  # 14:00 UTC is 15:00 in Paris


def test_english_is_unchanged_from_before_languages():
    values = sample_values("en")
    assert values["departure_date"] == date(2026, 3, 15).strftime("%A %-d %B %Y") == "Sunday 15 March 2026"
    assert values["code_valid_until"] == "10:00 on Sunday 15 March 2026"


def test_the_first_use_note_is_written_again_in_the_guests_language():
    stored = first_use_note(datetime(2026, 6, 3, 12, 0, tzinfo=UTC), __import__("zoneinfo").ZoneInfo("Europe/Paris"))
    assert stored == (
        "Enter this code on the lock at least once before 14:00 on 3 June 2026 (within 24 hours of when it starts working), "
        "or it will stop working."
    )
    assert usage_note_in(stored, "en") == usage_note_in(stored, "") == stored
    # No catalogue holds the sentence yet: English words, the deadline in the guest's language.
    assert "mercredi 3 juin 2026, 14:00" in usage_note_in(stored, "fr")
    with mock.patch("messaging.usage_notes.gettext", lambda text: "Utilisez-le avant %(deadline)s."):
        assert usage_note_in(stored, "fr") == "Utilisez-le avant mercredi 3 juin 2026, 14:00."


# --- texts per language -----------------------------------------------------------------------------

@pytest.fixture
def template(host):
    made = MessageTemplate.objects.create(
        host=host, name="Welcome", trigger=TriggerKind.ON_CONFIRMATION, language="en",
        subject="Welcome to {{property_name}}", body="Hello {{guest_name}}, see you on {{arrival_date}}.",
    )
    texts = {
        "fr": ("Bienvenue", "Bonjour {{guest_name}}, à {{arrival_date}}."),
        "es": ("Bienvenido", "Hola {{guest_name}}, el {{arrival_date}}."),
    }
    for language, (subject, body) in texts.items():
        MessageTemplateText.objects.create(template=made, language=language, subject=subject, body=body)
    return made


@pytest.mark.django_db
class TestTextFor:
    def test_the_guests_own_language(self, template):
        assert template.text_for("fr") == ("Bienvenue", "Bonjour {{guest_name}}, à {{arrival_date}}.", "fr")

    def test_the_main_language(self, template):
        assert template.text_for("en").language == "en" and template.text_for("en").subject == "Welcome to {{property_name}}"

    def test_a_language_without_text_gets_the_fallback_languages(self, template):
        template.fallback_language = "es"
        assert template.text_for("de") == ("Bienvenido", "Hola {{guest_name}}, el {{arrival_date}}.", "es")
        assert template.text_for("").language == "es"

    def test_without_a_fallback_the_main_text(self, template):
        assert template.text_for("de").language == "en"
        template.fallback_language = "nl"  # no text in it (the editor refuses this; sending still works)
        assert template.text_for("de").language == "en"


@pytest.mark.django_db
class TestValidation:
    def text(self, template, language="de", subject="Hallo", body="Hallo {{guest_name}}"):
        return MessageTemplateText(template=template, language=language, subject=subject, body=body)

    def test_a_valid_text(self, template):
        self.text(template).full_clean()

    def test_unknown_variables_and_lengths_as_the_main_text(self, template):
        with pytest.raises(ValidationError) as refused:
            self.text(template, subject="x" * 301, body="Hallo {{gast_name}}").full_clean()
        assert set(refused.value.message_dict) == {"subject", "body"}
        assert "gast_name" in " ".join(refused.value.message_dict["body"])

    def test_the_subject_is_one_line(self, template):
        with pytest.raises(ValidationError) as refused:
            self.text(template, subject="Hallo\nBcc: x@example.com").full_clean()
        assert "subject" in refused.value.message_dict

    def test_a_language_code_is_normalised_and_checked(self, template):
        text = self.text(template, language="DE-at")
        text.full_clean()
        assert text.language == "de"
        with pytest.raises(ValidationError) as refused:
            self.text(template, language="xx").full_clean()
        assert "language" in refused.value.message_dict

    def test_not_the_main_language_again_nor_twice(self, template):
        with pytest.raises(ValidationError) as refused:
            self.text(template, language="en").full_clean()
        assert refused.value.message_dict["language"] == ["This is the main text's language."]
        with pytest.raises(ValidationError):
            self.text(template, language="fr").full_clean()  # unique per template and language

    def test_when_the_main_text_carries_the_code_every_language_must(self, template):
        template.body = "Your code: {{smartlock_code}}"
        with pytest.raises(ValidationError) as refused:
            self.text(template, body="Hallo {{guest_name}}").full_clean()
        (message,) = refused.value.message_dict["body"]
        assert message == "The main text carries the door code, so the German text must too: add {{smartlock_code}}."
        self.text(template, body="Ihr Code: <<nuki_code>>").full_clean()

    def test_a_language_may_not_carry_the_code_alone(self, template):
        with pytest.raises(ValidationError) as refused:
            self.text(template, body="Ihr Code: {{smartlock_code}}").full_clean()
        assert "German text uses the door code" in refused.value.message_dict["body"][0]

    def test_after_check_out_no_language_carries_the_code(self, template):
        template.trigger, template.offset = TriggerKind.AFTER_CHECK_OUT, 2
        with pytest.raises(ValidationError) as refused:
            self.text(template, language="it", body="Codice {{code_valid_until}}").full_clean()
        assert refused.value.message_dict["body"] == [
            "The door code no longer works after check-out: remove the code variables from the Italian text."
        ]


# --- a real pass -----------------------------------------------------------------------------------

@pytest.fixture
def eager():
    """Tasks run in this process when sent (as a worker would), never on the real broker."""
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(saved)


def translated(template, **texts):
    for language, (subject, body) in texts.items():
        MessageTemplateText.objects.create(template=template, language=language, subject=subject, body=body)
    return template


FRENCH = ("Votre code pour {{property_name}}", "Bonjour {{guest_name}}, code {{smartlock_code}} dès le {{code_valid_from}}.")
SPANISH = ("Su código para {{property_name}}", "Hola {{guest_name}}, código {{smartlock_code}} desde el {{code_valid_from}}.")


@pytest.mark.django_db
def test_a_french_guest_gets_the_french_text_with_french_dates(stay, door_code, send, eager):
    translated(door_code(), fr=FRENCH, es=SPANISH)
    with freeze_time(DUE):
        booking = stay(guest_language="fr", guest_phone="+34612345678")  # set wins over the phone
        send()
    (message,) = [m for m in mail.outbox if m.to == [GUEST]]
    pin = current(booking).pin
    assert message.subject == "Votre code pour Flat L1"
    assert message.body.startswith(f"Bonjour Grace Guest, code {pin} dès le jeudi 11 juin 2026, 14:30.")
    assert MessageDelivery.objects.get().language == "fr"


@pytest.mark.django_db
def test_a_guest_with_only_a_spanish_phone_gets_the_spanish_text(stay, door_code, send, eager):
    translated(door_code(), fr=FRENCH, es=SPANISH)
    with freeze_time(DUE):
        stay(guest_phone="+34 612 34 56 78")
        send()
    (message,) = [m for m in mail.outbox if m.to == [GUEST]]
    assert message.subject == "Su código para Flat L1"
    assert "desde el jueves, 11 de junio de 2026, 14:30." in message.body
    assert MessageDelivery.objects.get().language == "es"


@pytest.mark.django_db
def test_a_language_without_text_gets_the_fallback_languages_text_and_dates(stay, door_code, send, eager):
    template = translated(door_code(), fr=FRENCH, es=SPANISH)
    template.fallback_language = "fr"
    template.save()
    with freeze_time(DUE):
        stay(guest_language="de")
        send()
    (message,) = [m for m in mail.outbox if m.to == [GUEST]]
    assert message.subject == "Votre code pour Flat L1" and "jeudi 11 juin 2026, 14:30" in message.body
    assert MessageDelivery.objects.get().language == "fr"


@pytest.mark.django_db
def test_an_english_only_message_is_sent_as_before_to_a_french_phone(stay, door_code, send, eager):
    door_code()
    with freeze_time(DUE):
        stay()  # the fixture's guest has a French number
        send()
    (message,) = [m for m in mail.outbox if m.to == [GUEST]]
    assert "(14:30 on Thursday 11 June 2026 to" in message.body
    assert MessageDelivery.objects.get().language == "en"


@pytest.mark.django_db
def test_the_usage_note_follows_the_text_sent(stay, door_code, send, eager):
    translated(door_code(body="{{smartlock_code}} {{code_usage_note}}"), es=("Código", "{{smartlock_code}} {{code_usage_note}}"))
    with freeze_time("2026-06-09 08:00:00"):
        booking = stay(guest_language="es")
    note = first_use_note(datetime(2026, 6, 12, 12, 30, tzinfo=UTC), __import__("zoneinfo").ZoneInfo("Europe/Paris"))
    AccessCode.objects.filter(pk=current(booking).pk).update(usage_note=note)
    with freeze_time(DUE):
        send()
    (message,) = [m for m in mail.outbox if m.to == [GUEST]]
    assert "viernes, 12 de junio de 2026, 14:30" in message.body


def test_builtin_messages_are_marked_and_whole_or_english():
    message = default_messages.default_message("fallback_code")
    french = message.text_for("fr")  # from the shipped catalogue
    assert french.language == "fr" and "{{smartlock_code}}" in french.body and french.subject != message.subject
    assert message.text_for("nl") == (message.subject, message.body, "en")  # no catalogue: English, said so
    catalogue = {message.subject: "Votre code pour {{property_name}}", message.body: "Votre code est {{smartlock_code}}."}
    with mock.patch("messaging.default_messages.gettext", lambda text: catalogue.get(text, text)):
        assert message.text_for("fr") == ("Votre code pour {{property_name}}", "Votre code est {{smartlock_code}}.", "fr")
        half = {message.subject: "Votre code"}
        with mock.patch("messaging.default_messages.gettext", lambda text: half.get(text, text)):
            assert message.text_for("fr").language == "en"


@pytest.mark.django_db
def test_the_booking_log_shows_the_language_sent(stay, door_code, send, eager, client, host):
    translated(door_code(), fr=FRENCH)
    with freeze_time(DUE):
        booking = stay(guest_language="fr")
        send()
    client.force_login(host)
    page = client.get(reverse("messaging:booking_log", args=[booking.pk])).content.decode()
    assert '<small class="muted delivery-language" lang="fr">French</small>' in page
