"""The code lifecycle end to end through the services and the scheduler pass, on the fake cloud."""

from datetime import UTC, date, time

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from bookings.models import BookingStatus
from locks import services
from locks.models import AccessCode, AccountStatus, CodeSource, CodeState, LockAssignment, ProviderAccount, VendorCall
from locks.providers.exceptions import CodeStorageFull, LockNotFound, LockOffline, ProviderAuthError, RateLimited, SubscriptionRequired
from locks.services import missing_codes, steps
from locks.services.claims import claim_due_codes, renew_claims
from tests.helpers.lifecycle import current, on_lock, tick, utc

UTC = UTC


pytestmark = pytest.mark.django_db


class TestCreation:
    def test_code_waits_for_its_generation_moment_then_is_created_with_the_window(self, assigned_property, book, fake_cloud):
        prop = assigned_property()  # Paris, lead 5, margin 30
        with freeze_time("2026-03-20 10:00:00") as frozen:
            booking = book(prop, date(2026, 3, 29), date(2026, 4, 1))
            services.booking_created(booking=booking)
            code = current(booking)
            assert code.state == CodeState.SCHEDULED
            # 00:00 Paris (CET) on 24 March.
            assert code.generate_at == utc(2026, 3, 23, 23, 0)

            frozen.move_to("2026-03-23 22:59:00")
            assert tick().claimed == 0
            frozen.move_to("2026-03-23 23:00:00")
            report = tick()

        assert report.actions["created"] == 1
        code.refresh_from_db()
        assert code.state == CodeState.ACTIVE
        # 15:00 CEST on the spring-forward day minus 30 min; 11:00 CEST plus 30 min.
        assert (code.starts_at, code.ends_at) == (utc(2026, 3, 29, 12, 30), utc(2026, 4, 1, 9, 30))
        (issued,) = on_lock(fake_cloud)
        assert (issued.starts_at, issued.ends_at) == (code.starts_at, code.ends_at)
        assert issued.pin == code.pin and len(code.pin) == 6
        assert issued.name == f"nw-{code.pk}"
        assert fake_cloud.calls["create_code"] == 1

    def test_late_booking_gets_its_code_at_once(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        with freeze_time("2026-06-10 08:00:00"):
            booking = book(prop, date(2026, 6, 11), date(2026, 6, 12))
            services.booking_confirmed(booking=booking)
            assert current(booking).next_attempt_at <= utc(2026, 6, 10, 8, 0)
            tick()
        assert current(booking).state == CodeState.ACTIVE

    @pytest.mark.parametrize("lead_days, generate_at", [(1, utc(2026, 6, 18, 22, 0)), (14, utc(2026, 6, 5, 22, 0))])
    def test_lead_days_set_the_generation_moment(self, assigned_property, book, lead_days, generate_at):
        prop = assigned_property(lead_days=lead_days)
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 20), date(2026, 6, 22))
            code = services.booking_created(booking=booking)
        assert code.generate_at == generate_at

    @pytest.mark.parametrize(
        "margin, starts_at, ends_at",
        [(0, utc(2026, 6, 20, 13, 0), utc(2026, 6, 22, 9, 0)), (240, utc(2026, 6, 20, 9, 0), utc(2026, 6, 22, 13, 0))],
    )
    def test_margin_is_applied_symmetrically(self, assigned_property, book, margin, starts_at, ends_at):
        prop = assigned_property(margin_minutes=margin)
        with freeze_time("2026-06-01 00:00:00"):
            code = services.booking_created(booking=book(prop, date(2026, 6, 20), date(2026, 6, 22)))
        assert (code.starts_at, code.ends_at) == (starts_at, ends_at)

    def test_negotiated_times_are_capped_to_the_stay_dates(self, assigned_property, book):
        prop = assigned_property(margin_minutes=0)
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 20), date(2026, 6, 22), check_in_time=time(0, 0), check_out_time=time(23, 59))
            code = services.booking_created(booking=booking)
        assert code.starts_at == utc(2026, 6, 19, 22, 0)  # 00:00 CEST on arrival, not earlier
        assert code.ends_at == utc(2026, 6, 22, 21, 59)

    def test_pending_and_cancelled_bookings_get_no_code(self, assigned_property, book):
        prop = assigned_property()
        with freeze_time("2026-06-01 00:00:00"):
            pending = book(prop, date(2026, 6, 3), date(2026, 6, 5), status=BookingStatus.PENDING)
            assert services.booking_created(booking=pending) is None
            cancelled = book(prop, date(2026, 6, 3), date(2026, 6, 5), status=BookingStatus.CANCELLED)
            assert services.booking_created(booking=cancelled) is None
        assert not AccessCode.objects.exists()

    def test_ineligible_property_gets_no_code(self, assigned_property, book):
        prop = assigned_property()
        prop.ai_assistant_active = False
        prop.save()
        with freeze_time("2026-06-01 00:00:00"):
            assert services.booking_created(booking=book(prop, date(2026, 6, 3), date(2026, 6, 5))) is None

    def test_scheduler_plans_a_code_an_event_missed(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 3), date(2026, 6, 5))  # no event sent
            tick()
            assert missing_codes.last_missing_codes_pass().planned == 1
        assert current(booking).state == CodeState.ACTIVE

    def test_every_vendor_call_is_audited_without_secrets(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        (call,) = VendorCall.objects.all()
        code = current(booking)
        assert (call.operation, call.outcome, call.access_code_id, call.provider) == ("create_code", "ok", code.pk, "ttlock")
        assert call.duration_ms >= 0
        assert code.pin not in call.error_message


class TestRetries:
    def test_hourly_retries_alert_once_at_18_local_and_fail_at_midnight(self, assigned_property, book, fake_cloud):
        prop = assigned_property(time_zone="Asia/Kathmandu")  # UTC+05:45
        fake_cloud.fail_next("create_code", LockOffline("The lock's gateway is offline."), times=100)
        with freeze_time("2026-06-05 18:15:00") as frozen:  # 00:00 Kathmandu on 6 June = lead 5 before 11 June
            booking = book(prop, date(2026, 6, 11), date(2026, 6, 13))
            services.booking_created(booking=booking)
            code = current(booking)
            assert code.generate_at == utc(2026, 6, 5, 18, 15)
            assert code.alert_at == utc(2026, 6, 10, 12, 15)  # 18:00 local the day before
            assert code.retry_deadline == utc(2026, 6, 11, 18, 15)  # 24:00 local on arrival day

            tick()
            code.refresh_from_db()
            assert code.state == CodeState.CREATING
            assert code.next_attempt_at == utc(2026, 6, 5, 19, 15)
            assert "offline" in code.last_error

            frozen.move_to("2026-06-05 19:00:00")
            assert tick().claimed == 0  # not due yet: hourly
            frozen.move_to("2026-06-05 19:15:00")
            assert tick().claimed == 1

            # Fast-forward to the evening before arrival: the retry lands on the alert moment.
            AccessCode.objects.filter(pk=code.pk).update(next_attempt_at=utc(2026, 6, 10, 11, 45))
            frozen.move_to("2026-06-10 11:45:00")
            tick()
            code.refresh_from_db()
            assert code.next_attempt_at == utc(2026, 6, 10, 12, 15)
            assert mail.outbox == []
            frozen.move_to("2026-06-10 12:15:00")
            tick()
            assert len(mail.outbox) == 1 and "not created yet" in mail.outbox[0].subject
            frozen.move_to("2026-06-10 13:15:00")
            tick()
            assert len(mail.outbox) == 1  # once

            AccessCode.objects.filter(pk=code.pk).update(next_attempt_at=utc(2026, 6, 11, 17, 15))
            frozen.move_to("2026-06-11 17:15:00")
            tick()
            code.refresh_from_db()
            assert code.state == CodeState.CREATING
            assert code.next_attempt_at == utc(2026, 6, 11, 18, 15)  # capped at the deadline
            frozen.move_to("2026-06-11 18:15:00")
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.FAILED and code.next_attempt_at is None
        assert len(mail.outbox) == 2 and "could not be created" in mail.outbox[1].subject
        assert on_lock(fake_cloud) == []

    def test_first_failure_after_the_alert_moment_alerts_at_once(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", LockOffline("The lock's gateway is offline."))
        with freeze_time("2026-06-10 20:00:00"):  # 22:00 Paris, arrival tomorrow
            booking = book(prop, date(2026, 6, 11), date(2026, 6, 13))
            services.booking_created(booking=booking)
            tick()
        assert len(mail.outbox) == 1
        assert current(booking).alert_sent_at is not None

    def test_rate_limit_waits_at_least_retry_after(self, assigned_property, book, fake_cloud, settings):
        settings.LOCKS_RETRY_INTERVAL_SECONDS = 60
        prop = assigned_property()
        fake_cloud.fail_next("create_code", RateLimited("Too many requests.", retry_after=600))
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 20), date(2026, 6, 22), )
            AccessCode.objects.all().delete()
            services.booking_created(booking=booking)
            AccessCode.objects.update(next_attempt_at=utc(2026, 6, 1))
            tick()
        assert current(booking).next_attempt_at == utc(2026, 6, 1, 0, 10)

    def test_permanent_failure_is_reported_at_once_not_retried(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", CodeStorageFull("The lock's code memory is full."))
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
        code = current(booking)
        assert code.state == CodeState.FAILED
        assert code.last_error == "The lock's code memory is full."
        assert len(mail.outbox) == 1

    def test_auth_failure_flags_the_account_emails_once_and_reconnect_resumes(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        fake_cloud.fail_next("create_code", ProviderAuthError("TTLock refused the saved login."))
        with freeze_time("2026-06-01 00:00:00") as frozen:
            first = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            second = book(prop, date(2026, 6, 3), date(2026, 6, 4), guest_phone="")
            services.booking_created(booking=first)
            services.booking_created(booking=second)
            tick()
            account = ProviderAccount.objects.get()
            assert account.status == AccountStatus.NEEDS_RECONNECT
            assert [m.subject for m in mail.outbox] == ["Reconnect your TTLock account"]
            assert fake_cloud.calls["create_code"] == 1  # the second code did not hammer the vendor
            assert {current(first).state, current(second).state} == {CodeState.CREATING}

            frozen.move_to("2026-06-01 00:20:00")
            resumed = services.account_reconnected(account=account, credentials={"access_token": "new"}, expires_at=None)
            assert resumed == 2
            tick()
        assert current(first).state == current(second).state == CodeState.ACTIVE


class TestChanges:
    def _active(self, assigned_property, book, **assignment):
        prop = assigned_property(**assignment)
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=booking)
        tick()
        return prop, booking, current(booking)

    def test_date_change_keeps_the_pin_and_moves_the_window(self, assigned_property, book, fake_cloud):
        with freeze_time("2026-06-01 00:00:00"):
            prop, booking, code = self._active(assigned_property, book)
            booking.departure_date = date(2026, 6, 7)
            booking.save()
            services.booking_changed(booking=booking)
            assert current(booking).state == CodeState.UPDATING
            tick()
        updated = current(booking)
        assert updated.pk == code.pk and updated.pin == code.pin and updated.state == CodeState.ACTIVE
        (issued,) = on_lock(fake_cloud)
        assert issued.ends_at == utc(2026, 6, 7, 9, 30)
        assert fake_cloud.calls["update_code"] == 1 and fake_cloud.calls["create_code"] == 1

    @pytest.mark.parametrize("status", [BookingStatus.CANCELLED, BookingStatus.PENDING])
    def test_cancel_or_pending_revokes(self, assigned_property, book, fake_cloud, status):
        with freeze_time("2026-06-01 00:00:00"):
            prop, booking, code = self._active(assigned_property, book)
            booking.status = status
            booking.save()
            services.booking_cancelled(booking=booking)
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.REVOKED and not code.is_current
        assert on_lock(fake_cloud) == []

    def test_failed_revoke_is_retried_until_it_succeeds(self, assigned_property, book, fake_cloud):
        with freeze_time("2026-06-01 00:00:00") as frozen:
            prop, booking, code = self._active(assigned_property, book)
            fake_cloud.fail_next("delete_code", LockOffline("Gateway offline."))
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            tick()
            code.refresh_from_db()
            assert code.state == CodeState.REVOKING and code.next_attempt_at == utc(2026, 6, 1, 1, 0)
            frozen.move_to("2026-06-01 01:00:00")
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.REVOKED
        assert on_lock(fake_cloud) == []

    @pytest.mark.parametrize(
        "refusal",
        [
            SubscriptionRequired("Nuki refused to remove the code: this lock has no active Nuki Smart Hosting subscription."),
            LockNotFound("The lock is no longer in this TTLock account."),
        ],
    )
    def test_a_revoke_refused_for_good_is_not_recorded_as_revoked(
        self, assigned_property, book, fake_cloud, refusal, django_capture_on_commit_callbacks
    ):
        with freeze_time("2026-06-01 00:00:00"):
            prop, booking, code = self._active(assigned_property, book)
            fake_cloud.fail_next("delete_code", refusal)
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            with django_capture_on_commit_callbacks(execute=True):
                tick()
        code.refresh_from_db()
        assert code.state == CodeState.SUPERSEDED and code.next_attempt_at == code.lock_ends_at
        assert "refused to revoke this code" in code.warning and "keeps working until 11:30 on 5 June 2026" in code.warning
        assert len(on_lock(fake_cloud)) == 1  # it is still there, and the record says so
        (message,) = [m for m in mail.outbox if "keeps working" in m.subject]
        assert refusal.message.rstrip(".") in message.body

    def test_cancelling_before_creation_needs_no_vendor_call(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 20), date(2026, 6, 22))
            code = services.booking_created(booking=booking)
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
        code.refresh_from_db()
        assert code.state == CodeState.REVOKED
        assert sum(fake_cloud.calls.values()) == 0

    def test_property_change_moves_the_code_to_the_new_lock_keeping_the_pin(self, assigned_property, book, fake_cloud):
        with freeze_time("2026-06-01 00:00:00"):
            prop, booking, old = self._active(assigned_property, book)
            other = assigned_property(vendor_lock_id="L2")
            booking.property = other
            booking.save()
            services.booking_changed(booking=booking)
            tick()
        old.refresh_from_db()
        new = current(booking)
        assert old.state == CodeState.REVOKED and not old.is_current
        assert new.lock.vendor_lock_id == "L2" and new.state == CodeState.ACTIVE
        assert new.pin == old.pin
        assert on_lock(fake_cloud, "L1") == [] and len(on_lock(fake_cloud, "L2")) == 1

    def test_changing_the_lock_moves_codes(self, assigned_property, book, make_lock, fake_cloud):
        with freeze_time("2026-06-01 00:00:00"):
            prop, booking, old = self._active(assigned_property, book)
            new_lock = make_lock(vendor_lock_id="L9")
            services.lock_assignment_set(prop=prop, lock=new_lock)
            tick()
        assert current(booking).lock == new_lock and current(booking).pin == old.pin
        assert on_lock(fake_cloud, "L1") == [] and len(on_lock(fake_cloud, "L9")) == 1

    def test_new_lock_refusing_the_pin_gets_a_new_one(self, assigned_property, book, make_lock, fake_cloud):
        with freeze_time("2026-06-01 00:00:00"):
            prop, booking, old = self._active(assigned_property, book)
            new_lock = make_lock(vendor_lock_id="L9")
            fake_cloud.locks["L9"].codes["x"] = on_lock(fake_cloud, "L1")[0]  # the host's own code, same PIN
            services.lock_assignment_set(prop=prop, lock=new_lock)
            tick()
        new = current(booking)
        assert new.state == CodeState.ACTIVE and new.pin != old.pin and new.pin_rejections == 1

    def test_another_brand_is_refused_until_removed(self, assigned_property, make_lock):
        prop = assigned_property()
        nuki_lock = make_lock(vendor_lock_id="N1", provider="nuki")
        with pytest.raises(ValidationError, match="already has a TTLock lock.*Remove the TTLock lock first"):
            services.lock_assignment_set(prop=prop, lock=nuki_lock)
        services.lock_assignment_remove(prop=prop)
        assert services.lock_assignment_set(prop=prop, lock=nuki_lock).lock == nuki_lock

    def test_a_lock_serves_one_property(self, assigned_property, make_property):
        prop = assigned_property()
        other = make_property(name="Second flat")
        with pytest.raises(ValidationError, match="already assigned to Flat L1"):
            services.lock_assignment_set(prop=other, lock=prop.lock_assignment.lock)

    def test_margin_change_moves_created_windows(self, assigned_property, book, fake_cloud):
        with freeze_time("2026-06-01 00:00:00"):
            prop, booking, code = self._active(assigned_property, book)
            services.assignment_settings_changed(prop=prop, margin_minutes=60)
            tick()
        (issued,) = on_lock(fake_cloud)
        assert issued.starts_at == utc(2026, 6, 2, 12, 0) and current(booking).pin == code.pin

    def test_lead_change_reschedules_codes_not_created(self, assigned_property, book):
        prop = assigned_property(lead_days=2)
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 20), date(2026, 6, 22))
            services.booking_created(booking=booking)
            services.assignment_settings_changed(prop=prop, lead_days=10)
        assert current(booking).next_attempt_at == utc(2026, 6, 9, 22, 0)

    def test_code_source_change_affects_only_codes_not_created(self, assigned_property, book, fake_cloud):
        with freeze_time("2026-06-01 00:00:00"):
            prop, booking, created = self._active(assigned_property, book)
            later = book(prop, date(2026, 6, 4), date(2026, 6, 5), guest_phone="+1 (555) 010-9999")
            services.assignment_settings_changed(prop=prop, code_source=CodeSource.GUEST_PHONE)
            tick()
        assert current(booking).pin == created.pin
        assert current(later).pin == "109999"

    def test_property_time_change_moves_windows(self, assigned_property, book, fake_cloud):
        with freeze_time("2026-06-01 00:00:00"):
            prop, booking, code = self._active(assigned_property, book)
            prop.default_check_in_time = time(17, 0)
            prop.save()
            services.property_times_changed(prop=prop)
            tick()
        assert on_lock(fake_cloud)[0].starts_at == utc(2026, 6, 2, 14, 30)

    def test_removing_the_lock_revokes_upcoming_and_leaves_staying_guests(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        with freeze_time("2026-06-01 00:00:00") as frozen:
            staying = book(prop, date(2026, 6, 1), date(2026, 6, 3))
            upcoming = book(prop, date(2026, 6, 4), date(2026, 6, 6))
            services.booking_created(booking=staying)
            services.booking_created(booking=upcoming)
            tick()
            frozen.move_to("2026-06-01 15:00:00")
            services.lock_assignment_remove(prop=prop)
            tick()
        assert current(staying).state == CodeState.ACTIVE
        assert AccessCode.objects.get(booking=upcoming).state == CodeState.REVOKED
        assert [c.name for c in on_lock(fake_cloud)] == [f"nw-{current(staying).pk}"]

    def test_expired_code_is_removed_from_the_lock(self, assigned_property, book, fake_cloud):
        with freeze_time("2026-06-01 00:00:00") as frozen:
            prop, booking, code = self._active(assigned_property, book)
            frozen.move_to("2026-06-05 09:29:00")
            assert tick().claimed == 0
            frozen.move_to("2026-06-05 09:30:00")
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.EXPIRED
        assert on_lock(fake_cloud) == []


class TestAccounts:
    def test_disconnect_revokes_upcoming_keeps_staying_and_forgets_credentials(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        with freeze_time("2026-06-01 00:00:00") as frozen:
            staying = book(prop, date(2026, 6, 1), date(2026, 6, 3))
            upcoming = book(prop, date(2026, 6, 4), date(2026, 6, 6))
            later = book(prop, date(2026, 6, 20), date(2026, 6, 22))
            for booking in (staying, upcoming, later):
                services.booking_created(booking=booking)
            tick()
            account = ProviderAccount.objects.get()
            account.credentials = {"access_token": "secret"}
            account.save()
            frozen.move_to("2026-06-01 15:00:00")
            report = services.account_disconnect(account=account)

            assert report.revoked == 2 and report.left_valid == [] and report.staying_untouched == 1
            account.refresh_from_db()
            assert account.status == AccountStatus.DISCONNECTED and account.credentials == {}
            assert account.disconnect_summary == (
                "TTLock is disconnected and its stored credentials are deleted. 2 code(s) of upcoming bookings were revoked. "
                "1 guest(s) staying now keep their code until check-out."
            )
            assert not LockAssignment.objects.exists()
            assert current(staying).state == CodeState.ACTIVE
            # No new codes for that property from now on.
            newcomer = book(prop, date(2026, 6, 2), date(2026, 6, 4))
            assert services.booking_created(booking=newcomer) is None
            tick()
            assert missing_codes.last_missing_codes_pass().planned == 0
            # The staying guest's code ends on its own; nothing can be called any more.
            frozen.move_to("2026-06-03 09:30:00")
            tick()
        assert current(staying).state == CodeState.EXPIRED
        assert len(on_lock(fake_cloud)) == 1


class TestNeverTwice:
    def test_lost_response_is_found_not_created_twice(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        fake_cloud.lose_response_next("create_code")
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            code = current(booking)
            assert code.state == CodeState.CREATING and code.create_outcome_unknown
            frozen.move_to("2026-06-01 01:00:00")
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.ACTIVE
        assert len(on_lock(fake_cloud)) == 1
        assert fake_cloud.calls["create_code"] == 1 and fake_cloud.calls["find_code"] == 1
        assert code.vendor_code_id == on_lock(fake_cloud)[0].vendor_code_id

    def test_a_vendor_failure_after_a_create_was_sent_is_looked_up_before_creating_again(self, assigned_property, book, fake_cloud):
        from locks.providers.exceptions import VendorUnavailable

        prop = assigned_property()
        fake_cloud.fail_next("create_code", VendorUnavailable("TTLock answered 502."))
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            frozen.move_to("2026-06-01 01:00:00")
            tick()
        assert current(booking).state == CodeState.ACTIVE
        assert fake_cloud.calls["find_code"] == 1 and fake_cloud.calls["create_code"] == 2
        assert len(on_lock(fake_cloud)) == 1

    def test_a_failed_search_after_a_lost_create_does_not_forget_it(self, assigned_property, book, fake_cloud):
        """Found by the chaos benchmark: a rate-limited search reset the 'unknown' mark, and the
        next attempt created a second code."""
        prop = assigned_property()
        fake_cloud.lose_response_next("create_code")
        fake_cloud.fail_next("find_code", RateLimited("Too many requests."))
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()  # create sent, answer lost
            frozen.move_to("2026-06-01 01:00:00")
            tick()  # search refused
            assert current(booking).create_outcome_unknown
            frozen.move_to("2026-06-01 02:00:00")
            tick()  # search again: found
        assert current(booking).state == CodeState.ACTIVE
        assert len(on_lock(fake_cloud)) == 1 and fake_cloud.calls["create_code"] == 1

    def test_a_code_failing_after_a_lost_create_adopts_what_it_had_created(self, assigned_property, book, fake_cloud):
        """Found by the chaos benchmark: the last create's answer was lost, the deadline passed, the
        code was marked failed, and the code it had created stayed on the lock untracked. Now it is
        looked for: found while its window lasts, it is the guest's code after all."""
        prop = assigned_property()
        fake_cloud.lose_response_next("create_code")
        fake_cloud.fail_next("find_code", LockOffline("Gateway offline."))
        with freeze_time("2026-06-02 21:00:00") as frozen:  # 23:00 Paris on the arrival day
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()  # create sent, answer lost
            frozen.move_to("2026-06-02 22:00:00")  # the deadline: the search fails, the code fails
            tick()
            code = current(booking)
            assert code.state == CodeState.FAILED and code.next_attempt_at is not None
            frozen.move_to("2026-06-02 23:00:00")
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.ACTIVE and not code.create_outcome_unknown
        assert [issued.vendor_code_id for issued in on_lock(fake_cloud)] == [code.vendor_code_id]

    def test_lost_response_then_cancel_removes_what_was_created(self, assigned_property, book, fake_cloud):
        prop = assigned_property()
        fake_cloud.lose_response_next("create_code")
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
            tick()
        assert on_lock(fake_cloud) == []
        assert AccessCode.objects.get(booking=booking).state == CodeState.REVOKED

    def test_work_of_a_crashed_worker_is_reclaimed_after_the_lease(self, assigned_property, book, fake_cloud, settings):
        settings.LOCKS_CLAIM_LEASE_SECONDS = 300
        prop = assigned_property()
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            token, ids = claim_due_codes(now=utc(2026, 6, 1), limit=10)
            frozen.move_to("2026-06-01 00:20:00")  # it waited in the queue, then a worker took it...
            renew_claims(ids, token, utc(2026, 6, 1, 0, 20))  # ...and died
            assert ids == [current(booking).pk]
            frozen.move_to("2026-06-01 00:24:59")
            assert tick().claimed == 0
            frozen.move_to("2026-06-01 00:25:01")
            tick()
        assert current(booking).state == CodeState.ACTIVE
        assert fake_cloud.calls["create_code"] == 1

    def test_a_queued_batch_is_not_handed_out_again_while_it_waits_for_a_worker(self, assigned_property, book, fake_cloud, settings):
        """Its lease starts when a worker takes it: a backlog drains without being claimed twice."""
        settings.LOCKS_CLAIM_LEASE_SECONDS, settings.LOCKS_QUEUE_LEASE_SECONDS = 300, 3600
        prop = assigned_property()
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            token, ids = claim_due_codes(now=utc(2026, 6, 1), limit=10)
            frozen.move_to("2026-06-01 00:45:00")  # three passes later, still queued
            assert tick().claimed == 0
            results = steps.process_codes(code_ids=ids, claim_token=token)  # a worker takes it at last
            assert [result.action for result in results] == ["created"]

    def test_a_worker_renews_its_lease_while_a_slow_batch_goes_on(self, assigned_property, book, fake_cloud, settings):
        settings.LOCKS_CLAIM_LEASE_SECONDS = 300
        prop = assigned_property()
        with freeze_time("2026-06-01 00:00:00") as frozen:
            bookings = [book(prop, date(2026, 6, 2), date(2026, 6, 5), guest_name=f"Guest {n}") for n in range(4)]
            for booking in bookings:
                services.booking_created(booking=booking)
            token, ids = claim_due_codes(now=utc(2026, 6, 1), limit=10)
            fake_cloud.after_call = lambda: frozen.tick(150)  # each vendor call takes two and a half minutes
            results = steps.process_codes(code_ids=ids, claim_token=token)
        assert [result.action for result in results] == ["created"] * 4
        assert fake_cloud.calls["create_code"] == 4

    def test_a_batch_lost_in_the_queue_is_claimed_again_after_the_queue_lease(self, assigned_property, book, fake_cloud, settings):
        settings.LOCKS_QUEUE_LEASE_SECONDS = 3600
        prop = assigned_property()
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            token, ids = claim_due_codes(now=utc(2026, 6, 1), limit=10)  # the message is lost
            frozen.move_to("2026-06-01 01:00:01")
            tick()
            assert steps.process_codes(code_ids=ids, claim_token=token)[0].action == "skipped"  # arrives late: given away
        assert current(booking).state == CodeState.ACTIVE
        assert fake_cloud.calls["create_code"] == 1


class TestVendorsThatCannotRevoke:
    def test_change_issues_a_new_code_and_keeps_the_old_one_on_record(self, assigned_property, book, fake_cloud):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            old = current(booking)
            booking.departure_date = date(2026, 6, 6)
            booking.save()
            services.booking_changed(booking=booking)
            tick()
            tick()
            old.refresh_from_db()
            new = current(booking)
            assert old.state == CodeState.SUPERSEDED and not old.is_current
            assert new.state == CodeState.ACTIVE and new.ends_at == utc(2026, 6, 6, 9, 30)
            assert fake_cloud.calls["delete_code"] == 0 and fake_cloud.calls["update_code"] == 0
            frozen.move_to("2026-06-05 09:30:00")
            tick()
        old.refresh_from_db()
        assert old.state == CodeState.EXPIRED

    def test_cancellation_records_until_when_the_code_works(self, assigned_property, book, fake_cloud):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            booking.status = BookingStatus.CANCELLED
            booking.save()
            services.booking_cancelled(booking=booking)
        code = AccessCode.objects.get(booking=booking)
        assert code.state == CodeState.SUPERSEDED and code.next_attempt_at == utc(2026, 6, 5, 9, 30)
        assert fake_cloud.calls["delete_code"] == 0


class TestKeepAlive:
    def test_keep_alive_refreshes_connected_accounts_and_flags_refused_ones(self, make_lock, fake_cloud, monkeypatch):
        from locks.providers.fake import FakeProvider
        from locks.services.accounts import accounts_keep_alive

        make_lock(vendor_lock_id="L1", provider="ttlock")
        make_lock(vendor_lock_id="N1", provider="nuki")
        calls = []

        def keep_alive(self):
            calls.append(self.slug)
            if self.slug == "nuki":
                raise ProviderAuthError("Nuki refused the saved login.")

        monkeypatch.setattr(FakeProvider, "keep_alive", keep_alive)
        assert accounts_keep_alive() == {"refreshed": 1, "needs_reconnect": 1, "failed": 0}
        assert sorted(calls) == ["nuki", "ttlock"]
        nuki = ProviderAccount.objects.get(provider="nuki")
        assert nuki.status == AccountStatus.NEEDS_RECONNECT
        assert [m.subject for m in mail.outbox] == ["Reconnect your Nuki account"]
        assert VendorCall.objects.filter(operation="keep_alive").count() == 2


class TestHonestyAboutVendorLimits:
    def test_cancelled_unrevocable_code_is_recorded_and_the_host_told_until_when(
        self, assigned_property, book, fake_cloud, django_capture_on_commit_callbacks
    ):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            booking.status = BookingStatus.CANCELLED
            booking.save()
            with django_capture_on_commit_callbacks(execute=True):
                services.booking_cancelled(booking=booking)
        code = AccessCode.objects.get(booking=booking)
        assert code.warning == "igloohome cannot revoke this code: it keeps working until 11:30 on 5 June 2026."
        (message,) = [m for m in mail.outbox if "keeps working" in m.subject]
        assert "11:30 on 5 June 2026" in message.body and "cannot be revoked remotely" in message.body

    def test_lost_create_on_a_vendor_that_cannot_list_is_recorded_not_hidden(self, assigned_property, book, fake_cloud):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        fake_cloud.lose_response_next("create_code")
        with freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            frozen.move_to("2026-06-01 01:00:00")
            tick()
        code = current(booking)
        assert code.state == CodeState.ACTIVE
        assert fake_cloud.calls["find_code"] == 0  # nothing to look in
        assert "may have created a code that cannot be listed" in code.warning
        assert "until about 11:30 on 5 June 2026" in code.warning

    def test_a_change_that_leaves_the_window_alone_does_not_reissue_an_unrevocable_code(self, assigned_property, book, fake_cloud):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            code = current(booking)
            # The vendor rounds the window (igloohome: whole hours).
            AccessCode.objects.filter(pk=code.pk).update(lock_starts_at=utc(2026, 6, 2, 12, 0), lock_ends_at=utc(2026, 6, 5, 10, 0))
            services.assignment_settings_changed(prop=prop, lead_days=3)
            services.property_times_changed(prop=prop)
            tick()
        assert current(booking).pk == code.pk and current(booking).state == CodeState.ACTIVE
        assert fake_cloud.calls["create_code"] == 1

    def test_changed_booking_on_an_unrevocable_vendor_records_the_old_code(self, assigned_property, book, fake_cloud):
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        with freeze_time("2026-06-01 00:00:00"):
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            old = current(booking)
            booking.departure_date = date(2026, 6, 6)
            booking.save()
            services.booking_changed(booking=booking)
            tick()
        old.refresh_from_db()
        assert old.state == CodeState.SUPERSEDED
        assert old.warning == "Replaced by a new code after the booking changed; this one still works until 11:30 on 5 June 2026."


class TestAssignmentWarnings:
    def test_a_ttlock_clock_in_another_zone_is_reported(self, assigned_property, monkeypatch):
        from locks.providers import registry
        from locks.providers.ttlock import TTLockProvider
        from locks.services.assignments import assignment_warnings

        monkeypatch.setitem(registry.PROVIDER_CLASSES, "ttlock", TTLockProvider)
        prop = assigned_property()  # Europe/Paris
        lock = prop.lock_assignment.lock
        lock.vendor_utc_offset_minutes = 60  # winter time all year round
        lock.save()
        (warning,) = assignment_warnings(prop.lock_assignment, on=date(2026, 7, 1))
        assert "UTC+01:00" in warning and "UTC+02:00" in warning and "daylight saving" in warning
        assert assignment_warnings(prop.lock_assignment, on=date(2026, 1, 15)) == []

    def test_a_lock_that_reports_no_clock_warns_of_nothing(self, assigned_property):
        from locks.services.assignments import assignment_warnings

        prop = assigned_property(provider="nuki", vendor_lock_id="N1")
        assert assignment_warnings(prop.lock_assignment, on=date(2026, 7, 1)) == []


class TestFailedAfterALostCreateOnAVendorThatCannotList:
    def test_the_possible_code_is_recorded_on_the_failed_code(self, assigned_property, book, fake_cloud):
        """Chaos benchmark: an igloohome create lost past the retry deadline left an algoPIN that
        nothing in the database explained."""
        prop = assigned_property(provider="igloohome", vendor_lock_id="IG1")
        fake_cloud.lose_response_next("create_code")
        with freeze_time("2026-06-03 12:00:00") as frozen:  # the stay began: no retries left
            booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            frozen.move_to("2026-06-03 13:00:00")
            tick()
        code = current(booking)
        assert code.state == CodeState.FAILED and code.next_attempt_at is None
        assert "may have created a code that cannot be listed" in code.warning
        assert fake_cloud.calls["find_code"] == 0


def test_a_clean_up_finished_by_another_worker_is_not_rescheduled(assigned_property, book, fake_cloud):
    """Chaos benchmark: a worker whose claim had expired tried to reschedule a clean-up another
    worker had finished, and hit the database's 'final code has no next attempt' constraint."""
    from locks.providers.exceptions import VendorUnavailable
    from locks.services.outcomes import retry_cleaning

    prop = assigned_property()
    with freeze_time("2026-06-01 00:00:00"):
        code = services.booking_created(booking=book(prop, date(2026, 6, 2), date(2026, 6, 5)))
        AccessCode.objects.filter(pk=code.pk).update(state=CodeState.FAILED, next_attempt_at=None, create_outcome_unknown=False)
        code.refresh_from_db()
        retry_cleaning(code, VendorUnavailable("Nuki failed."), utc(2026, 6, 1))
        code.save()
    code.refresh_from_db()
    assert code.next_attempt_at is None
