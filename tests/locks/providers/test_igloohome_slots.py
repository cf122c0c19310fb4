"""igloohome's three codes per start slot: the free variance is chosen from Nowistay's own records,
a variance another client took is skipped after its 409, and a full start hour moves the code an
hour earlier (never into the past); the lifecycle and the booking preview on top of it.

Everything runs over HTTP against the stateful emulator in tests/vendors/igloohome.py.
"""

from datetime import date, datetime, timedelta

import pytest
import responses
from freezegun import freeze_time

from bookings.models import Booking
from locks import services
from locks.models import AccessCode, CodeState, Lock, LockAssignment, ProviderAccount
from locks.providers import registry
from locks.providers.base import AccountSession, CodeSpec
from locks.providers.exceptions import CodeRejected
from locks.providers.igloohome import IgloohomeProvider
from locks.services.preview import code_outlook
from tests.helpers.lifecycle import current, tick, utc
from tests.vendors.igloohome import CLIENT_ID, CLIENT_SECRET, IgloohomeCloud

pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")

CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
LOCK = "IGL-1"
# A stay from 14:30 on 10 January 2027 in Paris (+01:00): igloohome's start slot is 14:00 local, 13:00 UTC.
STARTS, ENDS = utc(2027, 1, 10, 13, 30), utc(2027, 1, 12, 10, 15)
SLOT_14, SLOT_13, SLOT_12, SLOT_11 = (utc(2027, 1, 10, hour) for hour in (13, 12, 11, 10))
LOCK_ENDS = utc(2027, 1, 12, 11)


@pytest.fixture
def cloud():
    vendor = IgloohomeCloud()
    vendor.add_lock(LOCK, "Front door", bridge="IGB-1")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        vendor.register(mock)
        yield vendor


def provider() -> IgloohomeProvider:
    return IgloohomeProvider(AccountSession(account_id=7, credentials=dict(CREDENTIALS)))


def spec(used=(), starts_at=STARTS, ends_at=ENDS, name="nw-101") -> CodeSpec:
    records = {"used_slots": frozenset(used)} if used else {}  # none: as for a vendor without slot limits
    return CodeSpec(name=name, pin=None, starts_at=starts_at, ends_at=ends_at, time_zone="Europe/Paris", **records)


def full(slot_start: datetime, ends_at: datetime = LOCK_ENDS) -> set[tuple[datetime, datetime, int]]:
    """All three variances of an hourly slot, as Nowistay's rows would list them."""
    return {(slot_start, ends_at, variance) for variance in (1, 2, 3)}


def algopin_posts(cloud: IgloohomeCloud) -> int:
    return sum(1 for method, path in cloud.calls if method == "POST" and "/algopin/" in path)


def sent(cloud: IgloohomeCloud) -> list[tuple[str, int]]:
    return [(code["startDate"], code["variance"]) for code in cloud.codes_on(LOCK) if code["pin"]]


# --- the adapter ------------------------------------------------------------------------------------

class TestChoosingTheVariance:
    def test_the_first_variance_nowistay_has_not_used_is_asked_for_without_a_wasted_409(self, cloud):
        with freeze_time("2027-01-01 00:00:00"):
            first = provider().create_code(LOCK, spec(name="nw-1"))
            second = provider().create_code(LOCK, spec({(first.starts_at, first.ends_at, first.variance)}, name="nw-2"))
            posts_before = algopin_posts(cloud)
            third = provider().create_code(LOCK, spec({(SLOT_14, LOCK_ENDS, 1), (SLOT_14, LOCK_ENDS, 2)}, name="nw-3"))
        assert (first.variance, second.variance, third.variance) == (1, 2, 3)
        assert algopin_posts(cloud) - posts_before == 1  # straight to variance 3
        assert algopin_posts(cloud) == 3  # and no 409 on the way at all
        assert third.starts_at == SLOT_14 and third.warning == ""

    def test_variances_used_in_another_start_hour_or_by_a_daily_code_leave_the_slot_free(self, cloud):
        daily_same_start = (SLOT_14, SLOT_14 + timedelta(days=29), 1)
        with freeze_time("2027-01-01 00:00:00"):
            issued = provider().create_code(LOCK, spec(full(SLOT_13) | {daily_same_start}))
        assert (issued.starts_at, issued.variance) == (SLOT_14, 1)
        assert sent(cloud) == [("2027-01-10T14:00:00+01:00", 1)]

    def test_a_variance_another_client_used_answers_409_and_the_next_free_one_is_used(self, cloud):
        cloud.take_variance(LOCK, "hourly", "2027-01-10T14:00:00+01:00", 1)  # the host, in the igloohome app
        with freeze_time("2027-01-01 00:00:00"):
            issued = provider().create_code(LOCK, spec({(SLOT_14, LOCK_ENDS, 2)}))  # ours: variance 2
        assert (issued.starts_at, issued.variance, issued.warning) == (SLOT_14, 3, "")
        assert algopin_posts(cloud) == 2  # 1 (taken by the app: 409), then 3; 2 never asked for
        assert sent(cloud) == [("2027-01-10T14:00:00+01:00", 3)]


