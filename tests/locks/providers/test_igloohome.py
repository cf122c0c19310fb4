"""The igloohome adapter on its wire protocol, its connect flow, and the lifecycle driving it over HTTP.

Exact requests are asserted with `responses` matchers against the fixtures in
tests/fixtures/igloohome/; stateful scenarios run on the emulator in tests/vendors/igloohome.py.
"""

import base64
import json
import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
from django.core import mail
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time
from responses import matchers

from bookings.models import BookingStatus
from locks import services
from locks.connect.services import connect_with_credentials
from locks.models import AccessCode, AccountStatus, CodeState, Lock, LockAssignment, ProviderAccount, VendorCall
from locks.providers import registry
from locks.providers.base import AccountSession, CodeSpec
from locks.providers.exceptions import (
    CodeRejected,
    LockNotFound,
    OperationNotSupported,
    OutcomeUnknown,
    ProviderAuthError,
    RateLimited,
    VendorUnavailable,
)
from locks.providers.igloohome import IgloohomeProvider, algopin_window, ceil_to_local_hour, floor_to_local_hour
from tests.helpers.lifecycle import current, tick, utc
from tests.helpers.repository import FIXTURES as ALL_FIXTURES
from tests.vendors.igloohome import CLIENT_ID, CLIENT_SECRET, IgloohomeCloud

FIXTURES = ALL_FIXTURES / "igloohome"
TOKEN_URL = "https://auth.igloohome.co/oauth2/token"
API = "https://api.igloodeveloper.co/igloohome"
SCOPE = "igloohomeapi/get-devices igloohomeapi/algopin-hourly igloohomeapi/algopin-daily"
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}

pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


TOKEN = fixture("token")["access_token"]
BEARER = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}


def spec(starts_at: datetime, ends_at: datetime, time_zone="Europe/Paris", name="nw-101") -> CodeSpec:
    return CodeSpec(name=name, pin=None, starts_at=starts_at, ends_at=ends_at, time_zone=time_zone)


class Saved(list):
    """What the adapter handed to session.save_credentials, in order."""

    def __call__(self, credentials, expires_at):
        self.append((credentials, expires_at))


def make_provider(credentials=None, saved=None, expires_at=None) -> IgloohomeProvider:
    saved = saved if saved is not None else Saved()
    session = AccountSession(
        account_id=7, credentials=dict(credentials or CREDENTIALS), expires_at=expires_at, save_credentials=saved
    )
    return IgloohomeProvider(session)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def cloud():
    vendor = IgloohomeCloud()
    vendor.add_lock("IGL-1", "Front door", bridge="IGB-1", keypad="IGK-1")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        vendor.register(mock)
        yield vendor


def expect_token(rsps, body=None, status=200):
    rsps.add(
        responses.POST,
        TOKEN_URL,
        json=body if body is not None else fixture("token"),
        status=status,
        match=[
            matchers.header_matcher({"Authorization": BASIC, "Accept": "application/json"}),
            matchers.urlencoded_params_matcher({"grant_type": "client_credentials", "scope": SCOPE}),
        ],
    )


def expect_algopin(rsps, kind, device, body, answer=None, status=200):
    rsps.add(
        responses.POST,
        f"{API}/devices/{device}/algopin/{kind}",
        json=answer if answer is not None else fixture(f"algopin_{kind}"),
        status=status,
        match=[
            matchers.header_matcher({**BEARER, "Content-Type": "application/json"}),
            matchers.json_params_matcher(body),
        ],
    )


# --- the token ------------------------------------------------------------------------------------

