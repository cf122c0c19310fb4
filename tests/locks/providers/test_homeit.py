"""The homeit adapter against the homeit emulator (tests/vendors/homeit.py) over HTTP: signing in,
properties as locks, keys (a generated code and a link), lost and late answers, the error
vocabulary, hostile answers, and the lifecycle driving it through a registry entry of its own."""

import contextlib
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from freezegun import freeze_time

from locks import services
from locks.models import AccessCode, CodeState, Lock, LockAssignment, ProviderAccount
from locks.providers.base import AccountSession, CodeSpec, CredentialsSignIn, IssuedCode
from locks.providers.exceptions import (
    CodeNotFound,
    CodeRejected,
    LockNotFound,
    OperationNotSupported,
    OutcomeUnknown,
    PermanentProviderError,
    ProviderAuthError,
    RateLimited,
    VendorUnavailable,
)
from locks.providers.homeit import HomeitProvider
from locks.providers.http import VendorHttp
from tests.helpers.lifecycle import passes, tick, utc
from tests.vendors.homeit import API_KEY, HomeitCloud, api_url

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
STARTS, ENDS = datetime(2026, 6, 2, 13, 0, tzinfo=UTC), datetime(2026, 6, 4, 9, 0, tzinfo=UTC)
LATER_STARTS, LATER_ENDS = datetime(2026, 6, 3, 13, 0, tzinfo=UTC), datetime(2026, 6, 6, 9, 0, tzinfo=UTC)
FLAT, FLAT_2, SHED, STUDIO, NEIGHBOUR = 530001, 530002, 530004, 530005, 530006


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def http():
    return VendorHttp("homeit", timeout=5)


@pytest.fixture
def cloud(clock, http):
    cloud = HomeitCloud(clock=clock)
    cloud.add_property(FLAT, "Flat 1")
    cloud.add_property(FLAT_2, "Flat 2", time_zone="Europe/Lisbon")
    cloud.add_property(SHED, "Shed", keypad=False)
    cloud.add_property(STUDIO, "Studio", online=False)
    cloud.add_property(NEIGHBOUR, "Neighbour", shared=False)
    cloud.mount(http.session)
    return cloud


@pytest.fixture
def provider(cloud, http):
    return HomeitProvider(AccountSession(account_id=7, credentials={"api_key": API_KEY}), http=http)


def spec(name="nw-101", starts=STARTS, ends=ENDS, time_zone="Europe/Paris", pin=None) -> CodeSpec:
    return CodeSpec(name=name, pin=pin, starts_at=starts, ends_at=ends, time_zone=time_zone)


def sign_in(http, api_key=API_KEY):
    return HomeitProvider.sign_in_with("api-key", {"api_key": api_key}, http=http)


# --- what homeit declares -----------------------------------------------------------------------------


def test_declares_generated_codes_with_links_that_can_be_changed_revoked_and_found():
    capabilities = HomeitProvider.capabilities
    assert (HomeitProvider.slug, HomeitProvider.display_name) == ("homeit", "homeit")
    assert not capabilities.chosen_pins and not capabilities.offline_codes
    assert capabilities.remote_revoke and capabilities.update_in_place and capabilities.find_codes
    assert capabilities.access_links and capabilities.listing_delay == timedelta(minutes=2)
    (method,) = HomeitProvider.sign_in_methods
    assert isinstance(method, CredentialsSignIn) and method.key == "api-key"
    assert [(field.name, field.secret) for field in method.fields] == [("api_key", True)]
    assert HomeitProvider.connect_hint and HomeitProvider.eligibility_hint
    assert HomeitProvider.pin_problem("123456") is None  # no PIN of ours is ever sent


# --- signing in ------------------------------------------------------------------------------------------


def test_sign_in_keeps_the_api_key_and_names_the_account_after_its_organization(cloud, http):
    result = sign_in(http, f"  {API_KEY}\n")
    assert result.credentials == {"api_key": API_KEY}
    assert result.expires_at is None and result.display_name == "Demo Host (homeit)"
    assert cloud.calls == [("GET", "properties"), ("GET", "organizations")]


