"""TTLock offline codes over HTTP: the real adapter against the stateful emulator (tests/vendors/
ttlock_offline.py). A lock whose gateway is offline still gets a code; the code is listed; it cannot
be deleted until the guest has used it; unused for 24 hours, it stops opening."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from locks.providers.base import CodeSpec
from locks.providers.exceptions import CodeRejected, LockNotFound, LockOffline, OperationNotSupported, OutcomeUnknown
from locks.providers.http import VendorHttp
from locks.providers.ttlock import TTLockProvider, one_call_per_lock_in_process
from tests.vendors.ttlock import TTLockCloud

BASE = "https://euapi.ttlock.com"
STARTS, ENDS = datetime(2026, 6, 2, 13, 20, tzinfo=UTC), datetime(2026, 6, 4, 9, 40, tzinfo=UTC)
ON_LOCK_STARTS, ON_LOCK_ENDS = datetime(2026, 6, 2, 13, 0, tzinfo=UTC), datetime(2026, 6, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def ttlock_settings(settings):
    settings.TTLOCK_API_URL = BASE
    settings.TTLOCK_CLIENT_ID = "nowistay-client-id-0042"
    settings.TTLOCK_CLIENT_SECRET = "nowistay-client-secret-0042"


@pytest.fixture
def frozen():
    with freeze_time("2026-06-01 08:00:00") as clock:
        yield clock


@pytest.fixture
def cloud(frozen):
    cloud = TTLockCloud()
    cloud.add_lock(3001, "Front door")
    cloud.add_lock(3002, "Back door", online=False)  # its gateway is offline
    return cloud


def provider_on(cloud: TTLockCloud) -> TTLockProvider:
    provider = TTLockProvider(cloud.session(), call_guard=one_call_per_lock_in_process, http=VendorHttp("TTLock"))
    provider.http.session.mount("https://", cloud.transport())
    return provider


def spec(name="nw-101", starts=STARTS, ends=ENDS) -> CodeSpec:
    return CodeSpec(name=name, pin=None, starts_at=starts, ends_at=ends, time_zone="Europe/Paris")


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class TestOfflineLock:
    def test_a_lock_whose_gateway_is_offline_gets_an_offline_code_where_a_custom_one_fails(self, cloud):
        provider = provider_on(cloud)
        with pytest.raises(LockOffline):
            provider.create_code("3002", CodeSpec("nw-100", "582947", STARTS, ENDS, "Europe/Paris"))
        issued = provider.issue_offline_code("3002", spec())
        assert (issued.starts_at, issued.ends_at) == (ON_LOCK_STARTS, ON_LOCK_ENDS)
        assert issued.pin.isdigit() and len(issued.pin) == 7
        (on_lock,) = cloud.passcodes_on(3002)
        assert (on_lock["keyboardPwd"], str(on_lock["keyboardPwdId"]), on_lock["isCustom"]) == (issued.pin, issued.vendor_code_id, 0)
        assert (on_lock["startDate"], on_lock["endDate"]) == (ms(ON_LOCK_STARTS), ms(ON_LOCK_ENDS))
        (sent,) = cloud.calls_to("/v3/keyboardPwd/get")
        assert (sent["lockId"], sent["keyboardPwdType"], sent["keyboardPwdName"]) == ("3002", "3", "nw-101")
        assert (int(sent["startDate"]), int(sent["endDate"])) == (ms(ON_LOCK_STARTS), ms(ON_LOCK_ENDS))

    def test_the_code_is_listed_as_the_lock_holds_it_and_found_by_its_name(self, cloud):
        provider = provider_on(cloud)
        issued = provider.issue_offline_code("3001", spec())
        (listed,) = provider.list_codes("3001").codes
        assert (listed.vendor_code_id, listed.name, listed.pin) == (issued.vendor_code_id, "nw-101", issued.pin)
        assert (listed.starts_at, listed.ends_at) == (issued.starts_at, issued.ends_at)
        assert provider.find_code("3001", "nw-101").pin == issued.pin

    def test_a_lost_answer_leaves_a_code_that_is_found_by_its_name(self, cloud):
        provider = provider_on(cloud)
        cloud.lose_response_next("keyboardPwd/get")
        with pytest.raises(OutcomeUnknown):
            provider.issue_offline_code("3001", spec())
        found = provider.find_code("3001", "nw-101")
        assert found.pin == cloud.passcodes_on(3001)[0]["keyboardPwd"]

    def test_a_lock_without_passcode_data_says_so(self, cloud):
        cloud.fail_next("keyboardPwd/get", -1007)
        with pytest.raises(OperationNotSupported) as caught:
            provider_on(cloud).issue_offline_code("3002", spec())
        assert caught.value.vendor_code == "-1007"

    def test_a_lock_not_in_the_account_is_not_found(self, cloud):
        with pytest.raises(LockNotFound):
            provider_on(cloud).issue_offline_code("3999", spec())


class TestFirstUse:
    def test_it_cannot_be_deleted_before_the_guest_used_it_then_can(self, cloud, frozen):
        provider = provider_on(cloud)
        issued = provider.issue_offline_code("3001", spec())
        with pytest.raises(OperationNotSupported) as caught:
            provider.delete_code("3001", issued.vendor_code_id)
        assert caught.value.vendor_code == "-3008"
        assert [code["keyboardPwd"] for code in cloud.passcodes_on(3001)] == [issued.pin]
        with pytest.raises(OperationNotSupported):
            provider.update_code("3001", issued.vendor_code_id, spec(ends=ENDS + timedelta(days=1)))

        frozen.move_to(ON_LOCK_STARTS + timedelta(hours=3))
        assert cloud.enter_pin(3001, issued.pin)  # the guest arrives
        provider.delete_code("3001", issued.vendor_code_id)
        assert cloud.passcodes_on(3001) == []
        provider.delete_code("3001", issued.vendor_code_id)  # gone already: fine

    def test_the_window_of_a_code_deleted_in_the_app_is_not_issued_again(self, cloud):
        provider = provider_on(cloud)
        issued = provider.issue_offline_code("3001", spec())
        cloud.delete_in_app_by_bluetooth(3001, int(issued.vendor_code_id))
        with pytest.raises(CodeRejected) as again:
            provider.issue_offline_code("3001", spec())
        assert again.value.vendor_code == "-1026" and "another start or end hour" in again.value.message
        assert provider.issue_offline_code("3001", spec(ends=ENDS + timedelta(hours=1))).pin  # another end hour

    def test_unused_for_24_hours_it_stops_opening_and_used_in_time_it_keeps_opening(self, cloud, frozen):
        provider = provider_on(cloud)
        late = provider.issue_offline_code("3001", spec("nw-101"))
        on_time = provider.issue_offline_code("3001", spec("nw-102"))
        assert late.pin != on_time.pin
        assert cloud.enter_pin(3001, on_time.pin, at=ON_LOCK_STARTS + timedelta(hours=23, minutes=59))
        assert not cloud.enter_pin(3001, late.pin, at=ON_LOCK_STARTS + timedelta(hours=24))
        assert cloud.enter_pin(3001, on_time.pin, at=ON_LOCK_STARTS + timedelta(hours=40))

    def test_a_code_known_by_its_name_is_deleted_by_the_id_the_listing_gives(self, cloud, frozen):
        cloud.offline_answers_with_id = False
        provider = provider_on(cloud)
        provider.create_code("3001", CodeSpec("nw-101", "582947", STARTS, ENDS, "Europe/Paris"))  # a custom code, same name
        issued = provider.issue_offline_code("3001", spec())
        assert issued.vendor_code_id == "name:nw-101"
        cloud.enter_pin(3001, issued.pin, at=ON_LOCK_STARTS + timedelta(hours=1))
        provider.delete_code("3001", issued.vendor_code_id)
        assert [code["keyboardPwd"] for code in cloud.passcodes_on(3001)] == ["582947"]  # the custom one stays
        provider.delete_code("3001", issued.vendor_code_id)  # gone already: fine
