"""The Tedee adapter on its wire protocol, its OAuth connect flow, and the lifecycle driving it.

Exact requests are asserted with `responses` matchers against fixtures shaped like Tedee's
documented answers (tests/fixtures/tedee/); stateful scenarios run on the emulator in
tests/vendors/tedee.py. Nothing talks to the internet: `responses` refuses unmatched requests.
"""

import base64
import hashlib
import logging
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
from django.urls import reverse
from freezegun import freeze_time
from responses import matchers

from bookings.models import BookingStatus
from locks import services
from locks.connect import oauth
from locks.models import AccessCode, AccountStatus, CodeState, Lock, LockAssignment, ProviderAccount, VendorCall
from locks.providers import registry, tedee
from locks.providers.base import AccountSession, CodeSpec
from locks.providers.exceptions import (
    CodeNotFound,
    CodeRejected,
    CodeStorageFull,
    LockNotFound,
    LockOffline,
    OutcomeUnknown,
    PermanentProviderError,
    PinTaken,
    ProviderAuthError,
    RateLimited,
    VendorUnavailable,
)
from locks.providers.tedee import TedeeProvider
from tests.helpers.lifecycle import tick
from tests.vendors.tedee import ERRORS, REDIRECT_URI, TedeeCloud, fixture

API = "https://api.tedee.com/api/v37"
TOKEN_URL = "https://tedee.b2clogin.com/tedee.onmicrosoft.com/B2C_1A_Signup_Signin_With_Kmsi/oauth2/v2.0/token"
AUTHORIZE_URL = "https://tedee.b2clogin.com/tedee.onmicrosoft.com/B2C_1A_Signup_Signin_With_Kmsi/oauth2/v2.0/authorize"
CLIENT_ID, CLIENT_SECRET = "nowistay-tedee-client", "nowistay-tedee-secret"
SCOPE = (
    "https://tedee.onmicrosoft.com/api/user_impersonation https://tedee.onmicrosoft.com/api/Device.ReadWrite "
    "https://tedee.onmicrosoft.com/api/DeviceActivity.Read offline_access"
)
STARTS, ENDS = datetime(2026, 6, 2, 13, 0, tzinfo=UTC), datetime(2026, 6, 4, 10, 0, tzinfo=UTC)
SPEC = CodeSpec(name="nw-101", pin="582947", starts_at=STARTS, ends_at=ENDS, time_zone="Europe/Paris")
PIN_BODY = {
    "alias": "nw-101",
    "pin": "582947",
    "startDate": "2026-06-02T13:00:00.000Z",
    "endDate": "2026-06-04T10:00:00.000Z",
    "dayStartTime": None,
    "dayEndTime": None,
    "weekDays": None,
}
pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")  # whitenoise without collectstatic

ACCESS_TOKEN = fixture("token.json")["access_token"]
REFRESH_TOKEN = fixture("token.json")["refresh_token"]


@pytest.fixture(autouse=True)
def tedee_settings(settings):
    settings.TEDEE_API_URL = "https://api.tedee.com"
    settings.TEDEE_AUTH_URL = "https://tedee.b2clogin.com/tedee.onmicrosoft.com"
    settings.TEDEE_API_VERSION = "v37"
    settings.TEDEE_CLIENT_ID = CLIENT_ID
    settings.TEDEE_CLIENT_SECRET = CLIENT_SECRET


@pytest.fixture
def tedee_registered(monkeypatch):
    monkeypatch.setitem(registry.PROVIDER_CLASSES, "tedee", TedeeProvider)


class Saved:
    """Records what the adapter hands to `save_credentials`."""

    def __init__(self):
        self.calls = []

    def __call__(self, credentials, expires_at):
        self.calls.append((credentials, expires_at))


def fixture_credentials(**overrides) -> dict:
    credentials, _ = tedee.credentials_from_token_answer(fixture("token.json"), redirect_uri=REDIRECT_URI)
    credentials.update(overrides)
    return credentials


FRESH = object()  # the access token's expiry as the fixture's token answer gives it


def provider(saved: Saved | None = None, *, expires_at=FRESH, **overrides) -> TedeeProvider:
    """A TedeeProvider on the fixture's tokens; `expires_at` None is a token of unknown expiry."""
    credentials, fresh_expiry = tedee.credentials_from_token_answer(fixture("token.json"), redirect_uri=REDIRECT_URI)
    session = AccountSession(
        account_id=7,
        credentials={**credentials, **overrides},
        expires_at=fresh_expiry if expires_at is FRESH else expires_at,
        save_credentials=saved or Saved(),
    )
    return TedeeProvider(session)


def bearer(token: str = ACCESS_TOKEN, **extra) -> list:
    return [matchers.header_matcher({"Authorization": f"Bearer {token}", "accept": "application/json", **extra})]


JSON_HEADERS = {"Content-Type": "application/json-patch+json"}


# --- the wire: exact requests ---------------------------------------------------------------------

