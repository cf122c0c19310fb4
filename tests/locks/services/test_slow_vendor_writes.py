"""A write that lands after its answer was lost never leaves a second code on the lock.

Stateful vendor emulators over HTTP, real scheduler passes under freezegun:
- TTLock and Tedee: a create times out on our side and lands later; its passcode shows in the
  listing only some time after that. A resend answers "already exists" (-3007, 406). Nowistay looks
  again and adopts the first code; it never creates the booking's code with another PIN while the
  first may be on the lock.
- Nuki: a code accepted (204) stays out of the list for tens of seconds; that is "pending on the
  lock", not a failure: no new PIN, no "we have stopped retrying" email.
"""

from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from freezegun import freeze_time

from bookings.models import BookingStatus
from locks import services
from locks.models import AccessCode, CodeState, Lock, LockAssignment, ProviderAccount, VendorCall
from locks.providers import registry
from locks.providers.base import Capabilities, IssuedCode
from locks.providers.exceptions import CodePending, OutcomeUnknown, VendorUnavailable
from locks.providers.nuki import NukiProvider
from locks.providers.tedee import TedeeProvider
from locks.providers.ttlock import TTLockProvider
from locks.services.retry_now import code_retry_now
from tests.helpers.lifecycle import current, passes, tick, utc
from tests.vendors.nuki import NukiCloud, api_token_credentials
from tests.vendors.tedee import TedeeCloud
from tests.vendors.ttlock import TTLockCloud

START = utc(2026, 6, 1, 10, 0)
ARRIVAL, DEPARTURE = date(2026, 6, 2), date(2026, 6, 5)


def assign(host, make_property, provider: str, vendor_lock_id: str, credentials: dict):
    prop = make_property(time_zone="Europe/Paris")
    account = ProviderAccount.objects.create(host=host, provider=provider, display_name="Host", credentials=credentials)
    lock = Lock.objects.create(account=account, vendor_lock_id=vendor_lock_id, name="Front door", supports_remote_codes=True)
    LockAssignment.objects.create(property=prop, lock=lock)
    return prop


def run_until(frozen, end: datetime) -> None:
    """Run a pass whenever the booking's code is due, as beat and the look-again tasks would."""
    for _ in range(100):
        due = AccessCode.objects.filter(next_attempt_at__isnull=False).order_by("next_attempt_at").first()
        if due is None or due.next_attempt_at > end:
            break
        frozen.move_to(max(due.next_attempt_at, datetime.now().astimezone()))
        tick()
    frozen.move_to(end)


# --- TTLock --------------------------------------------------------------------------------------

@pytest.fixture
def ttlock(settings, monkeypatch):
    monkeypatch.setitem(registry.PROVIDER_CLASSES, "ttlock", TTLockProvider)
    cloud = TTLockCloud()
    cloud.add_lock(3001, "Front door")
    with cloud:
        yield cloud


@pytest.fixture
def ttlock_property(host, make_property, ttlock):
    return assign(host, make_property, "ttlock", "3001", ttlock.issue_token("host@example.com"))


