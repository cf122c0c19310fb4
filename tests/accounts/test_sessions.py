"""Session hygiene (accounts.sessions, accounts.middleware): the idle timeout, "Sign out everywhere",
other sessions ended by a new password or by turning on two-factor authentication, and the
Security page's log of the host's own events."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from accounts.events import record_security_event
from accounts.models import SecurityEvent, SecurityEventKind
from accounts.sessions import LAST_ACTIVITY

pytestmark = pytest.mark.django_db
START = datetime(2026, 6, 1, 10, 0, 5, tzinfo=UTC)
PASSWORD = "host-password-123"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def signed_in_client(username: str = "host", password: str = PASSWORD, address: str = "198.51.100.1") -> Client:
    client = Client(REMOTE_ADDR=address, HTTP_USER_AGENT=FIREFOX)
    assert client.post(reverse("login"), {"username": username, "password": password}).status_code == 302
    return client


def still_signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


class TestIdleTimeout:
    def test_a_session_idle_longer_than_the_setting_ends_and_the_login_page_says_why(self, host, settings):
        settings.SESSION_IDLE_TIMEOUT_SECONDS = 1800
        with freeze_time(START) as clock:
            client = signed_in_client()
            clock.tick(timedelta(minutes=29))
            assert still_signed_in(client)
            clock.tick(timedelta(minutes=29))  # active 29 minutes ago: still in
            assert still_signed_in(client)
            clock.tick(timedelta(minutes=30, seconds=1))
            response = client.get("/bookings/")
            assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/bookings/"
            login_page = client.get(response["Location"]).content.decode()
            assert "You were signed out after 30 minutes without activity" in login_page
            assert not still_signed_in(client)
        expired = SecurityEvent.objects.get(kind=SecurityEventKind.SESSION_EXPIRED)
        assert expired.user == host and expired.ip_address == "198.51.100.1"
        assert not SecurityEvent.objects.filter(kind=SecurityEventKind.SIGNED_OUT).exists()

    def test_activity_is_written_at_most_once_a_minute(self, host):
        with freeze_time(START) as clock:
            client = signed_in_client()
            noted = client.session[LAST_ACTIVITY]
            clock.tick(timedelta(seconds=59))
            client.get("/")
            assert client.session[LAST_ACTIVITY] == noted
            clock.tick(timedelta(seconds=1))
            client.get("/")
            assert client.session[LAST_ACTIVITY] == noted + 60

    def test_htmx_is_sent_to_the_sign_in_page_as_a_whole_page(self, host, settings):
        with freeze_time(START) as clock:
            client = signed_in_client()
            clock.tick(timedelta(seconds=settings.SESSION_IDLE_TIMEOUT_SECONDS + 1))
            response = client.get("/integrations/", headers={"HX-Request": "true"})
        assert response.status_code == 204 and response["HX-Redirect"] == reverse("login")


class TestSignOutEverywhere:
    def test_it_ends_every_session_of_the_account_and_no_other(self, host, other_host):
        with freeze_time(START) as clock:
            laptop, phone = signed_in_client(), signed_in_client(address="198.51.100.2")
            someone_else = signed_in_client("other-host", "other-password-123")
            clock.tick(timedelta(seconds=30))
            response = phone.post(reverse("security:sign_out_everywhere"))
            assert response["Location"] == reverse("login")
            assert "You are signed out everywhere" in phone.get(reverse("login")).content.decode()
            assert not still_signed_in(phone) and not still_signed_in(laptop)
            assert "You were signed out on this device" in laptop.get(reverse("login")).content.decode()
            assert still_signed_in(someone_else)
            clock.tick(timedelta(seconds=30))
            assert still_signed_in(signed_in_client())  # signing in again works
        assert host.security_events.filter(kind=SecurityEventKind.SIGNED_OUT_EVERYWHERE).count() == 1

    def test_it_works_on_the_database_session_store_without_reading_every_session(self, host):
        with freeze_time(START):
            laptop = signed_in_client()
            Session.objects.bulk_create(
                Session(session_key=f"other{i:027d}", session_data="x", expire_date=START + timedelta(days=1)) for i in range(50)
            )
            with CaptureQueriesContext(connection) as queries:
                laptop.post(reverse("security:sign_out_everywhere"))
        sql = [query["sql"] for query in queries.captured_queries]
        assert not any("django_session" in text and "SELECT" in text and "IN" in text for text in sql)
        assert Session.objects.count() >= 50  # nothing scanned or deleted wholesale

    def test_the_cutoff_is_read_with_the_user_in_one_query(self, host):
        with freeze_time(START):
            client = signed_in_client()
            with CaptureQueriesContext(connection) as queries:
                client.get(reverse("security:index"))
        reads = [query["sql"] for query in queries.captured_queries if "accounts_sessioncutoff" in query["sql"]]
        assert len(reads) == 1 and "auth_user" in reads[0]


class TestOtherSessionsEnd:
    def test_a_new_password_ends_the_other_sessions_and_keeps_this_one(self, host):
        with freeze_time(START):
            here, elsewhere = signed_in_client(), signed_in_client(address="198.51.100.2")
            response = here.post(reverse("security:password_change"), {
                "old_password": PASSWORD, "new_password1": "a-new-pass-1234", "new_password2": "a-new-pass-1234",
            })
            assert response["Location"] == reverse("security:index")
            assert still_signed_in(here) and not still_signed_in(elsewhere)
        assert host.security_events.filter(kind=SecurityEventKind.PASSWORD_CHANGED).count() == 1

    def test_a_wrong_current_password_counts_as_a_failed_sign_in(self, host):
        with freeze_time(START):
            client = signed_in_client()
            for index in range(5):
                response = client.post(reverse("security:password_change"), {
                    "old_password": f"guess-{index}", "new_password1": "a-new-pass-1234", "new_password2": "a-new-pass-1234",
                })
            assert response.status_code == 429
        assert host.security_events.filter(kind=SecurityEventKind.REAUTHENTICATION_FAILED).count() == 5

    def test_turning_on_two_factor_ends_the_other_sessions_and_keeps_this_one(self, host):
        with freeze_time(START):
            here, elsewhere = signed_in_client(), signed_in_client(address="198.51.100.2")
            here.get(reverse("security:two_factor_setup"))
            device = TOTPDevice.objects.get(user=host)
            code = str(totp(device.bin_key, device.step, device.t0, device.digits)).zfill(6)
            assert here.post(reverse("security:two_factor_setup"), {"code": code}).status_code == 200
            assert still_signed_in(here) and not still_signed_in(elsewhere)


class TestTheSecurityLog:
    def test_the_page_shows_the_hosts_own_events_with_where_and_which_browser_paged(self, host, other_host):
        with freeze_time(START):
            client = signed_in_client()
            record_security_event(kind=SecurityEventKind.API_TOKEN_CREATED, user=other_host, detail="someone else's")
            for index in range(30):
                record_security_event(kind=SecurityEventKind.REAUTHENTICATED, user=host, detail=f"event {index}")
            first = client.get(reverse("security:index")).content.decode()
            second = client.get(reverse("security:index"), {"page": 2}).content.decode()
        assert "event 29" in first and "event 5" in first and "event 4" not in first
        assert "event 4" in second and "Signed in" in second and "198.51.100.1" in second and "Firefox on Windows" in second
        assert "Page 2 of 2" in second and "someone else" not in first + second
        assert PASSWORD not in first + second

    def test_the_nav_links_the_page(self, host):
        page = signed_in_client().get("/").content.decode()
        assert re.search(r'<a href="/settings/security/"[^>]*>Security</a>', page)

    def test_staff_see_every_accounts_events_read_only(self, host, admin_client):
        record_security_event(kind=SecurityEventKind.SIGNED_IN, user=host)
        listing = admin_client.get(reverse("admin:accounts_securityevent_changelist")).content.decode()
        assert "host" in listing and "Signed in" in listing
        event = SecurityEvent.objects.filter(user=host).first()
        assert admin_client.post(reverse("admin:accounts_securityevent_change", args=[event.pk]), {}).status_code == 403
        assert admin_client.post(reverse("admin:accounts_securityevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
