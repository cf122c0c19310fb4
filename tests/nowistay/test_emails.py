"""Every email is sent as text and HTML, both from templates/emails/.

For each email: a text part and one HTML alternative; the HTML well-formed, with the same words as
the text (whitespace aside); whatever a host, guest or vendor wrote escaped in the HTML (a name
like `<script>` is text, never an element); line breaks kept; the door code only where it belongs.
The text parts are compared in full: they are what was sent before HTML was added.
"""

from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from bookings.models import Property
from locks import notifications as lock_notifications
from locks.models import AccessCode, CodeState, LockAssignment
from messaging import notifications as message_notifications, services as messaging
from messaging.models import (
    CodeChangeNotice,
    DeliveryStatus,
    MessageDelivery,
    MessageTemplate,
    TriggerKind,
)
from nowistay.emails import render_email

pytestmark = pytest.mark.django_db

PIN = "482913"
GUEST_NAME = '<script>alert("x")</script> & Eve'
PROPERTY_NAME = "<b>Flat</b> One"
STAY = f"{GUEST_NAME}'s stay at {PROPERTY_NAME} (11 Jun → 13 Jun)"
HOSTILE = ("<script", "<b>", "<i>", "<u>", "<em>", "<full>")
VOID_ELEMENTS = {"meta", "br", "hr", "img", "link", "input"}
BREAKING_ELEMENTS = {"br", "p", "div", "td", "tr", "table", "h1", "h2", "li"}  # a reader sees a space or a line


# --- reading an email -----------------------------------------------------------------------------

