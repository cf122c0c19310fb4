"""Sensitive actions ask again (accounts.reauth), and what is recorded in the security log."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from freezegun import freeze_time

from accounts.client import client_ip_address
from accounts.events import record_security_event
from accounts.models import SecurityEvent, SecurityEventKind
from accounts.reauth import is_recently_authenticated, mark_recently_authenticated, recent_authentication_required

pytestmark = pytest.mark.django_db


@recent_authentication_required
def sensitive(request):
    return HttpResponse("done")


def request_for(user, method="get", path="/settings/sensitive/", **extra):
    request = getattr(RequestFactory(), method)(path, **extra)
    request.user = user
    request.session = SessionStore()
    return request


class TestTheGuard:
    def test_a_fresh_sign_in_counts_as_confirmed(self, client, host):
        with freeze_time("2026-06-01 10:00:00"):
            client.post(reverse("login"), {"username": "host", "password": "host-password-123"})
        with freeze_time("2026-06-01 10:09:59"):
            request = request_for(host)
            request.session = client.session
            assert is_recently_authenticated(request)
        with freeze_time("2026-06-01 10:10:01"):
            assert not is_recently_authenticated(request)

    def test_unconfirmed_get_goes_to_the_confirmation_page_and_back(self, host):
        response = sensitive(request_for(host, path="/settings/sensitive/?x=1"))
        assert response.status_code == 302
        assert response["Location"] == "/accounts/confirm/?next=%2Fsettings%2Fsensitive%2F%3Fx%3D1"

    def test_an_unconfirmed_post_is_not_carried_out(self, host):
        response = sensitive(request_for(host, method="post", data={"go": "1"}))
        assert response.status_code == 302 and response["Location"] == "/accounts/confirm/?next=%2Fsettings%2Fsensitive%2F"

    def test_htmx_is_sent_to_a_full_page(self, host):
        request = request_for(host, method="post")
        request.htmx = True
        response = sensitive(request)
        assert response.status_code == 204 and response["HX-Redirect"].startswith("/accounts/confirm/?next=")

    def test_confirmed_recently_it_runs(self, host):
        request = request_for(host, method="post")
        mark_recently_authenticated(request)
        assert sensitive(request).content == b"done"


class TestTheConfirmationPage:
    def test_the_right_password_confirms_and_goes_back(self, client, host):
        client.force_login(host)  # not through the sign-in: unconfirmed
        response = client.post(reverse("accounts:confirm"), {"password": "host-password-123", "next": "/integrations/"})
        assert response.status_code == 302 and response["Location"] == "/integrations/"
        event = SecurityEvent.objects.get(kind=SecurityEventKind.REAUTHENTICATED)
        assert event.user == host and event.ip_address == "127.0.0.1"

    def test_a_wrong_password_is_refused_and_recorded(self, client, host):
        client.force_login(host)
        response = client.post(reverse("accounts:confirm"), {"password": "guess", "next": "/integrations/"})
        assert response.status_code == 400 and "That is not your password." in response.content.decode()
        assert SecurityEvent.objects.filter(user=host, kind=SecurityEventKind.REAUTHENTICATION_FAILED).count() == 1
        assert not any("guess" in detail for detail in SecurityEvent.objects.values_list("detail", flat=True))

    @pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
    def test_next_never_leaves_the_site(self, client, host, target):
        client.force_login(host)
        response = client.post(reverse("accounts:confirm"), {"password": "host-password-123", "next": target})
        assert response["Location"] == reverse("home")

    def test_signed_out_it_asks_to_sign_in(self, client):
        assert client.get(reverse("accounts:confirm")).status_code == 302


class TestTheLog:
    def test_control_characters_and_length_never_reach_the_log(self, host):
        request = request_for(host, HTTP_USER_AGENT="Bot\r\nX-Injected: 1" + "a" * 500)
        event = record_security_event(kind=SecurityEventKind.SIGNED_IN, user=host, request=request, detail="line\x00one\nline two")
        assert "\n" not in event.user_agent and len(event.user_agent) == 200
        assert event.detail == "lineone line two" and event.username == "host"

    @pytest.mark.parametrize(
        "trusted, forwarded, remote, expected",
        [
            (0, "203.0.113.9", "10.0.0.2", "10.0.0.2"),  # no proxy trusted: the header is anyone's
            (1, "198.51.100.7, 203.0.113.9", "10.0.0.2", "203.0.113.9"),  # the one our balancer added
            (2, "198.51.100.7, 203.0.113.9", "10.0.0.2", "198.51.100.7"),
            (1, "", "10.0.0.2", "10.0.0.2"),
            (1, "not-an-address", "10.0.0.2", None),
        ],
    )
    def test_the_client_address_is_read_as_far_as_proxies_are_trusted(self, settings, trusted, forwarded, remote, expected):
        settings.TRUSTED_PROXY_COUNT = trusted
        request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote)
        assert client_ip_address(request) == expected
