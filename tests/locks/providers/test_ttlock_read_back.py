"""TTLock read back (issue 19): the passcode listing, passcode openings from lockRecord/list and the
lock's health, on recorded answers (exact requests) and over HTTP against the stateful emulator."""

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import responses
from freezegun import freeze_time
from responses import matchers

from locks.providers.base import CodeSpec, CodeUse, ListedCode, LockHealth
from locks.providers.exceptions import LockNotFound, LockOffline, RateLimited, VendorUnavailable
from locks.providers.http import VendorHttp
from locks.providers.ttlock import TTLockProvider, one_call_per_lock_in_process
from tests.helpers.repository import FIXTURES as ALL_FIXTURES
from tests.vendors.ttlock import TTLockCloud

FIXTURES = ALL_FIXTURES / "ttlock"
BASE = "https://euapi.ttlock.com"
NOW_MS = 1780300800000  # 2026-06-01T08:00:00Z
STARTS, ENDS = datetime(2026, 6, 2, 13, 0, tzinfo=UTC), datetime(2026, 6, 4, 10, 0, tzinfo=UTC)
SINCE = datetime(2026, 6, 2, 13, 0, tzinfo=UTC)


def fixture(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def ttlock_settings(settings):
    settings.TTLOCK_API_URL = BASE
    settings.TTLOCK_CLIENT_ID = "nowistay-client-id-0042"
    settings.TTLOCK_CLIENT_SECRET = "nowistay-client-secret-0042"


# --- recorded answers --------------------------------------------------------------------------------


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock, freeze_time("2026-06-01 08:00:00"):
        yield mock


@pytest.fixture
def provider():
    cloud = TTLockCloud()
    return TTLockProvider(cloud.session(), call_guard=one_call_per_lock_in_process)


def query(**params) -> matchers:
    return matchers.query_param_matcher({key: str(value) for key, value in params.items()}, strict_match=False)


class TestRecordedListing:
    def test_every_page_is_read_and_each_code_keeps_its_name_pin_and_window(self, rsps, provider):
        for page in (1, 2):
            rsps.get(
                f"{BASE}/v3/lock/listKeyboardPwd",
                json=fixture(f"listKeyboardPwd_page{page}"),
                match=[query(lockId=3001, pageNo=page, pageSize=200, orderBy=1, date=NOW_MS)],
            )
        listed = list(provider.list_codes("3001").codes)
        assert listed[0] == ListedCode("24250", "Cleaner", "739164", None, None)  # permanent: dates 0
        assert listed[1] == ListedCode("24249", "nw-10", "582947", STARTS, ENDS)
        assert len(listed) == 3

    def test_hostile_entries_are_cleaned_or_refused(self, rsps, provider):
        entry = {"keyboardPwdId": 9, "keyboardPwd": 34234, "keyboardPwdName": "Own\x00er\n", "startDate": "x"}
        rsps.get(f"{BASE}/v3/lock/listKeyboardPwd", json={"list": [entry], "pages": 1})
        assert list(provider.list_codes("3001").codes) == [ListedCode("9", "Owner", "34234", None, None)]
        rsps.get(f"{BASE}/v3/lock/listKeyboardPwd", json={"list": [{"keyboardPwdName": "no id"}], "pages": 1})
        with pytest.raises(VendorUnavailable):  # an unreadable code is never taken for a missing one
            provider.list_codes("3001")

    def test_a_cloud_announcing_endless_pages_is_read_no_further_than_the_cap(self, rsps, provider):
        page = {"list": [{"keyboardPwdId": 1, "keyboardPwd": "582947"}], "pages": 10**9}
        rsps.get(f"{BASE}/v3/lock/listKeyboardPwd", json=page)
        assert len(list(provider.list_codes("3001").codes)) == TTLockProvider.MAX_PAGES


class TestRecordedUses:
    def test_passcode_unlocks_since_a_moment_oldest_first_by_name_and_pin(self, rsps, provider):
        rsps.get(
            f"{BASE}/v3/lockRecord/list",
            json=fixture("lockRecord_list"),
            match=[query(lockId=3001, pageNo=1, pageSize=100, startDate=1780405200000, endDate=NOW_MS, recordType=4)],
        )
        uses = provider.code_uses("3001", SINCE)
        assert uses == [
            CodeUse(at=datetime(2026, 6, 2, 14, 0, tzinfo=UTC), name="Cleaner", pin="739164"),
            CodeUse(at=datetime(2026, 6, 2, 15, 2, tzinfo=UTC), name="nw-10", pin="582947"),
        ]  # the failed entry and the app unlock are not keypad openings

    def test_records_older_than_since_are_dropped_even_when_the_cloud_sends_them(self, rsps, provider):
        rsps.get(f"{BASE}/v3/lockRecord/list", json=fixture("lockRecord_list"))
        later = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)
        assert [use.name for use in provider.code_uses("3001", later)] == ["nw-10"]

    def test_quota_and_offline_errcodes_keep_their_meaning(self, rsps, provider):
        rsps.get(f"{BASE}/v3/lockRecord/list", json={"errcode": 30006, "errmsg": "call limit"})
        with pytest.raises(RateLimited):
            provider.code_uses("3001", SINCE)
        rsps.get(f"{BASE}/v3/lock/listKeyboardPwd", json={"errcode": -3002, "errmsg": "gateway offline"})
        with pytest.raises(LockOffline):
            provider.list_codes("3001")

    def test_a_pin_is_never_logged(self, rsps, provider, caplog):
        rsps.get(f"{BASE}/v3/lockRecord/list", json=fixture("lockRecord_list"))
        with caplog.at_level(logging.DEBUG):
            provider.code_uses("3001", SINCE)
        assert "582947" not in caplog.text and "739164" not in caplog.text