class TestTTLock:
    def test_retry_now_right_after_a_timed_out_create_looks_and_never_sends_another_pin(self, ttlock_property, book, ttlock):
        # The gateway finishes 30 s after our timeout; the cloud lists it 4 minutes later still,
        # longer than the listing delay Nowistay waits for: the resend meets -3007.
        ttlock.land_late_next("keyboardPwd/add", after=timedelta(seconds=30), listed_after=timedelta(minutes=4))
        with freeze_time(START) as frozen:
            booking = book(ttlock_property, ARRIVAL, DEPARTURE)
            services.booking_created(booking=booking)
            tick()
            code = current(booking)
            assert code.state == CodeState.CREATING and code.create_outcome_unknown
            pin = code.pin

            frozen.move_to(START + timedelta(seconds=40))
            assert code_retry_now(code_id=code.pk) == "Retrying now."
            tick()
            assert len(ttlock.calls_to("/v3/keyboardPwd/add")) == 1  # looked, and waited
            assert current(booking).awaiting_lock_since is not None

            run_until(frozen, START + timedelta(minutes=10))
        code = current(booking)
        (on_lock,) = ttlock.passcodes_on(3001)
        assert code.state == CodeState.ACTIVE and code.vendor_code_id == str(on_lock["keyboardPwdId"])
        assert code.pin == pin == on_lock["keyboardPwd"]
        assert {add["keyboardPwd"] for add in ttlock.calls_to("/v3/keyboardPwd/add")} == {pin}
        assert code.awaiting_lock_since is None and code.first_failure_at is not None
        assert mail.outbox == []

    def test_cancelled_while_the_late_create_is_not_listed_yet_the_code_is_still_removed(self, ttlock_property, book, ttlock):
        ttlock.land_late_next("keyboardPwd/add", after=timedelta(seconds=30), listed_after=timedelta(minutes=1))
        with freeze_time(START) as frozen:
            booking = book(ttlock_property, ARRIVAL, DEPARTURE)
            services.booking_created(booking=booking)
            tick()
            frozen.move_to(START + timedelta(seconds=45))
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            tick()
            assert len(ttlock.passcodes_on(3001)) == 1  # landed, not listed yet: not "revoked" yet
            code = AccessCode.objects.get(booking=booking)
            assert code.state == CodeState.REVOKING

            run_until(frozen, START + timedelta(minutes=10))
        assert AccessCode.objects.get(booking=booking).state == CodeState.REVOKED
        assert ttlock.passcodes_on(3001) == []

    def test_a_pin_held_by_someone_elses_code_is_replaced_once_a_listing_delay_proves_it(self, ttlock_property, book, ttlock):
        """The lost create never landed, and the host had set the same PIN by hand meanwhile."""
        ttlock.fail_next("keyboardPwd/add", 90000)  # a 5xx-like failure: the outcome is unknown
        with freeze_time(START) as frozen:
            booking = book(ttlock_property, ARRIVAL, DEPARTURE)
            services.booking_created(booking=booking)
            tick()
            code = current(booking)
            ttlock.locks[3001].passcodes[1] = {
                "keyboardPwdId": 1, "lockId": 3001, "keyboardPwd": code.pin, "keyboardPwdName": "Cleaner",
                "keyboardPwdType": 3, "startDate": 1780000000000, "endDate": 1790000000000, "isCustom": 1,
            }
            frozen.move_to(code.next_attempt_at)
            tick()
            assert current(booking).awaiting_reason == "pin_taken"
            run_until(frozen, code.next_attempt_at + timedelta(minutes=10))
        code = current(booking)
        assert code.state == CodeState.ACTIVE
        mine = [entry for entry in ttlock.passcodes_on(3001) if entry["keyboardPwdName"] == code.vendor_name]
        assert [entry["keyboardPwd"] for entry in mine] == [code.pin] and code.pin != "Cleaner"
        assert len(ttlock.passcodes_on(3001)) == 2


# --- Tedee ---------------------------------------------------------------------------------------

@pytest.fixture
def tedee(monkeypatch):
    monkeypatch.setitem(registry.PROVIDER_CLASSES, "tedee", TedeeProvider)
    cloud = TedeeCloud()
    cloud.add_lock(101, "Front door")
    with cloud:
        yield cloud


def test_tedee_a_resend_answered_406_adopts_the_pin_that_landed_late(host, make_property, book, tedee):
    prop = assign(host, make_property, "tedee", "101", tedee.credentials())
    # The bridge finishes 20 s after our timeout; the PIN list shows it 3 minutes later, past the
    # two minutes Nowistay waits: the resend meets 406, and Nowistay waits once more.
    tedee.land_late_next("POST", "pins", after=timedelta(seconds=20), listed_after=timedelta(minutes=3))
    with freeze_time(START) as frozen:
        booking = book(prop, ARRIVAL, DEPARTURE)
        services.booking_created(booking=booking)
        tick()
        code = current(booking)
        pin = code.pin
        frozen.move_to(START + timedelta(seconds=30))
        code_retry_now(code_id=code.pk)
        run_until(frozen, START + timedelta(minutes=15))
    code = current(booking)
    (on_lock,) = tedee.pins_on(101)
    assert code.state == CodeState.ACTIVE and code.vendor_code_id == str(on_lock["id"]) and on_lock["pin"] == pin == code.pin
    posts = [call for call in tedee.calls if call[0] == "POST"]
    assert len(posts) == 2  # the lost create, and one resend with the same PIN that met 406


