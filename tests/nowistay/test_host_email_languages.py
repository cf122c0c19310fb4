"""Every email to a host is written in that host's language, whatever language the worker or the
request sending it speaks: its subject, its text, its dates, its `<html lang>` and its
Content-Language header. A host whose profile names no language still gets English, unchanged.
"""

from datetime import UTC, date, datetime

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.dateformat import format as date_format

import nowistay.emails
from accounts.models import HostPreferences
from events import notifications as event_notifications
from events.models import WebhookEndpoint
from locks import notifications as lock_notifications
from locks.models import AccessCode, CodeState, LockAssignment
from messaging import notifications as message_notifications
from messaging.models import MessageDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def rendered_in(monkeypatch):
    """The language active while each email was rendered (template name → language)."""
    seen: dict[str, str] = {}
    render = nowistay.emails.render_email

    def spy(template_name, context):
        seen[template_name] = translation.get_language()
        return render(template_name, context)

    monkeypatch.setattr(nowistay.emails, "render_email", spy)
    return seen


@pytest.fixture
def code(assigned_property, book):
    prop = assigned_property()
    booking = book(prop, date(2026, 6, 11), date(2026, 6, 13), guest_name="Grace Guest")
    lock = LockAssignment.objects.get(property=prop).lock
    return AccessCode.objects.create(
        booking=booking, lock=lock, pin="482913", state=CodeState.FAILED, last_error="Gateway offline",
        starts_at=datetime(2026, 6, 11, 12, 30, tzinfo=UTC), ends_at=datetime(2026, 6, 13, 9, 30, tzinfo=UTC),
        generate_at=datetime(2026, 6, 6, 12, 30, tzinfo=UTC), retry_deadline=datetime(2026, 6, 11, 12, 30, tzinfo=UTC),
        alert_at=datetime(2026, 6, 10, 12, 30, tzinfo=UTC),
    )


def french(user):
    HostPreferences.objects.update_or_create(user=user, defaults={"language": "fr"})


def send_each(code):
    """One email of each sending module, to the code's host."""
    lock_notifications.code_still_failing(code)
    message_notifications.message_failed(MessageDelivery(booking=code.booking, template_name="Door code", note="Mailbox full"))
    endpoint = WebhookEndpoint.objects.create(host=code.booking.property.host, url="https://hooks.example/x", secret="s", active=False)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disabled_reason="Every delivery failed for a day.")
    event_notifications.endpoint_disabled(endpoint_id=endpoint.pk)


NAMES = ["code_still_failing", "message_failed", "webhook_disabled"]


def test_a_french_host_gets_each_email_in_french_whatever_the_sender_speaks(code, rendered_in):
    french(code.booking.property.host)
    with translation.override("de"):  # e.g. a request of another host, or a worker's default
        send_each(code)
    assert rendered_in == dict.fromkeys(NAMES, "fr")
    assert len(mail.outbox) == 3
    for message in mail.outbox:
        assert message.extra_headers["Content-Language"] == "fr"
        assert '<html lang="fr">' in message.alternatives[0][0]
    with translation.override("fr"):  # the dates are the host's language's too
        arrival, until_day = date_format(date(2026, 6, 11), "j M"), date_format(date(2026, 6, 11), "j F Y")
    text = mail.outbox[0].body
    assert f"({arrival} → " in text and until_day in text


def test_an_english_host_gets_english_whatever_the_sender_speaks(code, rendered_in):
    with translation.override("fr"):
        send_each(code)
    assert rendered_in == dict.fromkeys(NAMES, "en")
    still_failing, failed, disabled = mail.outbox
    assert still_failing.subject == "Door code not created yet for Grace Guest"
    assert still_failing.body == (
        "We could not create the door code for Grace Guest's stay at Flat L1 (11 Jun → 13 Jun) yet.\n\n"
        "Reason: Gateway offline\n\n"
        "We keep trying every hour until 14:30 on 11 June 2026 (property time). Please check that the lock "
        "and its gateway or bridge are online."
    )
    assert failed.subject == "“Door code” could not be sent to Grace Guest"
    assert disabled.subject == "Webhook endpoint disabled" and "Reason: Every delivery failed for a day." in disabled.body
    for message in mail.outbox:
        assert message.extra_headers["Content-Language"] == "en"
        assert '<html lang="en">' in message.alternatives[0][0]


def test_the_moments_of_host_emails_keep_their_english_words():
    moment = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert lock_notifications.local_time(moment, "Europe/Paris") == "17:00 on 31 December 2026"
    assert lock_notifications.utc_time(moment) == "16:00 UTC on 31 December 2026"
    with translation.override("fr"):
        assert "décembre" in lock_notifications.local_time(moment, "Europe/Paris")


def test_the_ladder_emails_are_in_the_hosts_language(code, rendered_in):
    french(code.booking.property.host)
    lock_notifications.ladder_warning(code, datetime(2026, 6, 11, 13, 0, tzinfo=UTC))
    assert rendered_in == {"ladder_step": "fr"}
    (message,) = mail.outbox
    assert message.extra_headers["Content-Language"] == "fr"


def test_a_code_that_cannot_be_revoked_says_why_in_one_sentence(code):
    lock_notifications.code_cannot_be_revoked(code, refusal="Busy.")
    lock_notifications.code_cannot_be_revoked(code)
    refused, cannot = mail.outbox
    brand = code.lock.account.provider_name
    stay = "Grace Guest's stay at Flat L1 (11 Jun → 13 Jun)"
    assert refused.body.startswith(f"The door code of {stay} is no longer wanted, but {brand} refused to remove it: Busy: it keeps opening")
    assert f"but {brand} codes cannot be revoked remotely: it keeps opening the door until " in cannot.body


# --- the password reset ------------------------------------------------------------------------------

@pytest.fixture
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def reset_email(**headers):
    response = Client(**headers).post(reverse("password_reset"), {"email": "host@example.com"})
    assert response.status_code == 302
    (message,) = mail.outbox
    return message


def test_the_password_reset_is_in_the_accounts_profile_language(host, fresh_rate_limits):
    french(host)
    message = reset_email(HTTP_ACCEPT_LANGUAGE="de")
    assert '<html lang="fr">' in message.alternatives[0][0]


def test_without_a_profile_language_the_password_reset_is_in_the_browsers(host, fresh_rate_limits):
    message = reset_email(HTTP_ACCEPT_LANGUAGE="de")
    assert '<html lang="de">' in message.alternatives[0][0]


def test_the_password_reset_in_english_is_unchanged(host, fresh_rate_limits):
    message = reset_email(HTTP_ACCEPT_LANGUAGE="en")
    assert message.subject == "Reset your Nowistay password"
    assert message.body.startswith("Hello host,\n\nSomeone (we hope you) asked to reset the password of your Nowistay account.")
    assert '<html lang="en">' in message.alternatives[0][0]


def test_the_moment_of_a_rotations_message_keeps_its_english_form():
    from messaging.rotations import _moment

    moment = datetime(2026, 12, 31, 16, 5, tzinfo=UTC)
    assert _moment(moment, "Europe/Paris") == "17:05 31 Dec"
    with translation.override("fr"):
        assert _moment(moment, "Europe/Paris") == f"17:05 31 {date_format(moment, 'M')}" != "17:05 31 Dec"
