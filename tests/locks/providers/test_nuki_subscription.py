"""Nuki Smart Hosting (SHS): the subscription state on the lock list, Nuki's refusal of the gated
calls classified as SubscriptionRequired whatever its HTTP status, and the lifecycle reporting it
to the host once instead of retrying (see "Smart Hosting" in locks.providers.nuki).

The adapter runs over the stateful emulator (tests/vendors/nuki.py), whose refusal is the body
Nuki's guide quotes [N-SHS]; the status Nuki uses is not documented, so the refusal is tried with
several. The lifecycle runs real scheduler passes (tests.helpers.lifecycle.tick) under freezegun.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import responses
from django.core import mail
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from locks import services
from locks.models import AccessCode, CodeState, Lock, LockAssignment, ProviderAccount, VendorCall
from locks.providers import nuki, registry
from locks.providers.base import AccountSession, CodeSpec
from locks.providers.exceptions import PermanentProviderError, SubscriptionRequired
from locks.providers.http import VendorHttp
from locks.providers.nuki import NukiProvider
from tests.helpers.lifecycle import tick
from tests.vendors.nuki import FRONT_DOOR, NukiCloud, api_token_credentials, fixture, nuki_provider

OFFICE = 18205286117  # a lock whose Smart Hosting subscription has ended
REFUSAL = fixture("error_no_subscription.json")  # {"error": "No active Smart Hosting subscription ..."} [N-SHS]
STARTS, ENDS = datetime(2026, 6, 2, 13, 0, tzinfo=UTC), datetime(2026, 6, 4, 10, 0, tzinfo=UTC)
# Nuki does not say which status carries the refusal: each of these has another meaning without it.
STATUSES = [400, 402, 403, 404, 409, 426, 500]


def spec(name: str = "nw-101", pin: str = "582947", starts=STARTS, ends=ENDS) -> CodeSpec:
    return CodeSpec(name=name, pin=pin, starts_at=starts, ends_at=ends, time_zone="Europe/Paris")


def assert_plain_refusal(error: SubscriptionRequired, message: str = nuki.SUBSCRIPTION_REFUSED) -> None:
    """Our words, saying what to do; never Nuki's own text."""
    assert isinstance(error, PermanentProviderError) and error.kind == "subscription_required"
    assert error.message == message and "Smart Hosting" in message and "Nuki Web" in message
    assert "please get one" not in error.message


# --- the lock list ----------------------------------------------------------------------------------------