def test_sign_in_without_the_organization_name_still_connects(cloud, http):
    cloud.fail_next("GET", "organizations", 403)
    assert sign_in(http).display_name == "homeit"


@pytest.mark.parametrize("api_key", ["wrong-key", "homeit-api-key-3f9c2b7e1d5a-revoked"])
def test_sign_in_with_a_key_homeit_refuses_says_so(cloud, http, api_key):
    with pytest.raises(ProviderAuthError) as caught:
        sign_in(http, api_key)
    assert "did not accept this API key" in HomeitProvider.sign_in_refusal(caught.value)
    assert cloud.calls == [("GET", "properties")]


@pytest.mark.parametrize("api_key", ["", "   ", "key with spaces", "key\x00nul", "k" * 255, "clé-ünïcode"])
def test_sign_in_refuses_what_cannot_be_an_api_key_without_asking_homeit(cloud, http, api_key):
    with pytest.raises(ProviderAuthError) as caught:
        sign_in(http, api_key)
    assert cloud.calls == []
    message = HomeitProvider.sign_in_refusal(caught.value)
    assert message and "\x00" not in message


@pytest.mark.parametrize("status, refusal", [(429, "slow down"), (503, "could not be reached"), (500, "could not be reached")])
def test_sign_in_when_homeit_is_busy_or_failing_says_try_again(cloud, http, status, refusal):
    cloud.fail_next("GET", "properties", status)
    with pytest.raises((RateLimited, VendorUnavailable)) as caught:
        sign_in(http)
    assert refusal in HomeitProvider.sign_in_refusal(caught.value)


def test_an_unknown_sign_in_method_is_not_offered(http):
    with pytest.raises(OperationNotSupported):
        HomeitProvider.sign_in_with("password", {"api_key": API_KEY}, http=http)


def test_keep_alive_reads_once_and_reports_a_revoked_key(cloud, provider):
    provider.keep_alive()
    cloud.revoke_api_key()
    with pytest.raises(ProviderAuthError):
        provider.keep_alive()
    assert cloud.calls == [("GET", "properties")] * 2


# --- properties as locks ------------------------------------------------------------------------------


def test_properties_are_listed_across_pages_with_eligibility_zone_and_box_status(cloud, provider):
    locks = {lock.vendor_lock_id: lock for lock in provider.list_locks()}
    assert list(locks) == [str(FLAT), str(FLAT_2), str(SHED), str(STUDIO)]  # not the unshared one
    assert cloud.calls == [("GET", "properties")] * 2  # two pages of two, followed by `next`
    flat = locks[str(FLAT)]
    assert (flat.name, flat.supports_remote_codes, flat.is_online, flat.time_zone) == ("Flat 1", True, True, "Europe/Paris")
    assert locks[str(FLAT_2)].time_zone == "Europe/Lisbon"
    shed = locks[str(SHED)]
    assert not shed.supports_remote_codes and shed.unavailable_reason.startswith("No keypad")
    studio = locks[str(STUDIO)]
    assert studio.supports_remote_codes and studio.is_online is False  # offline is live state, not a reason


def test_hostile_property_fields_are_cleaned(cloud, provider):
    prop = cloud.add_property(530009, "Bad\x00name\x1b[31m  with\ttabs" + "x" * 500, time_zone="Mars/Olympus")
    prop.keypad = "yes"  # not a boolean: not believed
    lock = next(lock for lock in provider.list_locks() if lock.vendor_lock_id == "530009")
    assert "\x00" not in lock.name and "\x1b" not in lock.name and len(lock.name) <= 200
    assert lock.name.startswith("Bad name [31m with tabs")
    assert lock.time_zone == "" and not lock.supports_remote_codes


# --- keys ---------------------------------------------------------------------------------------------------