class _Reader(HTMLParser):
    """Checks that every element is closed in order, and collects the text a reader sees."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.elements: list[str] = []
        self.seen: list[str] = []
        self.errors: list[str] = []
        self.in_head = False

    def handle_starttag(self, tag, attrs):
        self.elements.append(tag)
        if tag in BREAKING_ELEMENTS:
            self.seen.append(" ")
        if tag == "head":
            self.in_head = True
        if tag not in VOID_ELEMENTS:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.elements.append(tag)

    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False
        if tag in BREAKING_ELEMENTS:
            self.seen.append(" ")
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()

    def handle_data(self, data):
        if not self.in_head:
            self.seen.append(data)

    @property
    def words(self) -> list[str]:
        return "".join(self.seen).split()


def read_html(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    assert reader.errors == [] and reader.open == [], (reader.errors, reader.open)
    assert html.lstrip().lower().startswith("<!doctype html>")
    return reader


def parts(message) -> tuple[str, str]:
    """(text, html) of a sent email, checking it is text with exactly one HTML alternative."""
    assert isinstance(message, EmailMultiAlternatives)
    assert message.content_subtype == "plain"
    (html, mimetype), *others = message.alternatives
    assert mimetype == "text/html" and others == []
    return message.body, html


def check_html(text: str, html: str) -> _Reader:
    """Well-formed, the same words as the text, nothing hostile as markup."""
    reader = read_html(html)
    assert " ".join(reader.words) == " ".join(text.split())
    assert not {"script", "b", "i", "u", "em", "full"} & set(reader.elements)
    assert not any(marker in html for marker in HOSTILE)
    return reader


# --- host alerts ----------------------------------------------------------------------------------

@pytest.fixture
def code(assigned_property, book):
    """A booking with a hostile guest and property name, and its code holding a PIN and a vendor
    error that looks like markup."""
    prop = assigned_property()
    Property.objects.filter(pk=prop.pk).update(name=PROPERTY_NAME)
    booking = book(
        Property.objects.get(pk=prop.pk), date(2026, 6, 11), date(2026, 6, 13), guest_name=GUEST_NAME, guest_email="eve@guest.example"
    )
    lock = LockAssignment.objects.get(property=prop).lock
    lock.account.display_name = "<u>my</u> account"
    lock.account.last_error = "Token <i>revoked</i>\nby the user"
    lock.account.save()
    return AccessCode.objects.create(
        booking=booking, lock=lock, pin=PIN, state=CodeState.FAILED, last_error="Gateway <i>offline</i>\n(error 42)",
        starts_at=datetime(2026, 6, 11, 12, 30, tzinfo=UTC), ends_at=datetime(2026, 6, 13, 9, 30, tzinfo=UTC),
        generate_at=datetime(2026, 6, 6, 12, 30, tzinfo=UTC), retry_deadline=datetime(2026, 6, 11, 12, 30, tzinfo=UTC),
        alert_at=datetime(2026, 6, 10, 12, 30, tzinfo=UTC),
    )


def log_path(code) -> str:
    return reverse("messaging:booking_log", args=[code.booking_id])


HOST_ALERTS = {
    "code_still_failing": (
        lambda code: lock_notifications.code_still_failing(code),
        lambda code: f"Door code not created yet for {GUEST_NAME}",
        lambda code: (
            f"We could not create the door code for {STAY} yet.\n\n"
            "Reason: Gateway <i>offline</i>\n(error 42)\n\n"
            "We keep trying every hour until 14:30 on 11 June 2026 (property time). "
            "Please check that the lock and its gateway or bridge are online."
        ),
    ),
    "code_failed": (
        lambda code: lock_notifications.code_failed(code),
        lambda code: f"Door code could not be created for {GUEST_NAME}",
        lambda code: (
            f"We could not create the door code for {STAY}.\n\n"
            "Reason: Gateway <i>offline</i>\n(error 42)\n\n"
            "We have stopped retrying. Please give the guest another way in, or fix the cause and "
            "edit the booking to try again."
        ),
    ),
    "account_needs_reconnect": (
        lambda code: lock_notifications.account_needs_reconnect(code.lock.account),
        lambda code: "Reconnect your TTLock account",
        lambda code: (
            "TTLock no longer accepts Nowistay's access to your account <u>my</u> account.\n\n"
            "Reason: Token <i>revoked</i>\nby the user\n\n"
            "No door codes can be created or changed on your TTLock locks until you reconnect it "
            "from Integrations. Work that came due meanwhile resumes as soon as you do."
        ),
    ),
    "code_cannot_be_revoked": (
        lambda code: lock_notifications.code_cannot_be_revoked(code, refusal="No <em>subscription</em>."),
        lambda code: "A TTLock code keeps working until 11:30 on 13 June 2026",
        lambda code: (
            f"The door code of {STAY} is no longer wanted, but TTLock refused to remove it: No <em>subscription</em>: "
            "it keeps opening the door until 11:30 on 13 June 2026 (property time).\n\n"
            "If that is a problem, change the lock's codes on the lock itself."
        ),
    ),
    "code_cannot_be_revoked_by_design": (
        lambda code: lock_notifications.code_cannot_be_revoked(code),
        lambda code: "A TTLock code keeps working until 11:30 on 13 June 2026",
        lambda code: (
            f"The door code of {STAY} is no longer wanted, but TTLock codes cannot be revoked remotely: "
            "it keeps opening the door until 11:30 on 13 June 2026 (property time).\n\n"
            "If that is a problem, change the lock's codes on the lock itself."
        ),
    ),
    "message_missed_code": (
        lambda code: message_notifications.message_missed_code(
            MessageDelivery(booking=code.booking, template_name="<em>Door</em> code"), deadline=datetime(2026, 6, 11, 13, tzinfo=UTC)
        ),
        lambda code: f"“<em>Door</em> code” not sent to {GUEST_NAME}: no door code yet",
        lambda code: (
            f"The message “<em>Door</em> code” for {STAY} carries the door code, and the code was still not "
            "active on the lock at 15:00 on 11 June 2026 (property time). It has not been sent, and will not "
            "be sent without a code.\n\n"
            f"Please give the guest their way in yourself. The booking's message log ({log_path(code)}) "
            "shows every message of this stay."
        ),
    ),
    "message_failed": (
        lambda code: message_notifications.message_failed(
            MessageDelivery(booking=code.booking, template_name="<em>Door</em> code", note="Mailbox <full>\nfor now")
        ),
        lambda code: f"“<em>Door</em> code” could not be sent to {GUEST_NAME}",
        lambda code: (
            f"We could not send the message “<em>Door</em> code” for {STAY}.\n\n"
            "Reason: Mailbox <full>\nfor now\n\n"
            f"Please contact the guest another way. The booking's message log ({log_path(code)}) shows "
            "every message of this stay."
        ),
    ),
    "code_changed_with_change_messages": (
        lambda code: message_notifications.code_changed(CodeChangeNotice(booking=code.booking), change_messages=1),
        lambda code: f"Door code changed for {GUEST_NAME}",
        lambda code: (
            f"The door code of {STAY} changed after the guest had received it in a message: the code they "
            "have may no longer open the door.\n\n"
            "Your door code change message is being sent to the guest automatically.\n\n"
            f"The booking's message log: {log_path(code)}"
        ),
    ),
    "code_changed_without_change_messages": (
        lambda code: message_notifications.code_changed(CodeChangeNotice(booking=code.booking), change_messages=0),
        lambda code: f"Door code changed for {GUEST_NAME}",
        lambda code: (
            f"The door code of {STAY} changed after the guest had received it in a message: the code they "
            "have may no longer open the door.\n\n"
            "Please send the guest their new code (you can see it on “Bookings and codes”), or create a "
            "message marked “door code change message” so Nowistay sends it automatically next time.\n\n"
            f"The booking's message log: {log_path(code)}"
        ),
    ),
    "code_changed_link_only_with_change_messages": (
        lambda code: message_notifications.code_changed(link_only_change(code), change_messages=1),
        lambda code: f"Door link changed for {GUEST_NAME}",
        lambda code: (
            f"The door link of {STAY} changed after the guest had received it in a message: the link they "
            "have no longer opens the door. Their door code is the same.\n\n"
            "Your door code change message is being sent to the guest automatically.\n\n"
            f"The booking's message log: {log_path(code)}"
        ),
    ),
    "code_changed_link_only_without_change_messages": (
        lambda code: message_notifications.code_changed(link_only_change(code), change_messages=0),
        lambda code: f"Door link changed for {GUEST_NAME}",
        lambda code: (
            f"The door link of {STAY} changed after the guest had received it in a message: the link they "
            "have no longer opens the door. Their door code is the same.\n\n"
            "Please send the guest their new link (you can see it on “Bookings and codes”), or create a "
            "message marked “door code change message” so Nowistay sends it automatically next time.\n\n"
            f"The booking's message log: {log_path(code)}"
        ),
    ),
}

OLD_LINK, NEW_LINK = "https://open.example/k/old-key", "https://open.example/k/new-key"


def link_only_change(code) -> CodeChangeNotice:
    """The code created again with the same PIN and a new door link (homeit re-creating a key)."""
    return CodeChangeNotice(booking=code.booking, previous_pin=PIN, new_pin=PIN, previous_link=OLD_LINK, new_link=NEW_LINK)


@pytest.mark.parametrize("alert", HOST_ALERTS)
def test_a_host_alert_is_text_and_html_with_the_host_text_escaped(alert, code):
    send, subject, expected_text = HOST_ALERTS[alert]
    assert send(code) is True
    (message,) = mail.outbox
    assert message.to == ["host@example.com"] and message.subject == subject(code)
    assert message.body == expected_text(code)  # the text as it was before HTML was added
    text, html = parts(message)
    check_html(text, html)
    hostile = [marker for marker in HOSTILE if marker in text]
    assert hostile and all(escape(marker) in html for marker in hostile)


@pytest.mark.parametrize("alert", HOST_ALERTS)
def test_a_host_alert_never_shows_the_door_code(alert, code):
    HOST_ALERTS[alert][0](code)
    (message,) = mail.outbox
    text, html = parts(message)
    assert PIN not in text and PIN not in html and PIN not in message.subject
    assert not any(link in text or link in html for link in (OLD_LINK, NEW_LINK))


@pytest.mark.parametrize("alert, in_text, in_html", [
    ("code_failed", "offline</i>\n(error 42)", "offline&lt;/i&gt;<br>(error 42)"),
    ("account_needs_reconnect", "revoked</i>\nby the user", "revoked&lt;/i&gt;<br>by the user"),
    ("message_failed", "<full>\nfor now", "&lt;full&gt;<br>for now"),
])
def test_the_line_breaks_of_a_reason_are_kept_in_the_html(alert, in_text, in_html, code):
    HOST_ALERTS[alert][0](code)
    (message,) = mail.outbox
    text, html = parts(message)
    assert in_text in text and in_html in html


def test_a_host_alert_subject_stays_one_line(code):
    code.booking.guest_name = "Eve\r\nBcc: evil@example.com"  # stored before line breaks were refused
    lock_notifications.code_failed(code)
    (message,) = mail.outbox
    assert message.subject == "Door code could not be created for Eve Bcc: evil@example.com"
    assert "bcc" not in {name.lower() for name in message.message()}
    text, html = parts(message)
    check_html(text, html)


# --- guest messages ---------------------------------------------------------------------------------

@pytest.fixture
def guest_message(code):
    """Send the booking's "on confirmation" message (subject, body) through the real pipeline,
    with the booking's code active. Returns the sent email and its ledger row."""
    AccessCode.objects.filter(pk=code.pk).update(state=CodeState.ACTIVE, is_current=True, last_error="")
    booking = code.booking

    def send(subject: str, body: str):
        template = MessageTemplate.objects.create(
            host=booking.property.host, name="Welcome", trigger=TriggerKind.ON_CONFIRMATION, subject=subject, body=body,
        )
        now = timezone.now()
        messaging.booking_confirmed(booking=booking, now=now)
        token, ids = messaging.claim_due(now=now, booking_id=booking.pk)
        assert messaging.process_deliveries(delivery_ids=ids, claim_token=token) == ["sent"]
        (message,) = [m for m in mail.outbox if m.to == ["eve@guest.example"]]
        return message, MessageDelivery.objects.get(template=template)

    return send