class TestToken:
    def test_sign_in_is_a_basic_auth_client_credentials_grant_for_the_scopes_used(self, rsps):
        expect_token(rsps)
        with freeze_time("2026-06-01 08:00:00"):
            result = IgloohomeProvider.sign_in(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        assert result.display_name == f"API client {CLIENT_ID}"
        assert result.expires_at == utc(2026, 6, 1, 9, 0)
        assert result.credentials == {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "access_token": TOKEN,
            "access_token_lifetime": 3600,
        }

    def test_one_token_serves_many_calls_and_later_providers(self, cloud):
        saved = Saved()
        provider = make_provider(saved=saved)
        with freeze_time("2026-06-01 08:00:00"):
            provider.list_locks()
            for day in (2, 3, 4):
                provider.create_code("IGL-1", spec(utc(2026, 6, day, 13), utc(2026, 6, day + 1, 9)))
            assert cloud.token_requests == 1
            (credentials, expires_at), = saved
            assert expires_at == utc(2026, 6, 1, 9, 0)
            # The next worker builds its provider from what was saved: no new token either.
            make_provider(credentials, expires_at=expires_at).create_code("IGL-1", spec(utc(2026, 6, 9, 13), utc(2026, 6, 10, 9)))
        assert cloud.token_requests == 1

    def test_the_token_is_renewed_a_few_minutes_before_it_expires(self, cloud):
        saved = Saved()
        provider = make_provider(saved=saved)
        with freeze_time("2026-06-01 08:00:00") as frozen:
            provider.list_locks()
            frozen.move_to("2026-06-01 08:54:59")
            provider.list_locks()
            assert cloud.token_requests == 1
            frozen.move_to("2026-06-01 08:55:00")
            provider.list_locks()
        assert cloud.token_requests == 2
        assert [expires for _, expires in saved] == [utc(2026, 6, 1, 9, 0), utc(2026, 6, 1, 9, 55)]
        assert saved[1][0]["access_token"] != saved[0][0]["access_token"]
        assert provider.session.credentials == saved[1][0]

    def test_a_renewal_goes_through_the_accounts_serialised_refresh(self, cloud):
        refreshes = []

        def serialised_refresh(held, refresh):  # the gateway's: one refresh per account at a time
            refreshes.append(held)
            return refresh(held)

        provider = make_provider(saved=Saved())
        provider.session.serialised_refresh = serialised_refresh
        with freeze_time("2026-06-01 08:00:00") as frozen:
            provider.list_locks()
            frozen.move_to("2026-06-01 08:55:00")
            provider.list_locks()
        assert refreshes[0] == CREDENTIALS and len(refreshes) == 2 and cloud.token_requests == 2
        assert provider.session.expires_at == utc(2026, 6, 1, 9, 55)

    def test_a_token_another_worker_renewed_meanwhile_is_adopted_without_asking_igloohome(self, cloud):
        renewed = {**CREDENTIALS, "access_token": "renewed-by-another-worker", "access_token_lifetime": 3600}
        provider = make_provider(saved=Saved())
        provider.session.serialised_refresh = lambda held, refresh: (renewed, utc(2026, 6, 1, 9, 30))
        with freeze_time("2026-06-01 08:30:00"):
            assert provider._access_token() == "renewed-by-another-worker"
        assert cloud.token_requests == 0 and provider.session.credentials == renewed

    def test_a_short_lived_token_is_renewed_at_half_its_lifetime(self):
        cloud = IgloohomeCloud(token_lifetime=240)
        cloud.add_lock("IGL-1", "Front door", bridge="IGB-1", keypad="IGK-1")
        provider = make_provider()
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock, freeze_time("2026-06-01 08:00:00") as frozen:
            cloud.register(mock)
            provider.list_locks()
            frozen.move_to("2026-06-01 08:01:59")
            provider.list_locks()
            assert cloud.token_requests == 1
            frozen.move_to("2026-06-01 08:02:00")
            provider.list_locks()
        assert cloud.token_requests == 2 and provider.session.expires_at == utc(2026, 6, 1, 8, 6, 0)

    def test_a_token_of_unknown_expiry_is_used(self, cloud):
        saved = Saved()
        with freeze_time("2026-06-01 08:00:00"):
            make_provider(saved=saved).list_locks()
            ((credentials, _),) = saved
            make_provider(credentials, expires_at=None).list_locks()
        assert cloud.token_requests == 1

    def test_a_token_of_unknown_expiry_is_renewed_once_when_refused(self, cloud):
        provider = make_provider({**CREDENTIALS, "access_token": "never-issued"}, expires_at=None)
        with freeze_time("2026-06-01 08:00:00"):
            assert provider.list_locks()
        assert cloud.token_requests == 1 and provider.session.expires_at == utc(2026, 6, 1, 9, 0)
        assert provider.session.credentials["access_token"] != "never-issued"

    def test_a_token_igloohome_no_longer_accepts_is_renewed_once_and_the_request_sent_again(self, cloud):
        provider = make_provider()
        with freeze_time("2026-06-01 08:00:00"):
            provider.list_locks()
            cloud.expire_tokens()  # igloohome forgot it before its announced expiry
            issued = provider.create_code("IGL-1", spec(utc(2026, 6, 2, 13), utc(2026, 6, 3, 9)))
        assert issued.pin
        assert cloud.token_requests == 2
        assert cloud.calls.count(("POST", "/devices/IGL-1/algopin/hourly")) == 2

    def test_without_expires_in_a_token_is_kept_for_an_hour(self, rsps):
        expect_token(rsps, fixture("token_without_expiry"))
        with freeze_time("2026-06-01 08:00:00"):
            result = IgloohomeProvider.sign_in(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        assert result.expires_at == utc(2026, 6, 1, 9, 0)

    def test_wrong_client_credentials_are_an_auth_error(self, rsps):
        expect_token(rsps, fixture("token_invalid_client"), status=400)
        with pytest.raises(ProviderAuthError) as caught:
            IgloohomeProvider.sign_in(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        assert caught.value.message == "igloohome did not accept the API client ID and secret."
        assert CLIENT_SECRET not in str(caught.value)

    def test_a_client_without_the_needed_permissions_is_told_which(self, cloud):
        cloud.allowed_scopes.discard("igloohomeapi/algopin-daily")
        with pytest.raises(ProviderAuthError, match="device list, hourly and daily algoPINs"):
            IgloohomeProvider.sign_in(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)

    def test_an_account_without_a_saved_client_needs_reconnecting(self):
        with pytest.raises(ProviderAuthError, match="reconnect"):
            make_provider({"access_token": "old"}, expires_at=utc(2026, 1, 1)).list_locks()

    @pytest.mark.parametrize(
        "answer, error, retry_after",
        [
            ({"status": 401, "json": {"error": "invalid_client"}}, ProviderAuthError, None),
            ({"status": 500, "json": {"message": "Internal error"}}, VendorUnavailable, None),
            ({"status": 429, "json": {}, "headers": {"Retry-After": "120"}}, RateLimited, 120.0),
            ({"status": 200, "body": "<html>maintenance</html>"}, VendorUnavailable, None),
            ({"status": 200, "json": {"token_type": "Bearer"}}, VendorUnavailable, None),
            ({"body": requests.ConnectionError("refused")}, VendorUnavailable, None),
            ({"body": requests.ReadTimeout("slow")}, VendorUnavailable, None),  # not "outcome unknown": a token changes nothing
        ],
        ids=["401", "500", "429", "not-json", "no-token", "unreachable", "timeout"],
    )
    def test_token_failures_map_to_the_vocabulary(self, rsps, answer, error, retry_after):
        rsps.add(responses.POST, TOKEN_URL, **answer)
        with pytest.raises(error) as caught:
            IgloohomeProvider.sign_in(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        assert type(caught.value) is error
        assert getattr(caught.value, "retry_after", None) == retry_after
        assert CLIENT_SECRET not in caught.value.message

    def test_keep_alive_renews_only_an_expired_token_and_reports_a_revoked_client(self, cloud):
        provider = make_provider()
        with freeze_time("2026-06-01 08:00:00") as frozen:
            provider.keep_alive()
            provider.keep_alive()
            assert cloud.token_requests == 1
            frozen.move_to("2026-06-01 14:00:00")
            cloud.client_secret = "rotated-in-the-portal"
            with pytest.raises(ProviderAuthError):
                provider.keep_alive()


# --- devices ---------------------------------------------------------------------------------------

class TestDevices:
    def test_devices_are_read_page_by_page_with_the_cursor(self, rsps):
        expect_token(rsps)
        first = fixture("devices_page1")
        rsps.add(responses.GET, f"{API}/devices", json=first,
                 match=[matchers.header_matcher(BEARER), matchers.query_param_matcher({})])
        rsps.add(responses.GET, f"{API}/devices", json=fixture("devices_page2"),
                 match=[matchers.header_matcher(BEARER), matchers.query_param_matcher({"cursor": first["nextCursor"]})])
        locks = {lock.vendor_lock_id: lock for lock in make_provider().list_locks()}

        assert set(locks) == {"SP2X24ec23e1", "EK1X16f8898a", "OE1Xd41b7a02", "KP1X77aa0c01", "GW1X00ff3e21"}
        # A lock its bridge serves; its keypad is not offered separately.
        front = locks["SP2X24ec23e1"]
        assert (front.name, front.supports_remote_codes, front.is_online) == ("Seaside Flat front door", True, True)
        # No bridge: algoPINs still work, connectivity is simply unknown.
        garden = locks["EK1X16f8898a"]
        assert (garden.supports_remote_codes, garden.is_online) == (True, None)
        # A keypad whose lock is not listed stands for that lock: codes go to the lock's id.
        loft = locks["OE1Xd41b7a02"]
        assert (loft.name, loft.supports_remote_codes) == ("Loft keypad", True)
        # What cannot take algoPINs is shown with a plain reason, not hidden.
        assert not locks["KP1X77aa0c01"].supports_remote_codes
        assert "not linked to a lock" in locks["KP1X77aa0c01"].unavailable_reason
        assert not locks["GW1X00ff3e21"].supports_remote_codes
        assert "“Gateway”, not a lock" in locks["GW1X00ff3e21"].unavailable_reason
        assert all(lock.time_zone == "" for lock in locks.values())

    def test_every_page_is_read(self, cloud):
        cloud.page_size = 2
        for number in range(7):
            cloud.add_lock(f"LK-{number}", f"Room {number}")
        with freeze_time("2026-06-01 08:00:00"):
            locks = make_provider().list_locks()
        assert {lock.vendor_lock_id for lock in locks} == {"IGL-1"} | {f"LK-{n}" for n in range(7)}
        assert cloud.calls.count(("GET", "/devices")) == 5  # ten devices, two a page

    @pytest.mark.parametrize(
        "answer",
        [
            {"json": {"payload": "nope"}},
            {"json": {"nextCursor": None, "payload": [{"type": "Lock"}]}},
            {"json": [1, 2]},
            {"body": "<html>"},
        ],
        ids=["payload-not-a-list", "device-without-id", "not-an-object", "not-json"],
    )
    def test_a_malformed_device_list_is_a_vendor_failure(self, rsps, answer):
        expect_token(rsps)
        rsps.add(responses.GET, f"{API}/devices", **answer)
        with pytest.raises(VendorUnavailable):
            make_provider().list_locks()

    def test_a_cursor_that_comes_back_is_not_followed_forever(self, rsps):
        expect_token(rsps)
        looping = {"nextCursor": "same", "payload": []}
        rsps.add(responses.GET, f"{API}/devices", json=looping)
        rsps.add(responses.GET, f"{API}/devices", json=looping)
        with pytest.raises(VendorUnavailable, match="did not come to an end"):
            make_provider().list_locks()

    @pytest.mark.parametrize("status, error", [(500, VendorUnavailable), (403, ProviderAuthError), (429, RateLimited)])
    def test_device_list_failures(self, cloud, status, error):
        cloud.fail_next("devices", status, times=2)
        with freeze_time("2026-06-01 08:00:00"), pytest.raises(error):
            make_provider().list_locks()


# --- hourly algoPINs -----------------------------------------------------------------------------------

class TestHourlyAlgoPins:
    @pytest.mark.parametrize(
        "starts_at, ends_at, time_zone, start_date, end_date",
        [
            # Paris in winter (+01:00): 14:30 floored, 11:15 ceiled.
            (utc(2027, 1, 10, 13, 30), utc(2027, 1, 12, 10, 15), "Europe/Paris",
             "2027-01-10T14:00:00+01:00", "2027-01-12T12:00:00+01:00"),
            # Paris in summer (+02:00), same wall times.
            (utc(2027, 7, 10, 12, 30), utc(2027, 7, 12, 9, 15), "Europe/Paris",
             "2027-07-10T14:00:00+02:00", "2027-07-12T12:00:00+02:00"),
            # A stay across the spring change: each end carries its own date's offset.
            (utc(2027, 3, 26, 13, 30), utc(2027, 3, 29, 9, 30), "Europe/Paris",
             "2027-03-26T14:00:00+01:00", "2027-03-29T12:00:00+02:00"),
            # Whole hours stay as they are.
            (utc(2027, 1, 10, 14, 0), utc(2027, 1, 11, 10, 0), "Europe/Paris",
             "2027-01-10T15:00:00+01:00", "2027-01-11T11:00:00+01:00"),
            # A +05:45 zone: "on the hour" is local, i.e. :15 UTC.
            (utc(2027, 1, 10, 9, 0), utc(2027, 1, 11, 5, 50), "Asia/Kathmandu",
             "2027-01-10T14:00:00+05:45", "2027-01-11T12:00:00+05:45"),
            # A negative offset.
            (utc(2027, 1, 10, 19, 30), utc(2027, 1, 12, 16, 5), "America/New_York",
             "2027-01-10T14:00:00-05:00", "2027-01-12T12:00:00-05:00"),
        ],
        ids=["paris-winter", "paris-summer", "across-dst", "whole-hours", "kathmandu", "new-york"],
    )
    def test_the_request_carries_local_whole_hours_with_that_dates_offset(
        self, rsps, starts_at, ends_at, time_zone, start_date, end_date
    ):
        expect_token(rsps)
        expect_algopin(rsps, "hourly", "SP2X24ec23e1",
                       {"variance": 1, "startDate": start_date, "endDate": end_date, "accessName": "nw-101"})
        with freeze_time("2027-01-01 00:00:00"):
            issued = make_provider().create_code("SP2X24ec23e1", spec(starts_at, ends_at, time_zone))
        answer = fixture("algopin_hourly")
        assert (issued.vendor_code_id, issued.pin, issued.name) == (answer["pinId"], answer["pin"], "nw-101")
        # The window as igloohome enforces it: rounded outwards.
        assert issued.starts_at == datetime.fromisoformat(start_date)
        assert issued.ends_at == datetime.fromisoformat(end_date)
        assert issued.starts_at.tzinfo is not None and issued.warning == ""

    def test_a_start_already_past_is_clamped_to_the_current_hour(self, rsps):
        expect_token(rsps)
        expect_algopin(rsps, "hourly", "SP2X24ec23e1", {
            "variance": 1, "startDate": "2027-01-10T16:00:00+01:00", "endDate": "2027-01-12T12:00:00+01:00",
            "accessName": "nw-101",
        })
        with freeze_time("2027-01-10 15:20:00"):  # 16:20 in Paris; the stay started at 14:30
            issued = make_provider().create_code("SP2X24ec23e1", spec(utc(2027, 1, 10, 13, 30), utc(2027, 1, 12, 10, 15)))
        assert issued.starts_at == utc(2027, 1, 10, 15, 0)

    def test_a_window_already_over_is_refused_without_asking_igloohome(self, rsps):
        with freeze_time("2027-01-12 10:16:00"), pytest.raises(CodeRejected, match="already over"):
            make_provider().create_code("SP2X24ec23e1", spec(utc(2027, 1, 10, 13, 30), utc(2027, 1, 12, 10, 15)))

    def test_a_code_longer_than_24_hours_carries_a_usage_note_for_the_guest(self, cloud):
        with freeze_time("2027-01-01 00:00:00"):
            longer = make_provider().create_code("IGL-1", spec(utc(2027, 1, 10, 13, 30), utc(2027, 1, 12, 10, 15)))
            one_day = make_provider().create_code("IGL-1", spec(utc(2027, 1, 20, 14), utc(2027, 1, 21, 14)))
        assert longer.usage_note == (
            "Enter this code on the lock at least once before 14:00 on 11 January 2027 (within 24 hours of "
            "when it starts working), or it will stop working."
        )
        assert one_day.usage_note == ""  # exactly 24 hours: no first-use limit

    def test_a_taken_slot_is_retried_with_the_next_variance(self, rsps):
        expect_token(rsps)
        body = {"startDate": "2027-01-10T14:00:00+01:00", "endDate": "2027-01-12T12:00:00+01:00", "accessName": "nw-101"}
        expect_algopin(rsps, "hourly", "SP2X24ec23e1", {"variance": 1, **body}, answer=fixture("error_409_variance"), status=409)
        expect_algopin(rsps, "hourly", "SP2X24ec23e1", {"variance": 2, **body})
        with freeze_time("2027-01-01 00:00:00"):
            issued = make_provider().create_code("SP2X24ec23e1", spec(utc(2027, 1, 10, 13, 30), utc(2027, 1, 12, 10, 15)))
        assert issued.pin == fixture("algopin_hourly")["pin"]

    def test_when_all_three_variances_are_taken_the_code_starts_an_hour_earlier(self, cloud):
        # Nothing tells the adapter which variances were used (no used_slots): igloohome's 409s do.
        window = spec(utc(2027, 1, 10, 13, 30), utc(2027, 1, 12, 10, 15))
        with freeze_time("2027-01-01 00:00:00"):
            pins = {make_provider().create_code("IGL-1", window).pin for _ in range(3)}
            fourth = make_provider().create_code("IGL-1", window)
        assert len(pins | {fourth.pin}) == 4
        assert [(code["startDate"], code["variance"]) for code in cloud.codes_on("IGL-1")] == [
            ("2027-01-10T14:00:00+01:00", 1), ("2027-01-10T14:00:00+01:00", 2), ("2027-01-10T14:00:00+01:00", 3),
            ("2027-01-10T13:00:00+01:00", 1),
        ]
        assert (fourth.starts_at, fourth.variance) == (utc(2027, 1, 10, 12), 1)
        assert fourth.warning == (
            "igloohome has already issued three codes starting at 14:00 on this lock, so this code starts an hour "
            "earlier than wanted, at 13:00 on 10 January 2027."
        )
        assert not any(pin in fourth.warning for pin in pins)

    def test_two_stays_starting_the_same_hour_get_different_pins(self, cloud):
        with freeze_time("2027-01-01 00:00:00"):
            first = make_provider().create_code("IGL-1", spec(utc(2027, 1, 10, 13, 30), utc(2027, 1, 12, 10), name="nw-1"))
            second = make_provider().create_code("IGL-1", spec(utc(2027, 1, 10, 13, 45), utc(2027, 1, 13, 10), name="nw-2"))
        assert first.pin != second.pin and first.vendor_code_id != second.vendor_code_id


# --- long stays: the 672-hour boundary -------------------------------------------------------------------

class TestLongStays:
    def test_672_hours_is_still_an_hourly_code(self, rsps):
        expect_token(rsps)
        expect_algopin(rsps, "hourly", "SP2X24ec23e1", {
            "variance": 1, "startDate": "2027-02-01T11:00:00+01:00", "endDate": "2027-03-01T11:00:00+01:00",
            "accessName": "nw-101",
        })
        with freeze_time("2027-01-01 00:00:00"):
            issued = make_provider().create_code("SP2X24ec23e1", spec(utc(2027, 2, 1, 10), utc(2027, 2, 1, 10) + timedelta(hours=672)))
        assert issued.warning == ""

    def test_beyond_672_hours_a_daily_code_of_29_days_same_time_with_a_warning(self, rsps):
        expect_token(rsps)
        expect_algopin(rsps, "daily", "SP2X24ec23e1", {
            "variance": 1, "startDate": "2027-02-01T11:00:00+01:00", "endDate": "2027-03-02T11:00:00+01:00",
            "accessName": "nw-101",
        })
        ends_at = utc(2027, 2, 1, 10) + timedelta(hours=672, minutes=1)
        with freeze_time("2027-01-01 00:00:00"):
            issued = make_provider().create_code("SP2X24ec23e1", spec(utc(2027, 2, 1, 10), ends_at))
        assert (issued.starts_at, issued.ends_at) == (utc(2027, 2, 1, 10), utc(2027, 3, 2, 10))
        assert issued.pin == fixture("algopin_daily")["pin"]
        assert issued.warning == (
            "igloohome codes for stays over 28 days last whole days (at least 29), so this code works until "
            "11:00 on 2 March 2027, after the stay ends."
        )
        assert "within 24 hours" in issued.usage_note

    def test_a_daily_code_keeps_its_wall_time_across_a_clock_change(self, cloud):
        with freeze_time("2027-01-01 00:00:00"):
            issued = make_provider().create_code("IGL-1", spec(utc(2027, 3, 1, 13, 30), utc(2027, 4, 20, 9, 30)))
        (sent,) = cloud.codes_on("IGL-1")
        assert (sent["kind"], sent["startDate"], sent["endDate"]) == ("daily", "2027-03-01T14:00:00+01:00", "2027-04-20T14:00:00+02:00")
        assert issued.ends_at == utc(2027, 4, 20, 12)
        assert "works until 14:00 on 20 April 2027, after the stay ends" in issued.warning

    def test_a_stay_longer_than_367_days_is_refused_without_asking_igloohome(self, rsps):
        with freeze_time("2027-01-01 00:00:00"), pytest.raises(CodeRejected, match="at most 367 days"):
            make_provider().create_code("SP2X24ec23e1", spec(utc(2027, 2, 1, 10), utc(2028, 2, 10, 10)))

    @pytest.mark.parametrize(
        "hours, kind, days",
        [
            (671, "hourly", None), (672, "hourly", None), (673, "daily", 29),
            (29 * 24, "daily", 29), (29 * 24 + 1, "daily", 30), (367 * 24, "daily", 367),
        ],
    )
    def test_window_choice(self, hours, kind, days):
        zone = ZoneInfo("Asia/Tokyo")  # no DST: days are 24 hours
        start = utc(2027, 5, 1, 3)
        window = algopin_window(start, start + timedelta(hours=hours), zone, utc(2027, 1, 1))
        assert window.kind == kind and window.starts_at == start
        if days:
            assert window.ends_at == start + timedelta(days=days)

    def test_rounding_is_on_the_local_clock(self):
        zone = ZoneInfo("Australia/Adelaide")  # +10:30 in January
        assert floor_to_local_hour(utc(2027, 1, 10, 4, 10), zone) == utc(2027, 1, 10, 3, 30)
        assert ceil_to_local_hour(utc(2027, 1, 10, 4, 10), zone) == utc(2027, 1, 10, 4, 30)
        assert ceil_to_local_hour(utc(2027, 1, 10, 4, 30), zone) == utc(2027, 1, 10, 4, 30)


# --- errors on a create -------------------------------------------------------------------------------------

class TestCreateErrors:
    @pytest.mark.parametrize(
        "status, body, headers, error, message",
        [
            (400, fixture("error_400_format"), None, CodeRejected,
             "igloohome refused the code: 'startDate' must be in format YYYY-MM-DDTHH:00:00+hh:mm."),
            (422, fixture("error_422_range"), None, CodeRejected,
             "igloohome refused the code: Exceeded the limit of 367 days."),
            (404, {"message": "Device not found"}, None, LockNotFound, None),
            (429, {"message": "Too Many Requests"}, {"Retry-After": "30"}, RateLimited, None),
            (500, {"message": "Internal Server Error"}, None, VendorUnavailable, "igloohome failed (HTTP 500)."),
            (503, {"message": "Service Unavailable"}, None, VendorUnavailable, None),
            (504, {"message": "Endpoint request timed out"}, None, OutcomeUnknown, None),
        ],
        ids=["400-format", "422-range", "404", "429", "500", "503", "504"],
    )
    def test_statuses_map_to_the_vocabulary(self, cloud, status, body, headers, error, message):
        cloud.fail_next("algopin", status, body, headers=headers)
        with freeze_time("2027-01-01 00:00:00"), pytest.raises(error) as caught:
            make_provider().create_code("IGL-1", spec(utc(2027, 1, 10, 13, 30), utc(2027, 1, 12, 10, 15)))
        assert type(caught.value) is error and caught.value.vendor_code == str(status)
        if message:
            assert caught.value.message == message
        if status == 429:
            assert caught.value.retry_after == 30.0

    def test_an_unknown_device_is_lock_not_found(self, cloud):
        with freeze_time("2027-01-01 00:00:00"), pytest.raises(LockNotFound):
            make_provider().create_code("IGL-GONE", spec(utc(2027, 1, 10, 13), utc(2027, 1, 12, 10)))

    # A 403 to a token fetched moments ago is about rights, not expiry: no second token request.
    @pytest.mark.parametrize("status, error, token_requests", [(401, ProviderAuthError, 2), (403, LockNotFound, 1)])
    def test_refused_twice_after_a_fresh_token(self, cloud, status, error, token_requests):
        cloud.fail_next("algopin", status, {"message": "Forbidden"}, times=2)
        with freeze_time("2027-01-01 00:00:00"), pytest.raises(error):
            make_provider().create_code("IGL-1", spec(utc(2027, 1, 10, 13), utc(2027, 1, 12, 10)))
        assert cloud.token_requests == token_requests

    def test_every_403_on_a_device_the_client_may_not_use_costs_no_token_request(self, cloud):
        provider = make_provider()
        with freeze_time("2027-01-01 00:00:00"):
            provider.list_locks()
            cloud.fail_next("algopin", 403, {"message": "Forbidden"}, times=5)
            for _ in range(5):
                with pytest.raises(LockNotFound):
                    provider.create_code("IGL-1", spec(utc(2027, 1, 10, 13), utc(2027, 1, 12, 10)))
        assert cloud.token_requests == 1

    def test_a_403_to_a_token_issued_a_while_ago_renews_it_once(self, cloud):
        # The client of idx:37064654223 answers an expired token with 403.
        with freeze_time("2027-01-01 00:00:00"):
            provider = make_provider()
            provider.list_locks()
        cloud.fail_next("algopin", 403, {"message": "Forbidden"})
        with freeze_time("2027-01-01 00:10:00"):
            issued = provider.create_code("IGL-1", spec(utc(2027, 1, 10, 13), utc(2027, 1, 12, 10)))
        assert issued.pin and cloud.token_requests == 2

    @pytest.mark.parametrize(
        "raw",
        [
            "<html>Bad gateway</html>",
            json.dumps({"pin": None, "pinId": "x"}),
            json.dumps({"pin": "12a4", "pinId": "x"}),
            json.dumps({"pin": "123456789"}),
        ],
        ids=["not-json", "no-pin", "not-digits", "no-pin-id"],
    )
    def test_an_unreadable_answer_to_a_create_may_hide_an_issued_pin(self, cloud, raw):
        cloud.fail_next("algopin", 200, raw=raw)
        with freeze_time("2027-01-01 00:00:00"), pytest.raises(OutcomeUnknown, match="may have been issued"):
            make_provider().create_code("IGL-1", spec(utc(2027, 1, 10, 13), utc(2027, 1, 12, 10)))

    def test_a_timeout_on_a_create_is_outcome_unknown(self, rsps):
        expect_token(rsps)
        rsps.add(responses.POST, f"{API}/devices/IGL-1/algopin/hourly", body=requests.ReadTimeout("slow"))
        with freeze_time("2027-01-01 00:00:00"), pytest.raises(OutcomeUnknown):
            make_provider().create_code("IGL-1", spec(utc(2027, 1, 10, 13), utc(2027, 1, 12, 10)))

    def test_a_pin_echoed_in_a_vendor_message_is_not_kept(self, cloud):
        cloud.fail_next("algopin", 422, {"message": "PIN 482019375 overlaps an existing PIN"})
        with freeze_time("2027-01-01 00:00:00"), pytest.raises(CodeRejected) as caught:
            make_provider().create_code("IGL-1", spec(utc(2027, 1, 10, 13), utc(2027, 1, 12, 10)))
        assert "482019375" not in caught.value.message


class TestWhatAlgoPinsCannotDo:
    def test_capabilities(self):
        caps = IgloohomeProvider.capabilities
        assert (caps.chosen_pins, caps.remote_revoke, caps.update_in_place, caps.find_codes) == (False, False, False, False)
        assert (IgloohomeProvider.slug, IgloohomeProvider.display_name) == ("igloohome", "igloohome")

    def test_update_delete_and_find_are_refused_without_a_request(self, rsps):
        provider = make_provider()
        window = spec(utc(2027, 1, 10, 13), utc(2027, 1, 12, 10))
        for call in (
            lambda: provider.update_code("IGL-1", "pin-1", window),
            lambda: provider.delete_code("IGL-1", "pin-1"),
            lambda: provider.find_code("IGL-1", "nw-101"),
        ):
            with pytest.raises(OperationNotSupported):
                call()


# --- no secret anywhere ---------------------------------------------------------------------------------------

def test_no_secret_token_or_pin_reaches_the_logs(cloud, caplog):
    caplog.set_level(logging.DEBUG)
    with freeze_time("2027-01-01 00:00:00"):
        result = IgloohomeProvider.sign_in(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        provider = make_provider(result.credentials)
        provider.list_locks()
        issued = provider.create_code("IGL-1", spec(utc(2027, 1, 10, 13), utc(2027, 1, 12, 10)))
        cloud.fail_next("algopin", 500)
        with pytest.raises(VendorUnavailable):
            provider.create_code("IGL-1", spec(utc(2027, 2, 10, 13), utc(2027, 2, 12, 10)))
    text = caplog.text
    assert "igloohome POST https://api.igloodeveloper.co/igloohome/devices/IGL-1/algopin/hourly -> 200" in text
    for secret in (CLIENT_SECRET, result.credentials["access_token"], issued.pin, BASIC.split()[1]):
        assert secret not in text


# --- the lifecycle driving igloohome over HTTP ---------------------------------------------------------------

@pytest.fixture
def igloo_registered(monkeypatch):
    monkeypatch.setitem(registry.PROVIDER_CLASSES, "igloohome", IgloohomeProvider)


@pytest.fixture
def igloo_property(db, host, make_property, cloud, igloo_registered):
    account = ProviderAccount.objects.create(
        host=host, provider="igloohome", display_name=f"API client {CLIENT_ID}", credentials=CREDENTIALS
    )
    lock = Lock.objects.create(account=account, vendor_lock_id="IGL-1", name="Front door", supports_remote_codes=True)
    prop = make_property(name="Seaside Flat")  # Paris; lead 5 days, margin 30 minutes
    LockAssignment.objects.create(property=prop, lock=lock)
    return prop


@pytest.mark.django_db
class TestLifecycleOverHttp:
    def test_a_booking_gets_an_algopin_with_the_window_igloohome_enforces(self, igloo_property, book, cloud):
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(igloo_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = current(booking)
        (sent,) = cloud.codes_on("IGL-1")
        assert code.state == CodeState.ACTIVE
        assert (sent["startDate"], sent["endDate"]) == ("2026-06-02T14:00:00+02:00", "2026-06-05T12:00:00+02:00")
        assert sent["accessName"] == f"nw-{code.pk}"
        assert (code.pin, code.vendor_code_id) == (sent["pin"], sent["pinId"])
        assert (code.starts_at, code.ends_at) == (utc(2026, 6, 2, 12, 30), utc(2026, 6, 5, 9, 30))  # what we wanted
        assert (code.lock_starts_at, code.lock_ends_at) == (utc(2026, 6, 2, 12), utc(2026, 6, 5, 10))  # what the lock holds
        assert code.next_attempt_at == utc(2026, 6, 5, 10)
        assert "before 14:00 on 3 June 2026" in code.usage_note
        assert cloud.token_requests == 1

    def test_a_date_change_issues_a_new_code_and_the_old_one_is_superseded_with_its_warning(self, igloo_property, book, cloud):
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(igloo_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            old = current(booking)
            booking.departure_date = date(2026, 6, 6)
            booking.save()
            services.booking_changed(booking=booking)
            tick()
            tick()
            old.refresh_from_db()
            new = current(booking)
            assert old.state == CodeState.SUPERSEDED and not old.is_current
            assert old.warning == "Replaced by a new code after the booking changed; this one still works until 12:00 on 5 June 2026."
            assert new.state == CodeState.ACTIVE and new.pin != old.pin
            assert new.lock_ends_at == utc(2026, 6, 6, 10)
            first, second = cloud.codes_on("IGL-1")
            # Same start hour: igloohome's slot for variance 1 is taken, the new code uses variance 2.
            assert (first["variance"], second["variance"]) == (1, 2)
            assert second["endDate"] == "2026-06-06T12:00:00+02:00"
            frozen.move_to("2026-06-05 10:00:00")
            tick()
        old.refresh_from_db()
        assert old.state == CodeState.EXPIRED
        # Nothing deleted, nothing changed (there is no API for it): two algoPINs issued, that is all.
        assert {path for method, path in cloud.calls if method == "POST"} == {"/oauth2/token", "/devices/IGL-1/algopin/hourly"}
        assert len(cloud.issued) == 2

    def test_a_cancellation_makes_no_vendor_call_records_the_code_and_emails_the_host(
        self, igloo_property, book, cloud, django_capture_on_commit_callbacks
    ):
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(igloo_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            calls_before = list(cloud.calls)
            booking.status = BookingStatus.CANCELLED
            booking.save()
            with django_capture_on_commit_callbacks(execute=True):
                services.booking_cancelled(booking=booking)
            tick()
        code = AccessCode.objects.get(booking=booking)
        assert code.state == CodeState.SUPERSEDED and code.next_attempt_at == utc(2026, 6, 5, 10)
        assert code.warning == "igloohome cannot revoke this code: it keeps working until 12:00 on 5 June 2026."
        assert cloud.calls == calls_before
        (message,) = [m for m in mail.outbox if "keeps working" in m.subject]
        assert message.to == ["host@example.com"]
        assert "12:00 on 5 June 2026" in message.body and "cannot be revoked remotely" in message.body

    def test_a_lost_create_is_recorded_as_a_possible_unknown_code(self, igloo_property, book, cloud):
        cloud.fail_next("algopin", 504)
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(igloo_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            assert current(booking).create_outcome_unknown
            frozen.move_to("2026-06-01 01:00:00")
            tick()
        code = current(booking)
        assert code.state == CodeState.ACTIVE
        assert "may have created a code that cannot be listed" in code.warning
        # igloohome ends codes on the hour: a lost code of the 11:30 window works until 12:00.
        assert "if so, it works until about 12:00 on 5 June 2026" in code.warning

    @pytest.mark.parametrize("status", [500, 502, 503])
    def test_a_server_error_where_igloohome_did_not_act_leaves_no_possible_unknown_code(self, igloo_property, book, cloud, status):
        cloud.fail_next("algopin", status)
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(igloo_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            assert not current(booking).create_outcome_unknown
            frozen.move_to("2026-06-01 01:00:00")
            tick()
        code = current(booking)
        assert code.state == CodeState.ACTIVE
        assert "may have created" not in code.warning

    def test_a_long_stay_gets_a_daily_code_and_the_host_is_warned(self, igloo_property, book, cloud):
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(igloo_property, date(2026, 6, 2), date(2026, 7, 12))
            services.booking_created(booking=booking)
            tick()
        code = current(booking)
        (sent,) = cloud.codes_on("IGL-1")
        assert (sent["kind"], sent["startDate"], sent["endDate"]) == ("daily", "2026-06-02T14:00:00+02:00", "2026-07-12T14:00:00+02:00")
        assert code.lock_ends_at == utc(2026, 7, 12, 12)
        assert "works until 14:00 on 12 July 2026, after the stay ends" in code.warning

    def test_audit_rows_carry_no_secret_token_or_pin(self, igloo_property, book, cloud):
        cloud.fail_next("algopin", 422, {"message": "PIN 123456789 refused"})
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(igloo_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            assert current(booking).state == CodeState.FAILED  # refused: not retried blindly
            booking.arrival_date = date(2026, 6, 3)
            booking.save()
            services.booking_changed(booking=booking)  # the host fixes the booking: tried afresh
            tick()
        code = current(booking)
        assert code.state == CodeState.ACTIVE
        account = ProviderAccount.objects.get(provider="igloohome")
        token = account.credentials["access_token"]
        rows = list(VendorCall.objects.values_list("operation", "outcome", "error_kind", "error_message"))
        assert ("create_code", "permanent", "code_rejected", "igloohome refused the code: PIN … refused.") in rows
        for row in rows:
            for secret in (CLIENT_SECRET, token, code.pin, "123456789"):
                assert secret not in " ".join(row)


# --- connecting -----------------------------------------------------------------------------------------------

@pytest.mark.django_db
class TestConnect:
    url = "/locks/connect/igloohome/"

    def test_the_page_needs_a_login(self, client):
        assert reverse("locks:igloohome_connect") == self.url
        response = client.get(self.url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))

    def test_the_form_asks_for_the_client_id_and_secret(self, client, host):
        client.force_login(host)
        content = client.get(self.url, follow=True).content.decode()  # the form lives in the igloohome panel
        assert 'name="client_id"' in content and 'type="password" name="client_secret"' in content
        assert "csrfmiddlewaretoken" in content

    def test_connecting_stores_the_client_and_token_reads_the_locks_and_goes_home(self, client, host, cloud, igloo_registered):
        client.force_login(host)
        with freeze_time("2026-06-01 08:00:00"):
            response = client.post(self.url, {"client_id": f" {CLIENT_ID} ", "client_secret": CLIENT_SECRET}, follow=True)
        assert response.redirect_chain == [(reverse("integrations:panel", args=["igloohome"]), 302)]
        assert f"Your igloohome account “API client {CLIENT_ID}” is connected." in response.content.decode()
        account = ProviderAccount.objects.get(host=host, provider="igloohome")
        assert (account.status, account.display_name) == (AccountStatus.CONNECTED, f"API client {CLIENT_ID}")
        assert account.token_expires_at == utc(2026, 6, 1, 9)
        assert account.credentials["client_id"] == CLIENT_ID and account.credentials["client_secret"] == CLIENT_SECRET
        assert {lock.vendor_lock_id: lock.is_online for lock in account.locks.all()} == {"IGL-1": True}
        assert cloud.token_requests == 1  # the lock list reused the sign-in's token

    def test_a_lock_list_igloohome_fails_to_give_does_not_fail_the_connection(self, client, host, cloud, igloo_registered):
        cloud.fail_next("devices", 503)
        client.force_login(host)
        with freeze_time("2026-06-01 08:00:00"):
            response = client.post(self.url, {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, follow=True)
        content = response.content.decode()
        assert "igloohome account" in content and "is connected" in content
        assert "Locks could not be read yet: igloohome failed (HTTP 503)." in content
        assert ProviderAccount.objects.get(host=host).status == AccountStatus.CONNECTED

    def test_an_empty_form_is_refused_before_asking_igloohome(self, client, host, cloud):
        client.force_login(host)
        response = client.post(self.url, {})
        assert response.status_code == 400 and "This field is required." in response.content.decode()
        assert cloud.token_requests == 0

    def test_wrong_credentials_store_nothing_and_never_echo_the_secret(self, client, host, cloud, igloo_registered):
        client.force_login(host)
        response = client.post(self.url, {"client_id": CLIENT_ID, "client_secret": "wrong-" + CLIENT_SECRET})
        content = response.content.decode()
        assert response.status_code == 400
        assert "igloohome did not accept the API client ID and secret. Nothing was saved" in content
        assert CLIENT_SECRET not in content and CLIENT_ID in content  # the id is kept, the secret is not
        assert not ProviderAccount.objects.exists()

    @pytest.mark.parametrize(
        "answer, shown",
        [
            ({"body": requests.ConnectionError("no route")}, "igloohome did not answer in time."),
            ({"body": requests.exceptions.ConnectTimeout("no route")}, "igloohome could not be reached."),
            ({"status": 502, "body": "Bad gateway"}, "igloohome&#x27;s sign-in failed (HTTP 502)."),
            ({"status": 200, "body": "<html>maintenance</html>"}, "igloohome answered with something that is not JSON."),
        ],
        ids=["connection-lost", "unreachable", "5xx", "malformed"],
    )
    def test_igloohome_unreachable_or_answering_garbage(self, client, host, rsps, answer, shown):
        rsps.add(responses.POST, TOKEN_URL, **answer)
        client.force_login(host)
        content = client.post(self.url, {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}).content.decode()
        assert shown in content and "please try again in a few minutes" in content
        assert CLIENT_SECRET not in content
        assert not ProviderAccount.objects.exists()

    def test_csrf_is_required(self, host, cloud):
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(host)
        assert strict.post(self.url, {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}).status_code == 403
        assert cloud.token_requests == 0

    def test_reconnecting_an_account_that_needed_it(self, host, cloud, igloo_registered):
        account = ProviderAccount.objects.create(
            host=host, provider="igloohome", display_name="old", status=AccountStatus.NEEDS_RECONNECT,
            credentials={"client_id": "old-id", "client_secret": "old-secret"},
        )
        with freeze_time("2026-06-01 08:00:00"):
            reconnected = connect_with_credentials(
                host=host, provider="igloohome", method="api-client", values={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
            )
        account.refresh_from_db()
        assert reconnected.pk == account.pk and account.status == AccountStatus.CONNECTED
        assert account.credentials["client_secret"] == CLIENT_SECRET and account.display_name == f"API client {CLIENT_ID}"
