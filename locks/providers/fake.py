"""A scriptable in-memory lock cloud for tests and benchmarks: no network, same contract.

    cloud = FakeCloud()
    cloud.add_lock("L1")
    cloud.fail_next("create_code", LockOffline("Gateway offline"))
    cloud.lose_response_next("create_code")   # acts, then the answer is lost
    cloud.latency = 0.2                       # seconds per call
    cloud.after_call = lambda: frozen.tick(20)  # e.g. a call that takes 20 s of frozen time

Reading locks back (give the provider `READ_BACK` capabilities), and drift behind our back:

    cloud.delete_behind_our_back("L1", vendor_code_id)   # deleted in the vendor's app
    cloud.change_code("L1", vendor_code_id, ends_at=..., pin="...")
    cloud.wipe("L1")                                     # the lock lost its memory
    cloud.add_unmanaged("L1", "Cleaner", "135790")       # someone else's code
    cloud.record_use("L1", at, vendor_code_id=...)       # a keypad opening in the access log
    cloud.set_health("L1", battery=15, capacity=20)      # capacity: creates beyond it are refused
"""

import itertools
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from locks.providers import rate_limits
from locks.providers.base import (
    AccountSession,
    Capabilities,
    CodeSpec,
    CodeUse,
    IssuedCode,
    ListedCode,
    Listing,
    LockHealth,
    LockProvider,
    RemoteLock,
)
from locks.providers.exceptions import (
    CodeNotFound,
    CodeRejected,
    CodeStorageFull,
    LockNotFound,
    LockOffline,
    OperationNotSupported,
    OutcomeUnknown,
    PinTaken,
    ProviderError,
)
from locks.providers.http import note_request_attempted
from locks.providers.pin_rules import DIGITS, PIN_LENGTH, generic_rule
from locks.providers.registry import PROVIDER_CLASSES

# The vendors' own classes, kept before any test swaps the registry's dict for fakes.
VENDOR_CLASSES = dict(PROVIDER_CLASSES)

# A fake vendor whose locks can be read back: listed whole, their access log read, their health reported.
READ_BACK = Capabilities(lists_codes=True, access_log=True, reports_health=True)


@dataclass
class FakeLock:
    vendor_lock_id: str
    name: str
    supports_remote_codes: bool = True
    unavailable_reason: str = ""
    online: bool = True
    codes: dict[str, IssuedCode] = field(default_factory=dict)
    battery: int | None = None
    capacity: int | None = None  # None: no limit, and none reported
    uses: list[CodeUse] = field(default_factory=list)