class TestWire:
    def test_list_locks_reads_my_lock_with_accessories_and_explains_each_refusal(self):
        with responses.RequestsMock() as rsps:
            rsps.get(
                f"{API}/my/lock",
                json=fixture("locks.json"),
                match=[matchers.query_param_matcher({"IncludeAccessories": "true"}), *bearer()],
            )
            locks = {lock.vendor_lock_id: lock for lock in provider().list_locks()}

        assert list(locks) == ["101", "102", "103", "104", "105"]
        front, back, garage, cellar, neighbour = locks.values()
        assert front.supports_remote_codes and front.unavailable_reason == "" and front.is_online is True
        assert front.name == "Front door" and front.time_zone == "Europe/Paris"
        # Offline right now is live state, never a reason (admin + Keypad PRO + bridge: eligible).
        assert back.supports_remote_codes and back.is_online is False
        assert not garage.supports_remote_codes and garage.unavailable_reason == "No Tedee Keypad is paired with this lock."
        assert not cellar.supports_remote_codes and "not paired with a Tedee Bridge" in cellar.unavailable_reason
        assert not neighbour.supports_remote_codes
        assert neighbour.unavailable_reason == "Your Tedee account is not the owner or an administrator of this lock."

    def test_a_lock_missing_everything_gives_every_reason(self):
        reasons = tedee.unavailable_reasons({"id": 1, "accessories": [], "connectedToId": None, "accessLevel": 3})
        assert len(reasons) == 3

    def test_create_posts_the_full_body_with_iso_utc_dates_and_the_pin_as_a_string(self):
        with responses.RequestsMock() as rsps:
            rsps.post(
                f"{API}/my/lock/101/pin",
                status=201,
                json=fixture("pin_created.json"),
                match=[*bearer(**JSON_HEADERS), matchers.json_params_matcher(PIN_BODY, strict_match=True)],
            )
            issued = provider().create_code("101", SPEC)
        assert (issued.vendor_code_id, issued.pin, issued.name) == ("3", "582947", "nw-101")
        assert (issued.starts_at, issued.ends_at) == (STARTS, ENDS)

    def test_local_datetimes_are_sent_in_utc(self):
        paris = ZoneInfo("Europe/Paris")
        spec = CodeSpec("nw-101", "582947", STARTS.astimezone(paris), ENDS.astimezone(paris), "Europe/Paris")
        with responses.RequestsMock() as rsps:
            rsps.post(
                f"{API}/my/lock/101/pin", status=201, json=fixture("pin_created.json"), match=[matchers.json_params_matcher(PIN_BODY)]
            )
            provider().create_code("101", spec)

    def test_a_pin_leading_with_zero_stays_a_string(self):
        body = {**PIN_BODY, "pin": "058294"}
        with responses.RequestsMock() as rsps:
            rsps.post(f"{API}/my/lock/101/pin", status=201, json=fixture("pin_created.json"), match=[matchers.json_params_matcher(body)])
            issued = provider().create_code("101", CodeSpec("nw-101", "058294", STARTS, ENDS, "Europe/Paris"))
        assert issued.pin == "058294"

    def test_update_reads_the_pin_then_puts_the_full_body(self):
        later = {**PIN_BODY, "startDate": "2026-06-03T13:00:00.000Z", "endDate": "2026-06-06T10:00:00.000Z"}
        with responses.RequestsMock() as rsps:
            read = rsps.get(f"{API}/my/lock/101/pin/3", json=fixture("pin_details.json"), match=bearer())
            put = rsps.put(
                f"{API}/my/lock/101/pin/3",
                status=204,
                body="",
                match=[*bearer(**JSON_HEADERS), matchers.json_params_matcher(later, strict_match=True)],
            )
            moved = provider().update_code(
                "101", "3", CodeSpec("nw-101", "582947", STARTS + timedelta(days=1), ENDS + timedelta(days=2), "Europe/Paris")
            )
            assert rsps.calls[0].request.method == "GET" and read.call_count == 1 and put.call_count == 1
        assert (moved.vendor_code_id, moved.pin) == ("3", "582947")
        assert (moved.starts_at, moved.ends_at) == (STARTS + timedelta(days=1), ENDS + timedelta(days=2))

    def test_update_keeps_the_pin_on_the_lock_when_none_is_given(self):
        with responses.RequestsMock() as rsps:
            rsps.get(f"{API}/my/lock/101/pin/3", json=fixture("pin_details.json"))
            rsps.put(f"{API}/my/lock/101/pin/3", status=204, body="", match=[matchers.json_params_matcher(PIN_BODY)])
            moved = provider().update_code("101", "3", CodeSpec("nw-101", None, STARTS, ENDS, "Europe/Paris"))
        assert moved.pin == "582947"

    def test_update_of_a_pin_that_vanished_raises_code_not_found(self):
        with responses.RequestsMock() as rsps:
            rsps.get(f"{API}/my/lock/101/pin/3", status=404, json=ERRORS["404"])
            rsps.get(f"{API}/my/lock/101", json=fixture("lock_single.json"), match=bearer())
            with pytest.raises(CodeNotFound):
                provider().update_code("101", "3", SPEC)

    def test_delete_sends_a_delete(self):
        with responses.RequestsMock() as rsps:
            rsps.delete(f"{API}/my/lock/101/pin/3", status=204, body="", match=bearer())
            assert provider().delete_code("101", "3") is None

    def test_delete_of_a_pin_already_gone_succeeds(self):
        with responses.RequestsMock() as rsps:
            rsps.delete(f"{API}/my/lock/101/pin/3", status=404, json=ERRORS["404"])
            rsps.get(f"{API}/my/lock/101", json=fixture("lock_single.json"), match=bearer())
            assert provider().delete_code("101", "3") is None

    def test_delete_on_a_lock_that_is_gone_raises_lock_not_found(self):
        with responses.RequestsMock() as rsps:
            rsps.delete(f"{API}/my/lock/101/pin/3", status=404, json=ERRORS["404"])
            rsps.get(f"{API}/my/lock/101", status=404, json={"success": False, "errorMessages": ["Lock not found."], "statusCode": 404})
            with pytest.raises(LockNotFound):
                provider().delete_code("101", "3")

    def test_find_code_matches_the_alias_in_the_list_and_reads_its_details(self):
        with responses.RequestsMock() as rsps:
            rsps.get(f"{API}/my/lock/101/pin", json=fixture("pin_list.json"), match=[*bearer(), matchers.query_param_matcher({})])
            rsps.get(f"{API}/my/lock/101/pin/3", json=fixture("pin_details.json"), match=bearer())
            found = provider().find_code("101", "nw-101")
        assert (found.vendor_code_id, found.pin, found.name) == ("3", "582947", "nw-101")
        assert (found.starts_at, found.ends_at) == (STARTS, ENDS)

    def test_find_code_with_an_unknown_name_reads_only_the_list(self):
        with responses.RequestsMock() as rsps:
            rsps.get(f"{API}/my/lock/101/pin", json=fixture("pin_list.json"))
            assert provider().find_code("101", "nw-10") is None