class TestLockList:
    def test_a_lock_whose_subscription_ended_is_unavailable_with_the_reason(self):
        cloud = NukiCloud()
        cloud.add_lock(FRONT_DOOR, "Front door", subscription="ACTIVE")
        cloud.add_lock(OFFICE, "Office", subscription="EXPIRED")
        cloud.add_lock(1001, "Inactive", subscription="INACTIVE")
        cloud.add_lock(1002, "Cancelled", subscription="CANCELLED")
        cloud.add_lock(1003, "Shed", subscription="EXPIRED", keypad=False)
        cloud.add_lock(1004, "Studio (offline)", subscription="INACTIVE", server_state=4)
        locks = {lock.name: lock for lock in nuki_provider(cloud).list_locks()}

        assert locks["Front door"].supports_remote_codes and locks["Front door"].unavailable_reason == ""
        for name in ("Office", "Inactive", "Cancelled"):
            assert not locks[name].supports_remote_codes
            assert locks[name].unavailable_reason == nuki.NO_SUBSCRIPTION
        assert nuki.NO_SUBSCRIPTION.startswith(
            "This lock has no active Nuki Smart Hosting subscription, which Nuki requires for keypad codes through Nowistay."
        )
        # Every reason is said; the online state stays apart (SPEC: it never blocks by itself).
        assert locks["Shed"].unavailable_reason == f"{nuki.NO_KEYPAD} {nuki.NO_SUBSCRIPTION}"
        assert locks["Studio (offline)"].unavailable_reason == nuki.NO_SUBSCRIPTION and locks["Studio (offline)"].is_online is False
        assert len(locks["Shed"].unavailable_reason) <= Lock._meta.get_field("unavailable_reason").max_length

    @pytest.mark.parametrize(
        "subscription, grace_period",
        [
            (None, False),  # not reported (older answers; accounts Nuki reports nothing for): no verdict
            ("EXPIRED", True),  # ended, but Nuki still grants its grace period
            ("PENDING_CANCEL", False),  # cancelled, running until its end
            ("PENDING", False),  # what Nuki allows here is not documented: the write decides
            ("ON_HOLD", False),
            ("SOMETHING_NEW", False),
        ],
    )
    def test_a_subscription_not_known_to_be_over_leaves_the_lock_eligible(self, subscription, grace_period):
        cloud = NukiCloud()
        cloud.add_lock(FRONT_DOOR, "Front door", subscription=subscription, grace_period=grace_period)
        (lock,) = nuki_provider(cloud).list_locks()
        assert lock.supports_remote_codes and lock.unavailable_reason == ""

    def test_a_lock_nuki_reports_with_the_refusal_as_its_error_is_unavailable_and_the_list_still_reads(self):
        devices = fixture("smartlocks.json")
        devices[0]["error"] = "NO ACTIVE SMART HOSTING SUBSCRIPTION for the Smart Lock, please get one!"
        provider = NukiProvider(AccountSession(account_id=1, credentials=api_token_credentials()), http=VendorHttp("Nuki"))
        with responses.RequestsMock() as rsps:
            rsps.get(nuki.api_url("smartlock"), json=devices)
            locks = {lock.vendor_lock_id: lock for lock in provider.list_locks()}
        assert locks[str(FRONT_DOOR)].unavailable_reason == nuki.NO_SUBSCRIPTION
        assert len(locks) == len(devices)

    def test_a_refused_lock_list_says_what_to_do(self):
        cloud = NukiCloud()
        cloud.fail_next("GET", "locks", 403, REFUSAL)
        with pytest.raises(SubscriptionRequired) as refused:
            nuki_provider(cloud).list_locks()
        assert_plain_refusal(refused.value, nuki.SUBSCRIPTION_REFUSED_LIST)

    @pytest.mark.django_db
    def test_refreshing_the_locks_stores_the_reason_and_the_lock_cannot_be_assigned(self, host, make_property, nuki_registered):
        cloud = NukiCloud()
        cloud.add_lock(FRONT_DOOR, "Front door", subscription="ACTIVE")
        cloud.add_lock(OFFICE, "Office", subscription="EXPIRED")
        account = ProviderAccount.objects.create(host=host, provider="nuki", display_name="Ada Host", credentials=api_token_credentials())
        with cloud:
            services.account_refresh_locks(account=account)
        office = Lock.objects.get(vendor_lock_id=str(OFFICE))
        assert not office.supports_remote_codes and office.unavailable_reason == nuki.NO_SUBSCRIPTION
        assert Lock.objects.get(vendor_lock_id=str(FRONT_DOOR)).supports_remote_codes
        with pytest.raises(ValidationError) as refused:
            services.lock_assignment_set(prop=make_property(), lock=office)
        assert "Smart Hosting" in str(refused.value)


# --- the gated calls --------------------------------------------------------------------------------------

@pytest.fixture
def cloud():
    cloud = NukiCloud()
    cloud.add_lock(FRONT_DOOR, "Front door", subscription="ACTIVE")
    cloud.add_lock(OFFICE, "Office", subscription="EXPIRED")
    return cloud


def _code_on(cloud: NukiCloud, lock_id: int) -> str:
    """Put a code on a lock while its subscription runs, then end the subscription."""
    lock = cloud.locks[str(lock_id)]
    lock.subscription = "ACTIVE"
    issued = nuki_provider(cloud).create_code(str(lock_id), spec())
    lock.subscription = "EXPIRED"
    return issued.vendor_code_id


