"""The lifecycle under the vendor rate limiter (locks/providers/rate_limits.py): a step whose request
the limiter holds back is taken again when the window frees — not a failed attempt, no alert, no
deadline, never dropped; read-backs yield to writes; token requests count; the audit says LOCAL."""

from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from freezegun import freeze_time

from locks import services
from locks.models import AccessCode, CallOutcome, CodeState, Lock, ProviderAccount, VendorCall
from locks.providers import rate_limits, registry
from locks.providers.exceptions import OutcomeUnknown, RateLimitedLocally
from locks.providers.fake import READ_BACK
from locks.services.read_back import read_back_locks
from locks.services.vendor_accounts import audited_call, provider_for_account
from tests.helpers.lifecycle import current, tick, utc
from tests.vendors.token_clouds import CLIENT_SETTINGS, VENDORS

pytestmark = pytest.mark.django_db

NOW = "2026-06-01 08:00:00"  # a stay of 2-5 June (Paris) is due at once


@pytest.fixture
def booking(assigned_property, book):
    return book(assigned_property(), date(2026, 6, 2), date(2026, 6, 5))


def at_the_end_of(code: AccessCode, window_end: datetime) -> bool:
    """Whether the code's next step is due just after the window's end (a moment after: at its very end
    the oldest request is still in the window)."""
    return window_end < code.next_attempt_at < window_end + timedelta(seconds=1)


def spend_the_window(account_id: int) -> None:
    """One TTLock request of the account, as another worker's would be."""
    with rate_limits.calls_for(vendor="ttlock", account_id=account_id):
        rate_limits.admit("ttlock")


def test_a_create_over_the_limit_waits_for_the_window_and_is_done_once_it_frees(booking, fake_cloud, rate_limited):
    rate_limited("ttlock", account="1/minute")
    with freeze_time(NOW) as clock:
        code = services.booking_created(booking=booking)
        spend_the_window(code.lock.account_id)
        clock.tick(20)
        assert tick().actions == {"held_back": 1}

    held = AccessCode.objects.get(pk=code.pk)
    assert fake_cloud.calls["create_code"] == 0
    assert held.state == CodeState.CREATING and at_the_end_of(held, utc(2026, 6, 1, 8, 1))
    assert (held.attempts, held.first_failure_at, held.last_error, held.vendor_wait_until) == (0, None, "", None)
    assert not held.create_outcome_unknown  # nothing left: no lost create to look for
    audit = VendorCall.objects.get(operation="create_code")
    assert (audit.outcome, audit.error_kind) == (CallOutcome.LOCAL, "rate_limited_locally")

    with freeze_time("2026-06-01 08:00:50"):
        assert not tick().actions  # not due yet
    with freeze_time("2026-06-01 08:01:01"):
        assert tick().actions == {"created": 1}
    assert current(booking).state == CodeState.ACTIVE and fake_cloud.calls["create_code"] == 1


def test_a_held_back_create_is_neither_failed_past_its_deadline_nor_alerted(booking, fake_cloud, rate_limited):
    rate_limited("ttlock", account="1/minute")
    past = utc(2026, 6, 1, 7)
    with freeze_time(NOW):
        code = services.booking_created(booking=booking)
        AccessCode.objects.filter(pk=code.pk).update(retry_deadline=past, alert_at=past)
        spend_the_window(code.lock.account_id)
        assert tick().actions == {"held_back": 1}
    held = AccessCode.objects.get(pk=code.pk)
    assert held.state == CodeState.CREATING and held.alert_sent_at is None and held.failure_notified_at is None
    assert mail.outbox == []
    with freeze_time("2026-06-01 08:01:01"):
        assert tick().actions == {"created": 1}


def test_a_held_back_create_is_sent_for_when_the_window_frees(booking, fake_cloud, rate_limited, monkeypatch):
    from locks.services import outcomes

    sent = []
    monkeypatch.setattr(outcomes, "enqueue_code", lambda code_id, eta=None: sent.append((code_id, eta)))
    rate_limited("ttlock", account="1/minute")
    with freeze_time(NOW):
        code = services.booking_created(booking=booking)
        spend_the_window(code.lock.account_id)
        tick()
    assert sent == [(code.pk, AccessCode.objects.get(pk=code.pk).next_attempt_at)]
    assert at_the_end_of(AccessCode.objects.get(pk=code.pk), utc(2026, 6, 1, 8, 1))