# --- the wire: statuses ---------------------------------------------------------------------------

class TestStatuses:
    @pytest.mark.parametrize(
        "status, error_class",
        [
            (400, CodeRejected),
            (403, LockNotFound),
            (404, LockNotFound),
            (406, PinTaken),
            (408, OutcomeUnknown),
            (409, VendorUnavailable),
            (412, CodeStorageFull),
            (422, CodeStorageFull),
            (428, LockOffline),
            (500, VendorUnavailable),
            (503, VendorUnavailable),
            (418, PermanentProviderError),
        ],
    )
    def test_create_maps_each_status(self, status, error_class):
        with responses.RequestsMock() as rsps:
            rsps.post(f"{API}/my/lock/101/pin", status=status, json=ERRORS.get(str(status), {}))
            with pytest.raises(error_class) as caught:
                provider().create_code("101", SPEC)
        assert type(caught.value) is error_class
        assert caught.value.vendor_code == str(status)
        assert "582947" not in caught.value.message and ACCESS_TOKEN not in caught.value.message

    def test_429_is_rate_limited_with_retry_after(self):
        with responses.RequestsMock() as rsps:
            rsps.get(f"{API}/my/lock", status=429, json=ERRORS["429"], headers={"Retry-After": "1800"})
            with pytest.raises(RateLimited) as caught:
                provider().list_locks()
        assert caught.value.retry_after == 1800.0

    @pytest.mark.parametrize("status, error_class", [(408, LockOffline), (409, VendorUnavailable), (428, LockOffline)])
    def test_device_statuses_on_a_read_are_transient(self, status, error_class):
        with responses.RequestsMock() as rsps:
            rsps.get(f"{API}/my/lock/101/pin", status=status, json=ERRORS[str(status)])
            with pytest.raises(error_class):
                provider().find_code("101", "nw-101")

    @pytest.mark.parametrize("method, call", [("PUT", "update"), ("DELETE", "delete")])
    @pytest.mark.parametrize(
        "status, error_class", [(408, OutcomeUnknown), (409, VendorUnavailable), (428, LockOffline), (403, LockNotFound)]
    )
    def test_writes_map_device_statuses(self, method, call, status, error_class):
        with responses.RequestsMock() as rsps:
            if call == "update":
                rsps.get(f"{API}/my/lock/101/pin/3", json=fixture("pin_details.json"))
                rsps.put(f"{API}/my/lock/101/pin/3", status=status, json=ERRORS[str(status)])
            else:
                rsps.delete(f"{API}/my/lock/101/pin/3", status=status, json=ERRORS[str(status)])
            with pytest.raises(error_class):
                provider().update_code("101", "3", SPEC) if call == "update" else provider().delete_code("101", "3")

    def test_a_pin_breaking_tedees_rules_is_refused_without_a_request(self):
        with responses.RequestsMock() as rsps:
            for pin in ("1234", "123456", "111222", "987654", "12a456", "123456789"):
                with pytest.raises(CodeRejected) as caught:
                    provider().create_code("101", CodeSpec("nw-101", pin, STARTS, ENDS, "Europe/Paris"))
                assert pin not in caught.value.message
            assert len(rsps.calls) == 0

    def test_an_answer_that_is_not_json_is_a_vendor_failure(self):
        with responses.RequestsMock() as rsps:
            rsps.get(f"{API}/my/lock", body="<html>gateway</html>", status=200)
            with pytest.raises(VendorUnavailable):
                provider().list_locks()

    def test_a_2xx_saying_success_false_is_not_believed(self):
        with responses.RequestsMock() as rsps:
            rsps.post(f"{API}/my/lock/101/pin", status=201, json={"success": False, "errorMessages": ["?"], "statusCode": 201})
            with pytest.raises(VendorUnavailable):
                provider().create_code("101", SPEC)

    def test_a_timeout_on_create_is_an_unknown_outcome(self):
        with responses.RequestsMock() as rsps:
            rsps.post(f"{API}/my/lock/101/pin", body=requests.exceptions.ReadTimeout("lost"))
            with pytest.raises(OutcomeUnknown):
                provider().create_code("101", SPEC)


# --- tokens ---------------------------------------------------------------------------------------

REFRESH_FORM = {
    "grant_type": "refresh_token",
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "scope": SCOPE,
    "refresh_token": REFRESH_TOKEN,
    "redirect_uri": REDIRECT_URI,
}


