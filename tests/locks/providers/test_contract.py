"""The contract every LockProvider adapter keeps, whatever the vendor.

`TestLockProviderContract` runs against each entry of ADAPTERS. Those are the fake adapters
(locks.providers.fake) standing in for TTLock, Tedee, Nuki and igloohome, and the five real adapters on
their emulators; a real adapter joins by
adding a small factory that returns an `AdapterUnderTest` (its provider built on a stubbed HTTP
session or a sandbox, plus three lock ids: one that takes codes, one offline, one that does not
exist) and a `pytest.param(factory, id=...)` line below. Checks that depend on a capability
(update in place, remote revoke, chosen PINs) run on the adapters that have it; the others must
refuse the operation with OperationNotSupported, or (without chosen PINs) generate their own.
"""

import copy
import dataclasses
import inspect
import pickle
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from locks.providers import exceptions
from locks.providers.base import Capabilities, CodeUse, IssuedCode, ListedCode, LockHealth, LockProvider, RemoteLock
from locks.providers.exceptions import (
    CodeRejected,
    LockNotFound,
    OperationNotSupported,
    ProviderError,
    TransientProviderError,
)
from tests.helpers.contract import ALGOPIN, ENDS, LATER_ENDS, LATER_STARTS, STARTS, AdapterUnderTest, fake_adapter
from tests.vendors.homeit import homeit_contract_adapter
from tests.vendors.igloohome import igloohome_contract_adapter
from tests.vendors.nuki import nuki_adapter
from tests.vendors.tedee import tedee_adapter
from tests.vendors.ttlock import ttlock_adapter

ADAPTERS = [
    pytest.param(fake_adapter("ttlock"), id="fake-ttlock"),
    pytest.param(fake_adapter("tedee"), id="fake-tedee"),
    pytest.param(fake_adapter("nuki"), id="fake-nuki"),
    pytest.param(fake_adapter("igloohome", ALGOPIN), id="fake-igloohome-algopin"),
    pytest.param(igloohome_contract_adapter, id="igloohome"),
    pytest.param(ttlock_adapter, id="ttlock"),
    pytest.param(tedee_adapter, id="tedee"),
    pytest.param(nuki_adapter, id="nuki"),
    pytest.param(homeit_contract_adapter, id="homeit"),
]


@pytest.fixture(params=ADAPTERS)
def adapter(request) -> AdapterUnderTest:
    return request.param()


def _adapters(capability: str, present: bool) -> list:
    return [param for param in ADAPTERS if getattr(param.values[0]().capabilities, capability) is present]


def having(capability: str):
    """Run a test only on the adapters that have `capability`."""
    return pytest.mark.parametrize("adapter", _adapters(capability, True), indirect=True)


def lacking(capability: str):
    """Run a test only on the adapters without `capability`."""
    return pytest.mark.parametrize("adapter", _adapters(capability, False), indirect=True)


def lacking_both(first: str, second: str):
    """Run a test only on the adapters with neither capability."""
    chosen = [param for param in _adapters(first, False) if param in _adapters(second, False)]
    return pytest.mark.parametrize("adapter", chosen, indirect=True)


def having_and_lacking(present: str, absent: str):
    """Run a test only on the adapters that have `present` and lack `absent`."""
    chosen = [param for param in _adapters(present, True) if param in _adapters(absent, False)]
    return pytest.mark.parametrize("adapter", chosen, indirect=True)


def assert_round_trips(error: ProviderError) -> ProviderError:
    copied = pickle.loads(pickle.dumps(error))
    assert type(copied) is type(error)
    assert copied.message == error.message and str(copied) == str(error)
    assert copied.vendor_code == error.vendor_code
    assert getattr(copied, "retry_after", None) == getattr(error, "retry_after", None)
    assert copied.kind == error.kind
    return copied