class TestRefusals:
    @pytest.mark.parametrize("status", STATUSES)
    def test_a_create_refused_for_the_subscription_is_subscription_required_whatever_the_status(self, cloud, status):
        cloud.subscription_refusal_status = status
        with pytest.raises(SubscriptionRequired) as refused:
            nuki_provider(cloud).create_code(str(OFFICE), spec())
        assert_plain_refusal(refused.value)
        assert refused.value.vendor_code == str(status)
        assert cloud.calls.count(("PUT", "auths")) == 1 and cloud.auths_on(OFFICE) == []

    @pytest.mark.parametrize("status", [403, 409])
    def test_an_update_refused_for_the_subscription_is_subscription_required(self, cloud, status):
        auth_id = _code_on(cloud, OFFICE)
        cloud.subscription_refusal_status = status
        with pytest.raises(SubscriptionRequired) as refused:
            nuki_provider(cloud).update_code(str(OFFICE), auth_id, spec(ends=ENDS + timedelta(days=1)))
        assert_plain_refusal(refused.value)

    @pytest.mark.parametrize("status", [403, 404])
    def test_a_removal_refused_for_the_subscription_says_the_code_keeps_working(self, cloud, status):
        auth_id = _code_on(cloud, OFFICE)
        cloud.subscription_refusal_status = status  # 404 would otherwise mean "already gone"
        with pytest.raises(SubscriptionRequired) as refused:
            nuki_provider(cloud).delete_code(str(OFFICE), auth_id)
        assert_plain_refusal(refused.value, nuki.SUBSCRIPTION_REFUSED_REMOVAL)
        assert "keeps working" in refused.value.message and len(cloud.auths_on(OFFICE)) == 1

    def test_looking_for_a_code_refused_for_the_subscription_is_subscription_required(self, cloud):
        with pytest.raises(SubscriptionRequired) as refused:
            nuki_provider(cloud).find_code(str(OFFICE), "nw-101")
        assert_plain_refusal(refused.value)

    def test_a_refused_read_of_the_lock_stops_the_write_before_it_is_sent(self, cloud):
        cloud.subscription_gated_routes.add("lock")  # the announcement lists Smartlock GET too [N-V15]
        with pytest.raises(SubscriptionRequired) as refused:
            nuki_provider(cloud).create_code(str(OFFICE), spec())
        assert_plain_refusal(refused.value)
        assert ("PUT", "auths") not in cloud.calls

    def test_a_success_status_carrying_the_refusal_is_not_taken_for_a_malformed_answer(self, cloud):
        cloud.fail_next("GET", "auths", 200, {"error": "No Active Smart Hosting Subscription for the Smart Lock, please get one!"})
        with pytest.raises(SubscriptionRequired) as refused:
            nuki_provider(cloud).find_code(str(FRONT_DOOR), "nw-101")
        assert_plain_refusal(refused.value)

    def test_an_account_nuki_reports_no_subscription_for_is_eligible_until_nuki_refuses(self, cloud):
        cloud.add_lock(1005, "Attic", gated=True)  # no currentSubscription in the answer, yet refused
        provider = nuki_provider(cloud)
        attic = next(lock for lock in provider.list_locks() if lock.name == "Attic")
        assert attic.supports_remote_codes
        with pytest.raises(SubscriptionRequired) as refused:
            provider.create_code("1005", spec())
        assert_plain_refusal(refused.value)

    def test_the_bridge_refusing_a_create_for_the_subscription_is_subscription_required(self, cloud):
        cloud.fail_next_application(REFUSAL["error"])  # queued (204), then the auth carries the refusal
        with pytest.raises(SubscriptionRequired) as refused:
            nuki_provider(cloud).create_code(str(FRONT_DOOR), spec())
        assert_plain_refusal(refused.value)
        assert refused.value.vendor_code == "auth error" and cloud.auths_on(FRONT_DOOR) == []

    def test_the_bridge_refusing_a_removal_for_the_subscription_says_the_code_keeps_working(self, cloud):
        auth_id = _code_on(cloud, FRONT_DOOR)
        cloud.locks[str(FRONT_DOOR)].subscription = "ACTIVE"
        cloud.fail_next_application(REFUSAL["error"])
        with pytest.raises(SubscriptionRequired) as refused:
            nuki_provider(cloud).delete_code(str(FRONT_DOOR), auth_id)
        assert_plain_refusal(refused.value, nuki.SUBSCRIPTION_REFUSED_REMOVAL)

    def test_other_errors_keep_their_meaning(self, cloud):
        cloud.fail_next("PUT", "auths", 403, {"detailMessage": "You are not allowed to manage this smartlock"})
        with pytest.raises(PermanentProviderError) as refused:
            nuki_provider(cloud).create_code(str(FRONT_DOOR), spec())
        assert not isinstance(refused.value, SubscriptionRequired)


