"""The host's webhook pages: scoped to the signed-in host, the secret shown once, POST-only actions."""

import logging

import pytest
import responses
from django.test import Client
from django.urls import reverse

from accounts.reauth import SESSION_KEY
from events import delivery
from events.models import Event, EventKind, WebhookDelivery, WebhookEndpoint
from tests.events.conftest import URL

pytestmark = pytest.mark.django_db

LIST_URL = "/settings/webhooks/"
CREATE_URL = "/settings/webhooks/new/"


@pytest.fixture
def logged_in(client, host, enqueued):
    client.force_login(host)
    return client


def test_create_shows_the_secret_once_and_never_again(logged_in, host, django_capture_on_commit_callbacks):
    response = logged_in.post(CREATE_URL, {"url": URL, "description": "PMS", "kinds": ["access_code.failed"]})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get(host=host)
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in response.content.decode()
    assert (endpoint.url, endpoint.kinds, endpoint.read_pins) == (URL, ["access_code.failed"], False)
    for page in (LIST_URL, f"{LIST_URL}{endpoint.pk}/", f"{LIST_URL}{endpoint.pk}/edit/"):
        html = logged_in.get(page).content.decode()
        assert URL in html and endpoint.secret not in html


@pytest.mark.parametrize("url", ["http://pms.example/hooks", "ftp://pms.example/", "https://pms.example/a\x00b", "https://pms.example/a b",
                                 "https://" + "a" * 500 + ".example/", "not a url", "https://localhost/hooks",
                                 "https://127.0.0.1/", "https://169.254.169.254/latest", "https://10.1.2.3/", "https://[::1]/"])
def test_only_https_urls_are_accepted(logged_in, url):
    assert logged_in.post(CREATE_URL, {"url": url}).status_code == 400
    assert not WebhookEndpoint.objects.exists()


def test_plain_http_to_this_machine_only_while_debug(logged_in, settings):
    assert logged_in.post(CREATE_URL, {"url": "http://localhost:9000/hooks"}).status_code == 400
    settings.DEBUG = True
    assert logged_in.post(CREATE_URL, {"url": "http://localhost:9000/hooks"}).status_code == 200
    assert logged_in.post(CREATE_URL, {"url": "http://10.0.0.1/hooks"}).status_code == 400


def test_pins_need_a_recent_password(logged_in, host):
    session = logged_in.session
    del session[SESSION_KEY]
    session.save()
    response = logged_in.post(CREATE_URL, {"url": URL, "read_pins": "on"})
    assert response.status_code == 302 and reverse("accounts:confirm") in response["Location"]
    assert not WebhookEndpoint.objects.exists()


def test_edit_disable_enable_and_delete(logged_in, endpoint):
    hook = endpoint()
    base = f"{LIST_URL}{hook.pk}/"
    assert logged_in.post(base + "edit/", {"url": "https://other.example/x", "kinds": []}).status_code == 302
    logged_in.post(base + "toggle/")
    hook.refresh_from_db()
    assert hook.url == "https://other.example/x" and not hook.active and hook.disabled_at
    logged_in.post(base + "toggle/")
    hook.refresh_from_db()
    assert hook.active and hook.disabled_at is None
    logged_in.post(base + "delete/")
    assert not WebhookEndpoint.objects.exists()


def test_rotating_shows_a_new_secret_once(logged_in, endpoint):
    hook = endpoint()
    old = hook.secret
    response = logged_in.post(f"{LIST_URL}{hook.pk}/rotate-secret/")
    hook.refresh_from_db()
    assert hook.secret != old and hook.secret in response.content.decode() and old not in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_test_event_goes_to_that_endpoint_only(logged_in, endpoint, enqueued, django_capture_on_commit_callbacks):
    hook, other = endpoint(), endpoint(url="https://other.example/")
    with django_capture_on_commit_callbacks(execute=True):
        assert logged_in.post(f"{LIST_URL}{hook.pk}/test/").status_code == 302
    [row] = WebhookDelivery.objects.all()
    assert row.endpoint == hook and row.event.kind == EventKind.TEST and enqueued == [row.pk]
    assert not other.deliveries.exists()


@responses.activate
def test_the_page_lists_deliveries_and_resends(logged_in, endpoint, enqueued, django_capture_on_commit_callbacks):
    responses.post(URL, status=500)
    hook = endpoint()
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(f"{LIST_URL}{hook.pk}/test/")
    row = WebhookDelivery.objects.get()
    delivery.deliver(delivery_id=row.pk)
    html = logged_in.get(f"{LIST_URL}{hook.pk}/").content.decode()
    assert "webhook.test" in html and "#1" in html and "500" in html and " ms" in html
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert logged_in.post(f"{LIST_URL}{hook.pk}/deliveries/{row.pk}/resend/").status_code == 302
    assert enqueued == [row.pk]


def test_another_hosts_endpoint_answers_404(logged_in, endpoint, other_host):
    theirs = endpoint(host=other_host)
    event = Event.objects.create(host=other_host, kind=EventKind.TEST, occurred_at=theirs.created_at)
    row = WebhookDelivery.objects.create(endpoint=theirs, event=event)
    base = f"{LIST_URL}{theirs.pk}/"
    assert logged_in.get(base).status_code == 404
    assert logged_in.get(base + "edit/").status_code == 404
    for action in ("edit/", "toggle/", "delete/", "rotate-secret/", "test/", f"deliveries/{row.pk}/resend/"):
        assert logged_in.post(base + action, {"url": URL}).status_code == 404, action
    assert theirs.url not in logged_in.get(LIST_URL).content.decode()
    theirs.refresh_from_db()
    assert theirs.active


def test_actions_are_post_only_and_need_csrf(host, endpoint):
    hook = endpoint()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(host)
    assert browser.get(f"{LIST_URL}{hook.pk}/delete/").status_code == 405
    assert browser.post(f"{LIST_URL}{hook.pk}/delete/").status_code == 403
    assert WebhookEndpoint.objects.filter(pk=hook.pk).exists()


def test_signed_out_is_sent_to_sign_in(client):
    assert client.get(LIST_URL).status_code == 302


@responses.activate
def test_no_secret_in_logs(logged_in, endpoint, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    responses.post(URL, status=500)
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(CREATE_URL, {"url": URL})
        hook = WebhookEndpoint.objects.get()
        logged_in.post(f"{LIST_URL}{hook.pk}/test/")
    delivery.deliver(delivery_id=WebhookDelivery.objects.get().pk)
    logged_in.post(f"{LIST_URL}{hook.pk}/rotate-secret/")
    hook.refresh_from_db()
    assert caplog.records and hook.secret not in caplog.text