# --- Nuki ----------------------------------------------------------------------------------------

@pytest.fixture
def nuki(monkeypatch, settings):
    monkeypatch.setitem(registry.PROVIDER_CLASSES, "nuki", NukiProvider)
    monkeypatch.setattr(NukiProvider, "readback_delays", (0.0, 0.0, 0.0))
    cloud = NukiCloud()
    cloud.add_lock(18205286116, "Front door")
    cloud.unlisted_for = timedelta(seconds=40)
    with cloud:
        yield cloud


def test_nuki_asynchronous_apply_is_pending_on_the_lock_not_a_failure(host, make_property, book, nuki):
    prop = assign(host, make_property, "nuki", "18205286116", api_token_credentials())
    with freeze_time(START) as frozen:
        booking = book(prop, ARRIVAL, DEPARTURE)
        services.booking_created(booking=booking)
        tick()
        code = current(booking)
        assert code.state == CodeState.CREATING and code.awaiting_reason == "pending"
        assert code.attempts == 0 and code.first_failure_at is None and code.last_error == ""
        assert code.next_attempt_at <= START + timedelta(minutes=2)
        pin = code.pin

        # A resend before it is listed meets "'code' exists already": still ours, still pending.
        code_retry_now(code_id=code.pk)
        frozen.move_to(START + timedelta(seconds=10))
        tick()
        run_until(frozen, START + timedelta(minutes=10))
    code = current(booking)
    (auth,) = nuki.auths_on(18205286116)
    assert code.state == CodeState.ACTIVE and code.vendor_code_id == auth["id"] and str(auth["code"]) == pin == code.pin
    assert code.attempts == 1 and code.first_failure_at is None
    assert mail.outbox == []
    assert not VendorCall.objects.filter(outcome__in=["transient", "permanent"]).exists()


def test_nuki_a_code_never_listed_within_the_listing_delay_is_resent_with_the_same_pin(host, make_property, book, nuki):
    prop = assign(host, make_property, "nuki", "18205286116", api_token_credentials())
    nuki.unlisted_for = timedelta(days=1)  # Nuki kept nothing we can see
    with freeze_time(START) as frozen:
        booking = book(prop, ARRIVAL, DEPARTURE)
        services.booking_created(booking=booking)
        tick()
        pin = current(booking).pin
        nuki.locks["18205286116"].auths.clear()  # ...and indeed dropped it
        nuki.unlisted_for = timedelta(0)
        run_until(frozen, START + timedelta(minutes=10))
    code = current(booking)
    assert code.state == CodeState.ACTIVE and code.pin == pin
    assert len(nuki.auths_on(18205286116)) == 1


# --- bounds and races, on the scriptable fake cloud --------------------------------------------------

FAKE_LISTING_DELAY = Capabilities().listing_delay  # the fake cloud's vendors keep the default


