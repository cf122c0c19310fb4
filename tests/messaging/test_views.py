"""The guest-message pages: templates (list, create, edit with live preview, delete) and each
booking's message log. Scoped to the logged-in host; another host's ids are 404; POSTs need CSRF."""

import html
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from bookings.models import Booking, BookingStatus, Property
from locks import services as lifecycle
from locks.models import AccessCode
from locks.services import scheduler
from messaging import services
from messaging.models import CodeChangeNotice, DeliveryStatus, MessageDelivery, MessageTemplate, OffsetUnit, TriggerKind

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),  # whitenoise without collectstatic
]


def form_data(**overrides):
    data = {
        "name": "Door code",
        "is_active": "on",
        "trigger": TriggerKind.BEFORE_CHECK_IN,
        "offset": "1",
        "offset_unit": OffsetUnit.DAYS,
        "send_at": "10:00",
        "channels": ["email"],
        "subject": "Your code for {{property_name}}",
        "body": "Hi {{guest_name}}, your code is {{smartlock_code}}.",
        "action": "save",
    }
    data.update(overrides)
    return data


@pytest.fixture
def logged_in(client, host):
    client.force_login(host)
    return client


@pytest.fixture
def template(host):
    return MessageTemplate.objects.create(
        host=host, name="Door code", trigger=TriggerKind.BEFORE_CHECK_IN, offset=1, offset_unit=OffsetUnit.DAYS,
        send_at=time(10), subject="Code", body="Your code is {{smartlock_code}}",
    )


@pytest.fixture
def theirs(other_host):
    return MessageTemplate.objects.create(
        host=other_host, name="Their secret message", trigger=TriggerKind.ARRIVAL_DAY, send_at=time(9), subject="x", body="y",
    )


class TestList:
    def test_anonymous_is_sent_to_login(self, client):
        response = client.get(reverse("messaging:templates"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))

    def test_lists_only_the_hosts_own_templates_and_warns_about_properties_without_a_lock(self, logged_in, template, theirs, make_property):
        make_property(name="Lockless Loft")
        content = logged_in.get(reverse("messaging:templates")).content.decode()
        assert "Door code" in content and "1 day before check-in at 10:00" in content
        assert "Their secret message" not in content
        assert "No smart lock at Lockless Loft" in content


class TestCreateAndEdit:
    def test_create_saves_for_the_host_with_its_properties(self, logged_in, host, make_property):
        prop = make_property()
        response = logged_in.post(reverse("messaging:template_create"), form_data(properties=[prop.pk]))
        assert response.status_code == 302 and response["Location"] == reverse("messaging:templates")
        saved = MessageTemplate.objects.get()
        assert (saved.host, saved.send_at, list(saved.properties.all())) == (host, time(10), [prop])

    @pytest.mark.parametrize(
        "body, named",
        [
            ("{{smartlock_cod}}", "smartlock_cod"),
            ("{{ settings.SECRET_KEY }}", "settings.SECRET_KEY"),
            ("<<booking.property.host.password>>", "booking.property.host.password"),
            ("{{guest_name|upper}}", "guest_name|upper"),
        ],
    )
    def test_an_unknown_variable_is_refused_naming_it(self, logged_in, body, named):
        response = logged_in.post(reverse("messaging:template_create"), form_data(body=body))
        assert response.status_code == 400
        content = _unescape(response.content.decode())
        assert f"Unknown variable “{named}”" in content
        assert "Known variables: {{guest_name}}" in content
        assert not MessageTemplate.objects.exists()

    def test_template_tags_are_refused(self, logged_in):
        response = logged_in.post(reverse("messaging:template_create"), form_data(body="{% load static %}{{guest_name}}"))
        assert response.status_code == 400 and "template code" in response.content.decode()
        assert not MessageTemplate.objects.exists()

    def test_another_hosts_property_cannot_be_chosen(self, logged_in, other_host):
        foreign = Property.objects.create(host=other_host, name="Not yours", time_zone="Europe/Paris")
        response = logged_in.post(reverse("messaging:template_create"), form_data(properties=[foreign.pk]))
        assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
        assert not MessageTemplate.objects.exists()

    def test_edit_changes_the_template(self, logged_in, template):
        response = logged_in.post(reverse("messaging:template_edit", args=[template.pk]), form_data(name="Door code v2", offset="2"))
        assert response.status_code == 302
        template.refresh_from_db()
        assert (template.name, template.offset) == ("Door code v2", 2)

    def test_another_hosts_template_is_404(self, logged_in, theirs):
        assert logged_in.get(reverse("messaging:template_edit", args=[theirs.pk])).status_code == 404
        assert logged_in.post(reverse("messaging:template_edit", args=[theirs.pk]), form_data()).status_code == 404
        assert logged_in.post(reverse("messaging:template_delete", args=[theirs.pk])).status_code == 404
        theirs.refresh_from_db()
        assert theirs.name == "Their secret message"

    def test_the_form_page_has_a_live_preview_and_a_preview_button(self, logged_in):
        content = logged_in.get(reverse("messaging:template_create")).content.decode()
        assert f'hx-post="{reverse("messaging:preview")}"' in content
        assert 'hx-trigger="keyup changed delay:400ms"' in content
        assert 'name="action" value="preview"' in content
        assert "csrfmiddlewaretoken" in content
        assert "Grace Guest" in content and services.SAMPLE_PIN in content  # the default text, previewed

    def test_the_preview_button_works_without_javascript_and_saves_nothing(self, logged_in):
        response = logged_in.post(
            reverse("messaging:template_create"), form_data(action="preview", body="Hello {{guest_name}}: <<nuki_code>>")
        )
        assert response.status_code == 200
        assert f"Hello Grace Guest: {services.SAMPLE_PIN}" in response.content.decode()
        assert not MessageTemplate.objects.exists()