# --- the lifecycle ----------------------------------------------------------------------------------------

@pytest.fixture
def nuki_registered(monkeypatch):
    monkeypatch.setitem(registry.PROVIDER_CLASSES, "nuki", NukiProvider)
    monkeypatch.setattr(NukiProvider, "readback_delays", (0.0, 0.0, 0.0))


@pytest.fixture
def office_property(host, make_property, nuki_registered):
    """A Paris property whose lock is the Office, assigned while its subscription still ran."""
    prop = make_property()
    account = ProviderAccount.objects.create(host=host, provider="nuki", display_name="Ada Host", credentials=api_token_credentials())
    lock = Lock.objects.create(account=account, vendor_lock_id=str(OFFICE), name="Office", supports_remote_codes=True)
    LockAssignment.objects.create(property=prop, lock=lock)
    return prop


@pytest.mark.django_db
class TestLifecycle:
    @pytest.mark.parametrize("status", [403, 409, 500])
    def test_a_refused_create_is_reported_to_the_host_once_and_not_retried(self, office_property, book, cloud, settings, status):
        cloud.subscription_refusal_status = status  # 409 read as a taken PIN, 500 as a passing failure
        with cloud, freeze_time("2026-06-01 00:00:00") as frozen:
            booking = book(office_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            code = AccessCode.objects.get(booking=booking)
            assert code.state == CodeState.FAILED and code.next_attempt_at is None
            assert code.last_error_kind == "subscription_required" and code.last_error == nuki.SUBSCRIPTION_REFUSED
            assert len(mail.outbox) == 1 and "could not be created" in mail.outbox[0].subject
            assert nuki.SUBSCRIPTION_REFUSED in mail.outbox[0].body
            for _ in range(6):  # the hourly passes that follow leave it alone
                frozen.tick(timedelta(seconds=settings.LOCKS_RETRY_INTERVAL_SECONDS))
                tick()
        assert cloud.calls.count(("PUT", "auths")) == 1
        assert len(mail.outbox) == 1
        assert list(VendorCall.objects.filter(operation="create_code").values_list("outcome", "error_kind")) == [
            ("permanent", "subscription_required")
        ]

    def test_once_the_host_renews_retry_now_creates_the_code(self, office_property, book, cloud):
        with cloud, freeze_time("2026-06-01 00:00:00"):
            booking = book(office_property, date(2026, 6, 2), date(2026, 6, 5))
            services.booking_created(booking=booking)
            tick()
            code = AccessCode.objects.get(booking=booking)
            assert code.state == CodeState.FAILED
            cloud.locks[str(OFFICE)].subscription = "ACTIVE"  # renewed in Nuki Web
            assert services.code_retry_now(code_id=code.pk) == "Retrying now."
            tick()
        code.refresh_from_db()
        assert code.state == CodeState.ACTIVE and code.vendor_code_id == cloud.auths_on(OFFICE)[0]["id"]



# --- the sandbox's virtual Nuki (what `make run` shows) ----------------------------------------------------

SANDBOX_OFFICE = "17179869184"  # sandbox/seed.py: "Office (Smart Hosting ended)"


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")
def test_the_sandbox_lock_without_smart_hosting_is_unavailable_and_refuses_codes(vendors_on_sandbox):
    session = AccountSession(account_id=None, credentials=api_token_credentials("sandbox-nuki-api-token"))
    provider = NukiProvider(session, http=VendorHttp("Nuki"), sleep=lambda seconds: None)
    office = next(lock for lock in provider.list_locks() if lock.vendor_lock_id == SANDBOX_OFFICE)
    assert not office.supports_remote_codes and office.unavailable_reason == nuki.NO_SUBSCRIPTION
    starts = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    with pytest.raises(SubscriptionRequired) as refused:
        provider.create_code(SANDBOX_OFFICE, spec(starts=starts, ends=starts + timedelta(days=2)))
    assert_plain_refusal(refused.value)
