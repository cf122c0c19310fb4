"""igloohome's devices: locks, keypads standing for their locks, and bridges [IG, I-C6, I-C7]."""

from locks.providers.base import (
    RemoteLock,
)
from locks.providers.exceptions import (
    VendorUnavailable,
)

MAX_DEVICE_PAGES = 200

DEVICE_LOCK, DEVICE_KEYPAD, DEVICE_BRIDGE = "Lock", "Keypad", "Bridge"


class IgloohomeLockListing:
    """The lock list of an IgloohomeProvider: locks, and keypads standing for their locks."""

    def list_locks(self) -> list[RemoteLock]:
        devices = self._all_devices()
        bridged = bridged_lock_ids(devices)
        locks: dict[str, RemoteLock] = {}
        for device in devices:
            if device["type"] == DEVICE_LOCK:
                locks[device["deviceId"]] = eligible_lock(device["deviceId"], device_name(device), bridged)
        for device in devices:
            kind = device["type"]
            if kind == DEVICE_KEYPAD:
                linked = [link["deviceId"] for link in links_of(device) if link["type"] == DEVICE_LOCK]
                for lock_id in linked:  # a keypad stands for its lock: codes go to the lock
                    locks.setdefault(lock_id, eligible_lock(lock_id, device_name(device), bridged))
                if not linked:
                    locks[device["deviceId"]] = RemoteLock(
                        device["deviceId"],
                        device_name(device),
                        False,
                        "This keypad is not linked to a lock; link it in the igloohome app, then refresh.",
                    )
            elif kind not in (DEVICE_LOCK, DEVICE_BRIDGE):
                locks.setdefault(
                    device["deviceId"],
                    RemoteLock(
                        device["deviceId"],
                        device_name(device),
                        False,
                        f"igloohome lists this device as “{kind}”, not a lock, so it cannot take algoPINs.",
                    ),
                )
        return list(locks.values())

    def _all_devices(self) -> list[dict]:
        devices, cursor, seen = [], None, set()
        for _ in range(MAX_DEVICE_PAGES):
            response = self._api("GET", "/devices", params={"cursor": cursor} if cursor else None)
            self._raise_for_status(response, on_device=False)
            body = self.http.json(response)
            payload = body.get("payload") if isinstance(body, dict) else None
            if not isinstance(payload, list) or not all(is_device(item) for item in payload):
                raise VendorUnavailable("igloohome answered the device list with something unexpected.")
            devices.extend(payload)
            cursor = body.get("nextCursor")
            if not cursor:
                return devices
            if not isinstance(cursor, str) or cursor in seen:
                raise VendorUnavailable("igloohome's device list did not come to an end.")
            seen.add(cursor)
        raise VendorUnavailable("igloohome's device list did not come to an end.")


def is_device(item) -> bool:
    return isinstance(item, dict) and isinstance(item.get("deviceId"), str) and bool(item["deviceId"]) and isinstance(item.get("type"), str)


def links_of(device: dict) -> list[dict]:
    links = device.get("linkedDevices") or []
    if not isinstance(links, list):
        return []
    return [link for link in links if isinstance(link, dict) and isinstance(link.get("deviceId"), str)]


def device_name(device: dict) -> str:
    name = device.get("deviceName")
    return name.strip() if isinstance(name, str) and name.strip() else device["deviceId"]


def bridged_lock_ids(devices: list[dict]) -> set[str]:
    """Locks a Bridge serves, seen from either side of the link."""
    bridged = set()
    for device in devices:
        if device["type"] == DEVICE_BRIDGE:
            bridged.update(link["deviceId"] for link in links_of(device))
        elif any(link.get("type") == DEVICE_BRIDGE for link in links_of(device)):
            bridged.add(device["deviceId"])
    return bridged


def eligible_lock(lock_id: str, name: str, bridged: set[str]) -> RemoteLock:
    # Every igloohome lock takes algoPINs; a bridge is the only connectivity igloohome reports.
    return RemoteLock(vendor_lock_id=lock_id, name=name, supports_remote_codes=True, is_online=True if lock_id in bridged else None)