def test_a_guest_message_is_the_host_text_and_its_escaped_html(guest_message):
    body = "Hello {{guest_name}},\r\n\r\nYour code for {{property_name}} is {{smartlock_code}}.\nSee <b>you</b> soon & bye\n"
    message, delivery = guest_message("Welcome to {{property_name}}", body)
    expected = (
        f"Hello {GUEST_NAME},\r\n\r\nYour code for {PROPERTY_NAME} is {PIN}.\nSee <b>you</b> soon & bye\n"
    )
    assert message.body == expected == delivery.body  # the text part is the rendered text, byte for byte
    text, html = parts(message)
    assert message.subject == f"Welcome to {PROPERTY_NAME}" == delivery.subject
    assert delivery.status == DeliveryStatus.SENT and delivery.pin == PIN
    reader = check_html(text, html)
    assert reader.elements.count("p") == 2  # the blank line parts two paragraphs
    assert f"Your code for &lt;b&gt;Flat&lt;/b&gt; One is {PIN}.<br>See &lt;b&gt;you&lt;/b&gt; soon &amp; bye" in html
    assert "Hello &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Eve," in html
    assert html.count(PIN) == text.count(PIN) == 1


def test_a_guest_message_keeps_its_reply_to_and_message_id(guest_message):
    message, delivery = guest_message("Hi", "Hello {{guest_name}}")
    assert message.reply_to == ["host@example.com"]
    message_id = message.extra_headers["Message-ID"]
    assert message_id.startswith("<nowistay-") and f"-delivery-{delivery.pk}@" in message_id
    assert message.message()["Message-ID"] == message_id