class FakeCloud:
    def __init__(self):
        self._mutex = threading.Lock()
        self._ids = itertools.count(1000)
        self.locks: dict[str, FakeLock] = {}
        self.latency = 0.0
        self.after_call = None  # run after each call, answered or not (tests move a frozen clock)
        self.calls: Counter[str] = Counter()
        self._faults: dict[str, list[ProviderError | str]] = {}

    # --- scripting -----------------------------------------------------------------------
    def add_lock(self, vendor_lock_id: str, name: str = "", **attributes) -> FakeLock:
        lock = FakeLock(vendor_lock_id, name or f"Lock {vendor_lock_id}", **attributes)
        self.locks[vendor_lock_id] = lock
        return lock

    def fail_next(self, operation: str, error: ProviderError, times: int = 1) -> None:
        self._faults.setdefault(operation, []).extend([error] * times)

    def lose_response_next(self, operation: str) -> None:
        """The next `operation` is carried out, then its answer is lost (a timeout)."""
        self._faults.setdefault(operation, []).append("lose-response")

    def codes_on(self, vendor_lock_id: str) -> list[IssuedCode]:
        return list(self.locks[vendor_lock_id].codes.values())

    # --- drift behind the product's back (someone in the vendor's app, a lock losing its memory) ----
    def delete_behind_our_back(self, vendor_lock_id: str, vendor_code_id: str) -> None:
        self.locks[vendor_lock_id].codes.pop(vendor_code_id)

    def change_code(self, vendor_lock_id: str, vendor_code_id: str, **changes) -> IssuedCode:
        """Edit a code in place: `starts_at`, `ends_at`, `pin`, `name`."""
        codes = self.locks[vendor_lock_id].codes
        codes[vendor_code_id] = replace(codes[vendor_code_id], **changes)
        return codes[vendor_code_id]

    def wipe(self, vendor_lock_id: str) -> None:
        self.locks[vendor_lock_id].codes.clear()

    def add_unmanaged(self, vendor_lock_id: str, name: str, pin: str, starts_at=None, ends_at=None) -> IssuedCode:
        code = IssuedCode(self.new_id(), pin, starts_at, ends_at, name=name)
        self.locks[vendor_lock_id].codes[code.vendor_code_id] = code
        return code

    def duplicate(self, vendor_lock_id: str, vendor_code_id: str) -> IssuedCode:
        """A write that landed twice: the same code again under another id."""
        codes = self.locks[vendor_lock_id].codes
        twin = replace(codes[vendor_code_id], vendor_code_id=self.new_id())
        codes[twin.vendor_code_id] = twin
        return twin

    def record_use(self, vendor_lock_id: str, at: datetime, *, vendor_code_id: str = "", name: str = "", pin: str = "") -> None:
        self.locks[vendor_lock_id].uses.append(CodeUse(at=at, vendor_code_id=vendor_code_id, name=name, pin=pin))

    def set_health(self, vendor_lock_id: str, *, battery: int | None = None, capacity: int | None = None, online=None) -> None:
        lock = self.locks[vendor_lock_id]
        lock.battery = battery if battery is not None else lock.battery
        lock.capacity = capacity if capacity is not None else lock.capacity
        lock.online = online if online is not None else lock.online

    # --- the cloud's behaviour ---------------------------------------------------------------
    def call(self, operation: str, vendor_lock_id: str | None, action, *, online_needed: bool = True):
        rate_limits.admit()  # the vendor's limits, as the real seam (VendorHttp.request) counts them
        note_request_attempted()  # this is the fake's network: a request "leaves" here
        try:
            return self._answer(operation, vendor_lock_id, action, online_needed)
        finally:
            if self.after_call is not None:
                self.after_call()

    def _answer(self, operation: str, vendor_lock_id: str | None, action, online_needed: bool):
        if self.latency:
            time.sleep(self.latency)
        with self._mutex:
            self.calls[operation] += 1
            fault = self._pop_fault(operation)
            if isinstance(fault, ProviderError):
                raise fault
            if vendor_lock_id is not None:
                self._check_reachable(vendor_lock_id, online_needed)
            result = action()
        if fault == "lose-response":
            raise OutcomeUnknown("The lock vendor did not answer in time.")
        return result

    def _pop_fault(self, operation: str):
        queue = self._faults.get(operation)
        return queue.pop(0) if queue else None

    def _check_reachable(self, vendor_lock_id: str, online_needed: bool) -> None:
        lock = self.locks.get(vendor_lock_id)
        if lock is None:
            raise LockNotFound("The lock is no longer in this account.")
        if online_needed and not lock.online:
            raise LockOffline("The lock's gateway is offline.")

    def new_id(self) -> str:
        return str(next(self._ids))