def test_create_returns_the_generated_code_and_the_invitation_link(cloud, provider):
    issued = provider.create_code(str(FLAT), spec())
    (key,) = cloud.keys_on(FLAT)
    assert issued == IssuedCode(
        vendor_code_id=str(key["id"]), pin=key["code"], starts_at=STARTS, ends_at=ENDS, name="nw-101", access_link=key["link"]
    )
    assert issued.pin.isdigit() and issued.access_link.startswith("https://")
    (_, _, body) = cloud.bodies[-1]
    # Local times with the property's offset; no code: homeit generates it.
    assert body == {
        "name": "nw-101", "type": "temporary", "property": FLAT,
        "start": "2026-06-02T15:00:00+02:00", "end": "2026-06-04T11:00:00+02:00",
    }  # fmt: skip


def test_a_chosen_pin_is_never_sent(cloud, provider):
    provider.create_code(str(FLAT), spec(pin="482913"))
    assert "482913" not in str(cloud.bodies)


def test_two_keys_get_two_codes_and_two_links(provider):
    first, second = provider.create_code(str(FLAT), spec("nw-101")), provider.create_code(str(FLAT), spec("nw-102"))
    assert first.vendor_code_id != second.vendor_code_id
    assert first.pin != second.pin and first.access_link != second.access_link


def test_a_key_on_an_offline_box_is_created_with_a_warning_for_the_host(cloud, provider):
    issued = provider.create_code(str(STUDIO), spec())
    assert issued.pin and "BOX at this property is offline" in issued.warning
    assert provider.create_code(str(FLAT), spec("nw-102")).warning == ""


def test_a_property_without_keypad_gets_no_key(cloud, provider):
    with pytest.raises(CodeRejected, match="no keypad"):
        provider.create_code(str(SHED), spec())
    assert cloud.keys_on(SHED) == [] and ("POST", "keys") not in cloud.calls


def keypad_said_once(cloud, property_id):
    """The property's next read says it has a keypad although its keys come without a code (the
    keypad went away between the read and the write)."""
    cloud.fail_next("GET", "property", 200, body={**cloud.properties[property_id].as_json(), "keypad": True})


def test_a_key_that_came_without_a_code_is_withdrawn_and_refused(cloud, provider):
    keypad_said_once(cloud, SHED)
    with pytest.raises(CodeRejected, match="no keypad"):
        provider.create_code(str(SHED), spec())
    assert cloud.keys_on(SHED) == [] and ("DELETE", "key") in cloud.calls


def test_a_key_without_a_code_that_cannot_be_withdrawn_is_an_unknown_outcome_found_by_its_name(cloud, provider):
    keypad_said_once(cloud, SHED)
    cloud.fail_next("DELETE", "key", 503)
    with pytest.raises(OutcomeUnknown):  # its link opens the doors: the clean-up must look for it
        provider.create_code(str(SHED), spec())
    assert [key["code"] for key in cloud.keys_on(SHED)] == [None]
    assert provider.find_code(str(SHED), "nw-101") is None  # found by its name, withdrawn, nothing usable
    assert cloud.keys_on(SHED) == []


def test_finding_a_key_without_a_code_that_still_cannot_be_withdrawn_stays_unknown(cloud, provider):
    keypad_said_once(cloud, SHED)
    cloud.fail_next("DELETE", "key", 503, times=2)
    with pytest.raises(OutcomeUnknown):
        provider.create_code(str(SHED), spec())
    with pytest.raises(OutcomeUnknown):
        provider.find_code(str(SHED), "nw-101")
    assert len(cloud.keys_on(SHED)) == 1


def test_an_update_that_leaves_a_key_without_a_code_withdraws_it(cloud, provider):
    issued = provider.create_code(str(FLAT), spec())
    cloud.keys[int(issued.vendor_code_id)]["code"] = None  # the keypad went away: the link alone remains
    with pytest.raises(CodeNotFound, match="withdrawn"):  # gone: the lifecycle forgets it and makes a new key
        provider.update_code(str(FLAT), issued.vendor_code_id, spec(starts=LATER_STARTS, ends=LATER_ENDS))
    assert cloud.keys_on(FLAT) == []


