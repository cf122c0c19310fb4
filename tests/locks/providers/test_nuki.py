"""The Nuki adapter on the Nuki Web API's wire format, its connect flows, and the lifecycle over HTTP.

Exact requests are asserted with `responses` matchers (URL, method, Bearer header, JSON body, query,
token form); stateful scenarios (lost answers, bridge delays, token expiry, the lifecycle) run on
the emulator in tests/vendors/nuki.py. Nothing leaves the process.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
from django.urls import reverse
from django.utils.html import escape
from freezegun import freeze_time
from responses import matchers

from bookings.models import BookingStatus
from locks import services
from locks.connect.oauth import STATE_LIFETIME_SECONDS
from locks.models import AccessCode, AccountStatus, CodeState, Lock, ProviderAccount, VendorCall
from locks.providers import nuki, registry
from locks.providers.base import AccountSession, CodeSpec, IssuedCode
from locks.providers.exceptions import (
    CodeNotFound,
    CodePending,
    CodeRejected,
    LockNotFound,
    LockOffline,
    OperationNotSupported,
    OutcomeUnknown,
    PermanentProviderError,
    PinTaken,
    ProviderAuthError,
    RateLimited,
    VendorUnavailable,
)
from locks.providers.http import VendorHttp
from locks.providers.nuki import NukiProvider
from tests.helpers.lifecycle import tick
from tests.vendors.nuki import (
    API_TOKEN,
    BACK_DOOR_OFFLINE,
    BIG_ID,
    CELLAR_NO_KEYPAD,
    CLIENT_ID,
    CLIENT_SECRET,
    FRONT_DOOR,
    LOCK,
    REDIRECT_URI,
    NukiCloud,
    api_token_credentials,
    fixture,
    nuki_provider,
)

STARTS, ENDS = datetime(2026, 6, 2, 13, 0, tzinfo=UTC), datetime(2026, 6, 4, 10, 0, tzinfo=UTC)
LATER_STARTS, LATER_ENDS = datetime(2026, 6, 3, 13, 0, tzinfo=UTC), datetime(2026, 6, 6, 10, 0, tzinfo=UTC)
PIN = "582947"
AUTH_ID = fixture("auth_keypad_code.json")["id"]
BEARER = {"Authorization": f"Bearer {API_TOKEN}", "Accept": "application/json"}
NUKI_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")  # "YYYY-MM-DDTHH:MM:SSZ" [N-ROOM]
CREATE_BODY = {
    "name": "nw-101",
    "type": 13,
    "code": 582947,
    "allowedFromDate": "2026-06-02T13:00:00Z",
    "allowedUntilDate": "2026-06-04T10:00:00Z",
    "allowedWeekDays": 127,
    "allowedFromTime": 0,
    "allowedUntilTime": 0,
    "remoteAllowed": False,
}
OAUTH_TOKEN = fixture("token.json")
pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")  # whitenoise without collectstatic
REFRESHED = fixture("token_refreshed.json")


def url(path: str) -> str:
    return nuki.api_url(path)


def lock_json(**config) -> dict:
    data = fixture("smartlocks.json")[0]
    state = config.pop("serverState", None)
    if state is not None:
        data["serverState"] = state
    data["config"].update(config)
    return data


def auth_json(**changes) -> dict:
    return fixture("auth_keypad_code.json") | changes


def spec(name: str = "nw-101", pin: str | None = PIN, starts=STARTS, ends=ENDS) -> CodeSpec:
    return CodeSpec(name=name, pin=pin, starts_at=starts, ends_at=ends, time_zone="Europe/Paris")


def provider(
    credentials: dict | None = None, saved: list | None = None, *, expires_in: float | None = None
) -> tuple[NukiProvider, list[float]]:
    """An adapter on its own session (reached by the global `responses` patch) that records its waits;
    its token lapses in `expires_in` seconds (None: unknown, or an API token that does not lapse)."""
    sleeps: list[float] = []

    def save(credentials, expires_at):
        if saved is not None:
            saved.append((credentials, expires_at))

    expires_at = None if expires_in is None else datetime.now(UTC) + timedelta(seconds=expires_in)
    session = AccountSession(
        account_id=1, credentials=credentials or api_token_credentials(), expires_at=expires_at, save_credentials=save
    )
    return NukiProvider(session, http=VendorHttp("Nuki"), sleep=sleeps.append), sleeps


def preflight(rsps, lock: dict | None = None, headers: dict = BEARER) -> None:
    rsps.get(url(f"smartlock/{LOCK}"), json=lock or lock_json(), match=[matchers.header_matcher(headers)])


def auth_list(rsps, auths: list[dict], headers: dict = BEARER) -> None:
    rsps.get(
        url(f"smartlock/{LOCK}/auth"),
        json=auths,
        match=[matchers.query_param_matcher({"types": "13"}), matchers.header_matcher(headers)],
    )


EPOCH = datetime.fromtimestamp(0, UTC)  # a token expiry long past


def oauth_credentials() -> dict:
    return {"auth": nuki.OAUTH, "access_token": OAUTH_TOKEN["access_token"], "refresh_token": OAUTH_TOKEN["refresh_token"]}


@pytest.fixture
def nuki_settings(settings):
    settings.NUKI_CLIENT_ID, settings.NUKI_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    return settings


# --- locks ---------------------------------------------------------------------------------------------

class TestLocks:
    def test_locks_say_whether_a_keypad_is_paired_and_show_online_state_without_making_it_a_reason(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            rsps.get(url("smartlock"), json=fixture("smartlocks.json"), match=[matchers.header_matcher(BEARER)])
            locks = {lock.vendor_lock_id: lock for lock in adapter.list_locks()}

        assert list(locks) == ["18205286116", BIG_ID, "18205284340", "17899112233"]
        front, gate, back, cellar = locks.values()
        assert front.supports_remote_codes and front.is_online is True and front.name == "Front door"
        assert gate.supports_remote_codes  # a Keypad 2 counts as much as a Keypad
        assert back.supports_remote_codes and back.is_online is False and back.unavailable_reason == ""
        assert not cellar.supports_remote_codes and cellar.unavailable_reason == nuki.NO_KEYPAD
        # `config.timezoneId` 37 is Europe/Berlin in Nuki's table [N-TZID]: the same clock as Paris all year.
        assert all(lock.time_zone == "Europe/Berlin" for lock in locks.values())
        assert all(lock.utc_offset_minutes is None for lock in locks.values())  # the deprecated timezoneOffset is not read

    @pytest.mark.parametrize(
        "config, zone",
        [({"timezoneId": 12}, "America/New_York"), ({"timezoneId": 0}, "Africa/Cairo"), ({"timezoneId": 23}, "Asia/Kathmandu"),
         ({"timezoneId": 65535}, ""), ({"timezoneId": 46}, ""), ({"timezoneId": "37"}, ""), ({"timezoneId": True}, ""),
         ({"timezoneId": None}, ""), ({}, "")],
    )
    def test_the_lock_zone_is_read_from_nukis_time_zone_ids(self, config, zone):
        """The recorded lock with its `timezoneId` changed: 65535 is Nuki's "none", other values are not in its table."""
        device = fixture("smartlocks.json")[0]
        device["config"].pop("timezoneId")
        device["config"].update(config)
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            rsps.get(url("smartlock"), json=[device])
            (lock,) = adapter.list_locks()
        assert lock.time_zone == zone

    def test_every_zone_of_nukis_table_is_known_here(self):
        from locks.providers.nuki.locks import NUKI_TIME_ZONES
        from locks.windows import is_valid_time_zone

        assert sorted(NUKI_TIME_ZONES) == list(range(46))
        assert all(is_valid_time_zone(name) for name in NUKI_TIME_ZONES.values())

    def test_smart_lock_ids_beyond_32_and_53_bits_are_kept_exactly_as_text(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            rsps.get(url("smartlock"), body=(fixture_text := json.dumps(fixture("smartlocks.json"))))
            ids = [lock.vendor_lock_id for lock in adapter.list_locks()]
        assert f'"smartlockId": {BIG_ID}' in fixture_text
        assert ids[1] == BIG_ID and int(ids[1]) > 2**53 and float(ids[1]) != int(ids[1])

    def test_a_lock_id_sent_as_a_float_is_refused_as_malformed(self):
        adapter, _ = provider()
        devices = fixture("smartlocks.json")
        devices[0]["smartlockId"] = 18205286116.0
        with responses.RequestsMock() as rsps:
            rsps.get(url("smartlock"), json=devices)
            with pytest.raises(VendorUnavailable) as caught:
                adapter.list_locks()
        assert caught.value.vendor_code == nuki.MALFORMED

    def test_a_lock_list_that_is_not_json_is_a_malformed_answer(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            rsps.get(url("smartlock"), body="<html>maintenance</html>")
            with pytest.raises(VendorUnavailable) as caught:
                adapter.list_locks()
        assert caught.value.vendor_code == nuki.MALFORMED

    def test_codes_go_to_big_lock_ids_in_the_url_unchanged(self):
        cloud = NukiCloud()
        cloud.add_lock(int(BIG_ID), "Garden gate", keypad=False, keypad2=True)
        adapter = nuki_provider(cloud)
        issued = adapter.create_code(BIG_ID, spec())
        assert issued.vendor_code_id == cloud.auths_on(BIG_ID)[0]["id"]
        assert ("PUT", "auths") in cloud.calls


# --- creating a code -------------------------------------------------------------------------------------

class TestCreate:
    def test_create_sends_the_documented_body_then_learns_the_id_by_listing(self):
        adapter, sleeps = provider()
        listed = [fixture("auths.json")[0], fixture("auths.json")[1], auth_json()]
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.put(
                url(f"smartlock/{LOCK}/auth"),
                status=204,
                match=[matchers.json_params_matcher(CREATE_BODY), matchers.header_matcher(BEARER)],
            )
            auth_list(rsps, listed)
            issued = adapter.create_code(LOCK, spec())
            sent = json.loads(rsps.calls[1].request.body)

        assert issued == IssuedCode(vendor_code_id=AUTH_ID, pin=PIN, starts_at=STARTS, ends_at=ENDS, name="nw-101")
        assert type(sent["code"]) is int and sent["type"] == 13 and sent["remoteAllowed"] is False
        assert len(sent["name"]) <= 20 and NUKI_DATE.match(sent["allowedFromDate"]) and NUKI_DATE.match(sent["allowedUntilDate"])
        assert "accountUserId" not in sent  # only for types other than 13
        assert sleeps == [1.0]  # one read was enough

    def test_local_datetimes_are_sent_as_utc(self):
        paris = ZoneInfo("Europe/Paris")
        adapter, _ = provider()
        local = spec(starts=datetime(2026, 6, 2, 15, 0, tzinfo=paris), ends=datetime(2026, 6, 4, 12, 0, tzinfo=paris))
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.put(url(f"smartlock/{LOCK}/auth"), status=204, match=[matchers.json_params_matcher(CREATE_BODY)])
            auth_list(rsps, [auth_json()])
            issued = adapter.create_code(LOCK, local)
        assert (issued.starts_at, issued.ends_at) == (STARTS, ENDS)

    @pytest.mark.parametrize("pin", ["123456", "120000", "012345", "582940", "58294", "5829471", "58a947", "５８２９４７"])
    def test_a_pin_nuki_would_refuse_is_rejected_before_any_request(self, pin):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            with pytest.raises(CodeRejected) as caught:
                adapter.create_code(LOCK, spec(pin=pin))
            with pytest.raises(CodeRejected):
                adapter.update_code(LOCK, AUTH_ID, spec(pin=pin))
            assert len(rsps.calls) == 0
        assert pin not in caught.value.message

    def test_a_name_longer_than_20_characters_is_refused_before_any_request(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            with pytest.raises(PermanentProviderError, match="20"):
                adapter.create_code(LOCK, spec(name="nw-" + "9" * 18))
            assert len(rsps.calls) == 0

    @pytest.mark.parametrize("status, body", [(409, "error_code_exists.json"), (400, "error_code_exists.json")])
    def test_a_code_already_on_the_lock_is_rejected(self, status, body):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.put(url(f"smartlock/{LOCK}/auth"), status=status, json=fixture(body))
            with pytest.raises(CodeRejected) as caught:
                adapter.create_code(LOCK, spec())
        assert PIN not in caught.value.message and "exists" not in caught.value.message
        assert pickle.loads(pickle.dumps(caught.value)).message == caught.value.message

    def test_a_lock_without_keypad_refuses_type_13_as_not_supported(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.put(url(f"smartlock/{LOCK}/auth"), status=400, json=fixture("error_type_invalid.json"))
            with pytest.raises(OperationNotSupported):
                adapter.create_code(LOCK, spec())

    def test_a_lock_known_to_have_no_keypad_is_not_sent_a_code(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps, lock_json(keypadPaired=False, keypad2Paired=False))
            with pytest.raises(OperationNotSupported, match="Keypad"):
                adapter.create_code(LOCK, spec())

    def test_an_offline_bridge_is_lock_offline_and_nothing_is_queued(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps, lock_json(serverState=4))
            with pytest.raises(LockOffline, match="offline"):
                adapter.create_code(LOCK, spec())
            assert [call.request.method for call in rsps.calls] == ["GET"]

    def test_a_create_the_bridge_could_not_apply_is_a_failure_and_its_orphan_is_removed(self):
        adapter, _ = provider()
        failed = auth_json(error="Smart Lock is offline")
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.put(url(f"smartlock/{LOCK}/auth"), status=204)
            auth_list(rsps, [failed])
            rsps.delete(url(f"smartlock/{LOCK}/auth/{AUTH_ID}"), status=204, match=[matchers.header_matcher(BEARER)])
            with pytest.raises(LockOffline) as caught:
                adapter.create_code(LOCK, spec())
        assert "Smart Lock is offline" not in caught.value.message  # Nuki's words are classified, not repeated

    def test_a_create_refused_by_the_lock_for_its_code_is_code_rejected(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.put(url(f"smartlock/{LOCK}/auth"), status=204)
            auth_list(rsps, [auth_json(error="keypad code already exists")])
            rsps.delete(url(f"smartlock/{LOCK}/auth/{AUTH_ID}"), status=204)
            with pytest.raises(CodeRejected):
                adapter.create_code(LOCK, spec())

    def test_a_pending_create_is_read_again_until_the_bridge_applied_it(self):
        adapter, sleeps = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.put(url(f"smartlock/{LOCK}/auth"), status=204)
            auth_list(rsps, [])  # not listed yet
            auth_list(rsps, [auth_json(operationId="6657a1f0c3d2e40017a9b899")])
            auth_list(rsps, [auth_json()])
            issued = adapter.create_code(LOCK, spec())
        assert issued.vendor_code_id == AUTH_ID and sleeps == [1.0, 2.0, 4.0]

    def test_a_create_still_pending_after_the_bounded_reads_is_pending_not_a_failure(self):
        adapter, sleeps = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.put(url(f"smartlock/{LOCK}/auth"), status=204)
            auth_list(rsps, [auth_json(operationId="6657a1f0c3d2e40017a9b899")])
            with pytest.raises(CodePending):
                adapter.create_code(LOCK, spec())
            lists = [call for call in rsps.calls if call.request.method == "GET" and "/auth" in call.request.url]
        assert len(lists) == len(nuki.READBACK_DELAYS) == 3 and sum(sleeps) == 7.0

    def test_a_code_stored_without_its_window_is_removed_rather_than_left_open_forever(self):
        adapter, _ = provider()
        windowless = auth_json()
        del windowless["allowedFromDate"], windowless["allowedUntilDate"]
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.put(url(f"smartlock/{LOCK}/auth"), status=204)
            auth_list(rsps, [windowless])
            rsps.delete(url(f"smartlock/{LOCK}/auth/{AUTH_ID}"), status=204)
            with pytest.raises(VendorUnavailable, match="validity window"):
                adapter.create_code(LOCK, spec())

    def test_a_lost_answer_is_an_unknown_outcome_and_find_code_then_finds_the_code(self):
        cloud = NukiCloud()
        cloud.add_lock(FRONT_DOOR, "Front door")
        adapter = nuki_provider(cloud)
        cloud.lose_next("PUT", "auths")
        with pytest.raises(OutcomeUnknown):
            adapter.create_code(LOCK, spec())
        (on_lock,) = cloud.auths_on(FRONT_DOOR)
        found = adapter.find_code(LOCK, "nw-101")
        assert found.vendor_code_id == on_lock["id"] and found.pin == PIN
        assert cloud.calls.count(("PUT", "auths")) == 1


# --- updating, deleting, finding ------------------------------------------------------------------------

class TestUpdateDeleteFind:
    UPDATE_BODY = {
        "name": "nw-101",
        "allowedFromDate": "2026-06-03T13:00:00Z",
        "allowedUntilDate": "2026-06-06T10:00:00Z",
        "allowedWeekDays": 127,
        "allowedFromTime": 0,
        "allowedUntilTime": 0,
        "enabled": True,
        "remoteAllowed": False,
        "code": 582947,
    }

    def test_update_posts_the_whole_authorization_including_its_name(self):
        adapter, _ = provider()
        moved = auth_json(allowedFromDate="2026-06-03T13:00:00.000Z", allowedUntilDate="2026-06-06T10:00:00.000Z")
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.post(
                url(f"smartlock/{LOCK}/auth/{AUTH_ID}"),
                status=204,
                match=[matchers.json_params_matcher(self.UPDATE_BODY), matchers.header_matcher(BEARER)],
            )
            auth_list(rsps, [auth_json(operationId="aa"), moved])  # pending under the same id, then applied
            auth_list(rsps, [moved])
            issued = adapter.update_code(LOCK, AUTH_ID, spec(starts=LATER_STARTS, ends=LATER_ENDS))
        assert issued == IssuedCode(AUTH_ID, PIN, LATER_STARTS, LATER_ENDS, name="nw-101")

    def test_updating_a_code_that_vanished_is_code_not_found(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.post(url(f"smartlock/{LOCK}/auth/{AUTH_ID}"), status=404)
            with pytest.raises(CodeNotFound):
                adapter.update_code(LOCK, AUTH_ID, spec())

    def test_an_update_the_bridge_could_not_apply_is_a_failure(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.post(url(f"smartlock/{LOCK}/auth/{AUTH_ID}"), status=204)
            auth_list(rsps, [auth_json(error="Timeout")])
            with pytest.raises(LockOffline):
                adapter.update_code(LOCK, AUTH_ID, spec(starts=LATER_STARTS, ends=LATER_ENDS))

    def test_an_authorization_busy_with_another_operation_is_retried_later(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.post(url(f"smartlock/{LOCK}/auth/{AUTH_ID}"), status=423, json=fixture("error_locked.json"))
            with pytest.raises(VendorUnavailable, match="busy"):
                adapter.update_code(LOCK, AUTH_ID, spec())

    def test_delete_sends_delete_and_reads_back_that_the_code_is_gone(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.delete(url(f"smartlock/{LOCK}/auth/{AUTH_ID}"), status=204, match=[matchers.header_matcher(BEARER)])
            auth_list(rsps, [auth_json(operationId="aa")])
            auth_list(rsps, fixture("auths.json"))
            assert adapter.delete_code(LOCK, AUTH_ID) is None

    def test_deleting_a_code_that_is_already_gone_succeeds(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.delete(url(f"smartlock/{LOCK}/auth/{AUTH_ID}"), status=404)
            adapter.delete_code(LOCK, AUTH_ID)
            assert len(rsps.calls) == 2  # no read-back needed

    def test_a_delete_the_bridge_could_not_apply_is_a_failure(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.delete(url(f"smartlock/{LOCK}/auth/{AUTH_ID}"), status=204)
            auth_list(rsps, [auth_json(error="Smart Lock is offline")])
            with pytest.raises(LockOffline, match="remove"):
                adapter.delete_code(LOCK, AUTH_ID)

    def test_a_delete_still_pending_after_the_reads_is_an_unknown_outcome(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.delete(url(f"smartlock/{LOCK}/auth/{AUTH_ID}"), status=204)
            auth_list(rsps, [auth_json(operationId="aa")])
            with pytest.raises(OutcomeUnknown):
                adapter.delete_code(LOCK, AUTH_ID)

    def test_find_code_matches_the_exact_name_among_keypad_codes_only(self):
        adapter, _ = provider()
        listed = fixture("auths.json") + [auth_json(name="nw-1010", id="aa"), auth_json()]
        with responses.RequestsMock() as rsps:
            for _ in range(3):
                preflight(rsps)
                auth_list(rsps, listed)
            assert adapter.find_code(LOCK, "nw-101").vendor_code_id == AUTH_ID
            assert adapter.find_code(LOCK, "nw-10") is None
            assert adapter.find_code(LOCK, "Ada Host") is None  # an app user, not a keypad code

    def test_find_code_clears_a_same_named_code_that_never_reached_the_lock(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            auth_list(rsps, [auth_json(error="Smart Lock is offline")])
            rsps.delete(url(f"smartlock/{LOCK}/auth/{AUTH_ID}"), status=204)
            assert adapter.find_code(LOCK, "nw-101") is None


# --- errors ------------------------------------------------------------------------------------------------

class TestErrors:
    @pytest.mark.parametrize(
        "status, body, headers, expected",
        [
            (400, {"detailMessage": "The supplied value 'x' for parameter 'allowedFromDate' is not valid."}, {}, PermanentProviderError),
            (402, None, {}, OperationNotSupported),
            (403, None, {}, LockNotFound),
            (404, None, {}, LockNotFound),
            (409, "error_code_exists.json", {}, PinTaken),
            (422, None, {}, PermanentProviderError),
            (423, "error_locked.json", {}, VendorUnavailable),
            (426, None, {}, OperationNotSupported),
            (429, None, {"Retry-After": "120"}, RateLimited),
            (500, None, {}, VendorUnavailable),
            (502, None, {}, VendorUnavailable),
            (503, None, {"Retry-After": "30"}, VendorUnavailable),
        ],
    )
    def test_statuses_of_a_create_map_to_the_error_vocabulary(self, status, body, headers, expected):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            payload = fixture(body) if isinstance(body, str) else body
            rsps.put(url(f"smartlock/{LOCK}/auth"), status=status, json=payload, headers=headers)
            with pytest.raises(expected) as caught:
                adapter.create_code(LOCK, spec())
        error = caught.value
        assert type(error) is expected and error.vendor_code == str(status)
        assert PIN not in error.message and "detailMessage" not in error.message
        if headers:
            assert error.retry_after == float(headers["Retry-After"])
        copied = pickle.loads(pickle.dumps(error))
        assert type(copied) is expected and copied.message == error.message

    @pytest.mark.parametrize(
        "status, expected",
        [(401, ProviderAuthError), (403, LockNotFound), (404, LockNotFound), (429, RateLimited), (503, VendorUnavailable)],
    )
    @pytest.mark.parametrize("operation", ["create", "update", "delete", "find"])
    def test_statuses_of_the_lock_check_map_the_same_for_every_operation(self, status, expected, operation):
        adapter, _ = provider()
        call = {
            "create": lambda: adapter.create_code(LOCK, spec()),
            "update": lambda: adapter.update_code(LOCK, AUTH_ID, spec()),
            "delete": lambda: adapter.delete_code(LOCK, AUTH_ID),
            "find": lambda: adapter.find_code(LOCK, "nw-101"),
        }[operation]
        with responses.RequestsMock() as rsps:
            rsps.get(url(f"smartlock/{LOCK}"), status=status)
            with pytest.raises(expected):
                call()
            assert len(rsps.calls) == 1

    @pytest.mark.parametrize("operation", ["create", "update", "delete", "find"])
    def test_an_offline_lock_refuses_every_operation_transiently_without_queuing_it(self, operation):
        cloud = NukiCloud()
        cloud.add_lock(BACK_DOOR_OFFLINE, "Back door", server_state=4)
        adapter = nuki_provider(cloud)
        lock = str(BACK_DOOR_OFFLINE)
        call = {
            "create": lambda: adapter.create_code(lock, spec()),
            "update": lambda: adapter.update_code(lock, AUTH_ID, spec()),
            "delete": lambda: adapter.delete_code(lock, AUTH_ID),
            "find": lambda: adapter.find_code(lock, "nw-101"),
        }[operation]
        with pytest.raises(LockOffline):
            call()
        assert cloud.calls == [("GET", "lock")]

    def test_a_connection_lost_after_sending_a_create_is_an_unknown_outcome(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            preflight(rsps)
            rsps.put(url(f"smartlock/{LOCK}/auth"), body=requests.ConnectionError("reset by peer"))
            with pytest.raises(OutcomeUnknown):
                adapter.create_code(LOCK, spec())

    def test_nuki_unreachable_before_anything_was_sent_is_vendor_unavailable(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            rsps.get(url(f"smartlock/{LOCK}"), body=requests.ConnectTimeout("timed out"))
            with pytest.raises(VendorUnavailable):
                adapter.create_code(LOCK, spec())

    def test_a_lock_id_that_is_not_a_nuki_id_is_not_in_the_account(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            with pytest.raises(LockNotFound):
                adapter.find_code("LK-GONE", "nw-101")
            assert len(rsps.calls) == 0


# --- tokens ------------------------------------------------------------------------------------------------

class TestTokens:
    REFRESH_FORM = {
        "grant_type": "refresh_token",
        "refresh_token": OAUTH_TOKEN["refresh_token"],
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    OLD = {"Authorization": f"Bearer {OAUTH_TOKEN['access_token']}", "Accept": "application/json"}
    NEW = {"Authorization": f"Bearer {REFRESHED['access_token']}", "Accept": "application/json"}

    def test_a_token_about_to_expire_is_refreshed_before_the_call_and_saved(self, nuki_settings):
        saved: list = []
        with freeze_time("2026-06-01 10:00:00"):
            adapter, _ = provider(oauth_credentials(), saved, expires_in=120)
            with responses.RequestsMock() as rsps:
                rsps.post(
                    url("oauth/token"),
                    json=REFRESHED,
                    match=[
                        matchers.urlencoded_params_matcher(self.REFRESH_FORM),
                        matchers.header_matcher({"Content-Type": "application/x-www-form-urlencoded"}),
                    ],
                )
                rsps.get(url("smartlock"), json=[], match=[matchers.header_matcher(self.NEW)])
                adapter.list_locks()
        ((credentials, expires_at),) = saved
        assert credentials == {
            "auth": "oauth",
            "access_token": REFRESHED["access_token"],
            "refresh_token": REFRESHED["refresh_token"],
        }
        assert expires_at == datetime(2026, 6, 1, 11, 0, tzinfo=UTC)
        assert adapter.session.credentials == credentials and adapter.session.expires_at == expires_at

    def test_a_refresh_answer_without_a_new_refresh_token_keeps_the_old_one(self, nuki_settings):
        saved: list = []
        adapter, _ = provider(oauth_credentials(), saved, expires_in=0)
        with responses.RequestsMock() as rsps:
            rsps.post(url("oauth/token"), json={"access_token": "fresh", "token_type": "bearer"})
            rsps.get(url("smartlock"), json=[])
            adapter.list_locks()
        assert saved[0][0]["refresh_token"] == OAUTH_TOKEN["refresh_token"]

    def test_a_401_refreshes_once_and_sends_the_request_again(self, nuki_settings):
        saved: list = []
        adapter, _ = provider(oauth_credentials(), saved, expires_in=3600)
        with responses.RequestsMock() as rsps:
            rsps.get(url("smartlock"), status=401, json=fixture("error_unauthorized.json"), match=[matchers.header_matcher(self.OLD)])
            rsps.post(url("oauth/token"), json=REFRESHED, match=[matchers.urlencoded_params_matcher(self.REFRESH_FORM)])
            rsps.get(url("smartlock"), json=fixture("smartlocks.json"), match=[matchers.header_matcher(self.NEW)])
            assert len(adapter.list_locks()) == 4
        assert len(saved) == 1

    def test_a_token_of_unknown_expiry_is_used_and_refreshed_once_when_refused(self, nuki_settings):
        saved: list = []
        adapter, _ = provider(oauth_credentials(), saved, expires_in=None)
        with responses.RequestsMock() as rsps:
            rsps.get(url("smartlock"), status=401, json=fixture("error_unauthorized.json"), match=[matchers.header_matcher(self.OLD)])
            rsps.post(url("oauth/token"), json=REFRESHED, match=[matchers.urlencoded_params_matcher(self.REFRESH_FORM)])
            rsps.get(url("smartlock"), json=fixture("smartlocks.json"), match=[matchers.header_matcher(self.NEW)])
            assert len(adapter.list_locks()) == 4
        assert [credentials["access_token"] for credentials, _ in saved] == [REFRESHED["access_token"]]
        assert adapter.session.expires_at is not None

    def test_a_401_after_refreshing_is_an_auth_error(self, nuki_settings):
        adapter, _ = provider(oauth_credentials(), expires_in=3600)
        with responses.RequestsMock() as rsps:
            rsps.get(url("smartlock"), status=401)
            rsps.post(url("oauth/token"), json=REFRESHED)
            rsps.get(url("smartlock"), status=401)
            with pytest.raises(ProviderAuthError):
                adapter.list_locks()
            assert [call.request.method for call in rsps.calls] == ["GET", "POST", "GET"]

    def test_a_refused_refresh_is_an_auth_error(self, nuki_settings):
        saved: list = []
        adapter, _ = provider(oauth_credentials(), saved, expires_in=0)
        with responses.RequestsMock() as rsps:
            rsps.post(url("oauth/token"), status=400, json=fixture("token_error.json"))
            with pytest.raises(ProviderAuthError, match="connect the Nuki account again"):
                adapter.list_locks()
        assert saved == []

    def test_a_refresh_while_nuki_is_down_is_transient(self, nuki_settings):
        adapter, _ = provider(oauth_credentials(), expires_in=0)
        with responses.RequestsMock() as rsps:
            rsps.post(url("oauth/token"), status=503)
            with pytest.raises(VendorUnavailable):
                adapter.list_locks()

    def test_an_api_token_nuki_no_longer_accepts_is_an_auth_error_without_any_refresh(self, nuki_settings):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            rsps.get(url("smartlock"), status=401)
            with pytest.raises(ProviderAuthError, match="API token"):
                adapter.list_locks()
            assert len(rsps.calls) == 1

    def test_keep_alive_refreshes_an_oauth_connection(self, nuki_settings):
        saved: list = []
        adapter, _ = provider(oauth_credentials(), saved, expires_in=3600)
        with responses.RequestsMock() as rsps:
            rsps.post(url("oauth/token"), json=REFRESHED, match=[matchers.urlencoded_params_matcher(self.REFRESH_FORM)])
            adapter.keep_alive()
        assert saved[0][0]["access_token"] == REFRESHED["access_token"]

    def test_keep_alive_checks_an_api_token_and_reports_a_dead_one(self):
        adapter, _ = provider()
        with responses.RequestsMock() as rsps:
            rsps.get(url("account"), json=fixture("account.json"), match=[matchers.header_matcher(BEARER)])
            rsps.get(url("account"), status=401)
            adapter.keep_alive()
            with pytest.raises(ProviderAuthError):
                adapter.keep_alive()


# --- connecting: OAuth -----------------------------------------------------------------------------------------

class NukiConnectError:
    """What the host reads when a Nuki sign-in did not connect, word for word."""

    WRONG_TOKEN = (
        "Nuki did not accept this API token. Copy it again from Nuki Web (Menu > API); a token stops "
        "working when it is deleted or when the Nuki Web password changes."
    )
    REFUSED = "Nuki did not accept the sign-in, so nothing was connected. Please start connecting Nuki again."
    CANCELLED = "You cancelled the Nuki sign-in, so nothing was connected."
    FAILED = "The Nuki sign-in did not complete, so nothing was connected. Please try again."
    UNREACHABLE = "Nuki could not be reached, so nothing was connected. Please try again in a few minutes."
    MALFORMED = (
        "Nuki answered with something we could not understand, so nothing was connected. Please try "
        "again, and contact support if it keeps happening."
    )
    NOT_CONFIGURED = "Signing in with Nuki is not set up on this server; you can paste a Nuki Web API token instead."


connect = SimpleNamespace(NukiConnectError=NukiConnectError)


def start_sign_in(client) -> dict:
    response = client.get(reverse("locks:nuki_connect_oauth"))
    assert response.status_code == 302
    return {key: values[0] for key, values in parse_qs(urlsplit(response["Location"]).query).items()}


@pytest.mark.django_db
class TestOAuthConnect:
    def test_start_sends_the_host_to_nukis_authorize_endpoint_with_a_session_bound_state(self, client, host, nuki_settings):
        client.force_login(host)
        response = client.get(reverse("locks:nuki_connect_oauth"))
        location = urlsplit(response["Location"])
        params = {key: values[0] for key, values in parse_qs(location.query).items()}
        assert f"{location.scheme}://{location.netloc}{location.path}" == url("oauth/authorize")
        assert params == {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": "account smartlock.readOnly smartlock.auth smartlock.log",
            "state": client.session["locks_oauth_pending"]["state"],
        }
        assert "code_challenge" not in params  # Nuki documents no PKCE (see the adapter's docstring)

    def test_the_callback_exchanges_the_code_stores_the_account_and_reads_its_locks(
        self, client, host, nuki_settings, cloud, nuki_registered
    ):
        client.force_login(host)
        state = start_sign_in(client)["state"]
        code = cloud.issue_code(REDIRECT_URI)
        response = client.get(reverse("locks:nuki_callback"), {"code": code, "state": state})

        assert response.status_code == 302 and response["Location"] == reverse("integrations:panel", args=["nuki"])
        account = ProviderAccount.objects.get(host=host, provider="nuki")
        assert account.display_name == "Ada Host" and account.status == AccountStatus.CONNECTED
        assert account.credentials["auth"] == "oauth" and account.credentials["access_token"] in cloud.access_tokens
        assert account.credentials["refresh_token"] in cloud.refresh_tokens and account.token_expires_at is not None
        locks = {lock.vendor_lock_id: lock for lock in Lock.objects.filter(account=account)}
        assert set(locks) == {LOCK, BIG_ID, str(CELLAR_NO_KEYPAD)}
        assert locks[BIG_ID].supports_remote_codes and not locks[str(CELLAR_NO_KEYPAD)].supports_remote_codes
        assert cloud.calls[:2] == [("POST", "token"), ("GET", "account")]
        assert "locks_oauth_pending" not in client.session

    def test_a_cancelled_sign_in_says_so_and_stores_nothing(self, client, host, nuki_settings, cloud):
        client.force_login(host)
        state = start_sign_in(client)["state"]
        response = client.get(reverse("locks:nuki_callback"), {"error": "access_denied", "state": state}, follow=True)
        assert escape(connect.NukiConnectError.CANCELLED) in response.content.decode()
        assert not ProviderAccount.objects.exists() and cloud.calls == []

    def test_a_failed_sign_in_says_so_and_stores_nothing(self, client, host, nuki_settings, cloud):
        client.force_login(host)
        state = start_sign_in(client)["state"]
        response = client.get(reverse("locks:nuki_callback"), {"error": "server_error", "state": state}, follow=True)
        assert escape(connect.NukiConnectError.FAILED) in response.content.decode()
        assert not ProviderAccount.objects.exists()

    def test_a_forged_state_stores_nothing_and_sends_nothing(self, client, host, nuki_settings, cloud):
        client.force_login(host)
        start_sign_in(client)
        response = client.get(reverse("locks:nuki_callback"), {"code": cloud.issue_code(), "state": "forged"}, follow=True)
        assert "did not match" in response.content.decode()
        assert not ProviderAccount.objects.exists() and cloud.calls == []

    def test_a_callback_without_a_sign_in_started_here_stores_nothing(self, client, host, nuki_settings, cloud):
        client.force_login(host)
        response = client.get(reverse("locks:nuki_callback"), {"code": cloud.issue_code(), "state": "x" * 43}, follow=True)
        assert "not one we started" in response.content.decode()
        assert not ProviderAccount.objects.exists() and cloud.calls == []

    def test_a_replayed_state_is_refused(self, client, host, nuki_settings, cloud, nuki_registered):
        client.force_login(host)
        state = start_sign_in(client)["state"]
        client.get(reverse("locks:nuki_callback"), {"code": cloud.issue_code(), "state": state})
        first = ProviderAccount.objects.get().credentials
        calls = len(cloud.calls)
        replay = cloud.issue_code()
        response = client.get(reverse("locks:nuki_callback"), {"code": replay, "state": state}, follow=True)
        assert "not one we started" in response.content.decode()
        assert ProviderAccount.objects.get().credentials == first and len(cloud.calls) == calls
        assert replay in cloud.auth_codes  # never exchanged

    def test_an_expired_state_is_refused(self, client, host, nuki_settings, cloud):
        client.force_login(host)
        with freeze_time("2026-06-01 10:00:00") as frozen:
            state = start_sign_in(client)["state"]
            frozen.tick(timedelta(seconds=STATE_LIFETIME_SECONDS + 1))
            response = client.get(reverse("locks:nuki_callback"), {"code": cloud.issue_code(), "state": state}, follow=True)
        assert "expired" in response.content.decode()
        assert not ProviderAccount.objects.exists() and cloud.calls == []

    def test_a_code_nuki_refuses_stores_nothing(self, client, host, nuki_settings, cloud):
        client.force_login(host)
        state = start_sign_in(client)["state"]
        response = client.get(reverse("locks:nuki_callback"), {"code": "made-up", "state": state}, follow=True)
        assert escape(connect.NukiConnectError.REFUSED) in response.content.decode()
        assert not ProviderAccount.objects.exists()

    def test_a_token_exchange_that_cannot_reach_nuki_stores_nothing(self, client, host, nuki_settings, cloud):
        client.force_login(host)
        state = start_sign_in(client)["state"]
        cloud.fail_next("POST", "token", 502)
        response = client.get(reverse("locks:nuki_callback"), {"code": cloud.issue_code(), "state": state}, follow=True)
        assert escape(connect.NukiConnectError.UNREACHABLE) in response.content.decode()
        assert not ProviderAccount.objects.exists()

    def test_without_an_integrator_app_the_host_is_pointed_to_the_api_token_form(self, client, host, settings):
        settings.NUKI_CLIENT_ID = settings.NUKI_CLIENT_SECRET = ""
        client.force_login(host)
        response = client.get(reverse("locks:nuki_connect_oauth"), follow=True)
        assert response.redirect_chain[-1][0] == reverse("integrations:panel", args=["nuki"])
        assert escape(connect.NukiConnectError.NOT_CONFIGURED) in response.content.decode()
        assert "locks_oauth_pending" not in client.session

    def test_signed_out_visitors_are_sent_to_log_in(self, client, nuki_settings):
        for name in ("nuki_connect", "nuki_connect_oauth", "nuki_callback"):
            response = client.get(reverse(f"locks:{name}"))
            assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- connecting: pasted API token ---------------------------------------------------------------------------

@pytest.mark.django_db
class TestApiTokenConnect:
    def test_the_form_asks_for_the_token_in_a_password_field(self, client, host):
        client.force_login(host)
        content = client.get(reverse("locks:nuki_connect"), follow=True).content.decode()
        assert 'type="password"' in content and 'name="token"' in content and "value=" not in content.split('name="token"')[1].split(">")[0]

    def test_a_valid_token_connects_the_account_and_is_never_rendered(self, client, host, cloud, nuki_registered, caplog):
        caplog.set_level(logging.DEBUG)
        client.force_login(host)
        response = client.post(reverse("locks:nuki_connect"), {"token": API_TOKEN}, follow=True)
        assert response.redirect_chain[-1][0] == reverse("integrations:panel", args=["nuki"])
        assert "Ada Host" in response.content.decode() and API_TOKEN not in response.content.decode()
        account = ProviderAccount.objects.get(host=host, provider="nuki")
        assert account.credentials == {"auth": "api_token", "access_token": API_TOKEN} and account.token_expires_at is None
        assert Lock.objects.filter(account=account).count() == 3
        assert API_TOKEN not in caplog.text

    def test_the_token_is_checked_with_get_account_and_a_bearer_header(self, client, host, monkeypatch):
        monkeypatch.setitem(registry.PROVIDER_CLASSES, "nuki", NukiProvider)
        client.force_login(host)
        with responses.RequestsMock() as rsps:
            rsps.get(url("account"), json=fixture("account.json"), match=[matchers.header_matcher(BEARER)])
            rsps.get(url("smartlock"), json=[], match=[matchers.header_matcher(BEARER)])
            client.post(reverse("locks:nuki_connect"), {"token": f"  {API_TOKEN}\n"})
        assert ProviderAccount.objects.get().credentials["access_token"] == API_TOKEN

    def test_a_wrong_token_is_explained_and_stores_nothing(self, client, host, cloud, caplog):
        caplog.set_level(logging.DEBUG)
        client.force_login(host)
        wrong = "not-a-token-" + "f" * 40
        response = client.post(reverse("locks:nuki_connect"), {"token": wrong})
        content = response.content.decode()
        assert response.status_code == 400 and escape(connect.NukiConnectError.WRONG_TOKEN) in content
        assert wrong not in content and wrong not in caplog.text
        assert not ProviderAccount.objects.exists()

    def test_nuki_unreachable_is_explained_and_stores_nothing(self, client, host):
        client.force_login(host)
        with responses.RequestsMock() as rsps:
            rsps.get(url("account"), body=requests.ConnectionError("no route to host"))
            response = client.post(reverse("locks:nuki_connect"), {"token": API_TOKEN})
        assert escape(connect.NukiConnectError.UNREACHABLE) in response.content.decode()
        assert API_TOKEN not in response.content.decode() and not ProviderAccount.objects.exists()

    def test_a_malformed_answer_is_explained_and_stores_nothing(self, client, host):
        client.force_login(host)
        with responses.RequestsMock() as rsps:
            rsps.get(url("account"), body="<html>gateway</html>")
            response = client.post(reverse("locks:nuki_connect"), {"token": API_TOKEN})
        assert escape(connect.NukiConnectError.MALFORMED) in response.content.decode()
        assert not ProviderAccount.objects.exists()

    def test_a_token_with_spaces_inside_is_refused_without_asking_nuki(self, client, host):
        client.force_login(host)
        with responses.RequestsMock() as rsps:
            response = client.post(reverse("locks:nuki_connect"), {"token": "abc def"})
            assert len(rsps.calls) == 0
        assert response.status_code == 400 and "no spaces" in response.content.decode()

    def test_a_reconnection_replaces_the_credentials_of_the_same_account(self, client, host, cloud, nuki_registered):
        ProviderAccount.objects.create(
            host=host, provider="nuki", credentials={"auth": "api_token", "access_token": "old"}, status=AccountStatus.NEEDS_RECONNECT
        )
        client.force_login(host)
        client.post(reverse("locks:nuki_connect"), {"token": API_TOKEN})
        account = ProviderAccount.objects.get()
        assert account.credentials["access_token"] == API_TOKEN and account.status == AccountStatus.CONNECTED


# --- the lifecycle over HTTP ----------------------------------------------------------------------------------

@pytest.mark.django_db
class TestLifecycleOverHttp:
    def test_booking_then_date_change_then_cancellation(self, nuki_property, book, cloud):
        prop = nuki_property()
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            code = AccessCode.objects.get(booking=booking)
            assert code.state == CodeState.ACTIVE
            (on_lock,) = cloud.auths_on(FRONT_DOOR)
            assert code.vendor_code_id == on_lock["id"] and on_lock["name"] == code.vendor_name
            (created,) = [body for method, route, body in cloud.bodies if method == "PUT"]
            assert created == {
                "name": code.vendor_name,
                "type": 13,
                "code": int(code.pin),
                "allowedFromDate": nuki.format_date(code.starts_at),
                "allowedUntilDate": nuki.format_date(code.ends_at),
                "allowedWeekDays": 127,
                "allowedFromTime": 0,
                "allowedUntilTime": 0,
                "remoteAllowed": False,
            }

            booking.departure_date = date(2026, 6, 7)
            booking.save()
            services.booking_changed(booking=booking)
            tick()
            code.refresh_from_db()
            assert code.state == CodeState.ACTIVE and code.vendor_code_id == on_lock["id"]
            (updated,) = [body for method, route, body in cloud.bodies if method == "POST"]
            assert updated["allowedUntilDate"] == nuki.format_date(code.ends_at) and updated["name"] == code.vendor_name
            assert cloud.auths_on(FRONT_DOOR)[0]["allowedUntilDate"] == code.ends_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")

            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.REVOKED and cloud.auths_on(FRONT_DOOR) == []
        assert [call for call in cloud.calls if call[0] != "GET"] == [("PUT", "auths"), ("POST", "auth"), ("DELETE", "auth")]
        assert set(VendorCall.objects.values_list("outcome", flat=True)) == {"ok"}

    def test_a_slow_bridge_is_waited_for_a_few_reads(self, nuki_property, book, cloud):
        cloud.pending_reads = 2
        prop = nuki_property()
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        assert AccessCode.objects.get(booking=booking).state == CodeState.ACTIVE

    def test_a_lost_create_is_found_on_the_next_attempt_instead_of_sent_twice(self, nuki_property, book, cloud, settings):
        prop = nuki_property()
        cloud.lose_next("PUT", "auths")
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            code = AccessCode.objects.get(booking=booking)
            assert code.state == CodeState.CREATING and code.create_outcome_unknown
            frozen.tick(timedelta(seconds=settings.LOCKS_RETRY_INTERVAL_SECONDS))
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.ACTIVE and code.vendor_code_id == cloud.auths_on(FRONT_DOOR)[0]["id"]
        assert cloud.calls.count(("PUT", "auths")) == 1

    def test_a_create_the_bridge_fails_is_retried_and_the_host_is_not_misled(self, nuki_property, book, cloud, settings):
        prop = nuki_property()
        cloud.fail_next_application("Smart Lock is offline")
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            code = AccessCode.objects.get(booking=booking)
            assert code.state == CodeState.CREATING and code.last_error_kind == "lock_offline"
            assert cloud.auths_on(FRONT_DOOR) == []  # the failed authorization was cleared
            frozen.tick(timedelta(seconds=settings.LOCKS_RETRY_INTERVAL_SECONDS))
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.ACTIVE and cloud.calls.count(("PUT", "auths")) == 2

    def test_an_access_token_that_expires_mid_run_is_refreshed_and_stored(self, nuki_property, book, cloud, nuki_settings):
        access, refresh = cloud.issue_tokens()
        credentials = {"auth": "oauth", "access_token": access, "refresh_token": refresh}
        prop = nuki_property(credentials, token_expires_at=datetime(2026, 6, 1, 1, tzinfo=UTC))
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            cloud.expire_access_tokens()  # Nuki drops the token before the date we were told
            booking.departure_date = date(2026, 6, 7)
            booking.save()
            services.booking_changed(booking=booking)
            tick()
        account = ProviderAccount.objects.get()
        assert AccessCode.objects.get(booking=booking).state == CodeState.ACTIVE
        assert account.credentials["access_token"] != access and account.credentials["access_token"] in cloud.access_tokens
        assert account.credentials["refresh_token"] != refresh and account.token_expires_at is not None
        assert cloud.calls.count(("POST", "token")) == 1

    def test_a_refresh_nuki_refuses_asks_the_host_to_reconnect(self, nuki_property, book, cloud, nuki_settings):
        access, refresh = cloud.issue_tokens()
        prop = nuki_property({"auth": "oauth", "access_token": access, "refresh_token": refresh}, token_expires_at=EPOCH)
        cloud.refresh_tokens.clear()  # revoked in Nuki Web
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        assert ProviderAccount.objects.get().status == AccountStatus.NEEDS_RECONNECT
        assert AccessCode.objects.get(booking=booking).state == CodeState.CREATING

    def test_no_secret_reaches_the_logs_or_the_audit_rows(self, nuki_property, book, cloud, nuki_settings, caplog):
        caplog.set_level(logging.DEBUG)
        access, refresh = cloud.issue_tokens()
        prop = nuki_property({"auth": "oauth", "access_token": access, "refresh_token": refresh}, token_expires_at=EPOCH)
        with freeze_time("2026-06-01 00:00:00"):
            taken = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=taken)
            tick()
            pin = AccessCode.objects.get(booking=taken).pin
            cloud.fail_next("PUT", "auths", 409, fixture("error_code_exists.json"))
            other = book(prop, date(2026, 6, 5), date(2026, 6, 6), guest_name="Other Guest")
            services.booking_created(booking=other)
            tick()
        secrets = [access, refresh, CLIENT_SECRET, pin, AccessCode.objects.get(booking=other).pin]
        secrets += [token for token in cloud.access_tokens] + list(cloud.refresh_tokens)
        rows = list(VendorCall.objects.values_list("operation", "error_kind", "error_message"))
        assert any(kind == "pin_taken" for _, kind, _ in rows)  # the refused PIN was recorded
        for secret in secrets:
            assert secret not in caplog.text
            assert all(secret not in " ".join(row) for row in rows)