class FakeProvider(LockProvider):
    """Talks to a FakeCloud. Build variants with `fake_provider_class` (slug, capabilities)."""

    slug = "fake"
    display_name = "Fake"
    cloud: FakeCloud

    def list_locks(self) -> list[RemoteLock]:
        def action():
            return [
                RemoteLock(
                    vendor_lock_id=lock.vendor_lock_id,
                    name=lock.name,
                    supports_remote_codes=lock.supports_remote_codes,
                    unavailable_reason=lock.unavailable_reason,
                    is_online=lock.online,
                )
                for lock in self.cloud.locks.values()
            ]

        return self.cloud.call("list_locks", None, action)

    def create_code(self, vendor_lock_id: str, spec: CodeSpec) -> IssuedCode:
        def action():
            lock = self.cloud.locks[vendor_lock_id]
            pin = spec.pin if self.capabilities.chosen_pins else self._generated_pin(lock)
            self._check_pin(lock, pin, except_id=None)
            if lock.capacity is not None and len(lock.codes) >= lock.capacity:
                raise CodeStorageFull("The lock's code memory is full.")
            issued = IssuedCode(self.cloud.new_id(), pin, spec.starts_at, spec.ends_at, name=spec.name)
            lock.codes[issued.vendor_code_id] = issued
            return issued

        return self.cloud.call("create_code", vendor_lock_id, action, online_needed=not self.capabilities.offline_codes)

    def update_code(self, vendor_lock_id: str, vendor_code_id: str, spec: CodeSpec) -> IssuedCode:
        if not self.capabilities.update_in_place:
            raise OperationNotSupported(f"{self.display_name} cannot change a code's window.")

        def action():
            lock = self.cloud.locks[vendor_lock_id]
            current = lock.codes.get(vendor_code_id)
            if current is None:
                raise CodeNotFound("The code is no longer on the lock.")
            updated = replace(current, starts_at=spec.starts_at, ends_at=spec.ends_at, name=spec.name)
            lock.codes[vendor_code_id] = updated
            return updated

        return self.cloud.call("update_code", vendor_lock_id, action)

    def issue_offline_code(self, vendor_lock_id: str, spec: CodeSpec) -> IssuedCode:
        """As TTLock's period passcodes: computed without the lock, whole hours, the vendor's PIN."""
        if not self.capabilities.offline_fallback:
            return super().issue_offline_code(vendor_lock_id, spec)

        def action():
            lock = self.cloud.locks[vendor_lock_id]
            starts = _hour_of(spec.starts_at)
            ends = spec.ends_at if _hour_of(spec.ends_at) == spec.ends_at else _hour_of(spec.ends_at) + timedelta(hours=1)
            issued = IssuedCode(
                self.cloud.new_id(),
                self._generated_pin(lock),
                starts,
                ends,
                name=spec.name,
                usage_note="Use it for the first time within 24 hours of its start.",
                warning="Issued offline: it cannot be revoked remotely before it is used.",
            )
            lock.codes[issued.vendor_code_id] = issued
            return issued

        return self.cloud.call("issue_offline_code", vendor_lock_id, action, online_needed=False)

    def delete_code(self, vendor_lock_id: str, vendor_code_id: str) -> None:
        if not self.capabilities.remote_revoke:
            raise OperationNotSupported(f"{self.display_name} cannot revoke a code remotely.")

        def action():
            self.cloud.locks[vendor_lock_id].codes.pop(vendor_code_id, None)

        self.cloud.call("delete_code", vendor_lock_id, action)

    def find_code(self, vendor_lock_id: str, name: str) -> IssuedCode | None:
        if not self.capabilities.find_codes:
            raise OperationNotSupported(f"{self.display_name} cannot list the codes on a lock.")

        def action():
            matches = [c for c in self.cloud.locks[vendor_lock_id].codes.values() if c.name == name]
            return matches[0] if matches else None

        return self.cloud.call("find_code", vendor_lock_id, action)

    def list_codes(self, vendor_lock_id: str, previous: Listing | None = None) -> Listing:
        if not self.capabilities.lists_codes:
            return super().list_codes(vendor_lock_id, previous)

        def action():
            codes = self.cloud.locks[vendor_lock_id].codes.values()
            return Listing(tuple(ListedCode(c.vendor_code_id, c.name, c.pin, c.starts_at, c.ends_at) for c in codes))

        return self.cloud.call("list_codes", vendor_lock_id, action, online_needed=False)

    def code_uses(self, vendor_lock_id: str, since: datetime) -> list[CodeUse]:
        if not self.capabilities.access_log:
            return super().code_uses(vendor_lock_id, since)

        def action():
            return sorted((use for use in self.cloud.locks[vendor_lock_id].uses if use.at >= since), key=lambda use: use.at)

        return self.cloud.call("code_uses", vendor_lock_id, action, online_needed=False)

    def lock_health(self, vendor_lock_id: str) -> LockHealth:
        if not self.capabilities.reports_health:
            return super().lock_health(vendor_lock_id)

        def action():
            lock = self.cloud.locks[vendor_lock_id]
            return LockHealth(is_online=lock.online, battery_percent=lock.battery, code_capacity=lock.capacity, codes_held=len(lock.codes))

        return self.cloud.call("lock_health", vendor_lock_id, action, online_needed=False)

    def _check_pin(self, lock: FakeLock, pin: str, except_id: str | None) -> None:
        problem = self.pin_problem(pin)
        if problem:
            raise CodeRejected(f"The lock refused the PIN: {problem}.")
        if any(c.pin == pin and c.vendor_code_id != except_id for c in lock.codes.values()):
            raise PinTaken("The lock already holds this PIN.")

    def _generated_pin(self, lock: FakeLock) -> str:
        # The vendor picks it (an algoPIN-like stand-in): any free six digits.
        taken = {c.pin for c in lock.codes.values()}
        rng = random.Random()
        while True:
            pin = "".join(rng.choice(DIGITS) for _ in range(PIN_LENGTH))
            if pin not in taken and generic_rule(pin) is None:
                return pin


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def fake_provider_class(slug: str, cloud: FakeCloud, capabilities: Capabilities = Capabilities()) -> type[FakeProvider]:
    """A FakeProvider standing in for `slug` (its PIN rule), with the given capabilities."""
    real = VENDOR_CLASSES.get(slug)
    pin_rule = real.pin_rule if real is not None else generic_rule
    return type(
        f"Fake{slug.title()}Provider",
        (FakeProvider,),
        {
            "slug": slug,
            "display_name": f"Fake {slug}",
            "cloud": cloud,
            "capabilities": capabilities,
            "pin_rule": staticmethod(pin_rule),
        },
    )


def fake_session(account_id: int | None = None) -> AccountSession:
    return AccountSession(account_id=account_id, credentials={})