class TestRecordedHealth:
    def test_battery_from_the_details_and_custom_codes_counted_against_250(self, rsps, provider):
        details = {**fixture("lock_detail_3001"), "electricQuantity": 23, "hasGateway": 1}
        rsps.get(f"{BASE}/v3/lock/detail", json=details)
        rsps.get(f"{BASE}/v3/gateway/list", json={"list": [{"gatewayId": 5, "isOnline": 1}], "pages": 1})
        rsps.get(f"{BASE}/v3/gateway/listLock", json={"list": [{"lockId": 3001}]})
        rsps.get(f"{BASE}/v3/lock/listKeyboardPwd", json={**fixture("listKeyboardPwd_page1"), "pages": 1})
        assert provider.lock_health("3001") == LockHealth(is_online=True, battery_percent=23, code_capacity=250, codes_held=2)

    @pytest.mark.parametrize("value", [None, "", True, -1, 140, "eighty", [85]])
    def test_a_battery_value_that_is_not_a_percentage_is_unknown(self, rsps, provider, value):
        rsps.get(f"{BASE}/v3/lock/detail", json={"lockId": 3001, "electricQuantity": value, "hasGateway": 0})
        assert provider.lock_health("3001").battery_percent is None


# --- over HTTP against the emulator --------------------------------------------------------------------


@pytest.fixture
def cloud():
    cloud = TTLockCloud()
    cloud.add_lock(3001, "Front door")
    cloud.add_lock(3002, "Back door", online=False)
    return cloud


@pytest.fixture
def emulated(cloud) -> TTLockProvider:
    provider = TTLockProvider(cloud.session(), call_guard=one_call_per_lock_in_process, http=VendorHttp("TTLock"))
    provider.http.session.mount("https://", cloud.transport())
    return provider


def spec(name: str, pin: str, starts=STARTS, ends=ENDS) -> CodeSpec:
    return CodeSpec(name=name, pin=pin, starts_at=starts, ends_at=ends, time_zone="Europe/Paris")


class TestAgainstTheEmulator:
    def test_the_listing_shows_ours_and_the_unmanaged_and_not_a_deleted_code(self, cloud, emulated):
        ours = emulated.create_code("3001", spec("nw-101", "582947"))
        gone = emulated.create_code("3001", spec("nw-102", "739164"))
        emulated.delete_code("3001", gone.vendor_code_id)
        cleaner = cloud.add_unmanaged_code(3001, "864293", "Cleaner")
        listed = {code.vendor_code_id: code for code in list(emulated.list_codes("3001").codes)}
        assert set(listed) == {ours.vendor_code_id, str(cleaner)}
        assert listed[ours.vendor_code_id] == ListedCode(ours.vendor_code_id, "nw-101", "582947", STARTS, ENDS)
        assert listed[str(cleaner)] == ListedCode(str(cleaner), "Cleaner", "864293", None, None)

    def test_a_use_is_read_back_once_the_guest_has_opened(self, cloud, emulated):
        emulated.create_code("3001", spec("nw-101", "582947"))
        during = STARTS + timedelta(hours=2)
        assert cloud.enter_pin(3001, "582947", at=during)
        assert not cloud.enter_pin(3001, "948365", at=during + timedelta(minutes=1))  # unknown: not an opening
        with freeze_time(during + timedelta(hours=1)):
            uses = emulated.code_uses("3001", STARTS)
        assert uses == [CodeUse(at=during, name="nw-101", pin="582947")]

    def test_health_of_an_online_and_an_offline_lock(self, cloud, emulated):
        cloud.set_battery(3001, 12)
        emulated.create_code("3001", spec("nw-101", "582947"))
        assert emulated.lock_health("3001") == LockHealth(is_online=True, battery_percent=12, code_capacity=250, codes_held=1)
        offline = emulated.lock_health("3002")  # the cloud still answers for it
        assert offline.is_online is False and offline.battery_percent == 85 and offline.codes_held is None

    def test_a_missing_lock_is_not_found_for_every_read(self, emulated):
        for read in (lambda: emulated.list_codes("3999"), lambda: emulated.code_uses("3999", SINCE), lambda: emulated.lock_health("3999")):
            with pytest.raises(LockNotFound):
                read()
