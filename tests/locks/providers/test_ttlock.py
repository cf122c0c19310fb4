"""TTLock on its wire protocol: exact requests (responses matchers), errcodes, tokens, locks, the
connect page, and the lifecycle engine driving the adapter against the stateful emulator."""

import hashlib
import json
import logging
import threading
import time
from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest
import requests
import responses
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time
from responses import matchers

from bookings.models import BookingStatus
from locks import services
from locks.connect.services import ConnectError, connect_with_credentials
from locks.models import AccessCode, AccountStatus, CodeState, Lock, LockAssignment, ProviderAccount, VendorCall
from locks.providers import registry
from locks.providers.base import AccountSession, CodeSpec
from locks.providers.exceptions import (
    CodeNotFound,
    CodeRejected,
    CodeStorageFull,
    LockNotFound,
    LockOffline,
    OperationNotSupported,
    OutcomeUnknown,
    PinTaken,
    ProviderAuthError,
    RateLimited,
    VendorUnavailable,
)
from locks.providers.http import VendorHttp
from locks.providers.ttlock import (
    ANSWER_MALFORMED,
    NO_GATEWAY,
    OLD_PASSCODES,
    TTLockProvider,
    one_call_per_lock,
    one_call_per_lock_in_process,
    to_ms,
)
from tests.helpers.lifecycle import tick
from tests.helpers.repository import FIXTURES as ALL_FIXTURES
from tests.vendors.nuki import NukiCloud, api_token_credentials
from tests.vendors.tedee import TedeeCloud
from tests.vendors.ttlock import WIFI_FEATURES, TTLockCloud


def ttlock_connect(*, host, username, password):
    """The TTLock sign-in through the generic connect service (its "password" method)."""
    values = {"username": username, "password": password}
    return connect_with_credentials(host=host, provider="ttlock", method="password", values=values)


FIXTURES = ALL_FIXTURES / "ttlock"
BASE = "https://euapi.ttlock.com"
CLIENT_ID, CLIENT_SECRET = "nowistay-client-id-0042", "nowistay-client-secret-0042"
ACCESS = "ttlock-access-token-0123456789abcdef"
REFRESH = "ttlock-refresh-token-fedcba9876543210"
NEW_ACCESS = "ttlock-access-token-refreshed-5a5a5a5a"
NOW = "2026-06-01 08:00:00"
NOW_MS = 1780300800000  # 2026-06-01T08:00:00Z
STARTS, ENDS = datetime(2026, 6, 2, 13, 0, tzinfo=UTC), datetime(2026, 6, 4, 10, 0, tzinfo=UTC)
STARTS_MS, ENDS_MS = 1780405200000, 1780567200000
LATER_STARTS, LATER_ENDS = datetime(2026, 6, 3, 13, 0, tzinfo=UTC), datetime(2026, 6, 6, 10, 0, tzinfo=UTC)
PIN = "482013"  # a zero inside, on purpose (a leading one is refused: see test_pins.py)
APP_PASSWORD, APP_PASSWORD_MD5 = "123456", "e10adc3949ba59abbe56e057f20f883e"  # T-TOK's own example
USERNAME = "+33612345678"