class TestAFullStartHour:
    def test_the_code_starts_an_hour_earlier_and_says_so_to_host_and_guest(self, cloud):
        with freeze_time("2027-01-01 00:00:00"):
            issued = provider().create_code(LOCK, spec(full(SLOT_14)))
        assert sent(cloud) == [("2027-01-10T13:00:00+01:00", 1)]
        assert algopin_posts(cloud) == 1
        assert (issued.starts_at, issued.ends_at, issued.variance) == (SLOT_13, LOCK_ENDS, 1)
        assert issued.warning == (
            "igloohome has already issued three codes starting at 14:00 on this lock, so this code starts an hour "
            "earlier than wanted, at 13:00 on 10 January 2027."
        )
        # The 24-hour first-use window runs from the code's real start.
        assert "before 13:00 on 11 January 2027" in issued.usage_note

    def test_an_hour_full_after_igloohome_s_answers_moves_it_too(self, cloud):
        for variance in (1, 2, 3):
            cloud.take_variance(LOCK, "hourly", "2027-01-10T14:00:00+01:00", variance)
        with freeze_time("2027-01-01 00:00:00"):
            issued = provider().create_code(LOCK, spec())
        assert algopin_posts(cloud) == 4  # three 409s, then the hour before
        assert (issued.starts_at, issued.variance) == (SLOT_13, 1)
        assert "starts an hour earlier than wanted, at 13:00 on 10 January 2027" in issued.warning

    def test_each_further_full_hour_moves_it_one_more_hour(self, cloud):
        with freeze_time("2027-01-01 00:00:00"):
            issued = provider().create_code(LOCK, spec(full(SLOT_14) | full(SLOT_13) | {(SLOT_12, LOCK_ENDS, 1)}))
        assert sent(cloud) == [("2027-01-10T12:00:00+01:00", 2)]
        assert issued.warning == (
            "igloohome has already issued three codes starting at 14:00 and at 13:00 on this lock, so this code "
            "starts 2 hours earlier than wanted, at 12:00 on 10 January 2027."
        )

    def test_three_hours_earlier_at_most_then_the_code_is_refused_without_asking_igloohome(self, cloud):
        used = full(SLOT_14) | full(SLOT_13) | full(SLOT_12) | full(SLOT_11)
        with freeze_time("2027-01-01 00:00:00"), pytest.raises(CodeRejected) as refused:
            provider().create_code(LOCK, spec(used))
        assert refused.value.message == (
            "igloohome has already issued three codes starting at 14:00, at 13:00, at 12:00 and at 11:00 on this "
            "lock, so no further code can be issued for this stay's start."
        )
        assert algopin_posts(cloud) == 0

    def test_never_earlier_than_the_current_hour(self, cloud):
        with freeze_time("2027-01-10 12:20:00"):  # 13:20 in Paris: 13:00 is the earliest start igloohome takes
            issued = provider().create_code(LOCK, spec(full(SLOT_14)))
            with pytest.raises(CodeRejected, match="starting at 14:00 and at 13:00 on this lock"):
                provider().create_code(LOCK, spec(full(SLOT_14) | full(SLOT_13)))
        assert (issued.starts_at, sent(cloud)) == (SLOT_13, [("2027-01-10T13:00:00+01:00", 1)])

    def test_a_stay_under_way_whose_hour_is_full_gets_a_code_from_the_next_hour(self, cloud):
        # 15:20 in Paris; the stay began at 14:30, so the code would start now, at 15:00.
        slot_15, slot_16 = utc(2027, 1, 10, 14), utc(2027, 1, 10, 15)
        with freeze_time("2027-01-10 14:20:00"):
            issued = provider().create_code(LOCK, spec(full(slot_15)))
        assert sent(cloud) == [("2027-01-10T16:00:00+01:00", 1)]  # not 14:00: igloohome refuses a past start
        assert (issued.starts_at, issued.variance) == (slot_16, 1)
        assert issued.warning == (
            "igloohome has already issued three codes starting at 15:00 on this lock, and a code cannot start in "
            "the past, so this code starts an hour later than wanted, at 16:00 on 10 January 2027."
        )
        assert "before 16:00 on 11 January 2027" in issued.usage_note

    def test_the_emulator_refuses_a_start_before_the_current_hour(self, cloud):
        # What makes the test above meaningful: asking for 14:00 at 15:20 is refused.
        with freeze_time("2027-01-10 14:20:00"):
            answer = provider()._api("POST", f"/devices/{LOCK}/algopin/hourly", json={
                "variance": 1, "startDate": "2027-01-10T14:00:00+01:00", "endDate": "2027-01-12T12:00:00+01:00",
                "accessName": "nw-101",
            })
        assert answer.status_code == 400