def test_an_update_that_leaves_a_key_without_a_code_it_cannot_withdraw_is_an_unknown_outcome(cloud, provider):
    issued = provider.create_code(str(FLAT), spec())
    cloud.keys[int(issued.vendor_code_id)]["code"] = None
    cloud.fail_next("DELETE", "key", 503)
    with pytest.raises(OutcomeUnknown):  # retried: the next attempt withdraws it
        provider.update_code(str(FLAT), issued.vendor_code_id, spec(starts=LATER_STARTS, ends=LATER_ENDS))
    assert len(cloud.keys_on(FLAT)) == 1
    with pytest.raises(CodeNotFound):
        provider.update_code(str(FLAT), issued.vendor_code_id, spec(starts=LATER_STARTS, ends=LATER_ENDS))
    assert cloud.keys_on(FLAT) == []


@pytest.mark.parametrize("lock_id", [str(NEIGHBOUR), "999999", "not-a-property", "5300\x001"])
def test_a_property_that_is_not_this_keys_is_not_found(cloud, provider, lock_id):
    for call in (
        lambda: provider.create_code(lock_id, spec()),
        lambda: provider.find_code(lock_id, "nw-101"),
        lambda: provider.update_code(lock_id, "900001", spec()),
        lambda: provider.delete_code(lock_id, "900001"),
    ):
        with pytest.raises(LockNotFound):
            call()
    assert cloud.keys == {}


def test_update_moves_the_window_and_keeps_the_code_and_link(cloud, provider):
    issued = provider.create_code(str(FLAT), spec())
    moved = provider.update_code(str(FLAT), issued.vendor_code_id, spec(starts=LATER_STARTS, ends=LATER_ENDS, pin="000000"))
    assert (moved.starts_at, moved.ends_at) == (LATER_STARTS, LATER_ENDS)
    assert (moved.vendor_code_id, moved.pin, moved.access_link) == (issued.vendor_code_id, issued.pin, issued.access_link)
    assert cloud.bodies[-1] == ("PUT", "key", {"name": "nw-101", "start": "2026-06-03T15:00:00+02:00", "end": "2026-06-06T11:00:00+02:00"})
    found = provider.find_code(str(FLAT), "nw-101")
    assert (found.starts_at, found.ends_at) == (LATER_STARTS, LATER_ENDS)


def test_an_update_homeit_answers_with_another_window_is_not_believed(cloud, provider):
    issued = provider.create_code(str(FLAT), spec())
    (unchanged,) = cloud.keys_on(FLAT)
    cloud.fail_next("PUT", "key", 200, body=unchanged)  # answers the old window, as if dates were ignored
    with pytest.raises(OperationNotSupported):
        provider.update_code(str(FLAT), issued.vendor_code_id, spec(starts=LATER_STARTS, ends=LATER_ENDS))


def test_update_of_a_key_that_is_gone_is_code_not_found(cloud, provider):
    issued = provider.create_code(str(FLAT), spec())
    provider.delete_code(str(FLAT), issued.vendor_code_id)
    for key_id in (issued.vendor_code_id, "not-a-key"):
        with pytest.raises(CodeNotFound):
            provider.update_code(str(FLAT), key_id, spec(ends=LATER_ENDS))


def test_delete_removes_the_key_and_a_key_already_gone_counts_as_removed(cloud, provider, clock):
    first, second = provider.create_code(str(FLAT), spec("nw-101")), provider.create_code(str(FLAT), spec("nw-102"))
    assert provider.delete_code(str(FLAT), first.vendor_code_id) is None
    assert [key["name"] for key in cloud.keys_on(FLAT)] == ["nw-102"]
    provider.delete_code(str(FLAT), first.vendor_code_id)  # 404: already removed
    clock.now = ENDS  # homeit deletes keys once they end [H-FAQ]
    provider.delete_code(str(FLAT), second.vendor_code_id)
    assert provider.find_code(str(FLAT), "nw-102") is None


def test_find_matches_the_exact_name_on_the_property(cloud, provider):
    issued = provider.create_code(str(FLAT), spec("nw-101"))
    provider.create_code(str(FLAT_2), spec("nw-101"))
    assert provider.find_code(str(FLAT), "nw-101") == issued
    assert provider.find_code(str(FLAT), "nw-10") is None and provider.find_code(str(FLAT), "nw-1011") is None
    assert provider.find_code(str(FLAT), "nw-101\x00") is None


