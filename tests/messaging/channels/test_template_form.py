"""The host picks a message's channels, and sees which are not set up on this server."""

import pytest
from django.urls import reverse

from messaging.models import MessageTemplate
from tests.messaging.test_views import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, host):
    client.force_login(host)
    return client


def test_the_host_picks_several_channels(logged_in, host):
    response = logged_in.post(reverse("messaging:template_create"), form_data(channels=["email", "sms", "whatsapp"]))
    assert response.status_code == 302
    template = MessageTemplate.objects.get(host=host)
    assert template.channels == ["email", "sms", "whatsapp"]
    page = logged_in.get(reverse("messaging:template_edit", args=[template.pk])).content.decode()
    assert page.count("checked") >= 3


def test_at_least_one_channel(logged_in, host):
    response = logged_in.post(reverse("messaging:template_create"), form_data(channels=[]))
    assert response.status_code == 400 and "Choose at least one way to send it." in response.content.decode()
    assert not MessageTemplate.objects.exists()


def test_channels_without_credentials_are_named(logged_in, settings):
    page = logged_in.get(reverse("messaging:template_create")).content.decode()
    assert "Not set up on this server: SMS, WhatsApp." in page
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER = "AC1", "token", "+15005550006"
    page = logged_in.get(reverse("messaging:template_create")).content.decode()
    assert "Not set up on this server: WhatsApp." in page


def test_the_template_list_names_each_messages_channels(logged_in, host):
    MessageTemplate.objects.create(host=host, name="Welcome", subject="Hi", body="Hello", send_sms=True, send_whatsapp=True)
    page = logged_in.get(reverse("messaging:templates")).content.decode()
    assert "Email, SMS, WhatsApp" in page
