"""Every host page speaks the host's language: rendered in each shipped language, with a connected
lock, a booking with an active code, a message template and a webhook endpoint on them, a page's
visible text holds none of the English words that exist in no other shipped language.

The template check (test_translatable_templates) finds unmarked text in templates; this finds what
it cannot see: labels, choices, errors and sentences built in Python."""

from __future__ import annotations

import re
from datetime import date, time

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import HostPreferences
from events.models import WebhookEndpoint
from locks import services as lifecycle
from locks.models import Lock
from messaging.models import MessageTemplate, OffsetUnit, TriggerKind

# English words that are no word of French, Spanish, German, Italian or Portuguese ("was" is German,
# "has" Spanish, "Smart Lock" the German for a smart lock).
ENGLISH_ONLY = frozenset(
    [
        "the", "and", "your", "with", "this", "that", "from", "when", "will", "are", "were", "have", "been",
        "which", "there", "cannot", "every", "each", "after", "before", "until", "booking", "bookings",
        "guest", "guests", "property", "properties", "door", "settings", "upcoming", "connected", "assign", "assigned",
        "should", "would", "could", "their", "them", "they", "these", "those", "here", "where", "what", "why", "how",
        "into", "only", "also", "still", "yet", "already", "must",
    ]
)
NOT_TEXT = [re.compile(p, re.S | re.I) for p in (r"<script\b.*?</script>", r"<style\b.*?</style>", r"<!--.*?-->", r"<[^>]*>")]
WORD = re.compile(r"[A-Za-z_]+")  # a {{variable_name}} is one word, and no English
LANGUAGES = ["fr", "es", "de", "it", "pt"]


# The preview's sample guest: a name, the same in every language.
NAMES = ("Grace Guest",)


def visible_words(html: str) -> list[str]:
    for name in NAMES:
        html = html.replace(name, " ")
    for pattern in NOT_TEXT:
        html = pattern.sub(" ", html)
    return [word.lower() for word in WORD.findall(html) if "_" not in word]


@pytest.fixture
def furnished_host(host, client, assigned_property, book, after_commit, fake_cloud):
    """A host with something on every page."""
    prop = assigned_property()
    Lock.objects.update(name="L1")  # the host's own names hold no English word
    booking = book(prop, date(2030, 6, 11), date(2030, 6, 14), guest_name="Grace Hopper", guest_email="gh@example.com")
    after_commit(lambda: lifecycle.booking_created(booking=booking))
    template = MessageTemplate.objects.create(
        host=host, name="Code", trigger=TriggerKind.BEFORE_CHECK_IN, offset=1, offset_unit=OffsetUnit.DAYS,
        send_at=time(10), subject="Code", body="{{smartlock_code}}",
    )
    WebhookEndpoint.objects.create(host=host, url="https://hooks.example.com/nowistay", description="PMS")
    client.force_login(host)
    return {"property": prop, "booking": booking, "template": template}


def host_pages(furnished) -> list[str]:
    booking, prop, template = furnished["booking"], furnished["property"], furnished["template"]
    return [
        reverse("home"),
        reverse("integrations:index"),
        reverse("integrations:panel", args=["ttlock"]),
        reverse("bookings:properties"),
        reverse("bookings:property_settings", args=[prop.pk]),
        reverse("booking_pages:list"),
        reverse("booking_pages:new"),
        reverse("booking_pages:edit", args=[booking.pk]),
        reverse("bookings:codes"),
        reverse("messaging:templates"),
        reverse("messaging:template_create"),
        reverse("messaging:template_edit", args=[template.pk]),
        reverse("messaging:booking_log", args=[booking.pk]),
        reverse("api_tokens:list"),
        reverse("api_tokens:create"),
        reverse("webhooks:list"),
        reverse("webhooks:create"),
        reverse("security:index"),
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_english_is_left_on_any_host_page(client, host, furnished_host, language):
    HostPreferences.objects.update_or_create(user=host, defaults={"language": language})
    session = client.session
    session["host_language"] = language
    session.save()
    english = {}
    for url in host_pages(furnished_host):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Language"] == language
        found = sorted({word for word in visible_words(response.content.decode()) if word in ENGLISH_ONLY})
        if found:
            english[url] = found
    assert not english, f"English words on {language} pages: {english}"


def test_the_check_sees_english():
    assert "the" in visible_words("<p>Open <b>the</b> door</p><script>var the = 1</script>")
    assert visible_words("<style>.the{}</style><!-- the -->") == []
    assert timezone.now()  # the fixtures' clock is real time: the booking is far ahead, its code planned
