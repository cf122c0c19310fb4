"""Requests our own checks refuse before anything is sent are audited as LOCAL ("Refused before
sending"), not as vendor errors: the HTTP seam counts the requests each thread attempts, and
`audited_call` compares that count before and after the call."""

import threading
from datetime import date

import pytest
import requests
import responses
from freezegun import freeze_time

from locks import services
from locks.models import AccessCode, CallOutcome, CodeState, ProviderAccount, VendorCall
from locks.providers.base import CodeSpec
from locks.providers.exceptions import CodeRejected, LockOffline, VendorUnavailable
from locks.providers.http import VendorHttp, requests_attempted
from locks.services.vendor_accounts import audited_call
from tests.helpers.lifecycle import tick, utc
from tests.vendors.nuki import FRONT_DOOR, nuki_provider

LOCK = str(FRONT_DOOR)


def nuki_spec(pin: str, name: str = "nw-101") -> CodeSpec:
    return CodeSpec(name=name, pin=pin, starts_at=utc(2026, 6, 2, 13), ends_at=utc(2026, 6, 4, 10), time_zone="Europe/Paris")


class TestTheSeamCounts:
    def test_each_request_handed_to_the_network_counts_even_when_it_fails(self):
        http = VendorHttp("Nuki")
        before = requests_attempted()
        with responses.RequestsMock() as mock:
            mock.get("https://vendor.example/ok", json={})
            mock.get("https://vendor.example/down", body=requests.ConnectionError("refused"))
            http.request("GET", "https://vendor.example/ok")
            with pytest.raises(VendorUnavailable):
                http.request("GET", "https://vendor.example/down")
        assert requests_attempted() == before + 2

    def test_the_count_is_per_thread(self):
        seen = []
        http = VendorHttp("Nuki")
        with responses.RequestsMock() as mock:
            mock.get("https://vendor.example/ok", json={})
            before = requests_attempted()
            other = threading.Thread(target=lambda: (http.request("GET", "https://vendor.example/ok"), seen.append(requests_attempted())))
            other.start()
            other.join()
        assert seen == [1] and requests_attempted() == before  # another thread's request is not ours


@pytest.mark.django_db
class TestAuditedCall:
    @pytest.fixture
    def account(self, host):
        return ProviderAccount.objects.create(host=host, provider="nuki", display_name="Ada Host")

    def test_a_pin_nuki_would_refuse_is_refused_before_sending_and_recorded_as_local(self, account, cloud):
        provider = nuki_provider(cloud)
        with pytest.raises(CodeRejected):
            audited_call(account=account, operation="create_code", call=lambda: provider.create_code(LOCK, nuki_spec("102345")))
        assert cloud.calls == []  # nothing left the process
        row = VendorCall.objects.get()
        assert (row.outcome, row.error_kind) == (CallOutcome.LOCAL, "code_rejected")
        assert row.get_outcome_display() == "Refused before sending"

    def test_a_vendor_error_is_still_a_vendor_error(self, account, cloud):
        provider = nuki_provider(cloud)
        cloud.fail_next("PUT", "auths", 503, {"detailMessage": "Service unavailable"})
        with pytest.raises(VendorUnavailable):
            audited_call(account=account, operation="create_code", call=lambda: provider.create_code(LOCK, nuki_spec("582947")))
        assert VendorCall.objects.get().outcome == CallOutcome.TRANSIENT

    def test_an_unreachable_vendor_counts_against_the_vendor(self, account):
        http = VendorHttp("Nuki")

        def call():
            http.request("GET", "https://api.nuki.example/smartlock")

        with responses.RequestsMock() as mock:
            mock.get("https://api.nuki.example/smartlock", body=requests.ConnectionError("refused"))
            with pytest.raises(VendorUnavailable):
                audited_call(account=account, operation="list_locks", call=call)
        assert VendorCall.objects.get().outcome == CallOutcome.TRANSIENT

    def test_the_fake_clouds_answers_are_vendor_answers(self, account, fake_cloud):
        from locks.providers import registry
        from locks.providers.fake import fake_session

        fake_cloud.add_lock("L1")
        fake_cloud.fail_next("create_code", LockOffline("Gateway offline."))
        provider = registry.provider_for("nuki", fake_session(account.pk))
        with pytest.raises(LockOffline):
            audited_call(account=account, operation="create_code", call=lambda: provider.create_code("L1", nuki_spec("582947")))
        assert VendorCall.objects.get().outcome == CallOutcome.TRANSIENT


@pytest.mark.django_db
def test_a_kept_pin_nuki_refuses_is_replaced_and_only_the_sent_request_is_audited_as_such(nuki_property, book, cloud):
    """The case the health page got wrong: a code that arrives with a PIN the Nuki keypad cannot
    type (it kept its PIN when moved from another brand's lock) is refused locally in 0 ms, a new
    PIN is chosen, and the code is created."""
    prop = nuki_property()
    with freeze_time("2026-06-01 00:00:00"):
        booking = book(prop, date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=booking)
        AccessCode.objects.filter(booking=booking).update(pin="102345")  # a 0: not on a Nuki keypad
        tick()
    code = AccessCode.objects.get(booking=booking)
    assert code.state == CodeState.ACTIVE and code.pin != "102345"
    assert list(VendorCall.objects.order_by("id").values_list("operation", "outcome")) == [
        ("create_code", CallOutcome.LOCAL),
        ("create_code", CallOutcome.OK),
    ]