def test_a_removal_over_the_limit_waits_for_the_window_without_counting_an_attempt(booking, fake_cloud, rate_limited):
    with freeze_time(NOW):
        services.booking_created(booking=booking)
        tick()
    code = current(booking)
    rate_limited("ttlock", account="1/minute")
    with freeze_time("2026-06-01 09:00:00"):
        booking.status = "cancelled"
        booking.save()
        services.booking_cancelled(booking=booking)
        spend_the_window(code.lock.account_id)
        assert tick().actions == {"held_back": 1}
    held = AccessCode.objects.get(pk=code.pk)
    assert held.state == CodeState.REVOKING and at_the_end_of(held, utc(2026, 6, 1, 9, 1))
    assert held.attempts == code.attempts and held.last_error == "" and fake_cloud.calls["delete_code"] == 0
    with freeze_time("2026-06-01 09:01:01"):
        assert tick().actions == {"revoked": 1}
    assert fake_cloud.codes_on("L1") == []


def test_a_write_held_back_after_part_of_it_left_is_looked_for_before_it_is_sent_again(booking, fake_cloud, rate_limited):
    rate_limited("ttlock", account="1/minute")
    account = ProviderAccount.objects.get()

    def two_requests():
        fake_cloud.call("create_code", "L1", lambda: None)
        fake_cloud.call("create_code", "L1", lambda: None)

    with freeze_time(NOW), pytest.raises(OutcomeUnknown) as lost:
        audited_call(account=account, operation="create_code", call=two_requests)
    assert lost.value.retry_after == pytest.approx(60, abs=0.05)
    assert VendorCall.objects.get().outcome == CallOutcome.UNKNOWN

    # A look that changes nothing is simply held back, whatever of it was sent.
    rate_limits.forget_counts()
    with freeze_time(NOW), pytest.raises(RateLimitedLocally):
        audited_call(account=account, operation="find_code", call=two_requests)


def test_read_backs_yield_to_creates(assigned_property, book, fake_cloud, rate_limited, settings, monkeypatch):
    monkeypatch.setattr(registry.PROVIDER_CLASSES["ttlock"], "capabilities", READ_BACK)
    prop = assigned_property()
    with freeze_time(NOW):
        services.booking_created(booking=book(prop, date(2026, 6, 2), date(2026, 6, 5)))
        tick()
    rate_limited("ttlock", account="4/minute")
    settings.LOCKS_RATE_LIMIT_READ_SHARE = 0.5  # reads: 2 of each minute's 4
    lock = Lock.objects.get()
    with freeze_time("2026-06-01 09:00:00"):
        results = read_back_locks(account_id=lock.account_id, lock_ids=[lock.pk])
        assert [result.action for result in results] == ["backed_off"]  # health and listing read, the log held back
        assert fake_cloud.calls["code_uses"] == 0
        later = services.booking_created(booking=book(prop, date(2026, 6, 3), date(2026, 6, 4), guest_name="Walt Write"))
        assert tick().actions == {"created": 1}  # the write finds the room the reads leave
    assert AccessCode.objects.get(pk=later.pk).state == CodeState.ACTIVE
    reads = VendorCall.objects.filter(operation="code_uses").get()
    assert (reads.outcome, reads.error_kind) == (CallOutcome.LOCAL, "rate_limited_locally")


def test_token_requests_count_against_the_account(host, settings, rate_limited):
    for name, value in CLIENT_SETTINGS.items():
        setattr(settings, name, value)
    with ExitStack() as stack:
        vendor = VENDORS["tedee"](stack)
        account = ProviderAccount.objects.create(
            host=host, provider="tedee", display_name="tedee", credentials=vendor.credentials,
            token_expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        rate_limited("tedee", account="2/minute")
        provider = provider_for_account(account)
        audited_call(account=account, operation="list_locks", call=provider.list_locks)  # a token request, then the list
        assert vendor.token_requests() == 1
        with pytest.raises(RateLimitedLocally):
            audited_call(account=account, operation="list_locks", call=provider.list_locks)

        # The limit reached by the token request itself: the list is held back, nothing of it sent.
        rate_limits.forget_counts()
        rate_limited("tedee", account="1/minute")
        ProviderAccount.objects.filter(pk=account.pk).update(token_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        vendor.expire_at_vendor()
        account.refresh_from_db()
        provider = provider_for_account(account)
        with pytest.raises(RateLimitedLocally):
            audited_call(account=account, operation="list_locks", call=provider.list_locks)
        assert vendor.token_requests() == 2
    audit = VendorCall.objects.order_by("pk").last()
    assert (audit.outcome, audit.error_kind) == (CallOutcome.LOCAL, "rate_limited_locally")


def test_with_the_limiters_redis_unreachable_codes_are_still_created(assigned_property, book, fake_cloud, rate_limited, settings):
    from tests.locks.providers.test_rate_limits import closed_port

    rate_limited("ttlock", app="1/minute", account="1/minute")
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    prop = assigned_property()
    with freeze_time(NOW):
        for guest in ("Ann", "Bob", "Cat"):
            services.booking_created(booking=book(prop, date(2026, 6, 2), date(2026, 6, 5), guest_name=guest))
        assert tick().actions == {"created": 3}
    assert fake_cloud.calls["create_code"] == 3
