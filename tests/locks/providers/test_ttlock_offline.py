"""TTLock offline codes (keyboardPwd/get) on recorded answers: the exact form sent, whole hours in
UTC (across a DST change in Paris, and in half-hour zones), the guest's note and the host's warning,
errcodes and hostile answers. The emulator and the sandbox have their own tests
(test_ttlock_offline_emulator.py, tests/sandbox/test_ttlock_offline.py)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
from freezegun import freeze_time
from responses import matchers

from locks.providers.base import AccountSession, CodeSpec
from locks.providers.exceptions import (
    CodeRejected,
    LockNotFound,
    OperationNotSupported,
    OutcomeUnknown,
    VendorUnavailable,
)
from locks.providers.ttlock import ANSWER_MALFORMED, TTLockProvider, one_call_per_lock_in_process, to_ms
from tests.helpers.repository import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "ttlock"
BASE = "https://euapi.ttlock.com"
CLIENT_ID, CLIENT_SECRET = "nowistay-client-id-0042", "nowistay-client-secret-0042"
ACCESS, REFRESH = "ttlock-access-token-0123456789abcdef", "ttlock-refresh-token-fedcba9876543210"
NEW_ACCESS = "ttlock-access-token-refreshed-5a5a5a5a"
NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
# A stay that does not start or end on the hour: 15:20 to 11:40, Paris summer time.
STARTS, ENDS = datetime(2026, 6, 2, 13, 20, tzinfo=UTC), datetime(2026, 6, 4, 9, 40, tzinfo=UTC)
ON_LOCK_STARTS, ON_LOCK_ENDS = datetime(2026, 6, 2, 13, 0, tzinfo=UTC), datetime(2026, 6, 4, 10, 0, tzinfo=UTC)
NOTE = (
    "Enter this code on the lock at least once before {deadline} (within 24 hours of when it starts working), "
    "or it will stop working."
)


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


def make_provider(call_guard=one_call_per_lock_in_process, expires_in=timedelta(days=60)) -> TTLockProvider:
    session = AccountSession(
        account_id=7,
        credentials={"access_token": ACCESS, "refresh_token": REFRESH, "username": "+33612345678"},
        expires_at=NOW + expires_in,
    )
    return TTLockProvider(session, call_guard=call_guard)


def signed(access=ACCESS, **params) -> dict:
    return {"clientId": CLIENT_ID, "accessToken": access, "date": str(to_ms(datetime.now(UTC))), **{k: str(v) for k, v in params.items()}}


def spec(starts=STARTS, ends=ENDS, zone="Europe/Paris", name="nw-101") -> CodeSpec:
    return CodeSpec(name=name, pin=None, starts_at=starts, ends_at=ends, time_zone=zone)


def expect_get(rsps, body, starts=ON_LOCK_STARTS, ends=ON_LOCK_ENDS, access=ACCESS, name="nw-101"):
    form = signed(access, lockId=3001, keyboardPwdType=3, keyboardPwdName=name, startDate=to_ms(starts), endDate=to_ms(ends))
    rsps.post(f"{BASE}/v3/keyboardPwd/get", json=body, match=[matchers.urlencoded_params_matcher(form)])


def refusing_guard(lock_id):
    raise AssertionError("keyboardPwd/get must not wait for the lock's gateway")


# --- the request and the code ---------------------------------------------------------------------


@freeze_time(NOW)
class TestIssue:
    def test_sends_a_period_code_of_whole_hours_and_reads_the_code_and_its_id(self, rsps):
        expect_get(rsps, fixture("keyboardPwd_get"))
        issued = make_provider(call_guard=refusing_guard).issue_offline_code("3001", spec())
        assert (issued.vendor_code_id, issued.pin, issued.name) == ("24301", "5820417", "nw-101")
        # The start floored and the end ceiled: the guest is never shut out early.
        assert (issued.starts_at, issued.ends_at) == (ON_LOCK_STARTS, ON_LOCK_ENDS)
        assert issued.usage_note == NOTE.format(deadline="15:00 on 3 June 2026")
        assert issued.warning == (
            "Issued offline: TTLock's cloud computed this code without reaching the lock. It cannot be changed or "
            "deleted remotely until it has been used on the lock. TTLock counts it in whole hours: it works from "
            "15:00 on 2 June 2026 until 12:00 on 4 June 2026. Unless it is used before 15:00 on 3 June 2026, the "
            "lock suspends it."
        )
        (call,) = rsps.calls
        assert call.request.url == f"{BASE}/v3/keyboardPwd/get"  # the token travels in the form, not the URL
        assert "addType" not in call.request.body and "keyboardPwdVersion" not in call.request.body

    def test_without_an_id_in_the_answer_the_code_is_known_by_its_name_and_its_leading_zero_kept(self, rsps):
        expect_get(rsps, fixture("keyboardPwd_get_v2"))  # the documented v2 answer: {"keyboardPwd"} only
        issued = make_provider().issue_offline_code("3001", spec())
        assert (issued.vendor_code_id, issued.pin) == ("name:nw-101", "0582041")

    def test_a_stay_already_begun_starts_at_the_current_hour(self, rsps):
        with freeze_time("2026-06-03 10:25:00"):
            later_end = datetime(2026, 6, 5, 10, tzinfo=UTC)
            expect_get(rsps, fixture("keyboardPwd_get"), starts=datetime(2026, 6, 3, 10, tzinfo=UTC), ends=later_end)
            issued = make_provider().issue_offline_code("3001", spec(ends=later_end - timedelta(minutes=20)))
        assert issued.starts_at == datetime(2026, 6, 3, 10, tzinfo=UTC)
        assert issued.usage_note == NOTE.format(deadline="12:00 on 4 June 2026")
        assert "It starts at the current hour, not at the stay's start" in issued.warning

    def test_a_short_code_ending_within_its_first_day_has_no_note(self, rsps):
        expect_get(rsps, fixture("keyboardPwd_get"), ends=ON_LOCK_STARTS + timedelta(hours=20))
        issued = make_provider().issue_offline_code("3001", spec(ends=STARTS + timedelta(hours=19, minutes=30)))
        assert issued.usage_note == "" and "suspends" not in issued.warning

    @pytest.mark.parametrize(
        "starts, ends",
        [(datetime(2026, 5, 30, tzinfo=UTC), datetime(2026, 6, 1, 7, 59, tzinfo=UTC)), (ENDS, STARTS)],
        ids=["over", "inverted"],
    )
    def test_a_window_over_or_inverted_is_refused_without_a_request(self, rsps, starts, ends):
        with pytest.raises(CodeRejected):
            make_provider().issue_offline_code("3001", spec(starts=starts, ends=ends))

    def test_a_window_over_a_year_is_refused_without_a_request_and_365_days_are_asked_for(self, rsps):
        start = datetime(2026, 6, 2, 13, tzinfo=UTC)
        with pytest.raises(CodeRejected) as caught:
            make_provider().issue_offline_code("3001", spec(starts=start, ends=start + timedelta(days=365, minutes=1)))
        assert "365 days" in caught.value.message
        expect_get(rsps, fixture("keyboardPwd_get"), starts=start, ends=start + timedelta(days=365))
        assert make_provider().issue_offline_code("3001", spec(starts=start, ends=start + timedelta(days=365))).pin

    @pytest.mark.parametrize("lock_id, zone, error", [("LK-1", "Europe/Paris", LockNotFound), ("3001", "Mars/Olympus", CodeRejected)])
    def test_a_lock_id_or_zone_that_cannot_be_is_refused_without_a_request(self, rsps, lock_id, zone, error):
        with pytest.raises(error):
            make_provider().issue_offline_code(lock_id, spec(zone=zone))


# --- time zones: the window is UTC instants, rounded to UTC hours --------------------------------------


class TestTimeZones:
    @pytest.mark.parametrize(
        "starts, ends, on_lock, deadline",
        [
            # Spring forward (29 March, 02:00 CET -> 03:00 CEST): 24 hours after 15:00 CET is 16:00 CEST.
            ((2026, 3, 28, 14, 0), (2026, 3, 30, 8, 0), ((2026, 3, 28, 14), (2026, 3, 30, 8)), "16:00 on 29 March 2026"),
            # Fall back (25 October, 03:00 CEST -> 02:00 CET): 15:30 CEST to 10:45 CET becomes 15:00 CEST to 11:00 CET.
            ((2026, 10, 24, 13, 30), (2026, 10, 26, 9, 45), ((2026, 10, 24, 13), (2026, 10, 26, 10)), "14:00 on 25 October 2026"),
        ],
        ids=["spring-forward", "fall-back"],
    )
    def test_a_stay_across_a_dst_change_in_paris_gets_whole_utc_hours_and_a_deadline_24_real_hours_on(
        self, rsps, starts, ends, on_lock, deadline
    ):
        with freeze_time("2026-03-01"):
            expect_get(rsps, fixture("keyboardPwd_get"), starts=datetime(*on_lock[0], tzinfo=UTC), ends=datetime(*on_lock[1], tzinfo=UTC))
            issued = make_provider().issue_offline_code("3001", spec(datetime(*starts, tzinfo=UTC), datetime(*ends, tzinfo=UTC)))
        assert (issued.starts_at, issued.ends_at) == (datetime(*on_lock[0], tzinfo=UTC), datetime(*on_lock[1], tzinfo=UTC))
        assert issued.usage_note == NOTE.format(deadline=deadline)
        assert "whole number of hours" not in issued.warning

    @pytest.mark.parametrize(
        "ends, sent_end",
        [
            # Check-out 11:00 IST = 05:30 UTC: 06:00 UTC covers it whichever clock the lock counts hours on.
            (datetime(2026, 6, 4, 5, 30, tzinfo=UTC), datetime(2026, 6, 4, 6, tzinfo=UTC)),
            # 11:20 IST = 05:50 UTC: 06:00 UTC (11:30 IST) floored to the lock's hour is 11:00 IST, too early: 07:00 UTC.
            (datetime(2026, 6, 4, 5, 50, tzinfo=UTC), datetime(2026, 6, 4, 7, tzinfo=UTC)),
        ],
        ids=["on-the-local-hour", "between-local-hours"],
    )
    def test_in_kolkata_whole_utc_hours_are_sent_and_the_guest_is_told_the_earlier_deadline(self, rsps, ends, sent_end):
        starts = datetime(2026, 6, 2, 8, 30, tzinfo=UTC)  # 14:00 IST
        with freeze_time(NOW):
            expect_get(rsps, fixture("keyboardPwd_get"), starts=datetime(2026, 6, 2, 8, tzinfo=UTC), ends=sent_end)
            issued = make_provider().issue_offline_code("3001", spec(starts, ends, zone="Asia/Kolkata"))
        assert (issued.starts_at, issued.ends_at) == (datetime(2026, 6, 2, 8, tzinfo=UTC), sent_end)
        # Sent as 08:00 UTC (13:30 IST); a lock counting whole hours on its own clock starts at 13:00 IST:
        # the deadline is given from that earlier start.
        assert issued.usage_note == NOTE.format(deadline="13:00 on 3 June 2026")
        assert "Asia/Kolkata is not a whole number of hours from UTC" in issued.warning and "30 minutes earlier" in issued.warning

    def test_in_kathmandu_the_warning_says_forty_five_minutes(self, rsps):
        with freeze_time(NOW):
            starts, ends = datetime(2026, 6, 2, 8, 15, tzinfo=UTC), datetime(2026, 6, 4, 5, 15, tzinfo=UTC)  # 14:00 to 11:00 NPT
            sent = {"starts": datetime(2026, 6, 2, 8, tzinfo=UTC), "ends": datetime(2026, 6, 4, 6, tzinfo=UTC)}
            expect_get(rsps, fixture("keyboardPwd_get"), **sent)
            issued = make_provider().issue_offline_code("3001", spec(starts, ends, zone="Asia/Kathmandu"))
        assert "45 minutes earlier" in issued.warning
        assert issued.usage_note == NOTE.format(deadline="13:00 on 3 June 2026")  # 08:00 UTC is 13:45 NPT


# --- errors and hostile answers ---------------------------------------------------------------------------


@freeze_time(NOW)
class TestErrors:
    @pytest.mark.parametrize(
        "code, error_class",
        [(-1026, CodeRejected), (-1007, OperationNotSupported), (-1003, LockNotFound), (-2018, LockNotFound), (90000, VendorUnavailable)],
    )
    def test_each_errcode_maps_onto_the_vocabulary_in_plain_words(self, rsps, code, error_class):
        expect_get(rsps, errcode(code))
        with pytest.raises(error_class) as caught:
            make_provider().issue_offline_code("3001", spec())
        assert type(caught.value) is error_class and caught.value.vendor_code == str(code)
        assert errcode(code)["errmsg"] not in caught.value.message

    def test_an_expired_token_is_refreshed_once_and_the_code_asked_for_again(self, rsps):
        expect_get(rsps, errcode(10004))
        rsps.post(f"{BASE}/oauth2/token", json=fixture("refresh_token"))
        expect_get(rsps, fixture("keyboardPwd_get"), access=NEW_ACCESS)
        assert make_provider().issue_offline_code("3001", spec()).pin == "5820417"

    def test_a_lost_answer_is_an_unknown_outcome(self, rsps):
        rsps.post(f"{BASE}/v3/keyboardPwd/get", body=requests.ReadTimeout("lost"))
        with pytest.raises(OutcomeUnknown):
            make_provider().issue_offline_code("3001", spec())

    @pytest.mark.parametrize(
        "answer",
        [
            {},
            {"keyboardPwdId": 24301},
            {"keyboardPwd": 5820417, "keyboardPwdId": 24301},  # a number may have lost a leading zero
            {"keyboardPwd": "58204a7"},
            {"keyboardPwd": "582\x000417"},
            {"keyboardPwd": "５８２０４１７"},  # digits, but not ASCII ones
            {"keyboardPwd": "12345"},
            {"keyboardPwd": "9" * 100_000},
            {"keyboardPwd": None},
            {"keyboardPwd": ["5820417"]},
            {"keyboardPwd": "5820417", "keyboardPwdId": 10**30},
            {"keyboardPwd": "5820417", "keyboardPwdId": -5},
            {"keyboardPwd": "5820417", "keyboardPwdId": True},
            {"keyboardPwd": "5820417", "keyboardPwdId": 24301.5},
            {"keyboardPwd": "5820417", "keyboardPwdId": "243\x0001"},
            {"keyboardPwd": "5820417", "keyboardPwdId": {"id": 1}},
        ],
        ids=lambda answer: repr(answer)[:40],
    )
    def test_a_hostile_answer_is_refused_as_unreadable_without_echoing_it(self, rsps, answer):
        expect_get(rsps, answer)
        with pytest.raises(OutcomeUnknown) as caught:
            make_provider().issue_offline_code("3001", spec())
        assert caught.value.vendor_code == ANSWER_MALFORMED
        assert "5820417" not in caught.value.message and "\x00" not in caught.value.message

    def test_an_answer_that_is_not_an_object_is_malformed(self, rsps):
        expect_get(rsps, ["5820417"])
        with pytest.raises(VendorUnavailable) as caught:
            make_provider().issue_offline_code("3001", spec())
        assert caught.value.vendor_code == ANSWER_MALFORMED


# --- deleting and changing a code known by its name ------------------------------------------------------


def listing(*entries) -> dict:
    return {"list": list(entries), "pageNo": 1, "pageSize": 200, "pages": 1, "total": len(entries)}


def entry(code_id, name="nw-101", is_custom=0) -> dict:
    return {
        "keyboardPwdId": code_id, "lockId": 3001, "keyboardPwd": "0582041", "keyboardPwdName": name, "keyboardPwdType": "3",
        "startDate": to_ms(ON_LOCK_STARTS), "endDate": to_ms(ON_LOCK_ENDS), "isCustom": is_custom,
    }


@freeze_time(NOW)
class TestCodesKnownByName:
    def expect_listing(self, rsps, *entries):
        query = matchers.query_param_matcher(signed(lockId=3001, pageNo=1, pageSize=200, orderBy=1))
        rsps.get(f"{BASE}/v3/lock/listKeyboardPwd", json=listing(*entries), match=[query])

    def test_delete_finds_the_random_code_of_that_name_and_deletes_it_by_id(self, rsps):
        self.expect_listing(rsps, entry(24400, is_custom=1), entry(24310), entry(24300, name="nw-102"))
        delete = matchers.urlencoded_params_matcher(signed(lockId=3001, keyboardPwdId=24310, deleteType=2))
        rsps.post(f"{BASE}/v3/keyboardPwd/delete", json=fixture("ok"), match=[delete])
        assert make_provider().delete_code("3001", "name:nw-101") is None

    def test_delete_of_a_name_no_random_code_has_is_done_without_a_delete(self, rsps):
        self.expect_listing(rsps, entry(24400, is_custom=1))  # a custom code of that name is not it
        assert make_provider().delete_code("3001", "name:nw-101") is None

    def test_deleting_an_offline_code_never_used_says_why_it_cannot(self, rsps):
        rsps.post(f"{BASE}/v3/keyboardPwd/delete", json=errcode(-3008))
        with pytest.raises(OperationNotSupported) as caught:
            make_provider().delete_code("3001", "24301")
        assert caught.value.vendor_code == "-3008" and "delete" in caught.value.message

    def test_update_resolves_the_name_too(self, rsps):
        self.expect_listing(rsps, entry(24310))
        change = signed(lockId=3001, keyboardPwdId=24310, keyboardPwdName="nw-101", startDate=to_ms(ON_LOCK_STARTS),
                        endDate=to_ms(ON_LOCK_ENDS), changeType=2)
        rsps.post(f"{BASE}/v3/keyboardPwd/change", json=fixture("ok"), match=[matchers.urlencoded_params_matcher(change)])
        moved = make_provider().update_code("3001", "name:nw-101", spec(ON_LOCK_STARTS, ON_LOCK_ENDS))
        assert moved.vendor_code_id == "24310"
