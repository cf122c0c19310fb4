"""Typing a PIN on a virtual lock's keypad: whether the door opens, and the use the vendors' access
logs then answer (sandbox/vendors/{ttlock,tedee,nuki}.py read VirtualCodeUse rows)."""

from datetime import datetime, timedelta

from django.utils import timezone

from sandbox import faults
from sandbox.models import Vendor, VirtualCode, VirtualCodeUse, VirtualLock

# igloohome's algoPINs and TTLock's offline codes: a code longer than this must first be used within it.
FIRST_USE_WITHIN = timedelta(hours=24)


def enter_pin(lock: VirtualLock, pin: str, at: datetime | None = None) -> VirtualCodeUse:
    """Someone types `pin` at `at` (now by default): recorded, opened or refused, as the vendors log it."""
    moment = at or timezone.now()
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)  # vendors keep milliseconds at most
    faults.settle_applies(lock)
    matching = list(lock.codes.applied().filter(pin=pin))
    opening = next((code for code in matching if opens(lock, code, moment)), None)
    named = opening or (matching[0] if matching else None)
    return VirtualCodeUse.objects.create(
        lock=lock,
        code=opening,
        vendor_code_id=opening.vendor_code_id if opening else "",
        name=named.name if named else "",
        pin=pin,
        at=moment,
        opened=opening is not None,
    )


def opens(lock: VirtualLock, code: VirtualCode, moment: datetime) -> bool:
    """The code opens the door at `moment`: within its window, with the vendor's own rules on top."""
    if not code.opens_at(moment) or homeit_box_offline(lock):
        return False
    return not first_use_due_before(lock, code, moment) or _used_within_first_day(code)


def homeit_box_offline(lock: VirtualLock) -> bool:
    """homeit checks keys through its BOX; offline, only the SOS key stored in it works [homeit FAQ]."""
    return lock.account.vendor == Vendor.HOMEIT and (lock.offline or lock.account.offline)


def first_use_due_before(lock: VirtualLock, code: VirtualCode, moment: datetime) -> bool:
    """igloohome's rule, and TTLock's for its offline codes (not revocable before a first use): a code
    longer than 24 h opens after its first 24 h only if used within them [TTLock T-PG]."""
    return (
        (lock.account.vendor == Vendor.IGLOOHOME or (lock.account.vendor == Vendor.TTLOCK and not code.revocable))
        and code.ends_at - code.starts_at > FIRST_USE_WITHIN
        and moment >= code.starts_at + FIRST_USE_WITHIN
    )


def never_used(code: VirtualCode) -> bool:
    """No one has opened the door with it yet (TTLock: an offline code cannot be changed or deleted then)."""
    return code.pk is None or not code.uses.filter(opened=True).exists()


def _used_within_first_day(code: VirtualCode) -> bool:
    return code.pk is not None and code.uses.filter(opened=True, at__lt=code.starts_at + FIRST_USE_WITHIN).exists()