def test_a_guest_message_without_the_code_variable_carries_no_pin(guest_message):
    message, delivery = guest_message(
        "Hi {{guest_name}}", "Welcome to {{property_name}}, {{guest_name}}!\nCheck-in from {{check_in_time}}."
    )
    assert message.body == f"Welcome to {PROPERTY_NAME}, {GUEST_NAME}!\nCheck-in from 15:00."
    text, html = parts(message)
    assert PIN not in text and PIN not in html and delivery.pin is None
    check_html(text, html)
    assert "!<br>Check-in from 15:00." in html


def test_template_syntax_in_a_stored_body_is_text_not_template_code(guest_message, settings):
    """A body stored before validation (or by hand) with Django template syntax is sent as written:
    host text is a value in the email templates, never their source."""
    body = '{% now "Y" %} {% load static %}{# hidden #} {{guest_name}}'
    message, _ = guest_message("Hi", body)
    assert message.body == f'{{% now "Y" %}} {{% load static %}}{{# hidden #}} {GUEST_NAME}'
    _, html = parts(message)
    assert "{% now &quot;Y&quot; %} {% load static %}{# hidden #}" in html
    assert settings.SECRET_KEY not in html


def test_the_html_of_a_message_turns_line_breaks_into_paragraphs_and_breaks():
    text, html = render_email("guest_message", {"body": "One\ntwo\n\nThree\r\n\r\n\r\nFour <i>&</i>", "subject": "S"})
    assert text == "One\ntwo\n\nThree\r\n\r\n\r\nFour <i>&</i>"
    reader = check_html(text, html)
    assert reader.elements.count("p") == 3 and reader.elements.count("br") == 1
    assert "<p>One<br>two</p>" in html and "<p>Four &lt;i&gt;&amp;&lt;/i&gt;</p>" in html


