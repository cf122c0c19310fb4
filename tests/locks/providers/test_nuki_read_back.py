"""Nuki read back (issue 19): the keypad-code listing, keypad openings from the smart lock's log and the
lock's health, on recorded answers (exact requests) and over HTTP against the stateful emulator."""

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import responses
from freezegun import freeze_time
from responses import matchers

from locks.providers import nuki
from locks.providers.base import AccountSession, CodeSpec, CodeUse, ListedCode, LockHealth
from locks.providers.exceptions import (
    LockNotFound,
    OperationNotSupported,
    RateLimited,
    SubscriptionRequired,
    VendorUnavailable,
)
from locks.providers.http import VendorHttp
from locks.providers.nuki import NukiProvider
from locks.providers.nuki.read_back import CRITICAL_BATTERY_PERCENT, LOG_PAGE, MAX_LOG_PAGES
from tests.vendors.nuki import BACK_DOOR_OFFLINE, FRONT_DOOR, LOCK, NukiCloud, api_token_credentials, fixture, nuki_provider

pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")

STARTS, ENDS = datetime(2026, 6, 2, 13, 0, tzinfo=UTC), datetime(2026, 6, 4, 10, 0, tzinfo=UTC)
AUTH_ID = fixture("auth_keypad_code.json")["id"]


def url(path: str) -> str:
    return nuki.api_url(path)


@pytest.fixture
def provider() -> NukiProvider:
    session = AccountSession(account_id=1, credentials=api_token_credentials())
    return NukiProvider(session, http=VendorHttp("Nuki"), sleep=lambda seconds: None)


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


class TestRecordedListing:
    def test_keypad_codes_with_name_pin_and_window_in_one_call(self, rsps, provider):
        failed = fixture("auth_keypad_code.json") | {"id": "failed-one", "name": "nw-102", "error": "Smart Lock is offline"}
        rsps.get(
            url(f"smartlock/{LOCK}/auth"),
            json=[*fixture("auths.json"), fixture("auth_keypad_code.json"), failed],
            match=[matchers.query_param_matcher({"types": "13"})],
        )
        assert list(provider.list_codes(LOCK).codes) == [
            ListedCode("65219648fe57075d71a6cb01", "Cleaner", "982345", None, None),  # no window: always valid
            ListedCode(AUTH_ID, "nw-101", "582947", STARTS, ENDS),
        ]  # not the app user (type 0), not the auth the bridge failed to apply

    def test_hostile_answers(self, rsps, provider):
        rsps.get(url(f"smartlock/{LOCK}/auth"), json=[{"id": "a1", "type": 13, "name": "Own\x00er", "code": "982345"}])
        assert list(provider.list_codes(LOCK).codes) == [ListedCode("a1", "Owner", None, None, None)]
        rsps.get(url(f"smartlock/{LOCK}/auth"), json=[{"type": 13, "name": "no id", "code": 982345}])
        with pytest.raises(VendorUnavailable):
            provider.list_codes(LOCK)
        rsps.get(url(f"smartlock/{LOCK}/auth"), json={"error": "nonsense"})
        with pytest.raises(VendorUnavailable):
            provider.list_codes(LOCK)

    def test_smart_hosting_refusal_and_rate_limit_keep_their_meaning(self, rsps, provider):
        rsps.get(url(f"smartlock/{LOCK}/auth"), status=403, json=fixture("error_no_subscription.json"))
        with pytest.raises(SubscriptionRequired):
            provider.list_codes(LOCK)
        rsps.get(url(f"smartlock/{LOCK}/log"), status=429, headers={"Retry-After": "30"})
        with pytest.raises(RateLimited):
            provider.code_uses(LOCK, STARTS)


