"""Staff create platform-wide endpoints; the secret is shown once; events and deliveries are read only."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from events.models import Event, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, db):
    staff = get_user_model().objects.create_user(username="support", password="support-pass-1", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def test_staff_add_a_platform_wide_endpoint_and_see_its_secret_once(staff_client):
    response = staff_client.post(
        "/admin/events/webhookendpoint/add/", {"url": "https://platform.example/hooks", "kinds": ["access_code.failed"], "active": "on"}
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 200 and endpoint.host is None and endpoint.secret in response.content.decode()
    assert endpoint.kinds == ["access_code.failed"]
    for page in ("/admin/events/webhookendpoint/", f"/admin/events/webhookendpoint/{endpoint.pk}/change/"):
        html = staff_client.get(page).content.decode()
        assert endpoint.url in html and endpoint.secret not in html


def test_staff_cannot_add_a_plain_http_endpoint(staff_client):
    response = staff_client.post("/admin/events/webhookendpoint/add/", {"url": "http://platform.example/"})
    assert response.status_code == 200 and not WebhookEndpoint.objects.exists()


def test_rotating_in_admin_shows_the_new_secret(staff_client, host, endpoint):
    hook = endpoint()
    old = hook.secret
    response = staff_client.post(
        "/admin/events/webhookendpoint/", {"action": "rotate_secret", "_selected_action": [hook.pk]}
    )
    hook.refresh_from_db()
    assert hook.secret != old and hook.secret in response.content.decode()


def test_events_and_deliveries_are_read_only(staff_client, host, endpoint):
    event = Event.objects.create(host=host, kind="access_code.created", occurred_at=timezone.now())
    row = WebhookDelivery.objects.create(endpoint=endpoint(), event=event)
    assert staff_client.get("/admin/events/event/add/").status_code == 403
    page = staff_client.get(f"/admin/events/webhookdelivery/{row.pk}/change/")
    assert page.status_code == 200 and 'name="status"' not in page.content.decode()


def test_staff_can_only_subscribe_known_kinds(staff_client):
    staff_client.post("/admin/events/webhookendpoint/add/", {"url": "https://platform.example/", "kinds": ["nope"]})
    assert not WebhookEndpoint.objects.exists()
