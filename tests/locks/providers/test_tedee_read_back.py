"""Tedee read back (issue 19): the PIN listing (list + one read per PIN), PIN openings from the device
activity log and the lock's health, on recorded answers (exact requests) and over HTTP against the emulator."""

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import responses
from freezegun import freeze_time
from responses import matchers

from locks.providers import tedee
from locks.providers.base import AccountSession, CodeSpec, CodeUse, ListedCode, Listing, LockHealth
from locks.providers.exceptions import LockNotFound, LockOffline, OperationNotSupported, OutcomeUnknown, RateLimited, VendorUnavailable
from locks.providers.http import VendorHttp
from locks.providers.tedee import TedeeProvider
from locks.providers.tedee.read_back import ACTIVITY_PAGE, MAX_ACTIVITY_PAGES
from tests.vendors.tedee import ERRORS, REDIRECT_URI, TedeeCloud, fixture

pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")

API = "https://api.tedee.com/api/v37"
STARTS, ENDS = datetime(2026, 6, 2, 13, 0, tzinfo=UTC), datetime(2026, 6, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def tedee_settings(settings):
    settings.TEDEE_API_URL = "https://api.tedee.com"
    settings.TEDEE_AUTH_URL = "https://tedee.b2clogin.com/tedee.onmicrosoft.com"
    settings.TEDEE_API_VERSION = "v37"
    settings.TEDEE_CLIENT_ID = "nowistay-tedee-client"
    settings.TEDEE_CLIENT_SECRET = "nowistay-tedee-secret"


@pytest.fixture
def provider() -> TedeeProvider:
    credentials, expires_at = tedee.credentials_from_token_answer(fixture("token.json"), redirect_uri=REDIRECT_URI)
    return TedeeProvider(AccountSession(account_id=7, credentials=credentials, expires_at=expires_at))


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


def envelope(result, status=200) -> dict:
    return {"result": result, "success": True, "errorMessages": [], "statusCode": status}


class TestRecordedListing:
    def test_one_list_call_then_one_call_per_pin(self, rsps, provider):
        rsps.get(f"{API}/my/lock/101/pin", json=fixture("pin_list.json"))
        cleaner = {
            **fixture("pin_details.json")["result"],
            "id": 1,
            "alias": "Cleaner",
            "pin": "864293",
            "startDate": None,
            "endDate": None,
        }
        rsps.get(f"{API}/my/lock/101/pin/1", json=envelope(cleaner))
        rsps.get(f"{API}/my/lock/101/pin/3", json=fixture("pin_details.json"))
        assert list(provider.list_codes("101").codes) == [
            ListedCode("1", "Cleaner", "864293", None, None),
            ListedCode("3", "nw-101", "582947", STARTS, ENDS),
        ]

    def test_a_pin_removed_between_the_two_calls_is_left_out(self, rsps, provider):
        rsps.get(f"{API}/my/lock/101/pin", json=fixture("pin_list.json"))
        rsps.get(f"{API}/my/lock/101/pin/1", status=404, json=ERRORS.get("404", {}))
        rsps.get(f"{API}/my/lock/101", json=fixture("lock_single.json"))  # the lock is still there
        rsps.get(f"{API}/my/lock/101/pin/3", json=fixture("pin_details.json"))
        assert [code.vendor_code_id for code in list(provider.list_codes("101").codes)] == ["3"]

    def test_hostile_details_are_cleaned_or_refused(self, rsps, provider):
        rsps.get(f"{API}/my/lock/101/pin", json=envelope({"listVersion": 1, "pins": [{"id": 3, "alias": "x"}]}))
        rsps.get(f"{API}/my/lock/101/pin/3", json=envelope({"id": 3, "alias": "nw\x00-101", "pin": 582947}))
        assert list(provider.list_codes("101").codes) == [ListedCode("3", "nw-101", None, None, None)]
        rsps.get(f"{API}/my/lock/101/pin/3", json=envelope({"id": 3, "alias": "x", "startDate": 17}))
        with pytest.raises(VendorUnavailable):
            provider.list_codes("101")

    def test_a_lock_away_from_its_bridge_and_a_rate_limit_keep_their_meaning(self, rsps, provider):
        rsps.get(f"{API}/my/lock/101/pin", status=428, json=ERRORS["428"])
        with pytest.raises(LockOffline):
            provider.list_codes("101")
        rsps.get(f"{API}/my/lock/101/pin", status=429, headers={"Retry-After": "120"})
        with pytest.raises(RateLimited) as caught:
            provider.list_codes("101")
        assert caught.value.retry_after == 120


class TestRecordedBusyDevice:
    def test_a_busy_device_or_failed_cloud_is_asked_again_for_that_pin_only(self, rsps, provider):
        rsps.get(f"{API}/my/lock/101/pin", json=envelope({"listVersion": 4, "pins": [{"id": 3, "alias": "nw-101"}]}))
        rsps.get(f"{API}/my/lock/101/pin/3", status=409, json=ERRORS["409"])
        rsps.get(f"{API}/my/lock/101/pin/3", status=503, body="")
        rsps.get(f"{API}/my/lock/101/pin/3", json=fixture("pin_details.json"))
        assert provider.list_codes("101") == Listing((ListedCode("3", "nw-101", "582947", STARTS, ENDS),), "4")
        assert len(rsps.calls) == 4

    def test_asked_at_most_three_times_then_the_listing_fails(self, rsps, provider):
        rsps.get(f"{API}/my/lock/101/pin", json=envelope({"listVersion": 4, "pins": [{"id": 3, "alias": "nw-101"}]}))
        rsps.get(f"{API}/my/lock/101/pin/3", status=409, json=ERRORS["409"])
        with pytest.raises(VendorUnavailable):
            provider.list_codes("101")
        assert len(rsps.calls) == 4

    def test_a_rate_limit_is_not_asked_again(self, rsps, provider):
        rsps.get(f"{API}/my/lock/101/pin", json=envelope({"listVersion": 4, "pins": [{"id": 3, "alias": "nw-101"}]}))
        rsps.get(f"{API}/my/lock/101/pin/3", status=429, headers={"Retry-After": "60"})
        with pytest.raises(RateLimited):
            provider.list_codes("101")
        assert len(rsps.calls) == 2


class TestRecordedListVersion:
    """`listVersion` [TD howtos/manage-lock-pin-list.rst]: sent back, an unchanged list answers 304."""

    PREVIOUS = Listing((ListedCode("3", "nw-101", "582947", STARTS, ENDS),), version="2")

    def test_an_unchanged_list_costs_one_call_and_gives_the_previous_codes(self, rsps, provider):
        # The docs print an envelope with the 304; HTTP gives a 304 no body, so none is read.
        rsps.get(f"{API}/my/lock/101/pin", status=304, body="", match=[matchers.query_param_matcher({"listVersion": "2"})])
        listing = provider.list_codes("101", self.PREVIOUS)
        assert listing == Listing(self.PREVIOUS.codes, "2", unchanged=True)
        assert len(rsps.calls) == 1

    def test_a_changed_list_is_read_whole_with_its_new_version(self, rsps, provider):
        changed = envelope({"listVersion": 5, "pins": [{"id": 3, "alias": "nw-101"}]})
        rsps.get(f"{API}/my/lock/101/pin", json=changed, match=[matchers.query_param_matcher({"listVersion": "2"})])
        moved = {**fixture("pin_details.json")["result"], "endDate": "2026-06-05T10:00:00.000Z"}
        rsps.get(f"{API}/my/lock/101/pin/3", json=envelope(moved))
        listing = provider.list_codes("101", self.PREVIOUS)
        assert listing == Listing((ListedCode("3", "nw-101", "582947", STARTS, ENDS + timedelta(days=1)),), "5")

    def test_no_previous_listing_sends_no_version_and_keeps_the_one_answered(self, rsps, provider):
        rsps.get(f"{API}/my/lock/101/pin", json=fixture("pin_list.json"), match=[matchers.query_param_matcher({})])
        rsps.get(f"{API}/my/lock/101/pin/1", json=envelope({**fixture("pin_details.json")["result"], "id": 1, "alias": "Cleaner"}))
        rsps.get(f"{API}/my/lock/101/pin/3", json=fixture("pin_details.json"))
        assert provider.list_codes("101").version == "2"

    @pytest.mark.parametrize("odd", [None, True, -1, "2a", "9" * 40, 2.5, {"v": 2}])
    def test_a_version_it_could_not_have_meant_is_not_kept(self, rsps, provider, odd):
        rsps.get(f"{API}/my/lock/101/pin", json=envelope({"listVersion": odd, "pins": []}))
        assert provider.list_codes("101") == Listing((), "")


class TestRecordedActivity:
    def test_pin_openings_since_a_moment_oldest_first(self, rsps, provider):
        rsps.get(
            f"{API}/my/deviceactivity",
            json=fixture("device_activity.json"),
            match=[matchers.query_param_matcher({"deviceId": "101", "elements": "200"})],
        )
        assert provider.code_uses("101", STARTS) == [
            CodeUse(at=datetime(2026, 6, 2, 14, 0, tzinfo=UTC), name="Cleaner"),  # 63, the sample's `username`
            CodeUse(at=datetime(2026, 6, 2, 15, 2, tzinfo=UTC), name="nw-101"),
        ]  # not the wrong PIN (62), the app unlock (32), the PIN outside its period (75), nor the older one

    def test_a_full_page_asks_for_the_next_with_the_last_items_date(self, rsps, provider):
        first = [
            {"id": 10_000 - n, "event": 61, "userName": "nw-101", "date": (STARTS + timedelta(hours=40, minutes=-n)).isoformat()[:19]}
            for n in range(ACTIVITY_PAGE)
        ]
        rsps.get(
            f"{API}/my/deviceactivity", json=envelope(first), match=[matchers.query_param_matcher({"deviceId": "101", "elements": "200"})]
        )
        older = [{"id": 1, "event": 61, "userName": "nw-101", "date": "2026-06-02T13:30:00"}]
        rsps.get(
            f"{API}/my/deviceactivity",
            json=envelope(older),
            match=[matchers.query_param_matcher({"deviceId": "101", "elements": "200", "lastElemDate": first[-1]["date"]})],
        )
        uses = provider.code_uses("101", STARTS)
        assert len(uses) == ACTIVITY_PAGE + 1 and uses[0].at == datetime(2026, 6, 2, 13, 30, tzinfo=UTC)

    def test_a_log_that_never_ends_is_read_no_further_than_the_cap(self, rsps, provider):
        served = []

        def page(request):  # always a full page, each older than the last, all after `since`
            items = [
                {"id": len(served) + n, "event": 61, "date": (ENDS - timedelta(seconds=len(served) + n)).isoformat()} for n in range(200)
            ]
            served.extend(items)
            return 200, {}, json.dumps(envelope(items))

        rsps.add_callback(responses.GET, f"{API}/my/deviceactivity", callback=page)
        assert len(provider.code_uses("101", STARTS)) == MAX_ACTIVITY_PAGES * ACTIVITY_PAGE
        assert len(rsps.calls) == MAX_ACTIVITY_PAGES

    def test_a_connection_without_the_activity_scope_is_told_to_reconnect(self, rsps, provider):
        rsps.get(f"{API}/my/deviceactivity", status=403, json=ERRORS["403"])
        with pytest.raises(OperationNotSupported) as caught:
            provider.code_uses("101", STARTS)
        assert "reconnect" in caught.value.message

    def test_no_pin_is_logged(self, rsps, provider, caplog):
        rsps.get(f"{API}/my/lock/101/pin", json=fixture("pin_list.json"))
        rsps.get(f"{API}/my/lock/101/pin/1", json=fixture("pin_details.json"))
        rsps.get(f"{API}/my/lock/101/pin/3", json=fixture("pin_details.json"))
        with caplog.at_level(logging.DEBUG):
            provider.list_codes("101")
        assert "582947" not in caplog.text


class TestRecordedHealth:
    def test_battery_and_bridge_connection_from_the_lock_before_v1_35(self, rsps, provider):
        rsps.get(f"{API}/my/lock/101", json=fixture("lock_single.json"))  # `lockProperties`
        assert provider.lock_health("101") == LockHealth(is_online=True, battery_percent=87)

    def test_battery_from_device_state_and_unknowns_as_none(self, rsps, provider):
        lock = {**fixture("lock_single.json")["result"], "deviceState": {"batteryLevel": 18}, "isConnected": None}
        rsps.get(f"{API}/my/lock/101", json=envelope(lock))
        assert provider.lock_health("101") == LockHealth(is_online=None, battery_percent=18)
        rsps.get(f"{API}/my/lock/101", json=envelope({**lock, "deviceState": {"batteryLevel": "full"}}))
        assert provider.lock_health("101").battery_percent is None

    def test_a_lock_gone_from_the_account(self, rsps, provider):
        rsps.get(f"{API}/my/lock/999", status=404, json={"success": False, "errorMessages": ["Lock not found."], "statusCode": 404})
        with pytest.raises(LockNotFound):
            provider.lock_health("999")


# --- over HTTP against the emulator ------------------------------------------------------------------


@pytest.fixture
def cloud():
    cloud = TedeeCloud()
    cloud.add_lock(101, "Front door")
    cloud.add_lock(102, "Back door", connected=False)
    return cloud


@pytest.fixture
def emulated(cloud) -> TedeeProvider:
    http = VendorHttp("Tedee")
    cloud.mount(http.session)
    return TedeeProvider(cloud.session(), http=http)


def spec(name: str, pin: str) -> CodeSpec:
    return CodeSpec(name=name, pin=pin, starts_at=STARTS, ends_at=ENDS, time_zone="Europe/Paris")


class TestAgainstTheEmulator:
    def test_listing_ours_and_the_unmanaged_not_the_deleted(self, cloud, emulated):
        ours = emulated.create_code("101", spec("nw-101", "582947"))
        gone = emulated.create_code("101", spec("nw-102", "739164"))
        emulated.delete_code("101", gone.vendor_code_id)
        cleaner = cloud.add_unmanaged_pin(101, "864293", "Cleaner")
        assert list(emulated.list_codes("101").codes) == [
            ListedCode(ours.vendor_code_id, "nw-101", "582947", STARTS, ENDS),
            ListedCode(str(cleaner), "Cleaner", "864293", None, None),
        ]
        with pytest.raises(LockOffline):  # the listing goes to the device through the bridge
            emulated.list_codes("102")

    def test_an_unchanged_list_is_one_call_and_any_change_is_read_whole(self, cloud, emulated):
        ours = emulated.create_code("101", spec("nw-101", "582947"))
        first = emulated.list_codes("101")
        calls = len(cloud.calls)
        assert emulated.list_codes("101", first) == Listing(first.codes, first.version, unchanged=True)
        assert cloud.calls[calls:] == [("GET", "my/lock/101/pin")]
        cloud.add_unmanaged_pin(101, "864293", "Cleaner")  # someone else's write moves the version too
        second = emulated.list_codes("101", first)
        assert not second.unchanged and second.version != first.version
        assert [code.vendor_code_id for code in second.codes] == [ours.vendor_code_id, str(max(cloud.locks[101].pins))]

    def test_a_write_the_device_takes_late_moves_the_version_when_it_lands(self, cloud, emulated):
        before = emulated.list_codes("101")
        cloud.land_late_next("POST", "pins", after=timedelta(0), listed_after=timedelta(seconds=30))
        with freeze_time(datetime.now(UTC)) as frozen:
            with pytest.raises(OutcomeUnknown):
                emulated.create_code("101", spec("nw-101", "582947"))
            frozen.tick(timedelta(seconds=1))
            assert emulated.list_codes("101", before).codes == ()  # written, not on the device yet
            frozen.tick(timedelta(seconds=60))
            landed = emulated.list_codes("101", before)
        assert not landed.unchanged and [code.name for code in landed.codes] == ["nw-101"]

    def test_a_use_after_the_guest_opened(self, cloud, emulated):
        emulated.create_code("101", spec("nw-101", "582947"))
        opened = STARTS + timedelta(hours=3)
        assert cloud.enter_pin(101, "582947", at=opened)
        assert not cloud.enter_pin(101, "582947", at=ENDS + timedelta(hours=1))  # expired: not an opening
        with freeze_time(ENDS + timedelta(hours=2)):
            assert emulated.code_uses("101", STARTS) == [CodeUse(at=opened, name="nw-101")]

    def test_health_online_and_offline(self, cloud, emulated):
        cloud.set_battery(101, 9)
        assert emulated.lock_health("101") == LockHealth(is_online=True, battery_percent=9)
        assert emulated.lock_health("102").is_online is False