def fixture(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def errcode(code: int) -> dict:
    return fixture("errcodes")[str(code)]


@pytest.fixture(autouse=True)
def ttlock_settings(settings):
    settings.TTLOCK_API_URL = BASE
    settings.TTLOCK_CLIENT_ID = CLIENT_ID
    settings.TTLOCK_CLIENT_SECRET = CLIENT_SECRET


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:  # unmatched requests fail; every registered one must be used
        yield mock


@pytest.fixture
def frozen():
    with freeze_time(NOW) as clock:
        yield clock


def credentials(access=ACCESS) -> dict:
    return {"access_token": access, "refresh_token": REFRESH, "username": USERNAME}


UNKNOWN = None  # a session whose token expiry is not known


def make_provider(creds=None, saved=None, expires_in=timedelta(days=60)) -> TTLockProvider:
    saved = saved if saved is not None else []
    session = AccountSession(
        account_id=7,
        credentials=creds or credentials(),
        expires_at=None if expires_in is UNKNOWN else datetime(2026, 6, 1, 8, 0, tzinfo=UTC) + expires_in,
        save_credentials=lambda new, expires_at: saved.append((new, expires_at)),
    )
    return TTLockProvider(session, call_guard=one_call_per_lock_in_process)


def signed(access=ACCESS, **params) -> dict:
    return {"clientId": CLIENT_ID, "accessToken": access, "date": str(NOW_MS), **{k: str(v) for k, v in params.items()}}


def spec(name="nw-101", pin=PIN, starts=STARTS, ends=ENDS) -> CodeSpec:
    return CodeSpec(name=name, pin=pin, starts_at=starts, ends_at=ends, time_zone="Europe/Paris")


def add_form(access=ACCESS, **overrides) -> dict:
    form = dict(
        lockId=3001, keyboardPwd=PIN, keyboardPwdName="nw-101", keyboardPwdType=3,
        startDate=STARTS_MS, endDate=ENDS_MS, addType=2,
    )
    return signed(access, **{**form, **overrides})


def expect_add(rsps, body, access=ACCESS, **overrides):
    rsps.post(f"{BASE}/v3/keyboardPwd/add", json=body, match=[matchers.urlencoded_params_matcher(add_form(access, **overrides))])


def expect_refresh(rsps, body=None):
    rsps.post(
        f"{BASE}/oauth2/token",
        json=body or fixture("refresh_token"),
        match=[matchers.urlencoded_params_matcher(
            {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "grant_type": "refresh_token", "refresh_token": REFRESH}
        )],
    )


# --- sign-in ------------------------------------------------------------------------------------

class TestSignIn:
    def test_posts_the_documented_form_with_the_md5_of_the_password_and_keeps_only_tokens(self, rsps, frozen):
        rsps.post(
            f"{BASE}/oauth2/token",
            json=fixture("token"),
            match=[
                matchers.urlencoded_params_matcher(
                    {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "username": USERNAME, "password": APP_PASSWORD_MD5}
                ),
                matchers.header_matcher({"Content-Type": "application/x-www-form-urlencoded"}),
            ],
        )
        result = TTLockProvider.sign_in(USERNAME, APP_PASSWORD)
        assert result.display_name == USERNAME
        assert result.expires_at == datetime(2026, 6, 1, 8, 0, tzinfo=UTC) + timedelta(seconds=7776000)
        assert result.credentials == {
            "access_token": ACCESS,
            "refresh_token": REFRESH,
            "username": USERNAME,
        }
        assert APP_PASSWORD_MD5 not in json.dumps(result.credentials)

    @pytest.mark.parametrize(
        "code, vendor_code", [(10007, "10007"), (30008, "30008"), (10001, "10001")], ids=["wrong-password", "wrong-region", "app-refused"]
    )
    def test_refusals_are_auth_errors_with_the_vendor_code(self, rsps, code, vendor_code):
        rsps.post(f"{BASE}/oauth2/token", json=errcode(code))
        with pytest.raises(ProviderAuthError) as caught:
            TTLockProvider.sign_in(USERNAME, APP_PASSWORD)
        assert caught.value.vendor_code == vendor_code
        assert APP_PASSWORD not in caught.value.message and APP_PASSWORD_MD5 not in caught.value.message

    @pytest.mark.parametrize(
        "answer",
        [
            {"body": "<html>502 Bad Gateway</html>", "status": 200},
            {"json": {"uid": 2340}},
            {"json": {"access_token": ACCESS, "refresh_token": REFRESH, "expires_in": "soon"}},
            {"json": ["not", "an", "object"]},
        ],
        ids=["html", "no-token", "bad-expiry", "array"],
    )
    def test_a_malformed_answer_is_reported_as_such(self, rsps, answer):
        rsps.post(f"{BASE}/oauth2/token", **answer)
        with pytest.raises(VendorUnavailable) as caught:
            TTLockProvider.sign_in(USERNAME, APP_PASSWORD)
        assert caught.value.vendor_code == ANSWER_MALFORMED

    def test_an_unreachable_ttlock_is_transient(self, rsps):
        rsps.post(f"{BASE}/oauth2/token", body=requests.ConnectTimeout("no route"))
        with pytest.raises(VendorUnavailable) as caught:
            TTLockProvider.sign_in(USERNAME, APP_PASSWORD)
        assert caught.value.vendor_code is None

    def test_a_lost_sign_in_answer_is_not_an_unknown_outcome(self, rsps):
        rsps.post(f"{BASE}/oauth2/token", body=requests.ReadTimeout("lost"))
        with pytest.raises(VendorUnavailable) as caught:
            TTLockProvider.sign_in(USERNAME, APP_PASSWORD)
        assert not isinstance(caught.value, OutcomeUnknown)


# --- tokens -------------------------------------------------------------------------------------

class TestTokens:
    def test_a_token_close_to_expiry_is_refreshed_before_the_call_and_saved(self, rsps, frozen):
        saved = []
        provider = make_provider(saved=saved, expires_in=timedelta(minutes=9))
        expect_refresh(rsps)
        expect_add(rsps, fixture("keyboardPwd_add"), access=NEW_ACCESS)
        provider.create_code("3001", spec())
        ((new, expires_at),) = saved
        assert new["access_token"] == NEW_ACCESS and new["refresh_token"] == REFRESH and new["username"] == USERNAME
        assert expires_at == datetime(2026, 6, 1, 8, 0, tzinfo=UTC) + timedelta(seconds=7776000)
        assert provider.session.credentials == new and provider.session.expires_at == expires_at

    def test_a_short_lived_token_is_not_renewed_before_every_call(self, rsps, frozen):
        saved = []
        provider = make_provider(saved=saved, expires_in=timedelta(minutes=5))
        expect_refresh(rsps, {**fixture("refresh_token"), "expires_in": 300})
        expect_add(rsps, fixture("keyboardPwd_add"), access=NEW_ACCESS)
        rsps.post(f"{BASE}/v3/keyboardPwd/delete", json=fixture("ok"))
        provider.create_code("3001", spec())
        provider.delete_code("3001", "24242")
        assert len(saved) == 1

    def test_a_token_far_from_expiry_is_not_refreshed(self, rsps, frozen):
        saved = []
        expect_add(rsps, fixture("keyboardPwd_add"))
        make_provider(saved=saved, expires_in=timedelta(minutes=11)).create_code("3001", spec())
        assert saved == []

    def test_expired_token_mid_run_is_refreshed_once_and_the_call_retried(self, rsps, frozen):
        saved = []
        provider = make_provider(saved=saved)
        expect_add(rsps, errcode(10004))
        expect_refresh(rsps)
        expect_add(rsps, fixture("keyboardPwd_add"), access=NEW_ACCESS)
        issued = provider.create_code("3001", spec())
        assert issued.vendor_code_id == "24242"
        assert [new["access_token"] for new, _ in saved] == [NEW_ACCESS]
        assert [call.request.url for call in rsps.calls] == [
            f"{BASE}/v3/keyboardPwd/add",
            f"{BASE}/oauth2/token",
            f"{BASE}/v3/keyboardPwd/add",
        ]

    def test_a_token_of_unknown_expiry_is_used_and_refreshed_once_when_refused(self, rsps, frozen):
        saved = []
        provider = make_provider(saved=saved, expires_in=UNKNOWN)
        expect_add(rsps, errcode(10004))
        expect_refresh(rsps)
        expect_add(rsps, fixture("keyboardPwd_add"), access=NEW_ACCESS)
        assert provider.create_code("3001", spec()).vendor_code_id == "24242"
        assert [new["access_token"] for new, _ in saved] == [NEW_ACCESS]
        assert provider.session.expires_at == datetime(2026, 6, 1, 8, 0, tzinfo=UTC) + timedelta(seconds=7776000)

    @pytest.mark.parametrize("refusal", [10011, 10001, 10004])
    def test_a_refused_refresh_is_an_auth_error(self, rsps, frozen, refusal):
        saved = []
        provider = make_provider(saved=saved)
        expect_add(rsps, errcode(10004))
        rsps.post(f"{BASE}/oauth2/token", json=errcode(refusal))
        with pytest.raises(ProviderAuthError) as caught:
            provider.create_code("3001", spec())
        assert saved == [] and ACCESS not in caught.value.message and REFRESH not in caught.value.message

    def test_a_token_refused_again_after_a_refresh_is_an_auth_error(self, rsps, frozen):
        provider = make_provider()
        expect_add(rsps, errcode(10004))
        expect_refresh(rsps)
        expect_add(rsps, errcode(10004), access=NEW_ACCESS)
        with pytest.raises(ProviderAuthError) as caught:
            provider.create_code("3001", spec())
        assert caught.value.vendor_code == "10004"

    def test_a_refresh_that_cannot_reach_ttlock_stays_transient(self, rsps, frozen):
        provider = make_provider(expires_in=timedelta(minutes=-5))
        rsps.post(f"{BASE}/oauth2/token", body=requests.ConnectTimeout("down"))
        with pytest.raises(VendorUnavailable):
            provider.list_locks()

    def test_keep_alive_refreshes_within_a_day_of_expiry(self, rsps, frozen):
        saved = []
        expect_refresh(rsps)
        make_provider(saved=saved, expires_in=timedelta(hours=20)).keep_alive()
        assert len(saved) == 1

    def test_keep_alive_leaves_a_fresh_token_alone(self, rsps, frozen):
        make_provider(expires_in=timedelta(days=30)).keep_alive()  # no request registered: none sent

    def test_keep_alive_with_a_refused_refresh_token_asks_for_reconnection(self, rsps, frozen):
        rsps.post(f"{BASE}/oauth2/token", json=errcode(10011))
        with pytest.raises(ProviderAuthError):
            make_provider(expires_in=timedelta(hours=1)).keep_alive()

    def test_no_access_token_is_an_auth_error_without_a_request(self, rsps):
        with pytest.raises(ProviderAuthError):
            make_provider({"username": USERNAME}).list_locks()


# --- errcodes -------------------------------------------------------------------------------------

ERRCODE_CLASSES = [
    (-2012, LockOffline), (-3002, LockOffline), (-3034, LockOffline), (-3035, LockOffline), (-3036, LockOffline),
    (-4037, LockOffline), (-3003, VendorUnavailable), (-3037, VendorUnavailable), (30006, RateLimited),
    (30007, RateLimited), (-3007, PinTaken), (-2032, CodeRejected), (-3006, CodeRejected),
    (-3009, CodeStorageFull), (-4056, CodeStorageFull), (-2009, CodeNotFound), (-1003, LockNotFound),
    (20002, LockNotFound), (-2018, LockNotFound), (-4043, OperationNotSupported), (-3008, OperationNotSupported),
    (10007, ProviderAuthError), (10011, ProviderAuthError), (10001, ProviderAuthError), (30008, ProviderAuthError),
    (80000, VendorUnavailable), (90000, VendorUnavailable), (80002, VendorUnavailable), (1, VendorUnavailable),
    (-3, VendorUnavailable), (-2025, VendorUnavailable), (-9999, VendorUnavailable),
]


class TestErrcodes:
    @pytest.mark.parametrize("code, error_class", ERRCODE_CLASSES, ids=[str(code) for code, _ in ERRCODE_CLASSES])
    def test_each_errcode_maps_onto_the_vocabulary(self, rsps, frozen, code, error_class):
        expect_add(rsps, errcode(code))
        with pytest.raises(error_class) as caught:
            make_provider().create_code("3001", spec())
        error = caught.value
        assert type(error) is error_class
        assert error.vendor_code == str(code)
        assert PIN not in error.message and ACCESS not in error.message
        assert errcode(code)["errmsg"] not in error.message  # plain words of ours, never the vendor's text

    def test_an_unknown_errcode_keeps_the_code_and_says_so_plainly(self, rsps, frozen):
        expect_add(rsps, errcode(-9999))
        with pytest.raises(VendorUnavailable) as caught:
            make_provider().create_code("3001", spec())
        assert caught.value.vendor_code == "-9999" and caught.value.message == "TTLock refused the request (error -9999)."

    def test_the_monthly_quota_waits_for_the_first_of_the_month_in_beijing(self, rsps, frozen):
        expect_add(rsps, errcode(30007))
        with pytest.raises(RateLimited) as caught:
            make_provider().create_code("3001", spec())
        # 2026-06-01 08:00 UTC is 16:00 in Beijing; the quota resets on 1 July 00:00 Beijing (30 June 16:00 UTC).
        assert (
            caught.value.retry_after == (datetime(2026, 6, 30, 16, 0, tzinfo=UTC) - datetime(2026, 6, 1, 8, 0, tzinfo=UTC)).total_seconds()
        )

    @pytest.mark.parametrize("status", [500, 502, 503])
    def test_a_server_error_is_transient(self, rsps, frozen, status):
        rsps.post(f"{BASE}/v3/keyboardPwd/add", status=status, body="oops")
        with pytest.raises(VendorUnavailable):
            make_provider().create_code("3001", spec())

    def test_garbage_instead_of_json_is_a_malformed_answer(self, rsps, frozen):
        rsps.get(f"{BASE}/v3/lock/list", body="not json at all")
        with pytest.raises(VendorUnavailable) as caught:
            make_provider().list_locks()
        assert caught.value.vendor_code == ANSWER_MALFORMED


# --- codes ----------------------------------------------------------------------------------------

class TestCodes:
    def test_create_sends_a_period_code_through_the_gateway_with_ms_dates(self, rsps, frozen):
        expect_add(rsps, fixture("keyboardPwd_add"))
        issued = make_provider().create_code("3001", spec())
        assert (issued.vendor_code_id, issued.pin, issued.name) == ("24242", PIN, "nw-101")
        assert (issued.starts_at, issued.ends_at) == (STARTS, ENDS)
        (call,) = rsps.calls
        assert call.request.method == "POST" and "keyboardPwd=482013" in call.request.body  # the digit string, as is
        assert call.request.url == f"{BASE}/v3/keyboardPwd/add"  # nothing in the query string, the token included

    @pytest.mark.parametrize("pin", ["1234", "111111", "987654", "123", "1234567890", "12a456", "", None, "048213"])
    def test_a_pin_ttlock_would_refuse_is_rejected_without_a_request(self, rsps, pin):
        with pytest.raises(CodeRejected) as caught:
            make_provider().create_code("3001", spec(pin=pin))
        assert not pin or pin not in caught.value.message
        assert len(rsps.calls) == 0

    def test_create_without_an_id_in_the_answer_is_an_unknown_outcome(self, rsps, frozen):
        expect_add(rsps, {"errcode": 0, "errmsg": "none error message"})
        with pytest.raises(OutcomeUnknown):
            make_provider().create_code("3001", spec())

    def test_update_changes_both_dates_through_the_gateway(self, rsps, frozen):
        rsps.post(
            f"{BASE}/v3/keyboardPwd/change",
            json=fixture("ok"),
            match=[matchers.urlencoded_params_matcher(signed(
                lockId=3001, keyboardPwdId=24242, keyboardPwdName="nw-101",
                startDate=1780491600000, endDate=1780740000000, changeType=2,
            ))],
        )
        moved = make_provider().update_code("3001", "24242", spec(starts=LATER_STARTS, ends=LATER_ENDS))
        assert (moved.vendor_code_id, moved.pin, moved.starts_at, moved.ends_at) == ("24242", PIN, LATER_STARTS, LATER_ENDS)

    def test_update_of_a_vanished_code_is_code_not_found(self, rsps, frozen):
        rsps.post(f"{BASE}/v3/keyboardPwd/change", json=errcode(-2009))
        with pytest.raises(CodeNotFound):
            make_provider().update_code("3001", "24242", spec())

    def test_delete_goes_through_the_gateway(self, rsps, frozen):
        rsps.post(
            f"{BASE}/v3/keyboardPwd/delete",
            json=fixture("ok"),
            match=[matchers.urlencoded_params_matcher(signed(lockId=3001, keyboardPwdId=24242, deleteType=2))],
        )
        assert make_provider().delete_code("3001", "24242") is None

    def test_deleting_a_passcode_already_gone_succeeds(self, rsps, frozen):
        rsps.post(f"{BASE}/v3/keyboardPwd/delete", json=errcode(-2009))
        assert make_provider().delete_code("3001", "24242") is None

    def test_find_pages_through_the_passcodes_and_matches_the_exact_name(self, rsps, frozen):
        for page in (1, 2):
            rsps.get(
                f"{BASE}/v3/lock/listKeyboardPwd",
                json=fixture(f"listKeyboardPwd_page{page}"),
                match=[matchers.query_param_matcher(signed(lockId=3001, pageNo=page, pageSize=200, orderBy=1))],
            )
        found = make_provider().find_code("3001", "nw-101")
        assert (found.vendor_code_id, found.pin, found.name) == ("24242", PIN, "nw-101")
        assert (found.starts_at, found.ends_at) == (STARTS, ENDS)

    def test_find_returns_none_when_no_name_matches_exactly(self, rsps, frozen):
        for page in (1, 2):
            rsps.get(f"{BASE}/v3/lock/listKeyboardPwd", json=fixture(f"listKeyboardPwd_page{page}"))
        assert make_provider().find_code("3001", "nw-1") is None  # "nw-10" and "nw-101" are not "nw-1"

    def test_lost_create_answer_then_find_by_name(self, rsps, frozen):
        rsps.post(f"{BASE}/v3/keyboardPwd/add", body=requests.ReadTimeout("lost"), match=[matchers.urlencoded_params_matcher(add_form())])
        provider = make_provider()
        with pytest.raises(OutcomeUnknown):
            provider.create_code("3001", spec())
        for page in (1, 2):
            rsps.get(f"{BASE}/v3/lock/listKeyboardPwd", json=fixture(f"listKeyboardPwd_page{page}"))
        found = provider.find_code("3001", "nw-101")
        assert found.vendor_code_id == "24242" and found.pin == PIN

    def test_a_lock_id_ttlock_cannot_have_given_is_not_found_without_a_request(self, rsps):
        with pytest.raises(LockNotFound):
            make_provider().create_code("LK-1", spec())

    def test_every_date_is_an_exact_millisecond_count(self):
        assert to_ms(STARTS) == STARTS_MS and to_ms(ENDS) == ENDS_MS
        assert to_ms(datetime(2026, 6, 2, 13, 0, 0, 999999, tzinfo=UTC)) == STARTS_MS + 999


# --- locks ----------------------------------------------------------------------------------------

class TestLocks:
    def test_lists_every_page_reads_details_and_says_why_a_lock_is_not_eligible(self, rsps, frozen):
        for page in (1, 2):
            rsps.get(
                f"{BASE}/v3/lock/list",
                json=fixture(f"lock_list_page{page}"),
                match=[matchers.query_param_matcher(signed(pageNo=page, pageSize=100))],
            )
        for lock_id in (3001, 3002, 3003, 3004):
            rsps.get(
                f"{BASE}/v3/lock/detail",
                json=fixture(f"lock_detail_{lock_id}"),
                match=[matchers.query_param_matcher(signed(lockId=lock_id))],
            )
        expect_online_reads(rsps)
        locks = {lock.vendor_lock_id: lock for lock in make_provider().list_locks()}
        assert list(locks) == ["3001", "3002", "3003", "3004"]
        front, wifi, garage, old = locks.values()
        assert front.name == "Front door" and front.supports_remote_codes and front.utc_offset_minutes == 60
        assert wifi.supports_remote_codes and wifi.unavailable_reason == ""  # a WiFi lock needs no gateway
        assert wifi.utc_offset_minutes == 0
        assert not garage.supports_remote_codes and garage.unavailable_reason == NO_GATEWAY
        assert old.name == "M201_0bb9c4"  # no alias: the lock's own name
        assert not old.supports_remote_codes and old.unavailable_reason == OLD_PASSCODES
        assert old.utc_offset_minutes == -300
        # Front door: its gateway is online and lists it. The WiFi lock: wifiLock/detail says so.
        # Garage and the old lock cannot take codes: their online state is not read.
        assert (front.is_online, wifi.is_online, garage.is_online, old.is_online) == (True, True, None, None)

    def test_online_state_costs_one_gateway_list_one_read_per_online_gateway_and_one_per_wifi_lock(self, rsps, frozen):
        rsps.get(f"{BASE}/v3/lock/list", json={**fixture("lock_list_page1"), "pages": 1})
        for lock_id in (3001, 3002):
            rsps.get(f"{BASE}/v3/lock/detail", json=fixture(f"lock_detail_{lock_id}"))
        expect_online_reads(rsps)
        make_provider().list_locks()
        paths = [call.request.url.split("?")[0].removeprefix(f"{BASE}/v3/") for call in rsps.calls]
        # No listLock for the offline gateway 78980, no per-lock gateway call.
        assert paths == ["lock/list", "lock/detail", "lock/detail", "gateway/list", "gateway/listLock", "wifiLock/detail"]
        wifi_read = rsps.calls[-1].request
        assert wifi_read.method == "POST" and "?" not in wifi_read.url  # the token in the form, as documented [T-WL]

    def test_an_isonline_ttlock_does_not_state_plainly_leaves_its_locks_unknown(self, rsps, frozen):
        rsps.get(f"{BASE}/v3/lock/list", json={**fixture("lock_list_page1"), "list": fixture("lock_list_page1")["list"][:1], "pages": 1})
        rsps.get(f"{BASE}/v3/lock/detail", json=fixture("lock_detail_3001"))
        gateways = fixture("gateway_list")
        gateways["list"][0]["isOnline"] = "maybe"
        rsps.get(f"{BASE}/v3/gateway/list", json=gateways)
        (front,) = make_provider().list_locks()
        assert front.is_online is None and front.supports_remote_codes

    def test_a_lock_without_keypad_and_gateway_gives_every_reason(self):
        reasons = TTLockProvider._unavailable_reasons({"featureValue": "F44354CD5F2", "hasGateway": 0, "keyboardPwdVersion": 3})
        assert reasons == ["The lock has no keypad", NO_GATEWAY, OLD_PASSCODES]

    def test_a_lock_whose_details_are_refused_is_listed_as_unavailable(self, rsps, frozen):
        rsps.get(f"{BASE}/v3/lock/list", json={**fixture("lock_list_page2"), "pageNo": 1, "pages": 1})
        rsps.get(f"{BASE}/v3/lock/detail", json=errcode(-2018))
        rsps.get(f"{BASE}/v3/lock/detail", json=fixture("lock_detail_3004"))
        garage, old = make_provider().list_locks()
        assert not garage.supports_remote_codes and "administrators" in garage.unavailable_reason


def expect_online_reads(rsps):
    """gateway/list (gateway 78979 online, 78980 offline), the locks of 78979, and lock 3002's WiFi."""
    rsps.get(
        f"{BASE}/v3/gateway/list",
        json=fixture("gateway_list"),
        match=[matchers.query_param_matcher(signed(pageNo=1, pageSize=200, orderBy=0))],
    )
    rsps.get(
        f"{BASE}/v3/gateway/listLock",
        json=fixture("gateway_listLock_78979"),
        match=[matchers.query_param_matcher(signed(gatewayId=78979))],
    )
    rsps.post(
        f"{BASE}/v3/wifiLock/detail",
        json=fixture("wifiLock_detail"),  # the documented example answers isOnline as `true`
        match=[matchers.urlencoded_params_matcher(signed(lockId=3002))],
    )


def emulated_provider(cloud: TTLockCloud) -> TTLockProvider:
    provider = TTLockProvider(cloud.session(), call_guard=one_call_per_lock_in_process, http=VendorHttp("TTLock"))
    provider.http.session.mount("https://", cloud.transport())
    return provider


def online_states(cloud: TTLockCloud) -> dict[str, bool | None]:
    return {lock.vendor_lock_id: lock.is_online for lock in emulated_provider(cloud).list_locks()}


class TestOnlineState:
    """Online state from the gateways' and WiFi locks' own flags [T-GWL, T-GWLL, T-WL]."""

    @pytest.fixture
    def cloud(self):
        cloud = TTLockCloud()
        cloud.add_lock(3001, "Front door")
        cloud.add_lock(3002, "Back door", online=False)
        return cloud

    def test_a_lock_behind_an_offline_gateway_is_offline_and_stays_eligible(self, cloud):
        locks = {lock.vendor_lock_id: lock for lock in emulated_provider(cloud).list_locks()}
        assert (locks["3001"].is_online, locks["3002"].is_online) == (True, False)
        assert locks["3002"].supports_remote_codes and locks["3002"].unavailable_reason == ""

    def test_locks_sharing_a_gateway_cost_one_gateway_read(self, cloud):
        cloud.add_lock(3005, "Cellar", gateway_id=90000 + 3001)
        cloud.add_lock(3006, "Attic", gateway_id=90000 + 3001)
        assert online_states(cloud) == {"3001": True, "3002": False, "3005": True, "3006": True}
        assert len(cloud.calls_to("/v3/gateway/list")) == 1
        assert [call["gatewayId"] for call in cloud.calls_to("/v3/gateway/listLock")] == ["93001"]  # the online one only
        assert cloud.calls_to("/v3/gateway/listByLock") == []

    def test_a_lock_no_online_gateway_has_heard_is_offline(self, cloud):
        # Its gateway is online, but the relation lapsed: no gateway reported the lock for 30 minutes [T-GW].
        cloud.gateways[90000 + 3001].lock_ids.remove(3001)
        cloud.add_gateway(90000 + 3001, online=True)
        assert online_states(cloud)["3001"] is False

    def test_a_lock_reached_by_any_online_gateway_is_online(self, cloud):
        cloud.add_gateway(77777, lock_ids=[3002], online=True)  # a second gateway, online, hears the back door
        assert online_states(cloud)["3002"] is True

    def test_a_failed_gateway_list_leaves_the_state_unknown_never_offline(self, cloud):
        cloud.fail_next("gateway/list", 90000)
        locks = {lock.vendor_lock_id: lock for lock in emulated_provider(cloud).list_locks()}
        assert (locks["3001"].is_online, locks["3002"].is_online) == (None, None)
        assert locks["3001"].supports_remote_codes and locks["3002"].supports_remote_codes

    def test_a_failed_gateway_read_leaves_unreached_locks_unknown(self, cloud):
        cloud.add_lock(3005, "Cellar")
        cloud.fail_next("gateway/listLock", -3)  # the first online gateway's locks cannot be read
        states = online_states(cloud)
        assert states["3001"] is None and states["3002"] is None  # not seen online, and the picture is incomplete
        assert states["3005"] is True

    def test_a_rate_limited_gateway_read_leaves_the_state_unknown(self, cloud):
        cloud.fail_next("gateway/list", 30006)
        assert online_states(cloud) == {"3001": None, "3002": None}

    def test_a_wifi_lock_says_itself_whether_it_is_online(self, cloud):
        cloud.add_lock(3007, "Studio", has_gateway=0, feature_value=WIFI_FEATURES)
        cloud.add_lock(3008, "Loft", has_gateway=0, feature_value=WIFI_FEATURES, online=False)
        states = online_states(cloud)
        assert (states["3007"], states["3008"]) == (True, False)
        assert sorted(call["lockId"] for call in cloud.calls_to("/v3/wifiLock/detail")) == ["3007", "3008"]

    def test_a_wifi_lock_without_a_network_is_offline(self, cloud):
        cloud.add_lock(3007, "Studio", has_gateway=0, feature_value=WIFI_FEATURES)
        cloud.fail_next("wifiLock/detail", -3034)  # documented answer of a WiFi lock with no network [T-WL]
        assert online_states(cloud)["3007"] is False

    def test_a_failed_wifi_read_leaves_the_state_unknown(self, cloud):
        cloud.add_lock(3007, "Studio", has_gateway=0, feature_value=WIFI_FEATURES)
        cloud.fail_next("wifiLock/detail", 90000)
        states = online_states(cloud)
        assert states["3007"] is None and states["3001"] is True

    def test_no_gateway_read_without_a_lock_that_needs_one(self):
        cloud = TTLockCloud()
        cloud.add_lock(3003, "Garage", has_gateway=0)  # cannot take codes: nothing to read
        assert online_states(cloud) == {"3003": None}
        assert cloud.calls_to("/v3/gateway/list") == [] and cloud.calls_to("/v3/wifiLock/detail") == []

    def test_a_refused_token_on_the_gateway_read_still_asks_for_reconnection(self, cloud):
        provider = emulated_provider(cloud)
        cloud.fail_next("gateway/list", 10001)
        with pytest.raises(ProviderAuthError):
            provider.list_locks()


class TestLockClock:
    def test_a_ttlock_lock_reads_windows_at_its_own_fixed_offset(self):
        """What a stay across a clock change tells the host (locks.clocks; the offset tests are there)."""
        assert TTLockProvider.capabilities.fixed_offset_clock is True


# --- one call per lock ---------------------------------------------------------------------------

def _max_concurrency(guard, lock_ids, per_thread_calls=3) -> int:
    inside, peak, mutex = [0], [0], threading.Lock()

    def work(lock_id):
        for _ in range(per_thread_calls):
            with guard(lock_id):
                with mutex:
                    inside[0] += 1
                    peak[0] = max(peak[0], inside[0])
                time.sleep(0.01)
                with mutex:
                    inside[0] -= 1
        connection.close()

    threads = [threading.Thread(target=work, args=(lock_id,)) for lock_id in lock_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return peak[0]


class TestOneCallPerLock:
    def test_threads_take_turns_on_one_lock(self):
        assert _max_concurrency(one_call_per_lock_in_process, ["3001"] * 4) == 1

    def test_different_locks_do_not_wait_for_each_other(self):
        assert _max_concurrency(one_call_per_lock_in_process, ["3001", "3002", "3003", "3004"]) > 1

    def test_gateway_calls_are_guarded_and_cloud_reads_are_not(self, rsps, frozen):
        guarded = []

        class Recording:
            def __init__(self, lock_id):
                guarded.append(lock_id)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

        provider = TTLockProvider(AccountSession(account_id=7, credentials=credentials()), call_guard=Recording)
        expect_add(rsps, fixture("keyboardPwd_add"))
        rsps.post(f"{BASE}/v3/keyboardPwd/change", json=fixture("ok"))
        rsps.post(f"{BASE}/v3/keyboardPwd/delete", json=fixture("ok"))
        rsps.get(f"{BASE}/v3/lock/listKeyboardPwd", json={**fixture("listKeyboardPwd_page2"), "pageNo": 1, "pages": 1})
        provider.create_code("3001", spec())
        provider.update_code("3001", "24242", spec())
        provider.delete_code("3001", "24242")
        provider.find_code("3001", "nw-101")
        assert guarded == ["3001", "3001", "3001"]

    def test_without_postgresql_the_default_guard_is_the_process_lock(self, db):
        if connection.vendor == "postgresql":
            pytest.skip("the PostgreSQL path is tested below")
        assert _max_concurrency(one_call_per_lock, ["3001"] * 3) == 1

    @pytest.mark.postgres
    def test_on_postgresql_an_advisory_lock_excludes_other_connections(self, transactional_db):
        if connection.vendor != "postgresql":
            pytest.skip("needs PostgreSQL (DATABASE_URL)")

        def advisory_locks_held() -> int:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
                return cursor.fetchone()[0]

        # The services hand their advisory lock down to the session (locks.services.serialise).
        across_workers = partial(one_call_per_lock, serialise=pytest.importorskip("locks.services.serialise").one_at_a_time)
        with across_workers("3001"):
            assert advisory_locks_held() == 1
            assert not connection.in_atomic_block
        assert advisory_locks_held() == 0
        # Each thread has its own connection, as each worker process does.
        assert _max_concurrency(across_workers, ["3001"] * 4) == 1
        assert _max_concurrency(across_workers, ["3001", "3002", "3003"]) > 1


# --- secrets never leak -------------------------------------------------------------------------

class TestSecrets:
    def test_no_token_password_or_pin_in_the_logs(self, rsps, frozen, caplog):
        caplog.set_level(logging.DEBUG)
        rsps.post(f"{BASE}/oauth2/token", json=fixture("token"))
        TTLockProvider.sign_in(USERNAME, APP_PASSWORD)
        provider = make_provider()
        expect_add(rsps, errcode(10004))
        expect_refresh(rsps)
        expect_add(rsps, fixture("keyboardPwd_add"), access=NEW_ACCESS)
        provider.create_code("3001", spec())
        rsps.get(f"{BASE}/v3/lock/list", json={"list": [], "pageNo": 1, "pageSize": 100, "pages": 1, "total": 0})
        provider.list_locks()
        assert "TTLock GET https://euapi.ttlock.com/v3/lock/list -> 200" in caplog.text
        for secret in (ACCESS, REFRESH, NEW_ACCESS, APP_PASSWORD_MD5, PIN, CLIENT_SECRET):
            assert secret not in caplog.text

    def test_urllib3_request_lines_have_the_access_token_masked(self, caplog):
        caplog.set_level(logging.DEBUG)
        logging.getLogger("urllib3.connectionpool").debug(
            '%s://%s:%s "%s %s %s" %s %s', "https", "euapi.ttlock.com", 443, "GET",
            f"/v3/lock/list?clientId={CLIENT_ID}&accessToken={ACCESS}&pageNo=1&date={NOW_MS}", "HTTP/1.1", 200, 512,
        )
        assert "accessToken=[redacted]" in caplog.text and ACCESS not in caplog.text


# --- the connect flow -------------------------------------------------------------------------------

@pytest.fixture
def ttlock_registered(monkeypatch):
    monkeypatch.setitem(registry.PROVIDER_CLASSES, "ttlock", TTLockProvider)


@pytest.fixture
def cloud(ttlock_registered):
    with freeze_time(NOW):
        cloud = TTLockCloud()
        cloud.add_user(USERNAME, "correct horse battery")
        cloud.add_lock(3001, "Front door")
        cloud.add_lock(3002, "Back door", online=False)
        cloud.add_lock(3003, "Garage", has_gateway=0)
        with cloud:
            yield cloud


def raw_credentials(account) -> str:
    table = connection.ops.quote_name(ProviderAccount._meta.db_table)
    column = connection.ops.quote_name(ProviderAccount._meta.get_field("credentials").column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [account.pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db
class TestConnectPage:
    url = "/locks/connect/ttlock/"

    def test_the_url_is_named(self):
        assert reverse("locks:ttlock_connect") == self.url

    def test_anonymous_visitors_are_sent_to_log_in(self, client):
        response = client.get(self.url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))

    def test_the_page_shows_the_form(self, client, host):
        client.force_login(host)
        content = client.get(self.url, follow=True).content.decode()  # the form lives in the TTLock panel
        assert 'name="username"' in content and 'type="password"' in content and "csrfmiddlewaretoken" in content

    def test_connecting_stores_tokens_only_reads_the_locks_and_goes_home(self, client, host, cloud):
        client.force_login(host)
        response = client.post(self.url, {"username": USERNAME, "password": "correct horse battery"})
        assert response.status_code == 302 and response["Location"] == reverse("integrations:panel", args=["ttlock"])
        assert [str(m) for m in get_messages(response.wsgi_request)] == [f"Your TTLock account “{USERNAME}” is connected."]
        account = ProviderAccount.objects.get(host=host, provider="ttlock")
        assert account.display_name == USERNAME and account.status == AccountStatus.CONNECTED
        assert set(account.credentials) == {"access_token", "refresh_token", "username"}
        assert account.token_expires_at > datetime.now(UTC) + timedelta(days=1)  # the expiry is the column, not a key
        stored = json.dumps(account.credentials)
        assert "correct horse battery" not in stored and hashlib.md5(b"correct horse battery").hexdigest() not in stored
        raw = raw_credentials(account)
        assert account.credentials["access_token"] not in raw and account.credentials["refresh_token"] not in raw
        assert "correct horse battery" not in raw
        locks = {lock.vendor_lock_id: lock for lock in Lock.objects.filter(account=account)}
        assert set(locks) == {"3001", "3002", "3003"}
        assert locks["3001"].supports_remote_codes and locks["3001"].vendor_utc_offset_minutes == 60
        assert not locks["3003"].supports_remote_codes and locks["3003"].unavailable_reason == NO_GATEWAY

    def test_a_wrong_password_keeps_the_username_and_never_renders_the_password(self, client, host, cloud):
        client.force_login(host)
        response = client.post(self.url, {"username": USERNAME, "password": "wrong-password-42"})
        content = response.content.decode()
        assert response.status_code == 400
        assert "did not accept this username and password" in content
        assert f'value="{USERNAME}"' in content
        assert "wrong-password-42" not in content
        assert not ProviderAccount.objects.filter(host=host).exists()

    def test_an_unreachable_ttlock_says_so(self, client, host, rsps):
        rsps.post(f"{BASE}/oauth2/token", body=requests.ConnectionError("refused"))
        client.force_login(host)
        response = client.post(self.url, {"username": USERNAME, "password": "whatever-123"})
        content = response.content.decode()
        assert response.status_code == 400 and "TTLock could not be reached" in content
        assert "whatever-123" not in content and not ProviderAccount.objects.exists()

    def test_posting_without_the_csrf_token_is_refused(self, host):
        client = Client(enforce_csrf_checks=True)
        client.force_login(host)
        response = client.post(self.url, {"username": USERNAME, "password": "x"})
        assert response.status_code == 403


@pytest.mark.django_db
class TestConnectService:
    @pytest.mark.parametrize(
        "answer, reason",
        [
            ({"json": errcode(10007)}, "TTLock did not accept this username and password."),
            ({"json": errcode(30008)}, "registered with TTLock's mainland-China service"),
            ({"json": errcode(10001)}, "TTLock refused Nowistay's application."),
            ({"body": "{garbage"}, "TTLock sent an answer Nowistay could not read."),
            ({"body": requests.ConnectTimeout("down")}, "TTLock could not be reached."),
            ({"status": 503, "body": "maintenance"}, "TTLock could not be reached."),
        ],
        ids=["credentials", "region", "application", "malformed", "unreachable", "down"],
    )
    def test_each_failure_has_its_own_plain_message(self, rsps, host, answer, reason):
        rsps.post(f"{BASE}/oauth2/token", **answer)
        with pytest.raises(ConnectError) as caught:
            ttlock_connect(host=host, username=USERNAME, password="secret-password-9")
        assert reason in caught.value.message
        assert "secret-password-9" not in caught.value.message and caught.value.message
        assert not ProviderAccount.objects.exists()

    def test_reconnecting_replaces_the_tokens_and_resumes(self, host, cloud):
        first = ttlock_connect(host=host, username=USERNAME, password="correct horse battery")
        ProviderAccount.objects.filter(pk=first.pk).update(status=AccountStatus.NEEDS_RECONNECT)
        again = ttlock_connect(host=host, username=USERNAME, password="correct horse battery")
        again.refresh_from_db()
        assert again.pk == first.pk and again.status == AccountStatus.CONNECTED
        assert again.credentials["access_token"] != first.credentials["access_token"]


# --- the lifecycle engine drives TTLock end to end --------------------------------------------------

@pytest.fixture
def ttlock_property(host, make_property, cloud):
    """A Paris property whose assigned lock is TTLock lock 3001 in the emulator."""
    account = ProviderAccount.objects.create(
        host=host, provider="ttlock", display_name=USERNAME, credentials=cloud.issue_token(USERNAME),
    )
    lock = Lock.objects.create(account=account, vendor_lock_id="3001", name="Front door", supports_remote_codes=True)
    prop = make_property(time_zone="Europe/Paris")
    LockAssignment.objects.create(property=prop, lock=lock)
    return prop


@pytest.mark.django_db
class TestLifecycleEndToEnd:
    def test_booking_gets_its_code_with_the_exact_window_and_cancelling_deletes_it(self, ttlock_property, book, cloud):
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(ttlock_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            assert tick().actions["created"] == 1
            code = AccessCode.objects.get(booking=booking)
            assert code.state == CodeState.ACTIVE
            (on_lock,) = cloud.passcodes_on(3001)
            # 15:00 CEST minus 30 minutes, 11:00 CEST plus 30 minutes, in ms.
            assert (on_lock["startDate"], on_lock["endDate"]) == (1780403400000, 1780651800000)
            assert (on_lock["startDate"], on_lock["endDate"]) == (to_ms(code.starts_at), to_ms(code.ends_at))
            assert on_lock["keyboardPwd"] == code.pin and on_lock["keyboardPwdName"] == code.vendor_name
            assert code.vendor_code_id == str(on_lock["keyboardPwdId"])
            (add,) = cloud.calls_to("/v3/keyboardPwd/add")
            assert (add["addType"], add["keyboardPwdType"], add["date"]) == ("2", "3", "1780272000000")
            vendor_code_id = code.vendor_code_id

            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.REVOKED and cloud.passcodes_on(3001) == []
        (delete,) = cloud.calls_to("/v3/keyboardPwd/delete")
        assert (delete["deleteType"], delete["keyboardPwdId"], delete["lockId"]) == ("2", vendor_code_id, "3001")

    def test_a_lost_create_answer_is_found_by_name_instead_of_creating_twice(self, ttlock_property, book, cloud, settings):
        cloud.lose_response_next("keyboardPwd/add")
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(ttlock_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            code = AccessCode.objects.get(booking=booking)
            assert code.state == CodeState.CREATING and code.create_outcome_unknown
            assert len(cloud.passcodes_on(3001)) == 1  # TTLock acted; the answer was lost
            frozen.move_to(code.next_attempt_at)
            tick()
        code.refresh_from_db()
        (on_lock,) = cloud.passcodes_on(3001)
        assert code.state == CodeState.ACTIVE and code.vendor_code_id == str(on_lock["keyboardPwdId"])
        assert len(cloud.calls_to("/v3/keyboardPwd/add")) == 1 and len(cloud.calls_to("/v3/lock/listKeyboardPwd")) == 1

    def test_token_expiry_mid_run_refreshes_and_stores_the_new_tokens(self, ttlock_property, book, cloud):
        account = ProviderAccount.objects.get(provider="ttlock")
        old_access = account.credentials["access_token"]
        cloud.expire_access_tokens()
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(ttlock_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        account.refresh_from_db()
        assert AccessCode.objects.get(booking=booking).state == CodeState.ACTIVE
        assert account.credentials["access_token"] != old_access
        assert account.credentials["access_token"] in cloud.access_tokens
        assert account.token_expires_at is not None
        assert len(cloud.calls_to("/oauth2/token")) == 1

    def test_a_refused_refresh_marks_the_account_for_reconnection(self, ttlock_property, book, cloud):
        cloud.expire_access_tokens()
        cloud.revoke_refresh_tokens()
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(ttlock_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        account = ProviderAccount.objects.get(provider="ttlock")
        assert account.status == AccountStatus.NEEDS_RECONNECT
        assert AccessCode.objects.get(booking=booking).last_error_kind == "auth"

    def test_an_offline_gateway_is_retried_and_nothing_secret_reaches_the_audit_rows(self, host, make_property, book, cloud):
        account = ProviderAccount.objects.create(host=host, provider="ttlock", credentials=cloud.issue_token(USERNAME))
        lock = Lock.objects.create(account=account, vendor_lock_id="3002", name="Back door", supports_remote_codes=True)
        prop = make_property(time_zone="Europe/Paris")
        LockAssignment.objects.create(property=prop, lock=lock)
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = AccessCode.objects.get(booking=booking)
        assert code.state == CodeState.CREATING and code.last_error_kind == "lock_offline"
        rows = list(VendorCall.objects.values())
        assert rows and any(row["error_kind"] == "lock_offline" for row in rows)
        dumped = json.dumps(rows, default=str)
        for secret in (account.credentials["access_token"], account.credentials["refresh_token"], code.pin):
            assert secret not in dumped


# --- the dashboard: an offline TTLock lock reads like an offline Tedee or Nuki lock -----------------

def _refreshed_lock_list(client, provider: str) -> str:
    response = client.post(reverse("integrations:refresh_locks", args=[provider]), follow=True)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_an_offline_ttlock_lock_shows_offline_now_like_tedee_and_nuki(client, host, monkeypatch):
    import re

    from locks.providers.nuki import NukiProvider
    from locks.providers.tedee import TedeeProvider

    for slug, cls in [("ttlock", TTLockProvider), ("tedee", TedeeProvider), ("nuki", NukiProvider)]:
        monkeypatch.setitem(registry.PROVIDER_CLASSES, slug, cls)
    client.force_login(host)

    ttlock = TTLockCloud()
    ttlock.add_lock(3001, "Front door")
    ttlock.add_lock(3002, "Back door", online=False)  # its gateway is offline
    tedee = TedeeCloud()
    tedee.add_lock(41001, "Front door")
    tedee.add_lock(41002, "Back door", connected=False)
    nuki = NukiCloud()
    nuki.add_lock(17_000_001, "Front door")
    nuki.add_lock(17_000_002, "Back door", server_state=4)

    pages = {}
    for provider, cloud, credentials in [
        ("ttlock", ttlock, lambda: ttlock.issue_token(USERNAME)),
        ("tedee", tedee, tedee.credentials),
        ("nuki", nuki, api_token_credentials),
    ]:
        ProviderAccount.objects.create(host=host, provider=provider, display_name=f"Ada on {provider}", credentials=credentials())
        with cloud:
            pages[provider] = _refreshed_lock_list(client, provider)

    for provider, content in pages.items():
        assert "Locks refreshed: 2 found, 2 can take guest codes." in content, provider
        assert re.search(r"<li>Front door:\s*available, online", content), provider
        assert re.search(r"<li>Back door:\s*available, offline now", content), provider
    states = {(lock.account.provider, lock.name): lock.is_online for lock in Lock.objects.select_related("account")}
    assert states == {
        (provider, name): online for provider in pages for name, online in (("Front door", True), ("Back door", False))
    }