class TestTokens:
    def test_a_token_about_to_expire_is_refreshed_before_the_call(self):
        saved = Saved()
        refreshed = fixture("token_refreshed.json")
        with freeze_time("2026-06-01 10:00:00"), responses.RequestsMock() as rsps:
            token_call = rsps.post(TOKEN_URL, json=refreshed, match=[matchers.urlencoded_params_matcher(REFRESH_FORM)])
            rsps.get(f"{API}/my/lock", json=fixture("locks.json"), match=bearer(refreshed["access_token"]))
            adapter = provider(saved, expires_at=datetime(2026, 6, 1, 10, 2, tzinfo=UTC))
            adapter.list_locks()
            assert token_call.call_count == 1
        ((credentials, expires_at),) = saved.calls
        assert credentials["access_token"] == refreshed["access_token"]
        assert credentials["refresh_token"] == refreshed["refresh_token"]
        assert expires_at == datetime(2026, 6, 1, 11, 0, tzinfo=UTC)  # expires_in "3600", a string
        assert adapter.session.credentials == credentials

    def test_a_401_mid_run_refreshes_once_and_retries(self):
        saved = Saved()
        refreshed = fixture("token_refreshed.json")
        with responses.RequestsMock() as rsps:
            rsps.get(f"{API}/my/lock/101/pin", status=401, body="", match=bearer())
            rsps.post(TOKEN_URL, json=refreshed, match=[matchers.urlencoded_params_matcher(REFRESH_FORM)])
            rsps.get(f"{API}/my/lock/101/pin", json=fixture("pin_list.json"), match=bearer(refreshed["access_token"]))
            assert provider(saved).find_code("101", "Nobody") is None
        assert len(saved.calls) == 1 and saved.calls[0][0]["access_token"] == refreshed["access_token"]

    def test_a_token_of_unknown_expiry_is_used_and_refreshed_once_when_refused(self):
        saved = Saved()
        refreshed = fixture("token_refreshed.json")
        with freeze_time("2026-06-01 10:00:00"), responses.RequestsMock() as rsps:
            rsps.get(f"{API}/my/lock", status=401, body="", match=bearer())
            rsps.post(TOKEN_URL, json=refreshed, match=[matchers.urlencoded_params_matcher(REFRESH_FORM)])
            rsps.get(f"{API}/my/lock", json=fixture("locks.json"), match=bearer(refreshed["access_token"]))
            adapter = provider(saved, expires_at=None)
            adapter.list_locks()
        assert [credentials["access_token"] for credentials, _ in saved.calls] == [refreshed["access_token"]]
        assert adapter.session.expires_at == datetime(2026, 6, 1, 11, 0, tzinfo=UTC)

    def test_a_refused_refresh_needs_reconnecting(self):
        saved = Saved()
        with responses.RequestsMock() as rsps:
            rsps.get(f"{API}/my/lock", status=401, body="")
            rsps.post(TOKEN_URL, status=400, json=fixture("token_invalid_grant.json"))
            with pytest.raises(ProviderAuthError) as caught:
                provider(saved).list_locks()
        assert saved.calls == [] and REFRESH_TOKEN not in caught.value.message

    def test_a_401_with_a_fresh_token_needs_reconnecting(self):
        with responses.RequestsMock() as rsps:
            rsps.get(f"{API}/my/lock", status=401, body="")
            rsps.post(TOKEN_URL, json=fixture("token_refreshed.json"))
            rsps.get(f"{API}/my/lock", status=401, body="")
            with pytest.raises(ProviderAuthError):
                provider().list_locks()

    def test_a_failing_token_service_is_transient(self):
        with responses.RequestsMock() as rsps:
            rsps.get(f"{API}/my/lock", status=401, body="")
            rsps.post(TOKEN_URL, status=503, body="")
            with pytest.raises(VendorUnavailable):
                provider().list_locks()

    def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(self):
        answer = {k: v for k, v in fixture("token_refreshed.json").items() if k not in ("refresh_token", "refresh_token_expires_in")}
        issued, lapses = "2026-05-01T00:00:00+00:00", "2026-05-15T00:00:00+00:00"
        previous = fixture_credentials(refresh_token_issued_at=issued, refresh_token_expires_at=lapses)
        credentials, _ = tedee.credentials_from_token_answer(answer, redirect_uri=REDIRECT_URI, previous=previous)
        assert credentials["refresh_token"] == REFRESH_TOKEN
        assert (credentials["refresh_token_issued_at"], credentials["refresh_token_expires_at"]) == (issued, lapses)

    def test_the_refresh_token_times_are_kept_in_iso_8601_utc(self):
        with freeze_time("2026-06-01 00:00:00"):
            credentials, _ = tedee.credentials_from_token_answer(fixture("token.json"), redirect_uri="")
        assert credentials["refresh_token_issued_at"] == "2026-06-01T00:00:00+00:00"
        assert credentials["refresh_token_expires_at"] == "2026-06-15T00:00:00+00:00"  # refresh_token_expires_in 1209600

    def test_expires_in_is_trusted_over_the_prose(self):
        with freeze_time("2026-06-01 00:00:00"):
            credentials, expires_at = tedee.credentials_from_token_answer({**fixture("token.json"), "expires_in": 14400}, redirect_uri="")
        assert expires_at == datetime(2026, 6, 1, 4, 0, tzinfo=UTC) and "access_token_expires_at" not in credentials

    def test_keep_alive_refreshes_a_refresh_token_older_than_a_week(self):
        saved = Saved()
        with freeze_time("2026-06-10 00:00:00"), responses.RequestsMock() as rsps:
            rsps.post(TOKEN_URL, json=fixture("token_refreshed.json"), match=[matchers.urlencoded_params_matcher(REFRESH_FORM)])
            adapter = provider(
                saved,
                expires_at=datetime(2026, 6, 10, 3, 0, tzinfo=UTC),
                refresh_token_issued_at=datetime(2026, 6, 2, 23, 0, tzinfo=UTC).isoformat(),
            )
            adapter.keep_alive()
        assert len(saved.calls) == 1
        assert saved.calls[0][0]["refresh_token_issued_at"] == "2026-06-10T00:00:00+00:00"

    def test_keep_alive_leaves_a_young_connection_alone(self):
        with freeze_time("2026-06-10 00:00:00"), responses.RequestsMock():
            provider(
                expires_at=datetime(2026, 6, 10, 3, 0, tzinfo=UTC),
                refresh_token_issued_at=datetime(2026, 6, 8, tzinfo=UTC).isoformat(),
            ).keep_alive()  # any request would be refused by responses

    def test_keep_alive_refreshes_an_expired_access_token(self):
        with freeze_time("2026-06-10 00:00:00"), responses.RequestsMock() as rsps:
            rsps.post(TOKEN_URL, json=fixture("token_refreshed.json"))
            provider(
                expires_at=datetime(2026, 6, 9, tzinfo=UTC),
                refresh_token_issued_at=datetime(2026, 6, 9, tzinfo=UTC).isoformat(),
            ).keep_alive()

    def test_keep_alive_with_a_dead_refresh_token_needs_reconnecting(self):
        with responses.RequestsMock() as rsps:
            rsps.post(TOKEN_URL, status=400, json=fixture("token_invalid_grant.json"))
            with pytest.raises(ProviderAuthError):
                provider(refresh_token_issued_at=None).keep_alive()

    def test_account_name_comes_from_the_token_claims(self):
        assert tedee.account_name(fixture("token.json")) == "Ada Host (ada@example.com)"
        assert tedee.account_name({"access_token": "not-a-jwt"}) == "Tedee account"


