"""The rate limiter (locks/providers/rate_limits.py) and the work around codes: backup codes and
offline codes held back by it are made once the window frees, never recorded as failures, and a
token refresh it holds back is not shared with the account's other workers as a failed one."""

from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from freezegun import freeze_time

from locks import services
from locks.models import AccessCode, BackupCode, BackupState, FallbackKind, LadderStep, ProviderAccount
from locks.providers import rate_limits, registry
from locks.providers.base import Capabilities
from locks.providers.exceptions import RateLimitedLocally
from locks.services.backup_pool import tend_pools
from locks.services.ladder import run_ladder
from locks.services.vendor_accounts import _failed_refresh, audited_call, provider_for_account
from tests.helpers.lifecycle import current, tick, utc
from tests.vendors.token_clouds import CLIENT_SETTINGS, VENDORS

pytestmark = pytest.mark.django_db

CHECK_IN = utc(2026, 6, 2, 13, 0)  # 2 June, 15:00 in Paris


def spend_the_window(vendor: str, account_id: int) -> None:
    with rate_limits.calls_for(vendor=vendor, account_id=account_id):
        rate_limits.admit(vendor)


def test_a_backup_held_back_is_programmed_once_the_window_frees_without_counting_an_attempt(assigned_property, fake_cloud, rate_limited):
    assigned_property(provider="tedee")
    rate_limited("tedee", account="1/minute")
    with freeze_time("2026-05-27 08:00:00"):
        assert tend_pools(utc(2026, 5, 27, 8)) == 2  # two calls: one sent, one held back
    first, second = BackupCode.objects.order_by("pk")
    assert first.state == BackupState.READY and second.state == BackupState.PROGRAMMING
    assert (second.attempts, second.last_error) == (0, "")
    assert utc(2026, 5, 27, 8, 1) < second.next_attempt_at < utc(2026, 5, 27, 8, 1, 1)  # the window's end, not an hour
    with freeze_time("2026-05-27 08:01:01"):
        tend_pools(utc(2026, 5, 27, 8, 1, 1))
    assert BackupCode.objects.get(pk=second.pk).state == BackupState.READY
    assert fake_cloud.calls["create_code"] == 2


def test_an_offline_code_held_back_is_issued_at_a_later_pass_and_nobody_is_told_there_is_none(
    assigned_property, book, fake_cloud, rate_limited, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(registry.PROVIDER_CLASSES["ttlock"], "capabilities", Capabilities(offline_fallback=True))
    prop = assigned_property(provider="ttlock")
    fake_cloud.locks["L1"].online = False
    booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
    with freeze_time("2026-05-28 09:00:00"):
        services.booking_created(booking=booking)
        tick()
    account = ProviderAccount.objects.get()
    rate_limited("ttlock", account="1/minute")
    moment = CHECK_IN - timedelta(hours=2)
    with freeze_time(moment), django_capture_on_commit_callbacks(execute=True):
        spend_the_window("ttlock", account.pk)
        run_ladder(moment)
    assert not LadderStep.objects.filter(kind__in=["fallback_sent", "no_fallback"]).exists()
    assert not AccessCode.objects.filter(fallback=FallbackKind.OFFLINE).exists()  # no failed row left behind
    assert not [message for message in mail.outbox if message.subject.startswith("Urgent: no door code")]

    later = moment + timedelta(minutes=5)
    with freeze_time(later), django_capture_on_commit_callbacks(execute=True):
        run_ladder(later)
    assert current(booking).fallback == FallbackKind.OFFLINE
    assert LadderStep.objects.filter(kind="fallback_sent").exists()


def test_a_token_refresh_held_back_is_not_shared_as_a_failed_one(host, settings, rate_limited):
    for name, value in CLIENT_SETTINGS.items():
        setattr(settings, name, value)
    with ExitStack() as stack:
        vendor = VENDORS["tedee"](stack)
        account = ProviderAccount.objects.create(
            host=host, provider="tedee", display_name="tedee", credentials=vendor.credentials,
            token_expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        rate_limited("tedee", account="1/minute")
        spend_the_window("tedee", account.pk)
        provider = provider_for_account(account)
        with pytest.raises(RateLimitedLocally):
            audited_call(account=account, operation="list_locks", call=provider.list_locks)
        assert vendor.token_requests() == 0
        assert _failed_refresh(account.pk, vendor.credentials) is None  # the next worker asks for itself