class TestDailyCodes:
    # 40 days from 14:30 on 1 February 2027: a daily code, whose slot is its start day.
    starts, ends = utc(2027, 2, 1, 13, 30), utc(2027, 3, 13, 10)

    def test_the_free_variance_of_the_start_day_is_chosen(self, cloud):
        earlier_that_day = (utc(2027, 2, 1, 8), utc(2027, 3, 2, 8), 1)  # a daily code from 09:00 the same day
        with freeze_time("2027-01-01 00:00:00"):
            issued = provider().create_code(LOCK, spec({earlier_that_day}, self.starts, self.ends))
        (code,) = cloud.codes_on(LOCK)
        assert (code["kind"], code["variance"], issued.variance) == ("daily", 2, 2)
        assert algopin_posts(cloud) == 1

    def test_a_full_start_day_is_refused_without_asking_igloohome(self, cloud):
        used = {(utc(2027, 2, 1, hour), utc(2027, 3, 2, hour), variance) for hour, variance in ((8, 1), (9, 2), (13, 3))}
        with freeze_time("2027-01-01 00:00:00"), pytest.raises(CodeRejected) as refused:
            provider().create_code(LOCK, spec(used, self.starts, self.ends))
        assert refused.value.message == (
            "igloohome has already issued three codes for stays over 28 days starting on 1 February 2027 on this "
            "lock, so no further code can be issued for this stay's start."
        )
        assert algopin_posts(cloud) == 0


# --- the lifecycle ----------------------------------------------------------------------------------------

@pytest.fixture
def igloo_property(db, host, make_property, cloud, monkeypatch):
    monkeypatch.setitem(registry.PROVIDER_CLASSES, "igloohome", IgloohomeProvider)
    account = ProviderAccount.objects.create(
        host=host, provider="igloohome", display_name=f"API client {CLIENT_ID}", credentials=CREDENTIALS
    )
    lock = Lock.objects.create(account=account, vendor_lock_id=LOCK, name="Front door", supports_remote_codes=True)
    prop = make_property(name="Seaside Flat")  # Paris; lead 5 days, margin 30 minutes: codes from 14:30
    LockAssignment.objects.create(property=prop, lock=lock)
    return prop


def change_departure(booking, departure: date) -> AccessCode:
    """The host moves the departure: the old algoPIN is superseded and a new one issued."""
    booking.departure_date = departure
    booking.save()
    services.booking_changed(booking=booking)
    tick()
    tick()
    return current(booking)


def assert_working(code: AccessCode, cloud: IgloohomeCloud) -> None:
    assert code.state == CodeState.ACTIVE and code.pin
    (on_lock,) = [entry for entry in cloud.codes_on(LOCK) if entry["pinId"] == code.vendor_code_id]
    assert on_lock["pin"] == code.pin and on_lock["variance"] == code.variance
    assert datetime.fromisoformat(on_lock["startDate"]) == code.lock_starts_at