# --- lost responses and the emulator ------------------------------------------------------------------

@pytest.fixture
def cloud():
    cloud = TedeeCloud()
    cloud.add_lock(101, "Front door")
    cloud.add_lock(102, "Back door", connected=False)
    with cloud:
        yield cloud


class TestLostResponse:
    def test_create_times_out_after_acting_then_find_code_finds_it(self, cloud):
        adapter = TedeeProvider(cloud.session())
        cloud.lose_next("POST", "pins")
        with pytest.raises(OutcomeUnknown):
            adapter.create_code("101", SPEC)
        found = adapter.find_code("101", "nw-101")
        (on_lock,) = cloud.pins_on(101)
        assert found.vendor_code_id == str(on_lock["id"]) and found.pin == "582947"
        assert (found.starts_at, found.ends_at) == (STARTS, ENDS)

    def test_the_token_expires_mid_run(self, cloud):
        saved = Saved()
        adapter = TedeeProvider(cloud.session(save_credentials=saved))
        first = adapter.create_code("101", SPEC)
        cloud.expire_access_tokens()
        second = adapter.create_code("101", CodeSpec("nw-102", "739164", STARTS, ENDS, "Europe/Paris"))
        assert first.vendor_code_id != second.vendor_code_id and len(cloud.pins_on(101)) == 2
        assert len(saved.calls) == 1 and saved.calls[0][0]["access_token"] in cloud.access_tokens
        cloud.expire_access_tokens()
        cloud.refusing_refresh = True
        with pytest.raises(ProviderAuthError):
            adapter.delete_code("101", first.vendor_code_id)


# --- the OAuth connect flow ------------------------------------------------------------------------------

class TedeeConnectError:
    """What the host reads when a Tedee sign-in did not connect, word for word."""

    CANCELLED = "You cancelled the Tedee sign-in, so nothing was connected."
    BAD_STATE = (
        "This Tedee sign-in could not be matched to one you started here, or it took longer than "
        "10 minutes. Nothing was connected; please start connecting Tedee again."
    )
    REFUSED = "Tedee did not accept the sign-in. Nothing was connected; please start connecting Tedee again."
    FAILED = "Tedee could not complete the sign-in. Nothing was connected; please try again."
    UNREACHABLE = "Tedee could not be reached. Nothing was connected; please try again in a few minutes."
    MALFORMED = (
        "Tedee answered the sign-in with something we could not understand. Nothing was connected; "
        "please try again, and contact support if it keeps happening."
    )
    NOT_CONFIGURED = "Connecting Tedee is not set up on this server yet."


# The connect flow's state helper (its session key and PKCE), and the messages above.
connect = SimpleNamespace(SESSION_KEY=oauth.SESSION_KEY, pkce_challenge=oauth.pkce_challenge, TedeeConnectError=TedeeConnectError)

CALLBACK = "http://testserver/locks/connect/tedee/callback/"


def start(client) -> dict:
    """GET the connect view; return the authorize URL's query."""
    response = client.get(reverse("locks:tedee_connect"))
    assert response.status_code == 302
    assert response["Location"].startswith(AUTHORIZE_URL + "?")
    return response["Location"]


def callback(client, **params):
    return client.get(reverse("locks:tedee_callback"), params)