class TestLockProviderContract:
    # --- identity and locks ---------------------------------------------------------------------

    def test_declares_a_slug_a_display_name_and_capabilities(self, adapter):
        provider = adapter.provider
        assert isinstance(provider, LockProvider)
        assert isinstance(type(provider).slug, str) and type(provider).slug
        assert isinstance(type(provider).display_name, str) and type(provider).display_name
        assert isinstance(provider.capabilities, Capabilities)

    def test_list_locks_returns_remote_locks_with_string_ids(self, adapter):
        locks = adapter.provider.list_locks()
        assert locks and all(isinstance(lock, RemoteLock) for lock in locks)
        assert all(isinstance(lock.vendor_lock_id, str) and lock.vendor_lock_id for lock in locks)
        assert all(isinstance(lock.name, str) and isinstance(lock.supports_remote_codes, bool) for lock in locks)
        by_id = {lock.vendor_lock_id: lock for lock in locks}
        assert len(by_id) == len(locks)
        assert adapter.lock_id in by_id and by_id[adapter.lock_id].supports_remote_codes
        assert adapter.missing_lock_id not in by_id
        # The offline lock is listed (being offline never hides a lock)...
        assert adapter.offline_lock_id in by_id and by_id[adapter.offline_lock_id].is_online in (False, None)
        # ...and a lock that cannot take codes says why.
        for lock in locks:
            if not lock.supports_remote_codes:
                assert lock.unavailable_reason

    # --- create and find ----------------------------------------------------------------------------

    def test_create_code_returns_the_issued_code_with_a_vendor_id_and_the_window(self, adapter):
        spec = adapter.spec("nw-101")
        issued = adapter.provider.create_code(adapter.lock_id, spec)
        assert isinstance(issued, IssuedCode)
        assert isinstance(issued.vendor_code_id, str) and issued.vendor_code_id
        assert (issued.starts_at, issued.ends_at) == (STARTS, ENDS)
        assert issued.starts_at.tzinfo is not None and issued.ends_at.tzinfo is not None
        assert issued.name == spec.name
        if adapter.capabilities.chosen_pins:
            assert issued.pin == spec.pin
        else:  # the vendor made the PIN: we get it back to show the guest
            assert issued.pin.isdigit() and len(issued.pin) >= 4

    def test_two_codes_get_two_vendor_ids(self, adapter):
        first_pin, second_pin = adapter.acceptable_pins()[:2]  # ignored where the vendor picks
        first = adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-101", first_pin))
        second = adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-102", second_pin))
        assert first.vendor_code_id != second.vendor_code_id
        if not adapter.capabilities.chosen_pins:
            assert first.pin != second.pin  # the vendor does not hand out one PIN twice on a lock

    @having("find_codes")
    def test_find_code_by_name_finds_what_was_created(self, adapter):
        issued = adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-101"))
        found = adapter.provider.find_code(adapter.lock_id, "nw-101")
        assert isinstance(found, IssuedCode)
        assert found.vendor_code_id == issued.vendor_code_id
        assert found.pin == issued.pin
        assert (found.starts_at, found.ends_at) == (STARTS, ENDS)

    @having("find_codes")
    def test_find_code_with_an_unknown_name_returns_none(self, adapter):
        adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-101"))
        assert adapter.provider.find_code(adapter.lock_id, "nw-999") is None
        assert adapter.provider.find_code(adapter.lock_id, "nw-10") is None  # a prefix is not a match

    # --- update ---------------------------------------------------------------------------------------

    @having("update_in_place")
    def test_update_code_moves_the_window_in_place(self, adapter):
        issued = adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-101"))
        moved = adapter.provider.update_code(
            adapter.lock_id, issued.vendor_code_id, adapter.spec("nw-101", issued.pin, LATER_STARTS, LATER_ENDS)
        )
        assert isinstance(moved, IssuedCode)
        assert moved.vendor_code_id == issued.vendor_code_id and moved.pin == issued.pin
        assert (moved.starts_at, moved.ends_at) == (LATER_STARTS, LATER_ENDS)
        found = adapter.provider.find_code(adapter.lock_id, "nw-101")
        assert (found.starts_at, found.ends_at) == (LATER_STARTS, LATER_ENDS)

    # --- delete -------------------------------------------------------------------------------------

    @having("remote_revoke")
    def test_delete_code_removes_it_and_deleting_again_does_not_raise(self, adapter):
        issued = adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-101"))
        assert adapter.provider.delete_code(adapter.lock_id, issued.vendor_code_id) is None
        assert adapter.provider.find_code(adapter.lock_id, "nw-101") is None
        adapter.provider.delete_code(adapter.lock_id, issued.vendor_code_id)  # already gone: fine

    @having("remote_revoke")
    def test_delete_code_leaves_other_codes(self, adapter):
        pins = adapter.acceptable_pins()
        first = adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-101", pins[0]))
        second = adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-102", pins[1]))
        adapter.provider.delete_code(adapter.lock_id, first.vendor_code_id)
        assert adapter.provider.find_code(adapter.lock_id, "nw-102").vendor_code_id == second.vendor_code_id

    # --- failures -------------------------------------------------------------------------------------

    @lacking_both("offline_codes", "writes_while_offline")
    def test_an_offline_lock_refuses_a_create_transiently(self, adapter):
        self._offline(adapter, "create_code")

    @having("offline_codes")
    def test_codes_computed_offline_are_issued_for_an_offline_lock(self, adapter):
        issued = adapter.provider.create_code(adapter.offline_lock_id, adapter.spec("nw-101"))
        assert issued.pin.isdigit() and issued.vendor_code_id

    @having("writes_while_offline")
    def test_codes_kept_in_the_cloud_are_written_for_an_offline_lock_and_found_changed_and_removed(self, adapter):
        issued = adapter.provider.create_code(adapter.offline_lock_id, adapter.spec("nw-101"))
        assert issued.pin.isdigit() and issued.vendor_code_id
        assert adapter.provider.find_code(adapter.offline_lock_id, "nw-101").vendor_code_id == issued.vendor_code_id
        moved = adapter.spec("nw-101", starts=LATER_STARTS, ends=LATER_ENDS)
        assert adapter.provider.update_code(adapter.offline_lock_id, issued.vendor_code_id, moved).ends_at == LATER_ENDS
        adapter.provider.delete_code(adapter.offline_lock_id, issued.vendor_code_id)
        assert adapter.provider.find_code(adapter.offline_lock_id, "nw-101") is None

    @having_and_lacking("find_codes", "writes_while_offline")
    def test_an_offline_lock_refuses_a_search_transiently(self, adapter):
        self._offline(adapter, "find_code")

    @having_and_lacking("update_in_place", "writes_while_offline")
    def test_an_offline_lock_refuses_an_update_transiently(self, adapter):
        self._offline(adapter, "update_code")

    @having_and_lacking("remote_revoke", "writes_while_offline")
    def test_an_offline_lock_refuses_a_delete_transiently(self, adapter):
        self._offline(adapter, "delete_code")

    def _offline(self, adapter, operation):
        call = {
            "create_code": lambda: adapter.provider.create_code(adapter.offline_lock_id, adapter.spec("nw-101")),
            "find_code": lambda: adapter.provider.find_code(adapter.offline_lock_id, "nw-101"),
            "delete_code": lambda: adapter.provider.delete_code(adapter.offline_lock_id, "1"),
            "update_code": lambda: adapter.provider.update_code(adapter.offline_lock_id, "1", adapter.spec("nw-101")),
        }[operation]
        with pytest.raises(TransientProviderError) as caught:
            call()
        assert caught.value.message and caught.value.kind
        assert_round_trips(caught.value)

    def test_a_missing_lock_refuses_a_create(self, adapter):
        self._missing(adapter, "create_code")

    @having("find_codes")
    def test_a_missing_lock_refuses_a_search(self, adapter):
        self._missing(adapter, "find_code")

    @having("update_in_place")
    def test_a_missing_lock_refuses_an_update(self, adapter):
        self._missing(adapter, "update_code")

    @having("remote_revoke")
    def test_a_missing_lock_refuses_a_delete(self, adapter):
        self._missing(adapter, "delete_code")

    def _missing(self, adapter, operation):
        call = {
            "create_code": lambda: adapter.provider.create_code(adapter.missing_lock_id, adapter.spec("nw-101")),
            "find_code": lambda: adapter.provider.find_code(adapter.missing_lock_id, "nw-101"),
            "delete_code": lambda: adapter.provider.delete_code(adapter.missing_lock_id, "1"),
            "update_code": lambda: adapter.provider.update_code(adapter.missing_lock_id, "1", adapter.spec("nw-101")),
        }[operation]
        with pytest.raises(LockNotFound) as caught:
            call()
        assert caught.value.kind == "lock_not_found"
        assert_round_trips(caught.value)

    @having("chosen_pins")
    def test_a_duplicate_pin_is_rejected_even_when_the_windows_do_not_overlap(self, adapter):
        pin = adapter.acceptable_pins()[0]
        adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-101", pin))
        with pytest.raises(CodeRejected) as caught:
            adapter.provider.create_code(
                adapter.lock_id, adapter.spec("nw-102", pin, datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 3, tzinfo=UTC))
            )
        assert pin not in caught.value.message  # a PIN is never put in an error message
        assert adapter.provider.find_code(adapter.lock_id, "nw-102") is None
        assert_round_trips(caught.value)

    @having("chosen_pins")
    def test_a_pin_breaking_the_vendors_rules_is_rejected(self, adapter):
        refused = adapter.refused_pins()
        assert refused, "the vendor's rule refuses at least the obvious PINs (123456, 111111)"
        with pytest.raises(CodeRejected) as caught:
            adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-101", refused[0]))
        assert refused[0] not in caught.value.message
        assert adapter.provider.find_code(adapter.lock_id, "nw-101") is None

    @having("chosen_pins")
    def test_pin_problem_accepts_the_pins_it_promises(self, adapter):
        for pin in adapter.acceptable_pins():
            adapter.provider.create_code(adapter.lock_id, adapter.spec(f"nw-{pin}", pin))  # none refused


    # --- the offline fallback: no guest left outside -------------------------------------------------

    def offline_spec(self, adapter, name="nw-101"):
        """A stay that neither starts nor ends on the hour; the vendor picks the PIN."""
        spec = adapter.spec(name, starts=STARTS + timedelta(minutes=20), ends=ENDS - timedelta(minutes=20))
        return dataclasses.replace(spec, pin=None)

    @having("offline_fallback")
    def test_an_offline_code_is_issued_for_an_offline_lock_and_covers_the_whole_stay(self, adapter):
        wanted = self.offline_spec(adapter)
        with freeze_time(STARTS - timedelta(days=1)):
            issued = adapter.provider.issue_offline_code(adapter.offline_lock_id, wanted)
        assert isinstance(issued, IssuedCode) and issued.name == wanted.name
        assert isinstance(issued.vendor_code_id, str) and issued.vendor_code_id
        assert issued.pin.isdigit() and len(issued.pin) >= 4
        assert issued.starts_at.tzinfo is not None and issued.ends_at.tzinfo is not None
        # Rounded as the vendor must, never so that the guest is shut out early.
        assert issued.starts_at <= wanted.starts_at and issued.ends_at >= wanted.ends_at
        assert isinstance(issued.usage_note, str) and issued.warning  # the host is told what such a code cannot do
        assert issued.pin not in issued.usage_note + issued.warning

    @having("offline_fallback")
    def test_two_offline_codes_get_two_ids(self, adapter):
        with freeze_time(STARTS - timedelta(days=1)):
            first = adapter.provider.issue_offline_code(adapter.offline_lock_id, self.offline_spec(adapter, "nw-101"))
            second = adapter.provider.issue_offline_code(adapter.offline_lock_id, self.offline_spec(adapter, "nw-102"))
        assert first.vendor_code_id != second.vendor_code_id

    @having("offline_fallback")
    def test_a_missing_lock_refuses_an_offline_code(self, adapter):
        with freeze_time(STARTS - timedelta(days=1)), pytest.raises(LockNotFound) as caught:
            adapter.provider.issue_offline_code(adapter.missing_lock_id, self.offline_spec(adapter))
        assert_round_trips(caught.value)

    @having("offline_fallback")
    def test_an_offline_code_for_a_window_already_over_is_refused(self, adapter):
        with freeze_time(ENDS + timedelta(hours=1)), pytest.raises(CodeRejected):
            adapter.provider.issue_offline_code(adapter.offline_lock_id, self.offline_spec(adapter))

    @lacking("offline_fallback")
    def test_without_offline_fallback_an_offline_code_is_refused(self, adapter):
        with pytest.raises(OperationNotSupported):
            adapter.provider.issue_offline_code(adapter.offline_lock_id, self.offline_spec(adapter))

    # --- reading the lock back (issue 19) ------------------------------------------------------------

    @having("lists_codes")
    def test_the_listing_shows_a_created_code_with_its_name_and_window_and_not_a_deleted_one(self, adapter):
        pins = adapter.acceptable_pins()
        kept = adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-101", pins[0]))
        removed = adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-102", pins[1]))
        if adapter.capabilities.remote_revoke:
            adapter.provider.delete_code(adapter.lock_id, removed.vendor_code_id)
        listed = {code.vendor_code_id: code for code in list(adapter.provider.list_codes(adapter.lock_id).codes)}
        assert all(isinstance(code, ListedCode) for code in listed.values())
        assert listed[kept.vendor_code_id].name == "nw-101"
        assert (listed[kept.vendor_code_id].starts_at, listed[kept.vendor_code_id].ends_at) == (STARTS, ENDS)
        assert listed[kept.vendor_code_id].pin in (kept.pin, None)
        if adapter.capabilities.remote_revoke:
            assert removed.vendor_code_id not in listed

    @having("lists_codes")
    def test_a_missing_lock_refuses_a_listing(self, adapter):
        with pytest.raises(LockNotFound):
            adapter.provider.list_codes(adapter.missing_lock_id)

    @having("access_log")
    def test_an_opening_with_a_code_is_read_back_as_a_use_of_that_code(self, adapter):
        assert adapter.enter_pin is not None, "an adapter with an access log has an emulator that can type a PIN"
        opened_at = STARTS + timedelta(hours=2)
        with freeze_time(opened_at):
            issued = adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-101"))
            assert adapter.enter_pin(issued.pin)
        with freeze_time(opened_at + timedelta(minutes=30)):
            uses = adapter.provider.code_uses(adapter.lock_id, STARTS)
            assert adapter.provider.code_uses(adapter.lock_id, opened_at + timedelta(minutes=1)) == []
        assert len(uses) == 1 and isinstance(uses[0], CodeUse)
        use = uses[0]
        assert use.at.tzinfo is not None and abs(use.at - opened_at) < timedelta(minutes=1)
        assert issued.vendor_code_id == use.vendor_code_id or use.name == "nw-101" or use.pin == issued.pin

    @having("reports_health")
    def test_health_values_are_typed_and_an_offline_lock_still_reports(self, adapter):
        for lock_id in (adapter.lock_id, adapter.offline_lock_id):
            health = adapter.provider.lock_health(lock_id)
            assert isinstance(health, LockHealth)
            assert health.is_online in (True, False, None)
            assert health.battery_percent is None or (type(health.battery_percent) is int and 0 <= health.battery_percent <= 100)
            for count in (health.code_capacity, health.codes_held):
                assert count is None or (type(count) is int and count >= 0)
        assert adapter.provider.lock_health(adapter.offline_lock_id).is_online in (False, None)
        with pytest.raises(LockNotFound):
            adapter.provider.lock_health(adapter.missing_lock_id)

    @lacking("lists_codes")
    def test_without_lists_codes_a_listing_is_refused(self, adapter):
        with pytest.raises(OperationNotSupported):
            adapter.provider.list_codes(adapter.lock_id)

    @lacking("access_log")
    def test_without_an_access_log_uses_are_refused(self, adapter):
        with pytest.raises(OperationNotSupported):
            adapter.provider.code_uses(adapter.lock_id, STARTS)

    @lacking("reports_health")
    def test_without_health_reports_health_is_refused(self, adapter):
        with pytest.raises(OperationNotSupported):
            adapter.provider.lock_health(adapter.lock_id)

    # --- what a vendor cannot do -------------------------------------------------------------------

    @lacking("update_in_place")
    def test_without_update_in_place_an_update_is_refused(self, adapter):
        issued = adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-101"))
        with pytest.raises(OperationNotSupported):
            adapter.provider.update_code(adapter.lock_id, issued.vendor_code_id, adapter.spec("nw-101", None, LATER_STARTS, LATER_ENDS))
        if adapter.capabilities.find_codes:
            found = adapter.provider.find_code(adapter.lock_id, "nw-101")
            assert (found.starts_at, found.ends_at) == (STARTS, ENDS)

    @lacking("remote_revoke")
    def test_without_remote_revoke_a_delete_is_refused(self, adapter):
        issued = adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-101"))
        with pytest.raises(OperationNotSupported):
            adapter.provider.delete_code(adapter.lock_id, issued.vendor_code_id)
        if adapter.capabilities.find_codes:
            assert adapter.provider.find_code(adapter.lock_id, "nw-101") is not None

    @lacking("find_codes")
    def test_without_find_codes_a_search_is_refused(self, adapter):
        adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-101"))
        with pytest.raises(OperationNotSupported):
            adapter.provider.find_code(adapter.lock_id, "nw-101")

    @lacking("chosen_pins")
    def test_without_chosen_pins_the_vendor_generates_distinct_pins(self, adapter):
        first = adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-101"))
        second = adapter.provider.create_code(adapter.lock_id, adapter.spec("nw-102"))
        assert first.pin.isdigit() and second.pin.isdigit() and first.pin != second.pin


