"""TTLock's locks: which can take codes (eligibility) and whether they are online."""

from typing import Any

from locks.providers.base import RemoteLock
from locks.providers.exceptions import (
    LockNotFound,
    LockOffline,
    ProviderAuthError,
    ProviderError,
)
from locks.providers.ttlock.errors import items_of, malformed

BY_NAME = 0  # gateway/list orderBy, a required parameter [T-GWL]
V4_PASSCODES = 4
FEATURE_PASSCODE = 0  # [T-FV]
FEATURE_WIFI_LOCK = 56  # [T-SDKFV, HT models.py]
NO_GATEWAY = "No gateway: link the lock to a TTLock gateway"
OLD_PASSCODES = "Keypad passcodes older than V4 are not supported"
NO_KEYPAD = "The lock has no keypad"
UNKNOWN_PASSCODES = "TTLock did not say which keypad passcode version the lock has (V4 is needed)"
NO_DETAILS = "TTLock did not give this account the lock's details (administrators only)"


def _has_feature(feature_value: Any, bit: int) -> bool | None:
    """Whether featureValue (hex) has `bit`; None when TTLock did not say."""
    if not isinstance(feature_value, str) or not feature_value.strip():
        return None
    try:
        return bool((int(feature_value, 16) >> bit) & 1)
    except ValueError:
        return None


def _flag(value: Any) -> bool | None:
    """TTLock's 0/1 flags; the wifiLock/detail example writes `true` for an Int field [T-WL]."""
    if value in (1, "1", True):
        return True
    if value in (0, "0", False):
        return False
    return None


def _via_gateway(details: dict) -> bool:
    return details.get("hasGateway") in (1, "1")


class _GatewayReach:
    """Which locks the account's online gateways reach, and whether every read succeeded."""

    def __init__(self):
        self.lock_ids: set[str] = set()
        self.complete = True

    def incomplete(self) -> "_GatewayReach":
        self.complete = False
        return self

    def add(self, locks: list[dict]) -> None:
        self.lock_ids |= {str(lock.get("lockId")) for lock in locks}

    def state_of(self, lock_id: str) -> bool | None:
        # Not listed by any online gateway: none has heard the lock for 30 minutes [T-GWLL], and a
        # remote call would fail with -2012 or -3002. Only said when every read succeeded.
        if lock_id in self.lock_ids:
            return True
        return False if self.complete else None


class TTLockLockListing:
    """The lock list of a TTLockProvider, with eligibility and online state."""

    def list_locks(self) -> list[RemoteLock]:
        described = [self._described(entry) for entry in self._pages("lock/list", {}, self.LOCK_PAGE_SIZE)]
        eligible = [details for details, reasons in described if not reasons]
        reach = self._gateway_reach() if any(_via_gateway(details) for details in eligible) else None
        return [
            self._remote_lock(details, reasons, is_online=None if reasons else self._is_online(details, reach))
            for details, reasons in described
        ]

    def _described(self, entry: dict) -> tuple[dict, list[str]]:
        """The lock's list entry with its details, and why it cannot take codes (empty if it can)."""
        lock_id = str(entry.get("lockId", ""))
        if not lock_id:
            raise malformed("a lock without an id")
        try:
            details = {**entry, **self._call("GET", "lock/detail", {"lockId": lock_id})}
        except LockNotFound:
            return {**entry, "lockId": lock_id}, [NO_DETAILS]
        return {**details, "lockId": lock_id}, self._unavailable_reasons(details)

    @staticmethod
    def _remote_lock(details: dict, reasons: list[str], *, is_online: bool | None) -> RemoteLock:
        lock_id = details["lockId"]
        offset = details.get("timezoneRawOffset")
        return RemoteLock(
            vendor_lock_id=lock_id,
            name=str(details.get("lockAlias") or details.get("lockName") or f"TTLock {lock_id}"),
            supports_remote_codes=not reasons,
            unavailable_reason="; ".join(reasons),
            is_online=is_online,
            utc_offset_minutes=round(int(offset) / 60000) if isinstance(offset, int | float) else None,
        )

    # --- online state: read, never a reason to refuse a lock ---------------------------------------

    def _current_online_state(self, details: dict) -> bool | None:
        """The online state of one lock, from its details (as `_is_online`, reading the gateways it needs)."""
        return self._is_online(details, self._gateway_reach() if _via_gateway(details) else None)

    def _is_online(self, details: dict, reach: "_GatewayReach | None") -> bool | None:
        """True when a path to the lock is online, False when every path is known to be offline,
        None when TTLock did not say (a failed read is never taken for "offline")."""
        states = []
        if reach is not None and _via_gateway(details):
            states.append(reach.state_of(details["lockId"]))
        if _has_feature(details.get("featureValue"), FEATURE_WIFI_LOCK):
            states.append(self._wifi_online(details["lockId"]))
        if True in states:
            return True
        return False if states and all(state is False for state in states) else None

    def _gateway_reach(self) -> "_GatewayReach":
        """The locks an online gateway of the account reaches: one gateway/list, then one
        gateway/listLock per online gateway (gateway/listByLock carries no online flag) [T-GWL, T-GWLL]."""
        reach = _GatewayReach()
        try:
            gateways = list(self._pages("gateway/list", {"orderBy": BY_NAME}, self.GATEWAY_PAGE_SIZE))
        except ProviderAuthError:
            raise
        except ProviderError:
            return reach.incomplete()
        for gateway in gateways:
            online, gateway_id = _flag(gateway.get("isOnline")), str(gateway.get("gatewayId", ""))
            if online is False:
                continue
            if online is None or not gateway_id.isdigit():
                reach.complete = False  # the locks it may serve can be called neither online nor offline
                continue
            try:
                reach.add(items_of(self._call("GET", "gateway/listLock", {"gatewayId": gateway_id})))
            except ProviderAuthError:
                raise
            except ProviderError:
                reach.complete = False
        return reach

    def _wifi_online(self, lock_id: str) -> bool | None:
        try:
            answer = self._call("POST", "wifiLock/detail", {"lockId": lock_id})
        except ProviderAuthError:
            raise
        except LockOffline as offline:
            # -3034 is the page's own answer for a WiFi lock with no network configured [T-WL].
            return False if offline.vendor_code == "-3034" else None
        except ProviderError:
            return None
        return _flag(answer.get("isOnline"))

    @staticmethod
    def _unavailable_reasons(details: dict) -> list[str]:
        reasons = []
        if _has_feature(details.get("featureValue"), FEATURE_PASSCODE) is False:
            reasons.append(NO_KEYPAD)
        reachable = _via_gateway(details) or _has_feature(details.get("featureValue"), FEATURE_WIFI_LOCK)
        if not reachable:
            reasons.append(NO_GATEWAY)
        version = details.get("keyboardPwdVersion")
        if version in (None, ""):
            reasons.append(UNKNOWN_PASSCODES)
        elif str(version) != str(V4_PASSCODES):
            reasons.append(OLD_PASSCODES)
        return reasons