@pytest.mark.django_db
class TestConnect:
    def test_the_connect_view_redirects_to_tedees_authorize_endpoint_with_pkce(self, client, host):
        client.force_login(host)
        url = start(client)
        query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
        pending = client.session[connect.SESSION_KEY]
        assert query == {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": CALLBACK,
            "response_mode": "query",
            "scope": SCOPE,
            "state": pending["state"],
            "code_challenge": connect.pkce_challenge(pending["verifier"]),
            "code_challenge_method": "S256",
        }
        digest = hashlib.sha256(pending["verifier"].encode()).digest()
        assert query["code_challenge"] == base64.urlsafe_b64encode(digest).decode().rstrip("=")
        assert "=" not in query["code_challenge"] and len(pending["verifier"]) == 43
        assert len(pending["state"]) >= 43 and pending["user_id"] == host.pk and pending["redirect_uri"] == CALLBACK

    def test_pkce_challenge_matches_rfc_7636_appendix_b(self):
        verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        assert connect.pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

    def test_each_start_gets_a_new_state_and_verifier(self, client, host):
        client.force_login(host)
        start(client)
        first = dict(client.session[connect.SESSION_KEY])
        start(client)
        second = client.session[connect.SESSION_KEY]
        assert first["state"] != second["state"] and first["verifier"] != second["verifier"]

    def test_happy_path_stores_tokens_reads_locks_and_names_the_account(self, client, host, cloud, tedee_registered):
        client.force_login(host)
        answer = cloud.authorize(start(client))
        response = callback(client, **answer)
        assert response.status_code == 302 and response["Location"] == reverse("integrations:panel", args=["tedee"])

        account = ProviderAccount.objects.get(host=host, provider="tedee")
        assert account.display_name == "Ada Host (ada@example.com)" and account.status == AccountStatus.CONNECTED
        assert set(account.credentials) == {
            "access_token", "refresh_token", "refresh_token_issued_at", "refresh_token_expires_at", "redirect_uri",
        }
        assert account.credentials["access_token"] in cloud.access_tokens
        assert account.token_expires_at is not None
        assert {lock.vendor_lock_id: lock.is_online for lock in Lock.objects.filter(account=account)} == {"101": True, "102": False}
        assert connect.SESSION_KEY not in client.session
        page = client.get(reverse("home")).content.decode()
        assert "Your Tedee account “Ada Host (ada@example.com)” is connected." in page

    def test_the_token_request_is_exactly_as_documented(self, client, host, tedee_registered):
        client.force_login(host)
        query = parse_qs(urlsplit(start(client)).query)
        verifier = client.session[connect.SESSION_KEY]["verifier"]
        form = {
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": SCOPE,
            "code": "the-code",
            "code_verifier": verifier,
            "redirect_uri": CALLBACK,
        }
        with responses.RequestsMock() as rsps:
            rsps.post(
                TOKEN_URL,
                json=fixture("token.json"),
                match=[
                    matchers.urlencoded_params_matcher(form),
                    matchers.header_matcher({"Content-Type": "application/x-www-form-urlencoded"}),
                ],
            )
            rsps.get(f"{API}/my/lock", json=fixture("locks.json"), match=bearer())
            response = callback(client, code="the-code", state=query["state"][0])
        assert response.status_code == 302
        assert ProviderAccount.objects.get(host=host).locks.count() == 5

    def test_cancelled_sign_in_stores_nothing(self, client, host, cloud):
        client.force_login(host)
        query = parse_qs(urlsplit(start(client)).query)
        response = callback(
            client, error="access_denied", error_description="AADB2C90091: The user has cancelled entering self-asserted information.",
            state=query["state"][0],
        )
        assert response.status_code == 400
        assert connect.TedeeConnectError.CANCELLED in response.content.decode()
        assert not ProviderAccount.objects.exists() and ("POST", "token") not in cloud.calls
        assert connect.SESSION_KEY not in client.session

    def test_another_error_from_tedee_stores_nothing(self, client, host, cloud):
        client.force_login(host)
        query = parse_qs(urlsplit(start(client)).query)
        response = callback(client, error="server_error", state=query["state"][0])
        assert response.status_code == 400 and connect.TedeeConnectError.FAILED in response.content.decode()
        assert not ProviderAccount.objects.exists()

    def test_forged_state_stores_nothing(self, client, host, cloud):
        client.force_login(host)
        answer = cloud.authorize(start(client))
        response = callback(client, code=answer["code"], state=answer["state"][:-2] + "xx")
        assert response.status_code == 400 and connect.TedeeConnectError.BAD_STATE in response.content.decode()
        assert not ProviderAccount.objects.exists() and ("POST", "token") not in cloud.calls

    def test_missing_state_stores_nothing(self, client, host, cloud):
        client.force_login(host)
        answer = cloud.authorize(start(client))
        response = callback(client, code=answer["code"])
        assert response.status_code == 400 and connect.TedeeConnectError.BAD_STATE in response.content.decode()
        assert not ProviderAccount.objects.exists()

    def test_a_callback_without_a_started_sign_in_stores_nothing(self, client, host, cloud):
        client.force_login(host)
        response = callback(client, code="anything", state="anything")
        assert response.status_code == 400 and not ProviderAccount.objects.exists()

    def test_replayed_state_is_refused(self, client, host, cloud, tedee_registered):
        client.force_login(host)
        answer = cloud.authorize(start(client))
        assert callback(client, **answer).status_code == 302
        replay = callback(client, **answer)
        assert replay.status_code == 400 and connect.TedeeConnectError.BAD_STATE in replay.content.decode()
        assert ProviderAccount.objects.count() == 1 and cloud.calls.count(("POST", "token")) == 1

    def test_a_failed_callback_also_uses_up_the_state(self, client, host, cloud):
        client.force_login(host)
        answer = cloud.authorize(start(client))
        callback(client, code=answer["code"], state="forged")
        assert callback(client, **answer).status_code == 400  # the genuine one now comes too late
        assert not ProviderAccount.objects.exists()

    def test_expired_state_is_refused(self, client, host, cloud):
        with freeze_time("2026-06-01 10:00:00") as frozen:
            client.force_login(host)
            answer = cloud.authorize(start(client))
            frozen.tick(timedelta(minutes=10, seconds=1))
            response = callback(client, **answer)
        assert response.status_code == 400 and connect.TedeeConnectError.BAD_STATE in response.content.decode()
        assert not ProviderAccount.objects.exists() and ("POST", "token") not in cloud.calls

    def test_state_within_ten_minutes_is_accepted(self, client, host, cloud, tedee_registered):
        with freeze_time("2026-06-01 10:00:00") as frozen:
            client.force_login(host)
            answer = cloud.authorize(start(client))
            frozen.tick(timedelta(minutes=9, seconds=59))
            assert callback(client, **answer).status_code == 302

    def test_another_users_state_is_refused(self, client, host, other_host, cloud, tedee_registered):
        from django.test import Client

        client.force_login(host)
        answer = cloud.authorize(start(client))
        intruder = Client()
        intruder.force_login(other_host)
        response = callback(intruder, **answer)
        assert response.status_code == 400 and not ProviderAccount.objects.exists()
        # The host's own sign-in is untouched by the attempt.
        assert callback(client, **answer).status_code == 302
        assert list(ProviderAccount.objects.values_list("host", flat=True)) == [host.pk]

    def test_a_state_started_by_another_user_in_the_same_session_is_refused(self, client, host, other_host, cloud):
        client.force_login(host)
        answer = cloud.authorize(start(client))
        session = client.session
        session[connect.SESSION_KEY] = {**session[connect.SESSION_KEY], "user_id": other_host.pk}
        session.save()
        assert callback(client, **answer).status_code == 400 and not ProviderAccount.objects.exists()

    def test_a_refused_code_stores_nothing(self, client, host, cloud):
        client.force_login(host)
        start(client)
        state = client.session[connect.SESSION_KEY]["state"]
        response = callback(client, code="never-issued", state=state)
        assert response.status_code == 400 and connect.TedeeConnectError.REFUSED in response.content.decode()
        assert not ProviderAccount.objects.exists()

    def test_an_unreachable_tedee_stores_nothing(self, client, host, cloud):
        client.force_login(host)
        answer = cloud.authorize(start(client))
        cloud.fail_next("POST", "token", 503)
        response = callback(client, **answer)
        assert response.status_code == 400 and connect.TedeeConnectError.UNREACHABLE in response.content.decode()
        assert not ProviderAccount.objects.exists()

    def test_a_connection_failure_stores_nothing(self, client, host):
        client.force_login(host)
        start(client)
        state = client.session[connect.SESSION_KEY]["state"]
        with responses.RequestsMock() as rsps:
            rsps.post(TOKEN_URL, body=requests.exceptions.ConnectionError("no route"))
            response = callback(client, code="c", state=state)
        assert connect.TedeeConnectError.UNREACHABLE in response.content.decode()
        assert not ProviderAccount.objects.exists()

    @pytest.mark.parametrize("body", ["<html>not json</html>", '{"token_type": "Bearer"}', '{"access_token": "a", "expires_in": "3600"}'])
    def test_a_malformed_answer_stores_nothing(self, client, host, body):
        client.force_login(host)
        start(client)
        state = client.session[connect.SESSION_KEY]["state"]
        with responses.RequestsMock() as rsps:
            rsps.post(TOKEN_URL, body=body, status=200)
            response = callback(client, code="c", state=state)
        assert response.status_code == 400 and connect.TedeeConnectError.MALFORMED in response.content.decode()
        assert not ProviderAccount.objects.exists()

    def test_a_callback_without_a_code_is_malformed(self, client, host):
        client.force_login(host)
        start(client)
        response = callback(client, state=client.session[connect.SESSION_KEY]["state"])
        assert response.status_code == 400 and connect.TedeeConnectError.MALFORMED in response.content.decode()

    def test_reconnecting_replaces_the_tokens_of_the_same_account(self, client, host, cloud, tedee_registered):
        client.force_login(host)
        callback(client, **cloud.authorize(start(client)))
        first = ProviderAccount.objects.get(host=host).credentials["access_token"]
        ProviderAccount.objects.filter(host=host).update(status=AccountStatus.NEEDS_RECONNECT)
        callback(client, **cloud.authorize(start(client)))
        account = ProviderAccount.objects.get(host=host)
        assert account.credentials["access_token"] != first and account.status == AccountStatus.CONNECTED

    def test_anonymous_visitors_are_sent_to_log_in(self, client):
        for name in ("locks:tedee_connect", "locks:tedee_callback"):
            response = client.get(reverse(name))
            assert response.status_code == 302 and response["Location"].startswith(reverse("login"))

    def test_without_a_client_id_the_page_says_so(self, client, host, settings):
        settings.TEDEE_CLIENT_ID = ""
        client.force_login(host)
        response = client.get(reverse("locks:tedee_connect"))
        assert response.status_code == 503 and connect.TedeeConnectError.NOT_CONFIGURED in response.content.decode()


