"""A booking's code in plain words for the host dashboard (locks.code_status), on codes the
lifecycle really produces on the fake cloud, in the property's time zone."""

from datetime import UTC, date, timedelta

import pytest
from freezegun import freeze_time

from bookings.models import BookingStatus, PmsSource
from locks import services
from locks.code_status import CodeStatus, code_to_show, describe_code
from locks.models import AccessCode, CodeState
from locks.providers.exceptions import (
    CodeStorageFull,
    LockOffline,
    ProviderAuthError,
    RateLimited,
    SubscriptionRequired,
    VendorUnavailable,
)
from tests.helpers.lifecycle import tick, utc

UTC = UTC
pytestmark = pytest.mark.django_db


def loaded(code_or_booking) -> AccessCode:
    """A code as the dashboard loads it: with its lock's account and its booking's property."""
    codes = AccessCode.objects.select_related("lock__account", "booking__property")
    if isinstance(code_or_booking, AccessCode):
        return codes.get(pk=code_or_booking.pk)
    return codes.get(booking=code_or_booking, is_current=True)


@pytest.fixture
def describe(django_assert_num_queries):
    """describe_code on a loaded code, proving it runs no query."""

    def run(code, *, now, has_lock=True, booking=None) -> CodeStatus:
        booking = booking or code.booking
        with django_assert_num_queries(0):
            return describe_code(code, booking=booking, has_lock=has_lock, now=now)

    return run


@pytest.fixture
def active_code(assigned_property, book):
    """An active code: Paris, stay 2-5 June 2026, window 14:30 2 Jun -> 11:30 5 Jun (12:30Z -> 09:30Z)."""

    def make(time_zone="Europe/Paris", provider="ttlock", vendor_lock_id="L1", arrival=date(2026, 6, 2), departure=date(2026, 6, 5)):
        prop = assigned_property(time_zone=time_zone, provider=provider, vendor_lock_id=vendor_lock_id)
        booking = book(prop, arrival, departure)
        services.booking_created(booking=booking)
        tick()
        code = loaded(booking)
        assert code.state == CodeState.ACTIVE
        return code

    return make


class TestScheduled:
    def test_shows_the_local_generation_day(self, assigned_property, book, describe):
        prop = assigned_property()  # Paris, lead 5
        with freeze_time("2026-03-20 10:00:00"):
            code = loaded(services.booking_created(booking=book(prop, date(2026, 3, 29), date(2026, 4, 1))))
        assert code.generate_at == utc(2026, 3, 23, 23, 0)  # 23 March in UTC, 24 March in Paris
        assert describe(code, now=utc(2026, 3, 20, 10)) == CodeStatus("scheduled", "will be created on 24 March", False)

    def test_kathmandu_generation_day_is_the_local_one(self, assigned_property, book, describe):
        prop = assigned_property(time_zone="Asia/Kathmandu")
        with freeze_time("2026-06-01 00:00:00"):
            code = loaded(services.booking_created(booking=book(prop, date(2026, 6, 11), date(2026, 6, 13))))
        assert code.generate_at == utc(2026, 6, 5, 18, 15)  # 00:00 on 6 June at UTC+05:45
        assert describe(code, now=utc(2026, 6, 1)).text == "will be created on 6 June"

    def test_a_day_in_another_year_shows_the_year(self, assigned_property, book, describe):
        prop = assigned_property()
        with freeze_time("2026-12-20 10:00:00"):
            code = loaded(services.booking_created(booking=book(prop, date(2027, 1, 20), date(2027, 1, 22))))
        assert describe(code, now=utc(2026, 12, 20, 10)).text == "will be created on 15 January 2027"
        assert describe(code, now=utc(2027, 1, 2)).text == "will be created on 15 January"

    def test_the_year_is_compared_in_property_time(self, assigned_property, book, describe):
        prop = assigned_property(time_zone="America/New_York")
        with freeze_time("2027-01-01 03:00:00"):  # already 2027 in UTC, still 22:00 on 31 Dec 2026 in New York
            code = loaded(services.booking_created(booking=book(prop, date(2027, 1, 10), date(2027, 1, 12))))
        assert code.generate_at == utc(2027, 1, 5, 5, 0)  # 00:00 EST on 5 January
        assert describe(code, now=utc(2027, 1, 1, 3)).text == "will be created on 5 January 2027"
        assert describe(code, now=utc(2027, 1, 1, 6)).text == "will be created on 5 January"  # 01:00 on 1 Jan NY


    def test_a_booking_confirmed_inside_its_lead_time_is_being_created_not_due_on_a_past_day(self, assigned_property, book, describe):
        prop = assigned_property()  # Paris, lead 5 days: a stay from 8 December was due on 3 December
        with freeze_time("2026-12-06 10:00:00"):
            code = loaded(services.booking_created(booking=book(prop, date(2026, 12, 8), date(2026, 12, 10))))
        assert code.state == CodeState.SCHEDULED and code.generate_at == utc(2026, 12, 2, 23, 0)
        assert describe(code, now=utc(2026, 12, 6, 10)) == CodeStatus("scheduled", "being created now", False)
        assert describe(code, now=utc(2026, 12, 6, 14)).text == "being created now"  # however late the worker is

    def test_due_this_very_moment_is_being_created(self, assigned_property, book, describe):
        prop = assigned_property()
        with freeze_time("2026-03-20 10:00:00"):
            code = loaded(services.booking_created(booking=book(prop, date(2026, 3, 29), date(2026, 4, 1))))
        assert describe(code, now=code.generate_at - timedelta(seconds=1)).text == "will be created on 24 March"
        assert describe(code, now=code.generate_at) == CodeStatus("scheduled", "being created now", False)