# --- lost and late answers -----------------------------------------------------------------------------------


def test_a_lost_create_answer_is_outcome_unknown_and_the_key_is_found_by_its_name(cloud, provider):
    cloud.lose_next("POST", "keys")
    with pytest.raises(OutcomeUnknown):
        provider.create_code(str(FLAT), spec())
    found = provider.find_code(str(FLAT), "nw-101")
    (key,) = cloud.keys_on(FLAT)
    assert (found.vendor_code_id, found.pin, found.access_link) == (str(key["id"]), key["code"], key["link"])


def test_a_create_that_lands_late_is_found_once_it_has_landed(cloud, provider, clock):
    cloud.land_late_next("POST", "keys", after=timedelta(minutes=1))
    with pytest.raises(OutcomeUnknown):
        provider.create_code(str(FLAT), spec())
    assert provider.find_code(str(FLAT), "nw-101") is None
    clock.now = NOW + timedelta(minutes=1)
    assert provider.find_code(str(FLAT), "nw-101").pin


def test_a_key_listed_late_is_found_within_the_declared_listing_delay(cloud, provider, clock):
    cloud.unlisted_for = timedelta(seconds=40)
    issued = provider.create_code(str(FLAT), spec())
    assert provider.find_code(str(FLAT), "nw-101") is None
    clock.now = NOW + timedelta(seconds=40)
    assert provider.find_code(str(FLAT), "nw-101") == issued
    assert cloud.unlisted_for < provider.capabilities.listing_delay


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_failure_on_create_may_hide_a_key(cloud, provider, status):
    cloud.fail_next("POST", "keys", status)
    with pytest.raises(OutcomeUnknown):
        provider.create_code(str(FLAT), spec())


def test_an_unreadable_answer_to_a_create_may_hide_a_key(cloud, provider):
    cloud.fail_next("POST", "keys", 201, body={"unexpected": True})
    with pytest.raises(OutcomeUnknown):
        provider.create_code(str(FLAT), spec())


def test_lost_answers_to_a_delete_or_update_are_outcome_unknown_and_a_retry_settles_them(cloud, provider):
    issued = provider.create_code(str(FLAT), spec())
    cloud.lose_next("PUT", "key")
    with pytest.raises(OutcomeUnknown):
        provider.update_code(str(FLAT), issued.vendor_code_id, spec(ends=LATER_ENDS))
    assert provider.update_code(str(FLAT), issued.vendor_code_id, spec(ends=LATER_ENDS)).ends_at == LATER_ENDS
    cloud.lose_next("DELETE", "key")
    with pytest.raises(OutcomeUnknown):
        provider.delete_code(str(FLAT), issued.vendor_code_id)
    provider.delete_code(str(FLAT), issued.vendor_code_id)  # already gone: removed
    assert cloud.keys_on(FLAT) == []


def test_a_lost_answer_to_a_read_is_transient(cloud, provider):
    cloud.lose_next("GET", "properties")
    with pytest.raises(VendorUnavailable):
        provider.list_locks()


# --- the error vocabulary ---------------------------------------------------------------------------------------


def test_a_revoked_api_key_needs_reconnecting(cloud, provider):
    cloud.revoke_api_key()
    for call in (provider.list_locks, lambda: provider.create_code(str(FLAT), spec()), lambda: provider.find_code(str(FLAT), "nw-1")):
        with pytest.raises(ProviderAuthError, match="reconnect"):
            call()


def test_an_account_without_a_usable_key_needs_reconnecting_without_a_call(cloud, http):
    for credentials in ({}, {"api_key": "bad key\n"}):
        provider = HomeitProvider(AccountSession(account_id=7, credentials=credentials), http=http)
        with pytest.raises(ProviderAuthError):
            provider.list_locks()
    assert cloud.calls == []


@pytest.mark.parametrize("retry_after, seconds", [("30", 30.0), ("", None)])
def test_rate_limits_carry_retry_after(cloud, provider, retry_after, seconds):
    cloud.fail_next("GET", "keys", 429, headers={"Retry-After": retry_after} if retry_after else None)
    with pytest.raises(RateLimited) as caught:
        provider.find_code(str(FLAT), "nw-101")
    assert caught.value.retry_after == seconds and caught.value.vendor_code == "429"