# --- the lifecycle engine driving Tedee end to end -------------------------------------------------------

@pytest.fixture
def tedee_property(db, host, make_property, cloud, tedee_registered):
    """A Paris property (check-in 15:00, check-out 11:00) whose lock is Tedee lock 101."""

    def make(**assignment):
        prop = make_property(time_zone="Europe/Paris")
        account = ProviderAccount.objects.create(
            host=host, provider="tedee", display_name="Ada Host", credentials=cloud.credentials()
        )
        lock = Lock.objects.create(account=account, vendor_lock_id="101", name="Front door", supports_remote_codes=True)
        LockAssignment.objects.create(property=prop, lock=lock, **assignment)
        return prop

    return make


@pytest.mark.django_db
class TestLifecycle:
    def test_create_change_and_cancel_go_over_the_wire(self, tedee_property, book, cloud):
        with freeze_time("2026-06-01 00:00:00"):
            prop = tedee_property()
            booking = book(prop, date(2026, 6, 3), date(2026, 6, 5))
            services.booking_created(booking=booking)
            assert tick().actions["created"] == 1

            code = AccessCode.objects.get(booking=booking, is_current=True)
            assert code.state == CodeState.ACTIVE
            (on_lock,) = cloud.pins_on(101)
            assert code.vendor_code_id == str(on_lock["id"])
            assert on_lock == {
                "id": on_lock["id"],
                "alias": f"nw-{code.pk}",
                "pin": code.pin,  # a string, as sent
                "startDate": "2026-06-03T12:30:00.000Z",  # 15:00 CEST minus the 30-minute margin
                "endDate": "2026-06-05T09:30:00.000Z",  # 11:00 CEST plus the margin
                "dayStartTime": None,
                "dayEndTime": None,
                "weekDays": None,
            }

            booking.departure_date = date(2026, 6, 7)
            booking.save()
            services.booking_changed(booking=booking)
            assert tick().actions["updated"] == 1
            (moved,) = cloud.pins_on(101)
            assert moved["id"] == on_lock["id"] and moved["pin"] == code.pin
            assert moved["endDate"] == "2026-06-07T09:30:00.000Z"
            assert cloud.calls[-2:] == [("GET", f"my/lock/101/pin/{on_lock['id']}"), ("PUT", f"my/lock/101/pin/{on_lock['id']}")]

            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            tick()
            assert cloud.calls[-1] == ("DELETE", f"my/lock/101/pin/{on_lock['id']}")
        code.refresh_from_db()
        assert code.state == CodeState.REVOKED and cloud.pins_on(101) == []
        assert set(VendorCall.objects.values_list("operation", flat=True)) == {"create_code", "update_code", "delete_code"}

    def test_a_lost_create_is_found_instead_of_created_twice(self, tedee_property, book, cloud):
        with freeze_time("2026-06-01 00:00:00") as frozen:
            prop = tedee_property()
            booking = book(prop, date(2026, 6, 3), date(2026, 6, 5))
            services.booking_created(booking=booking)
            cloud.lose_next("POST", "pins")
            tick()
            code = AccessCode.objects.get(booking=booking, is_current=True)
            assert code.state == CodeState.CREATING and code.create_outcome_unknown
            frozen.tick(timedelta(hours=1))
            tick()
        code.refresh_from_db()
        (on_lock,) = cloud.pins_on(101)
        assert code.state == CodeState.ACTIVE and code.vendor_code_id == str(on_lock["id"]) and code.pin == on_lock["pin"]
        assert [call for call in cloud.calls if call[0] == "POST" and call[1] != "token"] == [("POST", "my/lock/101/pin")]

    def test_a_duplicate_pin_makes_the_engine_choose_another(self, tedee_property, book, cloud):
        with freeze_time("2026-06-01 00:00:00"):
            prop = tedee_property()
            booking = book(prop, date(2026, 6, 3), date(2026, 6, 5))
            services.booking_created(booking=booking)
            cloud.fail_next("POST", "pins", 406)
            tick()
        code = AccessCode.objects.get(booking=booking, is_current=True)
        assert code.state == CodeState.ACTIVE and code.pin_rejections == 1 and len(cloud.pins_on(101)) == 1

    def test_an_offline_lock_is_retried_later(self, tedee_property, book, cloud):
        cloud.locks[101].connected = False
        with freeze_time("2026-06-01 00:00:00"):
            prop = tedee_property()
            booking = book(prop, date(2026, 6, 3), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = AccessCode.objects.get(booking=booking, is_current=True)
        assert code.state == CodeState.CREATING and code.last_error_kind == "lock_offline"

    def test_token_expiry_mid_run_is_refreshed_and_saved(self, tedee_property, book, cloud):
        with freeze_time("2026-06-01 00:00:00"):
            prop = tedee_property()
            booking = book(prop, date(2026, 6, 3), date(2026, 6, 5))
            services.booking_created(booking=booking)
            old = ProviderAccount.objects.get().credentials["access_token"]
            cloud.expire_access_tokens()
            tick()
        account = ProviderAccount.objects.get()
        assert account.credentials["access_token"] != old and account.credentials["access_token"] in cloud.access_tokens
        assert account.status == AccountStatus.CONNECTED
        assert AccessCode.objects.get(booking=booking).state == CodeState.ACTIVE

    def test_a_dead_refresh_token_marks_the_account_for_reconnecting(self, tedee_property, book, cloud):
        with freeze_time("2026-06-01 00:00:00"):
            prop = tedee_property()
            booking = book(prop, date(2026, 6, 3), date(2026, 6, 5))
            services.booking_created(booking=booking)
            cloud.expire_access_tokens()
            cloud.refusing_refresh = True
            tick()
        assert ProviderAccount.objects.get().status == AccountStatus.NEEDS_RECONNECT
        assert cloud.pins_on(101) == []


# --- secrets stay secret ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_tokens_never_reach_logs_audit_rows_or_pages(client, host, cloud, tedee_registered, caplog, book, make_property):
    caplog.set_level(logging.DEBUG)
    client.force_login(host)
    start_url = start(client)
    verifier = client.session[connect.SESSION_KEY]["verifier"]
    answer = cloud.authorize(start_url)
    pages = [callback(client, **answer), client.get(reverse("home"))]
    account = ProviderAccount.objects.get(host=host)

    prop = make_property(time_zone="Europe/Paris")
    LockAssignment.objects.create(property=prop, lock=account.locks.get(vendor_lock_id="101"))
    booking = book(prop, date.today() + timedelta(days=2), date.today() + timedelta(days=4))
    services.booking_created(booking=booking)
    cloud.expire_access_tokens()  # a refresh happens mid-run too
    cloud.fail_next("POST", "pins", 428)
    tick()
    tick_code = AccessCode.objects.get(booking=booking)
    AccessCode.objects.filter(pk=tick_code.pk).update(next_attempt_at=datetime.now(UTC))
    tick()
    pages.append(callback(client, **answer))  # a replay renders the failure page

    account.refresh_from_db()
    secrets_ = {
        answer["code"], verifier, CLIENT_SECRET, account.credentials["access_token"], account.credentials["refresh_token"],
        *cloud.access_tokens, *cloud.refresh_tokens,
    }
    audit = " ".join(f"{c.operation} {c.error_kind} {c.error_message}" for c in VendorCall.objects.all())
    rendered = " ".join(page.content.decode() for page in pages)
    assert "tedee" in caplog.text.lower() and VendorCall.objects.exists()
    for secret in secrets_:
        assert secret not in caplog.text
        assert secret not in audit
        assert secret not in rendered
    assert tick_code.pin not in caplog.text and tick_code.pin not in audit