class TestBoundsAndRaces:
    """What a vendor that keeps a write pending, or a cancellation in the middle of a create, must
    never do: hammer the vendor, keep the host in the dark, or call a code revoked too early."""

    def test_a_create_accepted_but_never_shown_becomes_a_failure_the_host_hears_of(self, assigned_property, book, fake_cloud):
        prop = assigned_property(provider="nuki")
        fake_cloud.fail_next("create_code", CodePending("Nuki accepted the code and is applying it."), times=100_000)
        with freeze_time(START) as frozen:
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 3))  # arrives tomorrow, 15:00 Paris
            services.booking_created(booking=booking)
            tick()
            run_until(frozen, START + timedelta(minutes=15))
            code = current(booking)
            # One listing delay awaited (not a failure), one resend, then an ordinary retrying failure.
            assert fake_cloud.calls["create_code"] == 2
            assert code.state == CodeState.CREATING and code.attempts == 1 and code.last_error_kind == "pending_on_lock"
            assert code.awaiting_lock_since is None
            for moment in passes(START + timedelta(minutes=15), utc(2026, 6, 3, 0, 0)):
                frozen.move_to(moment)
                tick()
        code = current(booking)
        assert code.state == CodeState.FAILED
        subjects = [message.subject for message in mail.outbox]
        assert any("not created yet" in subject for subject in subjects)  # at 18:00 the evening before
        assert any("could not be created" in subject for subject in subjects)  # when retries ran out
        hours = (utc(2026, 6, 3, 0, 0) - START) / timedelta(hours=1)
        assert fake_cloud.calls["create_code"] <= 2 * hours + 2  # never more than a resend an hour or so

    def test_looks_never_run_back_to_back(self, assigned_property, book, fake_cloud):
        prop = assigned_property(provider="nuki")
        fake_cloud.fail_next("create_code", CodePending("queued"), times=100)
        with freeze_time(START) as frozen:
            booking = book(prop, ARRIVAL, DEPARTURE)
            services.booking_created(booking=booking)
            tick()
            for _ in range(20):  # a pass every second for 20 seconds
                frozen.tick(timedelta(seconds=1))
                tick()
        assert fake_cloud.calls["create_code"] == 1 and fake_cloud.calls["find_code"] == 0

    def test_cancelled_while_the_create_was_out_and_then_accepted_is_looked_for_before_revoked(self, assigned_property, book, fake_cloud):
        prop = assigned_property(provider="nuki")
        fake_cloud.fail_next("create_code", CodePending("Nuki accepted the code and is applying it."))
        with freeze_time(START) as frozen:
            booking = book(prop, ARRIVAL, DEPARTURE)

            def cancel_during_the_create():
                if fake_cloud.calls["create_code"] == 1 and booking.status != BookingStatus.CANCELLED:
                    booking.status = BookingStatus.CANCELLED
                    booking.save()
                    services.booking_cancelled(booking=booking)

            fake_cloud.after_call = cancel_during_the_create
            services.booking_created(booking=booking)
            tick()
            frozen.tick(timedelta(seconds=5))
            tick()
            code = AccessCode.objects.get(booking=booking)
            assert code.state == CodeState.REVOKING  # Nuki may still apply it: not "revoked" yet
            assert code.next_attempt_at == START + FAKE_LISTING_DELAY

    @pytest.mark.parametrize(
        "error", [OutcomeUnknown("No answer in time."), VendorUnavailable("TTLock failed (HTTP 504).")], ids=["timeout", "504"]
    )
    def test_cancelled_right_after_a_create_that_may_have_acted_waits_for_the_listing_delay(
        self, assigned_property, book, fake_cloud, error
    ):
        prop = assigned_property(provider="ttlock")
        fake_cloud.fail_next("create_code", error)
        with freeze_time(START) as frozen:
            booking = book(prop, ARRIVAL, DEPARTURE)
            services.booking_created(booking=booking)
            tick()
            frozen.tick(timedelta(seconds=10))
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            tick()
            code = AccessCode.objects.get(booking=booking)
            assert code.state == CodeState.REVOKING and code.next_attempt_at == START + FAKE_LISTING_DELAY
            frozen.move_to(code.next_attempt_at)
            tick()
        assert AccessCode.objects.get(booking=booking).state == CodeState.REVOKED

    def test_a_pin_held_by_a_code_the_listing_never_shows_is_replaced_after_one_listing_delay(self, assigned_property, book, fake_cloud):
        """E.g. TTLock's admin passcode: the lock refuses the PIN, and no code of ours holds it."""
        prop = assigned_property(provider="ttlock")
        fake_cloud.fail_next("create_code", OutcomeUnknown("No answer in time."))
        with freeze_time(START) as frozen:
            booking = book(prop, ARRIVAL, DEPARTURE)
            services.booking_created(booking=booking)
            tick()
            refused = current(booking).pin
            fake_cloud.locks["L1"].codes["admin"] = IssuedCode("admin", refused, START, START + timedelta(days=999), name="admin")
            run_until(frozen, START + timedelta(hours=2))
        code = current(booking)
        assert code.state == CodeState.ACTIVE and code.pin != refused
        assert fake_cloud.calls["create_code"] == 3  # the lost one, the refused resend, the new PIN
