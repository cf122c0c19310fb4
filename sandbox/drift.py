"""Drift: what happens to a lock behind Nowistay's back, switched on from the door page or
`/_control/<vendor>/locks/<id>/drift/`, so a host can watch a read-back repair it.

- a code deleted "in the vendor's app", or its window changed there;
- the lock's memory wiped (every code gone);
- a code added in the app ("unmanaged": a cleaner's, the owner's), with or without a window;
- the lock filled to its capacity with such codes (the vendor's next create is refused);
- the battery set.

The sandbox keeps one record per code for the lock and its cloud, so a change here shows in the
vendor's listing at once.
"""

import secrets
from datetime import datetime

from django.db import transaction

from sandbox.models import ALWAYS_FROM, ALWAYS_UNTIL, Vendor, VirtualCode, VirtualLock

FILLER_NAME = "Added in the app"
# Six digits 1-9, not starting with "12": a PIN every vendor's keypad takes (Nuki's are the strictest).
PIN_DIGITS = "123456789"


class DriftRefused(ValueError):
    """The switch cannot do what was asked (no such code, a PIN the lock already holds...)."""


def _vendor_code_id(lock: VirtualLock, code: VirtualCode) -> str:
    """An id in the vendor's own shape, as its virtual cloud numbers the codes it creates."""
    vendor = lock.account.vendor
    if vendor == Vendor.TTLOCK:
        return str(24000 + code.pk)  # sandbox/vendors/ttlock.py keyboard_pwd_add
    if vendor == Vendor.NUKI:
        return secrets.token_hex(12)  # a 24-hex auth id (sandbox/vendors/nuki.py)
    if vendor == Vendor.IGLOOHOME:
        return f"algopin-p0-{code.pk:06d}"
    if vendor == Vendor.HOMEIT:
        return str(900000 + code.pk)  # FIRST_KEY_ID + the row, as sandbox/vendors/homeit.py numbers keys
    return str(code.pk)  # Tedee: the row's number


def code_of(lock: VirtualLock, vendor_code_id: str) -> VirtualCode:
    code = lock.codes.filter(vendor_code_id=vendor_code_id).first()
    if code is None:
        raise DriftRefused(f"{lock.name} holds no code {vendor_code_id}.")
    return code


def delete_in_app(lock: VirtualLock, vendor_code_id: str) -> None:
    code_of(lock, vendor_code_id).delete()


def change_window(lock: VirtualLock, vendor_code_id: str, starts_at: datetime | None, ends_at: datetime | None) -> VirtualCode:
    code = code_of(lock, vendor_code_id)
    code.starts_at, code.ends_at = _window(starts_at, ends_at)
    code.save(update_fields=["starts_at", "ends_at"])
    return code


def wipe(lock: VirtualLock) -> int:
    """The lock forgets every code (a reset, new batteries on some models); the count of codes lost."""
    deleted, _ = lock.codes.all().delete()
    return deleted


@transaction.atomic
def add_unmanaged(
    lock: VirtualLock, name: str, pin: str, starts_at: datetime | None = None, ends_at: datetime | None = None
) -> VirtualCode:
    """A code made in the vendor's app: no window means always valid."""
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise DriftRefused("A PIN is 4 to 12 digits.")
    if lock.codes.filter(pin=pin).exists():
        raise DriftRefused(f"{lock.name} already holds a code {pin}.")
    starts_at, ends_at = _window(starts_at, ends_at)
    code = VirtualCode.objects.create(
        lock=lock,
        vendor_code_id="",
        name=name.strip()[:100] or FILLER_NAME,
        pin=pin,
        starts_at=starts_at,
        ends_at=ends_at,
        added_in_app=True,
    )
    code.vendor_code_id = _vendor_code_id(lock, code)
    code.save(update_fields=["vendor_code_id"])
    return code


def fill(lock: VirtualLock, capacity: int | None = None) -> int:
    """Codes added in the app until the lock holds `capacity` (its own by default, else set to it):
    the vendor refuses the next create. The count of codes added."""
    if capacity is not None:
        lock.capacity = capacity
        lock.save(update_fields=["capacity"])
    taken = set(lock.codes.values_list("pin", flat=True))
    added = 0
    while lock.codes.count() < lock.capacity:
        pin = _free_pin(taken)
        add_unmanaged(lock, f"{FILLER_NAME} {len(taken) + 1}", pin)
        taken.add(pin)
        added += 1
    return added


def set_battery(lock: VirtualLock, percent: int) -> None:
    if not 0 <= percent <= 100:
        raise DriftRefused("A battery level is 0 to 100 (%).")
    lock.battery_percent = percent
    lock.save(update_fields=["battery_percent"])


def _window(starts_at: datetime | None, ends_at: datetime | None) -> tuple[datetime, datetime]:
    window = (starts_at or ALWAYS_FROM, ends_at or ALWAYS_UNTIL)
    if window[0] >= window[1]:
        raise DriftRefused("A code's window must end after it starts.")
    return window


def _free_pin(taken: set[str]) -> str:
    while True:
        pin = "".join(secrets.choice(PIN_DIGITS) for _ in range(6))
        if pin not in taken and not pin.startswith("12"):
            return pin