def test_the_html_title_is_the_escaped_subject():
    _, html = render_email("guest_message", {"body": "x", "subject": "Hi <b>Eve</b>"})
    assert "<title>Hi &lt;b&gt;Eve&lt;/b&gt;</title>" in html


# --- account emails -------------------------------------------------------------------------------

@pytest.fixture
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def test_the_password_reset_email_is_text_and_html_with_the_same_link(host, fresh_rate_limits):
    response = Client().post(reverse("password_reset"), {"email": "host@example.com"})
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.subject == "Reset your Nowistay password" and message.to == ["host@example.com"]
    assert message.body.startswith("Hello host,\n\nSomeone (we hope you) asked to reset the password of your Nowistay account.")
    assert message.body.endswith("after the new password.\n\nNowistay\n\n")
    text, html = parts(message)
    check_html(text, html)
    link = next(line for line in text.splitlines() if line.startswith("http://testserver/accounts/password-reset/"))
    assert f'<a href="{link}"' in html and f">{link}</a>" in html
    assert "<title>Reset your Nowistay password" in html


# --- every email -----------------------------------------------------------------------------------

def test_the_console_backend_prints_both_parts(code, settings, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    lock_notifications.code_failed(code)
    printed = capsys.readouterr().out
    assert "Content-Type: multipart/alternative" in printed
    assert "Content-Type: text/plain" in printed and "Content-Type: text/html" in printed
    assert "We have stopped retrying." in printed


def test_every_email_has_a_text_and_an_html_template(settings):
    folder = Path(settings.BASE_DIR) / "templates" / "emails"
    names = {path.stem for path in folder.glob("*.txt")} - {"password_reset_subject"}
    assert names == {path.stem for path in folder.glob("*.html")} - {"base"}
    for name in names:
        assert (folder / f"{name}.html").read_text().startswith('{% extends "emails/base.html" %}')