class TestRecordedLog:
    def test_keypad_openings_since_a_moment_oldest_first_by_auth_id_and_name(self, rsps, provider):
        rsps.get(
            url(f"smartlock/{LOCK}/log"),
            json=fixture("smartlock_log.json"),
            match=[matchers.query_param_matcher({"fromDate": "2026-06-02T13:00:00Z", "limit": "50"})],
        )
        assert provider.code_uses(LOCK, STARTS) == [
            CodeUse(at=datetime(2026, 6, 2, 14, 0, tzinfo=UTC), vendor_code_id="65219648fe57075d71a6cb01", name="Cleaner"),
            CodeUse(at=datetime(2026, 6, 2, 15, 2, tzinfo=UTC), vendor_code_id=AUTH_ID, name="nw-101"),
        ]  # not the invalid code (253/224), the app unlock (trigger 5), nor the keypad lock (action 2)

    def test_a_full_page_asks_for_entries_older_than_its_last_id(self, rsps, provider):
        first = [
            {
                "id": f"{1000 - n:024x}",
                "authId": AUTH_ID,
                "name": "nw-101",
                "action": 1,
                "trigger": 255,
                "state": 0,
                "source": 1,
                "date": (ENDS - timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            }
            for n in range(LOG_PAGE)
        ]
        rsps.get(
            url(f"smartlock/{LOCK}/log"),
            json=first,
            match=[matchers.query_param_matcher({"fromDate": "2026-06-02T13:00:00Z", "limit": "50"})],
        )
        rsps.get(
            url(f"smartlock/{LOCK}/log"),
            json=[],
            match=[matchers.query_param_matcher({"fromDate": "2026-06-02T13:00:00Z", "limit": "50", "id": first[-1]["id"]})],
        )
        assert len(provider.code_uses(LOCK, STARTS)) == LOG_PAGE

    def test_a_log_that_never_ends_is_read_no_further_than_the_cap(self, rsps, provider):
        served = []

        def page(request):
            entries = [
                {"id": f"{10**6 - len(served) - n:024x}", "trigger": 255, "state": 0, "action": 1, "date": "2026-06-03T10:00:00Z"}
                for n in range(LOG_PAGE)
            ]
            served.extend(entries)
            return 200, {}, json.dumps(entries)

        rsps.add_callback(responses.GET, url(f"smartlock/{LOCK}/log"), callback=page)
        provider.code_uses(LOCK, STARTS)
        assert len(rsps.calls) == MAX_LOG_PAGES

    def test_a_token_that_may_not_read_the_log(self, rsps, provider):
        rsps.get(url(f"smartlock/{LOCK}/log"), status=403, json={"detailMessage": "Forbidden"})
        with pytest.raises(OperationNotSupported) as caught:
            provider.code_uses(LOCK, STARTS)
        assert "reconnect" in caught.value.message

    def test_no_pin_is_logged(self, rsps, provider, caplog):
        rsps.get(url(f"smartlock/{LOCK}/auth"), json=[fixture("auth_keypad_code.json")])
        with caplog.at_level(logging.DEBUG):
            provider.list_codes(LOCK)
        assert "582947" not in caplog.text


class TestRecordedHealth:
    def test_charge_and_server_state(self, rsps, provider):
        lock = fixture("smartlocks.json")[0]
        lock["state"] |= {"batteryCharge": 64, "batteryCritical": False}
        rsps.get(url(f"smartlock/{LOCK}"), json=lock)
        assert provider.lock_health(LOCK) == LockHealth(is_online=True, battery_percent=64)

    def test_only_critical_reads_as_low_and_an_offline_lock_still_reports(self, rsps, provider):
        lock = fixture("smartlocks.json")[2]  # serverState 4
        lock["state"] |= {"batteryCritical": True}
        rsps.get(url(f"smartlock/{BACK_DOOR_OFFLINE}"), json=lock)
        assert provider.lock_health(str(BACK_DOOR_OFFLINE)) == LockHealth(is_online=False, battery_percent=CRITICAL_BATTERY_PERCENT)

    def test_nothing_said_is_none(self, rsps, provider):
        rsps.get(url(f"smartlock/{LOCK}"), json={"smartlockId": FRONT_DOOR, "state": {"batteryCharge": "full"}})
        assert provider.lock_health(LOCK) == LockHealth()

    def test_a_lock_id_nuki_could_not_have_given_is_not_found_without_a_call(self, provider):
        with pytest.raises(LockNotFound):
            provider.lock_health("../account")


# --- over HTTP against the emulator ------------------------------------------------------------------


@pytest.fixture
def cloud():
    cloud = NukiCloud()
    cloud.add_lock(FRONT_DOOR, "Front door")
    cloud.add_lock(BACK_DOOR_OFFLINE, "Back door", server_state=4)
    return cloud


def spec(name: str, pin: str) -> CodeSpec:
    return CodeSpec(name=name, pin=pin, starts_at=STARTS, ends_at=ENDS, time_zone="Europe/Paris")


class TestAgainstTheEmulator:
    def test_listing_ours_and_the_unmanaged_not_the_deleted(self, cloud):
        emulated = nuki_provider(cloud)
        ours = emulated.create_code(LOCK, spec("nw-101", "582947"))
        gone = emulated.create_code(LOCK, spec("nw-102", "739164"))
        emulated.delete_code(LOCK, gone.vendor_code_id)
        cleaner = cloud.add_unmanaged_code(FRONT_DOOR, "864293", "Cleaner")
        assert list(emulated.list_codes(LOCK).codes) == [
            ListedCode(ours.vendor_code_id, "nw-101", "582947", STARTS, ENDS),
            ListedCode(cleaner, "Cleaner", "864293", None, None),
        ]

    def test_a_use_after_the_guest_opened(self, cloud):
        emulated = nuki_provider(cloud)
        ours = emulated.create_code(LOCK, spec("nw-101", "582947"))
        opened = STARTS + timedelta(hours=3)
        assert cloud.enter_pin(FRONT_DOOR, "582947", at=opened)
        assert not cloud.enter_pin(FRONT_DOOR, "948365", at=opened + timedelta(minutes=1))
        with freeze_time(ENDS):
            assert emulated.code_uses(LOCK, STARTS) == [CodeUse(at=opened, vendor_code_id=ours.vendor_code_id, name="nw-101")]

    def test_health_and_the_log_refused_without_smart_hosting(self, cloud):
        cloud.set_battery(FRONT_DOOR, charge=18)
        emulated = nuki_provider(cloud)
        assert emulated.lock_health(LOCK) == LockHealth(is_online=True, battery_percent=18)
        cloud.add_lock(18205286117, "Office", subscription="EXPIRED")
        with pytest.raises(SubscriptionRequired):
            emulated.code_uses("18205286117", STARTS)