class TestActive:
    def test_pin_and_the_window_in_paris_time(self, active_code, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code()
        assert len(code.pin) == 6
        status = describe(code, now=utc(2026, 6, 1))
        assert status == CodeStatus("active", f"active: {code.pin}, 14:30 2 Jun → 11:30 5 Jun", False)

    @pytest.mark.parametrize(
        "time_zone, starts_at",
        [("Asia/Kathmandu", utc(2026, 6, 11, 8, 45)), ("America/New_York", utc(2026, 6, 11, 18, 30))],
    )
    def test_window_in_the_property_time_zone(self, active_code, describe, time_zone, starts_at):
        with freeze_time("2026-06-10 00:00:00"):
            code = active_code(time_zone=time_zone, arrival=date(2026, 6, 11), departure=date(2026, 6, 13))
        assert code.lock_starts_at == starts_at  # what UTC would show is not what the host reads
        assert describe(code, now=utc(2026, 6, 10)).text == f"active: {code.pin}, 14:30 11 Jun → 11:30 13 Jun"

    def test_shows_the_window_the_lock_holds(self, active_code, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code()
        # The vendor rounded the window to whole hours.
        AccessCode.objects.filter(pk=code.pk).update(lock_starts_at=utc(2026, 6, 2, 12, 0), lock_ends_at=utc(2026, 6, 5, 10, 0))
        code = loaded(code)
        assert describe(code, now=utc(2026, 6, 1)).text == f"active: {code.pin}, 14:00 2 Jun → 12:00 5 Jun"

    def test_falls_back_to_the_wanted_window(self, active_code, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code()
        AccessCode.objects.filter(pk=code.pk).update(lock_starts_at=None, lock_ends_at=None)
        code = loaded(code)
        assert describe(code, now=utc(2026, 6, 1)).text == f"active: {code.pin}, 14:30 2 Jun → 11:30 5 Jun"

    def test_usage_note_and_warning_follow_the_window(self, active_code, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code()
        window = f"active: {code.pin}, 14:30 2 Jun → 11:30 5 Jun"
        code.usage_note = "Press the lock button after the PIN."
        assert describe(code, now=utc(2026, 6, 1)).text == f"{window} — Press the lock button after the PIN."
        code.usage_note, code.warning = "", "It may also open the garage."
        assert describe(code, now=utc(2026, 6, 1)).text == f"{window} — It may also open the garage."

    def test_a_lost_create_on_a_vendor_that_cannot_list_is_shown_to_the_host(self, assigned_property, book, fake_cloud, describe):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        fake_cloud.lose_response_next("create_code")
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            frozen.move_to("2026-06-01 01:00:00")
            tick()
        code = loaded(booking)
        status = describe(code, now=utc(2026, 6, 1, 1))
        assert status.kind == "active" and status.text.startswith(f"active: {code.pin}, 14:30 2 Jun → 11:30 5 Jun — An earlier request")
        assert "may have created a code that cannot be listed" in status.text

    def test_the_pin_shown_is_the_stored_one_and_no_vendor_is_called(self, active_code, fake_cloud, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code()
        calls_before = sum(fake_cloud.calls.values())
        code.pin = "135790"  # whatever the lock says, the dashboard shows what we stored
        assert describe(code, now=utc(2026, 6, 1)).text.startswith("active: 135790, ")
        assert sum(fake_cloud.calls.values()) == calls_before


class TestCreating:
    def test_retrying_gives_the_reason_and_the_next_try_in_local_time(self, assigned_property, book, fake_cloud, describe):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", LockOffline("The lock's gateway is offline."))
        with freeze_time("2026-06-01 08:00:00"):  # 10:00 in Paris
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = loaded(booking)
        assert code.state == CodeState.CREATING and code.next_attempt_at == utc(2026, 6, 1, 9, 0)
        status = describe(code, now=utc(2026, 6, 1, 8))
        assert status == CodeStatus(
            "retrying",
            "retrying: lock or gateway offline, next try 11:00",
            True,
            "Nowistay keeps trying until midnight at the end of 2 June; if it still fails at 18:00, you will be emailed. "
            "Check that the lock's gateway or bridge has power and Wi-Fi.",
        )

    @pytest.mark.parametrize(
        "error, reason",
        [
            (RateLimited("Too many requests."), "vendor busy"),
            (VendorUnavailable("TTLock answered 502."), "vendor unreachable"),
            (ProviderAuthError("TTLock refused the saved login."), "account needs reconnecting"),
            ("lose-response", "no answer from the vendor"),
        ],
    )
    def test_each_transient_kind_has_a_short_reason(self, assigned_property, book, fake_cloud, describe, error, reason):
        prop = assigned_property()
        if error == "lose-response":
            fake_cloud.lose_response_next("create_code")
        else:
            fake_cloud.fail_next("create_code", error)
        with freeze_time("2026-06-01 08:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = loaded(booking)
        assert code.state == CodeState.CREATING
        assert describe(code, now=utc(2026, 6, 1, 8)).text == f"retrying: {reason}, next try 11:00"

    def test_an_unknown_kind_falls_back_to_the_stored_message(self, assigned_property, book, describe):
        prop = assigned_property()
        with freeze_time("2026-06-01 08:00:00"):
            code = services.booking_created(booking=book(prop, date(2026, 6, 20), date(2026, 6, 22)))
        AccessCode.objects.filter(pk=code.pk).update(
            state=CodeState.CREATING, attempts=2, last_error="The hub is updating its firmware.",
            last_error_kind="something_new", next_attempt_at=utc(2026, 6, 1, 9),
        )
        status = describe(loaded(code), now=utc(2026, 6, 1, 8))
        assert status.text == "retrying: The hub is updating its firmware., next try 11:00" and status.can_retry

    def test_next_try_on_another_local_day_names_the_day_kathmandu(self, assigned_property, book, describe):
        prop = assigned_property(time_zone="Asia/Kathmandu")
        with freeze_time("2026-06-01 00:00:00"):
            code = services.booking_created(booking=book(prop, date(2026, 6, 11), date(2026, 6, 13)))
        # Both moments fall on 5 June in UTC; in Kathmandu now is 23:45 on 5 June, the try 00:45 on 6 June.
        AccessCode.objects.filter(pk=code.pk).update(
            state=CodeState.CREATING, attempts=1, last_error="Gateway offline.", last_error_kind="lock_offline",
            next_attempt_at=utc(2026, 6, 5, 19, 0),
        )
        status = describe(loaded(code), now=utc(2026, 6, 5, 18, 0))
        assert status.text == "retrying: lock or gateway offline, next try 00:45 on 6 Jun"

    def test_next_try_on_the_same_local_day_has_no_day_new_york(self, assigned_property, book, describe):
        prop = assigned_property(time_zone="America/New_York")
        with freeze_time("2026-06-01 00:00:00"):
            code = services.booking_created(booking=book(prop, date(2026, 6, 11), date(2026, 6, 13)))
        # 5 June and 6 June in UTC, but 18:00 and 21:00 on 5 June in New York.
        AccessCode.objects.filter(pk=code.pk).update(
            state=CodeState.CREATING, attempts=1, last_error="Busy.", last_error_kind="rate_limited",
            next_attempt_at=utc(2026, 6, 6, 1, 0),
        )
        code = loaded(code)
        assert describe(code, now=utc(2026, 6, 5, 22, 0)).text == "retrying: vendor busy, next try 21:00"
        # And a try on the next New York day does name it.
        assert describe(code, now=utc(2026, 6, 5, 3, 0)).text == "retrying: vendor busy, next try 21:00 on 5 Jun"

    def test_a_try_already_due_reads_now(self, assigned_property, book, describe):
        prop = assigned_property()
        with freeze_time("2026-06-01 00:00:00"):
            code = services.booking_created(booking=book(prop, date(2026, 6, 20), date(2026, 6, 22)))
        AccessCode.objects.filter(pk=code.pk).update(
            state=CodeState.CREATING, attempts=1, last_error="Offline.", last_error_kind="lock_offline",
            next_attempt_at=utc(2026, 6, 1, 9, 0),
        )
        assert describe(loaded(code), now=utc(2026, 6, 1, 9, 5)).text == "retrying: lock or gateway offline, next try now"

    def test_a_replacement_not_tried_yet_is_being_created(self, assigned_property, book, fake_cloud, describe):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            booking.departure_date = date(2026, 6, 6)
            booking.save()
            services.booking_changed(booking=booking)
            tick()  # igloohome cannot update: the old code is superseded and a replacement queued
        code = loaded(booking)
        assert code.state == CodeState.CREATING and code.attempts == 0
        assert describe(code, now=utc(2026, 6, 1)) == CodeStatus("creating", "being created now", False)


class TestWhatHappensNext:
    """A code still being created after a failure: until when Nowistay keeps trying, the email to the
    host, and what the host can do, chosen by the kind of error. Paris, arrival 2 June 2026: retried
    until 24:00 on 2 June, the host emailed at 18:00 on 1 June if it still fails; now 10:00 on 1 June."""

    NOW = utc(2026, 6, 1, 8)

    @pytest.fixture
    def failing(self, assigned_property, book):
        def make(provider="ttlock", time_zone="Europe/Paris", kind="lock_offline", **fields) -> AccessCode:
            prop = assigned_property(provider=provider, vendor_lock_id=f"{provider}-1", time_zone=time_zone)
            with freeze_time("2026-05-20 08:00:00"):
                code = services.booking_created(booking=book(prop, date(2026, 6, 2), date(2026, 6, 5)))
            values = {
                "state": CodeState.CREATING, "attempts": 3, "last_error": "The vendor said no.", "last_error_kind": kind,
                "first_failure_at": utc(2026, 5, 28, 0), "next_attempt_at": utc(2026, 6, 1, 9), **fields,
            }
            AccessCode.objects.filter(pk=code.pk).update(**values)
            return loaded(code)

        return make

    def test_until_when_and_the_email_to_come(self, failing, describe):
        code = failing()
        assert (code.retry_deadline, code.alert_at) == (utc(2026, 6, 2, 22), utc(2026, 6, 1, 16))
        status = describe(code, now=self.NOW)
        assert (status.kind, status.text, status.can_retry) == ("retrying", "retrying: lock or gateway offline, next try 11:00", True)
        assert status.hint.startswith(
            "Nowistay keeps trying until midnight at the end of 2 June; if it still fails at 18:00, you will be emailed. "
        )

    def test_the_email_moment_on_another_day_names_the_day(self, failing, describe):
        status = describe(failing(), now=utc(2026, 5, 31, 8))
        assert "; if it still fails at 18:00 on 1 Jun, you will be emailed." in status.hint

    def test_once_the_host_was_emailed_it_says_so(self, failing, describe):
        status = describe(failing(alert_sent_at=utc(2026, 6, 1, 16)), now=utc(2026, 6, 1, 17))
        assert "Nowistay keeps trying until midnight at the end of 2 June; you were emailed about it." in status.hint
        assert "will be emailed" not in status.hint

    def test_an_email_moment_past_but_not_sent_is_not_promised_for_then(self, failing, describe):
        status = describe(failing(next_attempt_at=utc(2026, 6, 1, 17)), now=utc(2026, 6, 1, 16, 30))
        assert "; if the next try fails, you will be emailed." in status.hint and "18:00" not in status.hint

    def test_the_deadline_in_kathmandu_time(self, failing, describe):
        code = failing(time_zone="Asia/Kathmandu")
        assert code.retry_deadline == utc(2026, 6, 2, 18, 15)  # 00:00 on 3 June at UTC+05:45
        assert describe(code, now=self.NOW).hint.startswith("Nowistay keeps trying until midnight at the end of 2 June;")

    def test_a_deadline_moved_by_retry_now_is_a_time(self, failing, describe):
        status = describe(failing(retry_deadline=utc(2026, 6, 2, 23, 5)), now=utc(2026, 6, 2, 22, 5))
        assert status.hint.startswith("Nowistay keeps trying until 01:05;")  # Paris is already on 3 June

    def test_a_deadline_already_past_is_never_promised(self, failing, describe):
        status = describe(failing(next_attempt_at=utc(2026, 6, 2, 22)), now=utc(2026, 6, 2, 22, 5))
        assert status.text.endswith("next try now") and status.hint.startswith("This is the last try;")

    @pytest.mark.parametrize(
        "kind, reason, advice",
        [
            ("lock_offline", "lock or gateway offline", "Check that the lock's gateway or bridge has power and Wi-Fi."),
            ("auth", "account needs reconnecting", "Reconnect your TTLock account at Integrations."),
            ("pin_taken", "PIN already on the lock", "Retry now picks another PIN."),
            ("code_rejected", "PIN refused by the lock", "Retry now picks another PIN."),
            ("rate_limited", "vendor busy", "Nothing to do: Nowistay waits as TTLock asked."),
            ("storage_full", "lock's code memory is full", "Remove old codes from the lock in the TTLock app."),
            (
                "lock_not_found", "lock no longer in the account",
                "Share the lock with your TTLock account again, or assign another lock at Integrations.",
            ),
            ("pending_on_lock", "still being put on the lock", "Nothing to do: TTLock is still putting the code on the lock."),
            ("vendor_unavailable", "vendor unreachable", "Nothing to do unless it lasts; Retry now tries at once."),
            ("outcome_unknown", "no answer from the vendor", "Nothing to do unless it lasts; Retry now tries at once."),
        ],
    )
    def test_what_the_host_can_do_follows_the_kind_of_error(self, failing, describe, kind, reason, advice):
        status = describe(failing(kind=kind), now=self.NOW)
        assert status.text == f"retrying: {reason}, next try 11:00" and status.can_retry
        assert status.hint.endswith(f"you will be emailed. {advice}")

    def test_nukis_smart_hosting_subscription(self, failing, describe):
        status = describe(failing(provider="nuki", kind="subscription_required"), now=self.NOW)
        assert status.text == "retrying: the lock needs a vendor subscription, next try 11:00"
        assert status.hint.endswith("Activate Nuki's Smart Hosting subscription for this lock.")

    def test_a_vendor_wait_is_said_and_retry_now_is_not_offered(self, failing, describe):
        code = failing(kind="rate_limited", next_attempt_at=utc(2026, 6, 1, 8, 30), vendor_wait_until=utc(2026, 6, 1, 8, 40))
        status = describe(code, now=self.NOW)
        assert status.text == "retrying: vendor busy, next try 10:40"  # not before the vendor's wait is over
        assert status.hint.startswith("TTLock asked Nowistay to wait until 10:40. Nowistay keeps trying until midnight")
        assert status.hint.endswith("Nothing to do: Nowistay waits as TTLock asked.") and not status.can_retry

    def test_a_vendor_wait_that_is_over_is_not_mentioned(self, failing, describe):
        code = failing(kind="rate_limited", vendor_wait_until=utc(2026, 6, 1, 7, 40))
        status = describe(code, now=self.NOW)
        assert "asked Nowistay to wait" not in status.hint and status.can_retry
        assert status.text == "retrying: vendor busy, next try 11:00"


class TestAwaitingTheLock:
    """A write sent and perhaps carried out, waited for in the vendor's listing: not a failure."""

    @pytest.fixture
    def awaiting(self, assigned_property, book):
        def make(provider="nuki", reason="pending", **fields) -> AccessCode:
            prop = assigned_property(provider=provider, vendor_lock_id=f"{provider}-1")
            with freeze_time("2026-05-20 08:00:00"):
                code = services.booking_created(booking=book(prop, date(2026, 6, 2), date(2026, 6, 5)))
            values = {
                "state": CodeState.CREATING, "attempts": 1, "awaiting_lock_since": utc(2026, 6, 1, 7, 58),
                "awaiting_reason": reason, "next_attempt_at": utc(2026, 6, 1, 8, 5), **fields,
            }
            AccessCode.objects.filter(pk=code.pk).update(**values)
            return loaded(code)

        return make

    def test_pending_on_nukis_bridge(self, awaiting, describe):
        code = awaiting(last_error="Nuki is still applying the code.", last_error_kind="pending_on_lock")
        assert describe(code, now=utc(2026, 6, 1, 8)) == CodeStatus(
            "creating",
            "sent to the lock, waiting for Nuki to confirm it",
            False,
            "Nuki accepted the code and is putting it on the lock; Nowistay looks for it again at 10:05.",
        )

    def test_pin_said_to_be_on_the_lock_already(self, awaiting, describe):
        code = awaiting(provider="ttlock", reason="pin_taken", last_error="The PIN already exists.", last_error_kind="pin_taken")
        assert describe(code, now=utc(2026, 6, 1, 8)) == CodeStatus(
            "creating",
            "sent to the lock, waiting for TTLock to confirm it",
            False,
            "TTLock says this PIN is already on the lock; Nowistay is checking that it is the code it sent, and looks again at 10:05.",
        )

    def test_a_look_already_due_reads_now(self, awaiting, describe):
        status = describe(awaiting(), now=utc(2026, 6, 1, 8, 10))
        assert status.hint.endswith("Nowistay looks for it again now.") and "failed" not in status.text


class TestUpdating:
    def test_moving_and_then_retrying(self, active_code, book, fake_cloud, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code()
            booking = code.booking
            booking.departure_date = date(2026, 6, 7)
            booking.save()
            services.booking_changed(booking=booking)
            moving = loaded(booking)
            window = f"active: {code.pin}, 14:30 2 Jun → 11:30 5 Jun"  # still what the lock holds
            assert describe(moving, now=utc(2026, 6, 1)) == CodeStatus("updating", f"{window} — moving to the new times", False)

            fake_cloud.fail_next("update_code", LockOffline("Gateway offline."))
            tick()
        failing = loaded(booking)
        assert failing.state == CodeState.UPDATING and failing.last_error
        status = describe(failing, now=utc(2026, 6, 1))
        assert status == CodeStatus(
            "updating",
            f"{window} — moving to the new times (retrying: lock or gateway offline, next try 03:00)",
            True,
            "Nowistay keeps trying until 11:30 on 7 Jun; meanwhile the lock keeps the old times. "  # the new window's end
            "Check that the lock's gateway or bridge has power and Wi-Fi.",
        )


class TestRevokingAndExpiring:
    def test_being_revoked_then_retrying(self, active_code, fake_cloud, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code()
            booking = code.booking
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            revoking = loaded(code)
            assert describe(revoking, now=utc(2026, 6, 1)) == CodeStatus("revoking", "being revoked", False)
            fake_cloud.fail_next("delete_code", LockOffline("Gateway offline."))
            tick()
        failing = loaded(code)
        assert failing.state == CodeState.REVOKING
        assert describe(failing, now=utc(2026, 6, 1)) == CodeStatus(
            "revoking",
            "being revoked (retrying: lock or gateway offline, next try 03:00)",
            True,
            # A removal is retried until a week after the window's end (11:30 on 5 June).
            "Nowistay keeps trying until 11:30 on 12 Jun. Check that the lock's gateway or bridge has power and Wi-Fi.",
        )

    def test_being_removed_after_the_stay_then_retrying(self, active_code, fake_cloud, describe):
        with freeze_time("2026-06-01 00:00:00") as frozen:
            code = active_code()
            fake_cloud.fail_next("delete_code", RateLimited("Too many requests."))
            frozen.move_to("2026-06-05 09:30:00")
            tick()
        failing = loaded(code)
        assert failing.state == CodeState.EXPIRING
        assert describe(failing, now=utc(2026, 6, 5, 9, 30)) == CodeStatus(
            "revoking",
            "being removed from the lock (retrying: vendor busy, next try 12:30)",
            True,
            "Nowistay keeps trying until 11:30 on 12 Jun. Nothing to do: Nowistay waits as TTLock asked.",
        )
        AccessCode.objects.filter(pk=code.pk).update(last_error="", last_error_kind="")
        assert describe(loaded(code), now=utc(2026, 6, 5, 9, 30)) == CodeStatus("revoking", "being removed from the lock", False)


class TestFailed:
    @pytest.fixture
    def failed(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", CodeStorageFull("The lock's code memory is full."))
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = loaded(booking)
        assert code.state == CodeState.FAILED
        return code

    def test_failed_shows_the_stored_reason_and_offers_a_retry(self, failed, describe):
        assert failed.failure_notified_at is not None  # the host was emailed when it failed
        assert describe(failed, now=utc(2026, 6, 1, 1)) == CodeStatus(
            "failed",
            "failed: The lock's code memory is full.",
            True,
            "Nowistay has stopped trying and emailed you. Remove old codes from the lock in the TTLock app, "
            "then use Retry now — or give the guest another way in.",
        )

    def test_no_retry_once_the_window_is_over(self, failed, describe):
        assert not describe(failed, now=utc(2026, 6, 5, 9, 30)).can_retry
        assert describe(failed, now=utc(2026, 6, 5, 9, 29)).can_retry

    @pytest.mark.parametrize("status", [BookingStatus.CANCELLED, BookingStatus.PENDING])
    def test_no_retry_for_a_booking_no_longer_confirmed(self, failed, describe, status):
        failed.booking.status = status
        result = describe(failed, now=utc(2026, 6, 1, 1))
        assert result.kind == "failed" and not result.can_retry

    def test_no_retry_for_a_code_no_longer_current(self, failed, describe):
        failed.is_current = False
        assert not describe(failed, now=utc(2026, 6, 1, 1)).can_retry

    def test_no_retry_without_a_lock(self, failed, describe):
        assert not describe(failed, now=utc(2026, 6, 1, 1), has_lock=False).can_retry

    def test_without_retry_now_the_host_gives_the_guest_another_way_in(self, failed, describe):
        status = describe(failed, now=utc(2026, 6, 1, 1), has_lock=False)
        assert status.hint == "Nowistay has stopped trying and emailed you. Give the guest another way in."

    def test_nothing_to_do_once_the_stay_is_over_or_cancelled(self, failed, describe):
        assert describe(failed, now=utc(2026, 6, 5, 9, 30)).hint == ""
        failed.booking.status = BookingStatus.CANCELLED
        assert describe(failed, now=utc(2026, 6, 1, 1)).hint == ""

    def test_no_email_claimed_when_none_was_sent(self, failed, describe):
        failed.failure_notified_at = None
        assert describe(failed, now=utc(2026, 6, 1, 1)).hint.startswith("Nowistay has stopped trying. Remove old codes")

    def test_a_refused_pin_retry_now_picks_another(self, failed, describe):
        failed.last_error, failed.last_error_kind = "The PIN is too simple.", "code_rejected"
        status = describe(failed, now=utc(2026, 6, 1, 1))
        assert status.text == "failed: The PIN is too simple." and status.can_retry
        assert status.hint == "Nowistay has stopped trying and emailed you. Retry now picks another PIN — or give the guest another way in."

    def test_a_pin_that_may_still_be_ours_on_the_lock_is_not_promised_a_new_one(self, failed, describe):
        """Retry now keeps the PIN while a create with it may still appear on the lock unlisted."""
        failed.last_error, failed.last_error_kind = "The lock already holds this PIN.", "pin_taken"
        failed.create_outcome_unknown, failed.unconfirmed_write_at = True, utc(2026, 6, 1, 0, 59)
        status = describe(failed, now=utc(2026, 6, 1, 1))
        assert "another PIN" not in status.hint and status.hint.endswith("Use Retry now, or give the guest another way in.")
        assert "Retry now picks another PIN" in describe(failed, now=utc(2026, 6, 1, 1, 10)).hint  # past the listing delay

    def test_a_nuki_lock_without_smart_hosting(self, assigned_property, book, fake_cloud, describe):
        prop = assigned_property(provider="nuki", vendor_lock_id="N1")
        fake_cloud.fail_next("create_code", SubscriptionRequired("No active Smart Hosting subscription for the Smart Lock."))
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = loaded(booking)
        assert code.state == CodeState.FAILED  # permanent: not retried blindly
        assert describe(code, now=utc(2026, 6, 1, 1)) == CodeStatus(
            "failed",
            "failed: No active Smart Hosting subscription for the Smart Lock.",
            True,
            "Nowistay has stopped trying and emailed you. Activate Nuki's Smart Hosting subscription for this lock, "
            "then use Retry now — or give the guest another way in.",
        )


class TestFinishedCodes:
    def test_revoked(self, assigned_property, book, describe):
        prop = assigned_property()
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 20), date(2026, 6, 22))
            code = services.booking_created(booking=booking)
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
        code = loaded(code)
        assert code.state == CodeState.REVOKED
        assert describe(code, now=utc(2026, 6, 1)) == CodeStatus("revoked", "revoked", False)

    def test_expired(self, active_code, describe):
        with freeze_time("2026-06-01 00:00:00") as frozen:
            code = active_code()
            frozen.move_to("2026-06-05 09:30:00")
            tick()
        code = loaded(code)
        assert code.state == CodeState.EXPIRED
        assert describe(code, now=utc(2026, 6, 5, 10)) == CodeStatus("expired", "expired", False)


class TestUnrevocable:
    def test_a_revoke_the_vendor_refused_for_good_says_so_and_what_to_do(self, active_code, describe, fake_cloud):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code(provider="nuki", vendor_lock_id="N1")
            fake_cloud.fail_next("delete_code", SubscriptionRequired("Nuki refused to remove the code: no Smart Hosting subscription."))
            booking = code.booking
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            tick()
        code = loaded(code)
        assert code.state == CodeState.SUPERSEDED
        assert describe(code, now=utc(2026, 6, 1)) == CodeStatus(
            "unrevocable", "could not be revoked (Nuki refused): valid until 11:30 5 Jun", False,
            "Delete the code in the Nuki app if it must stop working sooner; activate Nuki's Smart Hosting subscription for this lock.",
        )

    def test_cancelled_igloohome_code_says_until_when_it_works(self, active_code, describe):
        with freeze_time("2026-06-01 00:00:00"):
            code = active_code(provider="igloohome", vendor_lock_id="IG1")
            booking = code.booking
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
        code = loaded(code)
        assert code.state == CodeState.SUPERSEDED
        assert describe(code, now=utc(2026, 6, 1)) == CodeStatus(
            "unrevocable", "cannot be revoked remotely (igloohome): valid until 11:30 5 Jun", False
        )

    def test_uses_the_lock_window_in_new_york_time(self, active_code, describe):
        with freeze_time("2026-06-10 00:00:00"):
            code = active_code(time_zone="America/New_York", provider="igloohome", vendor_lock_id="IG1",
                               arrival=date(2026, 6, 11), departure=date(2026, 6, 13))
        AccessCode.objects.filter(pk=code.pk).update(
            state=CodeState.SUPERSEDED, is_current=False, lock_ends_at=utc(2026, 6, 13, 16, 0)
        )
        assert describe(loaded(code), now=utc(2026, 6, 10)).text == "cannot be revoked remotely (igloohome): valid until 12:00 13 Jun"
        AccessCode.objects.filter(pk=code.pk).update(lock_ends_at=None)
        assert describe(loaded(code), now=utc(2026, 6, 10)).text == "cannot be revoked remotely (igloohome): valid until 11:30 13 Jun"


class TestNoCode:
    @pytest.fixture
    def prop(self, assigned_property):
        return assigned_property()

    def test_pending(self, prop, book, describe):
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5), status=BookingStatus.PENDING)
        assert describe(None, booking=booking, now=utc(2026, 6, 1)) == CodeStatus("no_code", "no code: the booking is not confirmed", False)

    def test_cancelled(self, prop, book, describe):
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5), status=BookingStatus.CANCELLED)
        assert describe(None, booking=booking, now=utc(2026, 6, 1)).text == "no code: the booking is cancelled"

    @pytest.mark.parametrize("change", [{"ai_assistant_active": False}, {"pms_source": PmsSource.OTHER_PMS}])
    def test_property_not_eligible(self, prop, book, describe, change):
        for field, value in change.items():
            setattr(prop, field, value)
        prop.save()
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        status = describe(None, booking=booking, now=utc(2026, 6, 1))
        assert status == CodeStatus(
            "no_code",
            "no code: this property cannot have a smart lock (needs the Nowistay PMS and an active AI Assistant subscription)",
            False,
        )

    def test_no_lock(self, make_property, book, describe):
        booking = book(make_property(), date(2026, 6, 2), date(2026, 6, 5))
        assert describe(None, booking=booking, has_lock=False, now=utc(2026, 6, 1)).text == "no code: no lock is assigned to this property"

    def test_not_yet(self, prop, book, describe):
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        assert describe(None, booking=booking, now=utc(2026, 6, 1)).text == "no code yet"

    def test_the_booking_status_comes_first(self, make_property, book, describe):
        prop = make_property(ai_assistant_active=False)
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5), status=BookingStatus.PENDING)
        assert describe(None, booking=booking, has_lock=False, now=utc(2026, 6, 1)).text == "no code: the booking is not confirmed"


class TestCodeToShow:
    def _code(self, state, *, current=False):
        now = utc(2026, 6, 1)
        return AccessCode(
            state=state, is_current=current, starts_at=now, ends_at=now + timedelta(days=1),
            generate_at=now, retry_deadline=now, alert_at=now,
        )

    def test_nothing(self):
        assert code_to_show([]) is None
        assert code_to_show(iter([])) is None

    def test_the_current_code_wins_wherever_it_is(self):
        revoked, current, superseded = (
            self._code(CodeState.REVOKED),
            self._code(CodeState.ACTIVE, current=True),
            self._code(CodeState.SUPERSEDED),
        )
        assert code_to_show([revoked, superseded, current]) is current
        assert code_to_show(iter([superseded, current])) is current  # any iterable

    def test_else_the_newest_superseded_one_still_working(self):
        newer_revoked, superseded, older_superseded = (
            self._code(CodeState.REVOKED), self._code(CodeState.SUPERSEDED), self._code(CodeState.SUPERSEDED),
        )
        assert code_to_show([newer_revoked, superseded, older_superseded]) is superseded

    def test_else_the_newest(self):
        revoked, expired = self._code(CodeState.REVOKED), self._code(CodeState.EXPIRED)
        assert code_to_show([revoked, expired]) is revoked

    def test_on_a_real_booking_after_an_igloohome_change(self, assigned_property, book, fake_cloud, describe):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            booking.departure_date = date(2026, 6, 6)
            booking.save()
            services.booking_changed(booking=booking)
            tick()
            tick()
            old = AccessCode.objects.get(booking=booking, is_current=False)
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)  # the new one cannot be revoked either
        codes = list(AccessCode.objects.filter(booking=booking).select_related("lock__account", "booking__property"))
        assert [c.pk for c in codes] == sorted((c.pk for c in codes), reverse=True)  # newest first
        assert [c.state for c in codes] == [CodeState.SUPERSEDED, CodeState.SUPERSEDED]
        shown = code_to_show(codes)
        assert shown.pk != old.pk and shown.pk == codes[0].pk
        assert describe(shown, now=utc(2026, 6, 1)).text == "cannot be revoked remotely (igloohome): valid until 11:30 6 Jun"