class TestPreviewEndpoint:
    def test_renders_on_the_sample_booking(self, logged_in):
        response = logged_in.post(reverse("messaging:preview"), {"subject": "For {{guest_name}}", "body": "Code {{ smartlock_code }}"})
        assert response.status_code == 200
        content = response.content.decode()
        assert "For Grace Guest" in content and f"Code {services.SAMPLE_PIN}" in content
        assert "<html" not in content  # a fragment for htmx

    def test_shows_problems_without_filling_them_in(self, logged_in):
        content = logged_in.post(reverse("messaging:preview"), {"subject": "", "body": "{{ settings.SECRET_KEY }}"}).content.decode()
        assert "Unknown variable" in _unescape(content)
        assert "dev-insecure" not in content

    def test_on_a_real_booking_with_an_active_code(self, logged_in, assigned_property, book, fake_cloud):
        prop = assigned_property()
        booking = book(prop, date(2026, 6, 11), date(2026, 6, 13))
        with freeze_time("2026-06-10 08:00:00"):
            lifecycle.booking_created(booking=booking)
            scheduler.run_pass(dispatch=scheduler.process_inline)
        pin = AccessCode.objects.get(booking=booking).pin
        response = logged_in.post(
            reverse("messaging:preview"), {"subject": "s", "body": "{{guest_name}}: {{smartlock_code}}", "preview_booking": booking.pk}
        )
        assert f"Grace Guest: {pin}" in response.content.decode()
        assert mail.outbox == []

    def test_on_a_real_booking_without_a_code_the_wait_is_explained(self, logged_in, make_property, book):
        booking = book(make_property(), date(2026, 6, 11), date(2026, 6, 13))
        content = logged_in.post(
            reverse("messaging:preview"), {"subject": "s", "body": "{{smartlock_code}}", "preview_booking": booking.pk}
        ).content.decode()
        assert "[door code: not active yet]" in content and "the real message waits for it" in content

    def test_another_hosts_booking_is_404(self, logged_in, other_host, book):
        foreign = Property.objects.create(host=other_host, name="Not yours", time_zone="Europe/Paris")
        booking = book(foreign, date(2026, 6, 11), date(2026, 6, 13))
        response = logged_in.post(reverse("messaging:preview"), {"subject": "s", "body": "{{guest_name}}", "preview_booking": booking.pk})
        assert response.status_code == 404

    @pytest.mark.parametrize("booking_id", ["²", "①", "١٢", "-1", "1.0"])
    def test_a_booking_id_that_is_not_a_plain_number_is_404_not_500(self, logged_in, booking_id):
        assert logged_in.post(reverse("messaging:preview"), {"subject": "s", "body": "b", "preview_booking": booking_id}).status_code == 404
        assert logged_in.get(reverse("messaging:template_create"), {"preview_booking": booking_id}).status_code == 404

    def test_get_is_not_allowed(self, logged_in):
        assert logged_in.get(reverse("messaging:preview")).status_code == 405


