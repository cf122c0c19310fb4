"""`make run` shows webhooks arriving: `seed_demo_webhook` gives the demo host an endpoint on the
sandbox's receiver, and a delivery the product signs is verified there by the sandbox's own,
independent check (sandbox/webhooks.py)."""

from io import StringIO

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.management import call_command

from bookings.demo import DEMO_HOST_USERNAME
from events import delivery, services
from events.models import DeliveryStatus, WebhookEndpoint
from sandbox.demo_sign_ins import DEMO_WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_host(settings):
    settings.DEBUG = True
    return get_user_model().objects.create_user(username=DEMO_HOST_USERNAME, password="demo-password-123")


def test_the_command_adds_the_demo_endpoint_once(demo_host):
    for _ in range(2):
        call_command("seed_demo_webhook", "--sandbox", "http://127.0.0.1:8100/", stdout=StringIO())
    (endpoint,) = WebhookEndpoint.objects.all()
    assert (endpoint.host, endpoint.url, endpoint.secret) == (demo_host, "http://127.0.0.1:8100/webhooks/", DEMO_WEBHOOK_SECRET)
    assert endpoint.kinds == [] and not endpoint.read_pins


def test_a_signed_delivery_is_verified_by_the_sandboxs_receiver(demo_host, sandbox_url, enqueued):
    call_command("seed_demo_webhook", "--sandbox", sandbox_url, stdout=StringIO())
    endpoint = WebhookEndpoint.objects.get()
    sent = services.endpoint_send_test(endpoint=endpoint)
    delivery.deliver(delivery_id=sent.pk)
    sent.refresh_from_db()
    assert sent.status == DeliveryStatus.DELIVERED and sent.last_status_code == 204
    page = requests.get(sandbox_url + "/webhooks/", timeout=5).text
    assert f"evt_{sent.event_id}" in page and "verified" in page and "refused" not in page