@pytest.mark.django_db
class TestAStayChangedManyTimes:
    def test_every_change_in_one_start_hour_gets_a_working_code(self, igloo_property, book, cloud):
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(igloo_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            codes = [current(booking)]
            for departure in (6, 7, 8, 9, 10):
                codes.append(change_departure(booking, date(2026, 6, departure)))
        assert [code.state for code in codes] == [CodeState.ACTIVE] * 6  # each one active when it was current
        for code in codes:
            assert_working(code, cloud)
        at_14, at_13 = utc(2026, 6, 2, 12), utc(2026, 6, 2, 11)
        assert [(code.lock_starts_at, code.variance) for code in codes] == [
            (at_14, 1), (at_14, 2), (at_14, 3), (at_13, 1), (at_13, 2), (at_13, 3),
        ]
        assert len({code.pin for code in codes}) == 6
        assert algopin_posts(cloud) == 6  # each variance chosen from our records: no 409 wasted
        fourth = codes[3]
        assert fourth.warning == (
            "igloohome has already issued three codes starting at 14:00 on this lock, so this code starts an hour "
            "earlier than wanted, at 13:00 on 2 June 2026."
        )
        assert "before 13:00 on 3 June 2026" in fourth.usage_note
        assert [AccessCode.objects.get(pk=code.pk).state for code in codes[:-1]] == [CodeState.SUPERSEDED] * 5

    def test_a_stay_under_way_changed_four_times_in_the_hour_gets_a_code_from_the_next_hour(
        self, igloo_property, book, cloud
    ):
        with freeze_time("2026-06-02 13:20:00"):  # 15:20 in Paris; the stay began at 14:30
            booking = book(igloo_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            codes = [current(booking)]
            for departure in (6, 7, 8):
                codes.append(change_departure(booking, date(2026, 6, departure)))
        assert [code.state for code in codes] == [CodeState.ACTIVE] * 4
        for code in codes:
            assert_working(code, cloud)
        at_15, at_16 = utc(2026, 6, 2, 13), utc(2026, 6, 2, 14)
        assert [(code.lock_starts_at, code.variance) for code in codes] == [(at_15, 1), (at_15, 2), (at_15, 3), (at_16, 1)]
        assert codes[3].warning == (
            "igloohome has already issued three codes starting at 15:00 on this lock, and a code cannot start in "
            "the past, so this code starts an hour later than wanted, at 16:00 on 2 June 2026."
        )
        assert algopin_posts(cloud) == 4


# --- the booking preview ----------------------------------------------------------------------------------

def proposed(booking: Booking, **changes) -> Booking:
    copy = Booking.objects.select_related("property").get(pk=booking.pk)
    for name, value in changes.items():
        setattr(copy, name, value)
    return copy


@pytest.mark.django_db
class TestPreview:
    def test_the_preview_says_when_the_new_code_will_start_an_hour_earlier(self, igloo_property, book, cloud):
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(igloo_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            change_departure(booking, date(2026, 6, 6))
            two_used = code_outlook(booking, proposed(booking, departure_date=date(2026, 6, 7)), now=utc(2026, 6, 1))
            change_departure(booking, date(2026, 6, 7))
            calls_before = list(cloud.calls)
            three_used = code_outlook(booking, proposed(booking, departure_date=date(2026, 6, 8)), now=utc(2026, 6, 1))
        assert "already issued" not in two_used  # variance 3 of 14:00 is still free
        assert three_used == (
            "the code's window moves to 14:30 2 Jun → 11:30 8 Jun: igloohome cannot change a code, so a new code "
            "will be issued and the current one works until 12:00 7 Jun; igloohome has already issued three codes "
            "starting at 14:00 on this lock, so the new code will start at 13:00"
        )
        assert cloud.calls == calls_before  # read from our rows, not from igloohome

    def test_a_stay_under_way_is_told_its_new_code_starts_at_the_next_hour(self, igloo_property, book, cloud):
        with freeze_time("2026-06-02 13:20:00"):  # 15:20 in Paris
            booking = book(igloo_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            change_departure(booking, date(2026, 6, 6))
            change_departure(booking, date(2026, 6, 7))
            outlook = code_outlook(booking, proposed(booking, departure_date=date(2026, 6, 8)), now=utc(2026, 6, 2, 13, 20))
        assert outlook.endswith(
            "; igloohome has already issued three codes starting at 15:00 on this lock, and a code cannot start in "
            "the past, so the new code will start at 16:00"
        )