class TestSizeCap:
    """Text is capped where it comes in (10,000 characters of body, 300 of subject: see
    rendering.MAX_BODY_LENGTH), and no page reads unsaved text longer than a template may be."""

    def test_the_editor_says_the_limit(self, logged_in):
        content = logged_in.get(reverse("messaging:template_create")).content.decode()
        assert 'maxlength="10000"' in content
        assert 'maxlength="300"' in content

    def test_a_body_over_the_limit_is_refused_naming_the_limit_and_its_length(self, logged_in):
        body = "Hi {{guest_name}}, " + "x" * 10_000
        response = logged_in.post(reverse("messaging:template_create"), form_data(body=body))
        assert response.status_code == 400
        content = _unescape(response.content.decode())
        assert f"A message can have at most 10000 characters; this one has {len(body)}." in content
        assert not MessageTemplate.objects.exists()

    def test_a_body_at_the_limit_is_saved(self, logged_in):
        body = "{{smartlock_code}}" + "x" * (10_000 - len("{{smartlock_code}}"))
        assert logged_in.post(reverse("messaging:template_create"), form_data(body=body)).status_code == 302
        assert MessageTemplate.objects.get().body == body

    def test_a_subject_over_the_limit_is_refused_naming_the_limit(self, logged_in):
        response = logged_in.post(reverse("messaging:template_create"), form_data(subject="s" * 301))
        assert response.status_code == 400
        assert "A subject can have at most 300 characters; this one has 301." in _unescape(response.content.decode())
        assert not MessageTemplate.objects.exists()

    def test_the_live_preview_refuses_text_over_the_limit_without_rendering_it(self, logged_in):
        body = "{{guest_name}} " * 700  # 10,500 characters
        response = logged_in.post(reverse("messaging:preview"), {"subject": "s", "body": body})
        assert response.status_code == 200
        content = _unescape(response.content.decode())
        assert "This text cannot be saved yet" in content
        assert "A message can have at most 10000 characters; this one has 10500." in content
        assert "Grace Guest" not in content and "{{guest_name}}" not in content

    @pytest.mark.parametrize(
        "subject, body, problem",
        [
            ("Hi\r\nBcc: evil@example.com", "b", "Subject: Keep this on one line: remove the line break (character 3)."),
            ("Hi", "Hello\x00{{guest_name}}", "Message: Remove the NUL character U+0000 (character 6)"),
            ("Hi", "Hello\x1b[31m", "Message: Remove the control character U+001B (character 6)"),
        ],
    )
    def test_the_live_preview_says_which_character_saving_would_refuse(self, logged_in, subject, body, problem):
        content = _unescape(logged_in.post(reverse("messaging:preview"), {"subject": subject, "body": body}).content.decode())
        assert problem in content
        assert "Grace Guest" not in content

    def test_the_live_preview_refuses_a_subject_over_the_limit(self, logged_in):
        content = _unescape(logged_in.post(reverse("messaging:preview"), {"subject": "{{guest_name}}" * 30, "body": "b"}).content.decode())
        assert "A subject can have at most 300 characters; this one has 420." in content
        assert "Grace Guest" not in content

    def test_the_preview_button_refuses_text_over_the_limit(self, logged_in):
        body = "{{guest_name}} " * 700
        response = logged_in.post(reverse("messaging:template_create"), form_data(action="preview", body=body))
        assert response.status_code == 200
        content = _unescape(response.content.decode())
        assert "A message can have at most 10000 characters; this one has 10500." in content
        assert "Grace Guest Grace Guest" not in content
        assert not MessageTemplate.objects.exists()

    @pytest.mark.parametrize(
        "body",
        [
            "{{" + " " * 2_500 + "x",  # took 25 s in the live preview
            "<<" + " " * 9_997 + "x",  # the longest such text the cap lets in
            "{{" * 5_000,
            "{%" * 5_000,
            "<< " * 3_333 + "x",
        ],
        ids=["{{ 2,500 spaces", "<< spaces at the cap", "{{ repeated", "{% repeated", "<< repeated"],
    )
    def test_the_live_preview_reads_adversarial_text_to_the_end(self, logged_in, body):
        # Work linear in the text is shown by tests/messaging/test_rendering_linear.py and timed by
        # benchmarks/rendering.py; here the preview answers with the problem, not a stalled worker.
        response = logged_in.post(reverse("messaging:preview"), {"subject": "s", "body": body})
        assert response.status_code == 200
        assert "A variable is not closed" in _unescape(response.content.decode())