@pytest.mark.parametrize("method, route", [("GET", "properties"), ("GET", "property"), ("POST", "keys"), ("PUT", "key"), ("DELETE", "key")])
def test_a_server_error_is_transient_and_changes_nothing(cloud, provider, method, route):
    issued = provider.create_code(str(FLAT), spec())
    cloud.fail_next(method, route, 503)
    call = {
        ("GET", "properties"): provider.list_locks,
        ("GET", "property"): lambda: provider.create_code(str(FLAT), spec("nw-102")),
        ("POST", "keys"): lambda: provider.create_code(str(FLAT), spec("nw-102")),
        ("PUT", "key"): lambda: provider.update_code(str(FLAT), issued.vendor_code_id, spec(ends=LATER_ENDS)),
        ("DELETE", "key"): lambda: provider.delete_code(str(FLAT), issued.vendor_code_id),
    }[(method, route)]
    with pytest.raises(VendorUnavailable):
        call()
    assert [(key["name"], key["end"]) for key in cloud.keys_on(FLAT)] == [("nw-101", "2026-06-04T09:00:00Z")]


@pytest.mark.parametrize("status", [400, 415, 422])
def test_a_refused_key_write_is_code_rejected_with_the_status_not_the_body(cloud, provider, status):
    cloud.fail_next("POST", "keys", status, body={"status": status, "message": "secret-ish detail 123456"})
    with pytest.raises(CodeRejected) as caught:
        provider.create_code(str(FLAT), spec())
    assert str(status) in caught.value.message and "123456" not in caught.value.message


def test_a_window_homeit_refuses_is_code_rejected(cloud, provider):
    with pytest.raises(CodeRejected):  # already over: the emulator answers 400
        provider.create_code(str(FLAT), spec(starts=NOW - timedelta(days=2), ends=NOW - timedelta(days=1)))


def test_a_refused_listing_is_permanent_not_a_refused_code(cloud, provider):
    cloud.fail_next("GET", "keys", 400)
    with pytest.raises(PermanentProviderError) as caught:
        provider.find_code(str(FLAT), "nw-101")
    assert not isinstance(caught.value, CodeRejected)


@pytest.mark.parametrize("failure", [requests.ConnectTimeout, requests.ReadTimeout, requests.ConnectionError])
def test_transport_failures_on_reads_are_transient(provider, http, monkeypatch, failure):
    def fail(*args, **kwargs):
        raise failure("emulated")

    monkeypatch.setattr(http.session, "request", fail)
    with pytest.raises(VendorUnavailable):
        provider.list_locks()


def test_a_write_that_may_have_been_sent_is_outcome_unknown(cloud, provider, http, monkeypatch):
    issued = provider.create_code(str(FLAT), spec())

    def fail(*args, **kwargs):
        raise requests.ReadTimeout("emulated")

    monkeypatch.setattr(http.session, "request", fail)
    with pytest.raises(OutcomeUnknown):
        provider.delete_code(str(FLAT), issued.vendor_code_id)


# --- hostile inputs and answers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["nw-\x00101", "nw-101\n", "", "nw-\u202e101"])
def test_a_key_name_homeit_could_not_take_is_refused_before_any_call(cloud, provider, name):
    with pytest.raises(CodeRejected):
        provider.create_code(str(FLAT), spec(name))
    assert cloud.calls == []


def test_a_huge_answer_is_not_read(cloud, provider):
    cloud.fail_next("GET", "properties", 200, body={"_embedded": {"properties": []}, "padding": "x" * 6_000_000})
    with pytest.raises(VendorUnavailable):
        provider.list_locks()


@pytest.mark.parametrize(
    "body", [["not", "a", "page"], {"_embedded": {"properties": "nope"}}, {"_embedded": {"properties": [{"id": True}, "x", {"id": -1}]}}]
)
def test_a_malformed_list_is_transient_or_skipped(cloud, provider, body):
    cloud.fail_next("GET", "properties", 200, body=body)
    with contextlib.suppress(VendorUnavailable):
        assert provider.list_locks() == []