# --- the error vocabulary ---------------------------------------------------------------------------

def all_provider_errors() -> list[type[ProviderError]]:
    return [
        member
        for _, member in inspect.getmembers(exceptions, inspect.isclass)
        if issubclass(member, ProviderError) and member.__module__ == exceptions.__name__
    ]


def make_error(cls: type[ProviderError]) -> ProviderError:
    if issubclass(cls, TransientProviderError):
        return cls("The vendor asked us to wait.", retry_after=42.5, vendor_code="E-429")
    return cls("The vendor said no.", vendor_code="E-1")


def test_the_vocabulary_has_both_branches_and_every_leaf_is_in_one():
    errors = all_provider_errors()
    assert {cls.__name__ for cls in errors} >= {
        "ProviderError", "TransientProviderError", "PermanentProviderError", "LockOffline", "RateLimited",
        "VendorUnavailable", "OutcomeUnknown", "ProviderAuthError", "CodeRejected", "LockNotFound",
        "CodeNotFound", "CodeStorageFull", "OperationNotSupported",
    }
    for cls in errors:
        if cls not in (ProviderError, TransientProviderError, exceptions.PermanentProviderError):
            assert issubclass(cls, TransientProviderError) != issubclass(cls, exceptions.PermanentProviderError), cls


@pytest.mark.parametrize("cls", all_provider_errors(), ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_provider_error_pickles_with_its_message_and_retry_after(cls, protocol):
    error = make_error(cls)
    copied = pickle.loads(pickle.dumps(error, protocol=protocol))
    assert type(copied) is cls
    assert copied.message == error.message and str(copied) == error.message
    assert copied.args == error.args
    assert copied.vendor_code == error.vendor_code
    assert copied.kind == error.kind
    if issubclass(cls, TransientProviderError):
        assert copied.retry_after == 42.5
    with pytest.raises(cls):
        raise copied


@pytest.mark.parametrize("cls", all_provider_errors(), ids=lambda cls: cls.__name__)
def test_every_provider_error_copies(cls):
    error = make_error(cls)
    for copied in (copy.copy(error), copy.deepcopy(error)):
        assert type(copied) is cls and copied.message == error.message
        assert getattr(copied, "retry_after", None) == getattr(error, "retry_after", None)


def test_a_transient_error_without_retry_after_keeps_none():
    copied = pickle.loads(pickle.dumps(exceptions.LockOffline("The lock's gateway is offline.")))
    assert copied.retry_after is None and copied.kind == "lock_offline"