class TestDelete:
    def test_confirm_then_delete_closes_waiting_messages(self, logged_in, template, make_property, book):
        booking = book(make_property(), date(2026, 6, 11), date(2026, 6, 13))
        MessageDelivery.objects.create(
            booking=booking, template=template, template_name=template.name, trigger_key="before_check_in:2026-06-11",
            status=DeliveryStatus.WAITING_FOR_CODE, due_at=datetime(2026, 6, 10, 8, tzinfo=UTC),
        )
        page = logged_in.get(reverse("messaging:template_delete", args=[template.pk]))
        assert page.status_code == 200 and "1 message of this kind" in page.content.decode()
        response = logged_in.post(reverse("messaging:template_delete", args=[template.pk]), follow=True)
        assert not MessageTemplate.objects.exists()
        assert "1 message not sent yet will not be sent" in response.content.decode()
        assert MessageDelivery.objects.get().status == DeliveryStatus.SKIPPED


class TestCsrf:
    def test_posts_without_a_token_are_refused(self, host, template):
        client = Client(enforce_csrf_checks=True)
        client.force_login(host)
        assert client.post(reverse("messaging:template_create"), form_data()).status_code == 403
        assert client.post(reverse("messaging:template_delete", args=[template.pk])).status_code == 403
        assert client.post(reverse("messaging:preview"), {"body": "x"}).status_code == 403
        assert MessageTemplate.objects.count() == 1


class TestBookingLog:
    def test_shows_sent_waiting_the_pins_carried_and_code_changes(self, logged_in, template, make_property, book):
        booking = book(make_property(), date(2026, 6, 11), date(2026, 6, 13), guest_email="grace@guest.example")
        due = datetime(2026, 6, 10, 8, tzinfo=UTC)
        MessageDelivery.objects.create(
            booking=booking, template=template, template_name="Door code", trigger_key="before_check_in:2026-06-11",
            status=DeliveryStatus.SENT, due_at=due, sent_at=due, pin="482913", recipient="grace@guest.example",
            subject="Code", body="Your code is 482913",
        )
        MessageDelivery.objects.create(
            booking=booking, template=None, template_name="Arrival tips", trigger_key="arrival_day:2026-06-11",
            status=DeliveryStatus.WAITING_FOR_CODE, due_at=due + timedelta(days=1), wait_deadline=due + timedelta(days=1, hours=4),
            note="The door code is not active yet (being created).",
        )
        CodeChangeNotice.objects.create(booking=booking, previous_pin="482913", new_pin="175320", new_code=None)
        content = logged_in.get(reverse("messaging:booking_log", args=[booking.pk])).content.decode()
        assert "Messages to Grace Guest" in content
        assert "<strong>482913</strong>" in content and "10:00, 10 Jun 2026" in content  # property time (CEST)
        assert "Waiting for the door code" in content and "not active yet (being created)" in content
        assert "the new code is 175320" in content
        assert "Your code is 482913" in content

    def test_a_new_door_link_with_the_same_pin_is_not_called_a_new_code(self, logged_in, make_property, book):
        booking = book(make_property(), date(2026, 6, 11), date(2026, 6, 13), guest_email="grace@guest.example")
        old_link, new_link = "https://open.example/k/old-key", "https://open.example/k/new-key"
        CodeChangeNotice.objects.create(
            booking=booking, previous_pin="482913", new_pin="482913", previous_link=old_link, new_link=new_link, new_code=None
        )
        content = _unescape(logged_in.get(reverse("messaging:booking_log", args=[booking.pk])).content.decode())
        assert "the door link changed after the guest had received it; the code is the same (482913)" in content
        assert "please send the guest their new link" in content
        assert "door code changed" not in content and "the new code is" not in content
        assert old_link not in content and new_link not in content  # a link opens the door: never on this page

    def test_another_hosts_booking_is_404(self, logged_in, other_host, book):
        foreign = Property.objects.create(host=other_host, name="Not yours", time_zone="Europe/Paris")
        booking = book(foreign, date(2026, 6, 11), date(2026, 6, 13))
        assert logged_in.get(reverse("messaging:booking_log", args=[booking.pk])).status_code == 404

    def test_a_missing_booking_is_404(self, logged_in):
        assert logged_in.get(reverse("messaging:booking_log", args=[99999])).status_code == 404

    def test_the_list_links_recent_deliveries_to_their_log(self, logged_in, template, make_property, book):
        booking = book(make_property(), date(2026, 6, 11), date(2026, 6, 13), status=BookingStatus.CONFIRMED)
        MessageDelivery.objects.create(
            booking=booking, template=template, template_name="Door code", trigger_key="k", due_at=datetime(2026, 6, 10, tzinfo=UTC),
        )
        content = logged_in.get(reverse("messaging:templates")).content.decode()
        assert reverse("messaging:booking_log", args=[booking.pk]) in content
        assert Booking.objects.count() == 1


def _unescape(content: str) -> str:
    return html.unescape(content)