def test_a_next_page_on_another_host_is_not_followed(cloud, provider):
    page = {"_embedded": {"properties": []}, "_links": {"next": {"href": "https://attacker.example/steal"}}}
    cloud.fail_next("GET", "properties", 200, body=page)
    with pytest.raises(VendorUnavailable, match="another host"):
        provider.list_locks()
    assert cloud.calls == [("GET", "properties")]


def test_a_list_whose_next_page_loops_ends(cloud, provider):
    looping = {"_embedded": {"properties": []}, "_links": {"next": {"href": f"{api_url()}/properties?page=2"}}}
    cloud.fail_next("GET", "properties", 200, body=looping, times=3)
    with pytest.raises(VendorUnavailable, match="did not come to an end"):
        provider.list_locks()
    assert len(cloud.calls) <= 3


def test_a_key_with_a_non_numeric_code_or_a_foreign_link_scheme_is_read_safely(cloud, provider):
    issued = provider.create_code(str(FLAT), spec())
    (key,) = cloud.keys_on(FLAT)
    cloud.fail_next("GET", "keys", 200, body={"_embedded": {"keys": [{**key, "link": "javascript:alert(1)"}]}, "_links": {}})
    assert provider.find_code(str(FLAT), "nw-101") == IssuedCode(
        issued.vendor_code_id, issued.pin, STARTS, ENDS, name="nw-101", access_link=""
    )


def test_neither_the_code_the_link_nor_the_api_key_reaches_a_log_line(cloud, provider, caplog):
    with caplog.at_level(logging.DEBUG):
        issued = provider.create_code(str(FLAT), spec())
        provider.update_code(str(FLAT), issued.vendor_code_id, spec(ends=LATER_ENDS))
        provider.find_code(str(FLAT), "nw-101")
        provider.delete_code(str(FLAT), issued.vendor_code_id)
    text = caplog.text
    assert f"homeit POST {api_url()}/keys -> 201" in text
    for secret in (issued.pin, issued.access_link, API_KEY):
        assert secret not in text


# --- the lifecycle, with homeit in a registry entry of its own ---------------------------------------------------


@pytest.fixture
def homeit_property(db, host, make_property):
    account = ProviderAccount.objects.create(
        host=host, provider=HomeitProvider.slug, display_name="Demo Host (homeit)", credentials={"api_key": API_KEY}
    )
    lock = Lock.objects.create(account=account, vendor_lock_id=str(FLAT), name="Flat 1", supports_remote_codes=True)
    prop = make_property(name="Seaside Flat")  # Paris; lead 5 days, margin 30 minutes
    LockAssignment.objects.create(property=prop, lock=lock)
    return prop


@pytest.fixture
def global_cloud():
    cloud = HomeitCloud()  # its clock is Django's, which freezegun moves
    cloud.add_property(FLAT, "Flat 1")
    with cloud:
        yield cloud


@pytest.mark.django_db
def test_a_booking_gets_a_homeit_key_which_follows_the_stay_and_goes_with_it(homeit_property, book, global_cloud):
    with freeze_time("2026-06-01 00:00:00"):
        booking = book(homeit_property, date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=booking)
        tick()
        code = AccessCode.objects.get(booking=booking, is_current=True)
        (key,) = global_cloud.keys_on(FLAT)
        assert code.state == CodeState.ACTIVE
        assert (code.pin, code.vendor_code_id) == (key["code"], str(key["id"]))
        assert code.access_link == key["link"]  # the guest's link is kept, as the PIN is
        assert key["name"] == f"nw-{code.pk}" and (code.lock_starts_at, code.lock_ends_at) == (code.starts_at, code.ends_at)
        assert "code" not in global_cloud.bodies[0][2]

        booking.departure_date = date(2026, 6, 6)
        booking.save()
        services.booking_changed(booking=booking)
        tick()
        code.refresh_from_db()
        (moved,) = global_cloud.keys_on(FLAT)
        assert code.state == CodeState.ACTIVE and (moved["id"], moved["code"]) == (key["id"], key["code"])
        assert code.lock_ends_at == utc(2026, 6, 6, 9, 30) and moved["end"] == "2026-06-06T09:30:00Z"

        booking.status = "cancelled"
        booking.save()
        services.booking_cancelled(booking=booking)
        tick()
    assert global_cloud.keys_on(FLAT) == []
    assert {method for method, route in global_cloud.calls if route in ("keys", "key")} == {"POST", "PUT", "DELETE"}


