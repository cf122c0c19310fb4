"""Issue 23: the booking pages, their messages and their dates are marked for translation. The English
stays as it was (the sentences rebuilt whole give the same text); a page asked for in French is served
in French (its `<html lang>`), its dates in French month names."""

from datetime import UTC, date, datetime, time

import pytest
from django.urls import reverse
from django.utils import translation

from bookings.booking_pages import ACTIONS, _summary
from bookings.code_uses import use_time
from nowistay.middleware import PARAMETER_MESSAGES
from nowistay.validators import forbidden_character, multiline_message, single_line_message

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]


@pytest.fixture
def booking(make_property, book):
    return book(make_property(), date(2026, 8, 12), date(2026, 8, 15), check_in_time=time(13, 30))


@pytest.mark.parametrize(
    "name, args",
    [
        ("booking_pages:list", []),
        ("booking_pages:new", []),
        ("bookings:codes", []),
        ("bookings:properties", []),
        ("api_tokens:list", []),
        ("api_tokens:create", []),
        ("home", []),
    ],
)
def test_the_host_pages_work_in_french(client, host, booking, name, args):
    client.force_login(host)
    response = client.get(reverse(name, args=args), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert b'<html lang="fr">' in response.content


def test_the_booking_page_works_in_french(client, host, booking):
    client.force_login(host)
    response = client.get(reverse("booking_pages:edit", args=[booking.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert b'<html lang="fr">' in response.content
    assert "12 Aoû 2026" in response.content.decode()  # the template's own date filter


def test_the_review_summary_says_the_same_english_as_before(booking):
    with translation.override("en"):
        rows = dict(_summary(booking))
    assert rows["Arrival"] == "12 August 2026, check-in 13:30 (negotiated)"
    assert rows["Departure"] == "15 August 2026, check-out 11:00"
    with translation.override("fr"):
        rows = dict(_summary(booking))
    assert any(value.startswith("12 août 2026") for value in rows.values())


def test_an_action_message_is_one_sentence_with_the_guest_in_it():
    with translation.override("en"):
        assert ACTIONS["confirm"].done % {"guest": "Grace"} == "Grace's booking is confirmed."
        assert ACTIONS["end-access"].done % {"guest": "Grace"} == "Grace's access has ended."
        assert str(ACTIONS["cancel"].label) == "Cancel booking"


def test_a_code_use_time_follows_the_language():
    used = datetime(2026, 8, 12, 13, 42, tzinfo=UTC)  # 15:42 in Paris (summer time)
    with translation.override("en"):
        assert use_time(used, "Europe/Paris") == "15:42, 12 Aug"
    with translation.override("fr"):
        assert use_time(used, "Europe/Paris") == "15:42, 12 Aoû"


@pytest.mark.parametrize(
    "text, single, multiple",
    [
        ("a\tb", "Remove a tab (character 2): only printable text is allowed.",
         "Remove a tab (character 2): only printable text and line breaks are allowed."),
        ("a\x00", "Remove the NUL character U+0000 (character 2): only printable text is allowed.",
         "Remove the NUL character U+0000 (character 2): only printable text and line breaks are allowed."),
        ("\x1bx", "Remove the control character U+001B (character 1): only printable text is allowed.",
         "Remove the control character U+001B (character 1): only printable text and line breaks are allowed."),
        ("a\ud800", "Remove the unpaired surrogate U+D800 (character 2): only printable text is allowed.",
         "Remove the unpaired surrogate U+D800 (character 2): only printable text and line breaks are allowed."),
        ("ab\x85", "Keep this on one line: remove the line break (character 3).",
         "Remove a line break (character 3): only printable text and line breaks are allowed."),
    ],
)
def test_the_plain_text_messages_say_the_same_english_as_before(text, single, multiple):
    with translation.override("en"):
        assert single_line_message(forbidden_character(text)) == single
        if text != "a\tb":  # a tab is text over several lines
            assert multiline_message(forbidden_character(text, multiline=True)) == multiple
        parameter = forbidden_character(text).message(PARAMETER_MESSAGES)
    if "\x85" in text:
        assert parameter == "Remove a line break (character 3) from this parameter: only printable text is allowed."
    else:
        assert parameter == single.replace("):", ") from this parameter:")