@pytest.mark.django_db
def test_a_key_left_without_a_code_is_looked_for_and_removed_by_the_lifecycle(homeit_property, book, global_cloud):
    global_cloud.properties[FLAT].keypad = False
    keypad_said_once(global_cloud, FLAT)  # the keypad goes between the property's read and the key's write
    global_cloud.fail_next("DELETE", "key", 503)  # and the link-only key cannot be withdrawn at once
    with freeze_time("2026-06-01 00:00:00"):
        booking = book(homeit_property, date(2026, 6, 2), date(2026, 6, 5))
        services.booking_created(booking=booking)
        tick()
        assert [key["code"] for key in global_cloud.keys_on(FLAT)] == [None]
        assert AccessCode.objects.get(booking=booking).create_outcome_unknown
    for moment in passes(utc(2026, 6, 1, 0, 15), utc(2026, 6, 1, 3, 0)):
        with freeze_time(moment):
            tick()
    code = AccessCode.objects.get(booking=booking)
    assert global_cloud.keys_on(FLAT) == []  # its link opened the doors: it is gone
    assert code.state == CodeState.FAILED and not code.create_outcome_unknown and code.next_attempt_at is None


# --- the provider on the sandbox's virtual homeit (`python -m sandbox --seed`) ----------------------------------

SANDBOX_API_KEY = "sandbox-homeit-api-key"  # sandbox/seed.py
SANDBOX_FRONT_DOOR, SANDBOX_SHED, SANDBOX_STUDIO = "530001", "530004", "530005"  # eligible, no keypad, BOX offline


def test_the_provider_on_the_sandbox_cloud(settings, sandbox_url):
    settings.HOMEIT_API_URL = f"{sandbox_url}/homeit/api/v2"
    settings.HOMEIT_AUTH_URL = f"{sandbox_url}/homeit/auth/v2"
    http = VendorHttp("homeit", timeout=10)
    result = HomeitProvider.sign_in_with("api-key", {"api_key": SANDBOX_API_KEY}, http=http)
    assert result.display_name == "Demo Host (homeit)"
    provider = HomeitProvider(AccountSession(account_id=1, credentials=result.credentials), http=http)
    locks = {lock.vendor_lock_id: lock for lock in provider.list_locks()}
    assert locks[SANDBOX_FRONT_DOOR].supports_remote_codes and not locks[SANDBOX_SHED].supports_remote_codes
    assert locks[SANDBOX_STUDIO].is_online is False and "530006" not in locks

    starts = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
    wanted = spec("nw-homeit-sandbox", starts, starts + timedelta(days=2))
    issued = provider.create_code(SANDBOX_FRONT_DOOR, wanted)
    assert issued.pin.isdigit() and issued.access_link.startswith(sandbox_url + "/homeit/k/")
    assert requests.get(issued.access_link, timeout=10).ok  # the guest's page behind the link
    moved = provider.update_code(SANDBOX_FRONT_DOOR, issued.vendor_code_id, spec("nw-homeit-sandbox", starts, starts + timedelta(days=3)))
    assert (moved.pin, moved.ends_at) == (issued.pin, starts + timedelta(days=3))
    assert provider.find_code(SANDBOX_FRONT_DOOR, "nw-homeit-sandbox") == moved
    provider.delete_code(SANDBOX_FRONT_DOOR, issued.vendor_code_id)
    provider.delete_code(SANDBOX_FRONT_DOOR, issued.vendor_code_id)  # already gone
    assert provider.find_code(SANDBOX_FRONT_DOOR, "nw-homeit-sandbox") is None
