"""Codes on a lock that Nowistay did not make (a cleaner's, the owner's): listed for the host,
never changed or deleted, and their PINs never given to a guest.

A leaf module (models only), so choosing a PIN (`claims`, `creation`) can ask it without a cycle.
"""

from collections.abc import Collection
from datetime import datetime

from locks import notifications
from locks.models import FindingKind, Lock, LockAssignment, UnmanagedCode
from locks.providers.base import ListedCode
from locks.services.findings import record_finding, unmanaged_detail


def unmanaged_pins(lock_ids: Collection[int]) -> dict[int, set[str]]:
    """The PINs other people's codes hold on each lock, as last listed: one query."""
    held: dict[int, set[str]] = {lock_id: set() for lock_id in lock_ids}
    rows = UnmanagedCode.objects.filter(lock_id__in=lock_ids, pin__isnull=False)
    for lock_id, pin in rows.values_list("lock_id", "pin"):
        if pin:
            held[lock_id].add(pin)
    return held


def sync_unmanaged(lock: Lock, listed: list[ListedCode], now: datetime) -> list[UnmanagedCode]:
    """Keep the lock's list of unmanaged codes as the listing shows it; the new ones, each with a finding."""
    known = {row.vendor_code_id: row for row in UnmanagedCode.objects.filter(lock=lock)}
    new = []
    for item in listed:
        values = {"name": item.name[:200], "pin": item.pin, "starts_at": item.starts_at, "ends_at": item.ends_at, "last_seen_at": now}
        row = known.get(item.vendor_code_id)
        if row is not None:
            UnmanagedCode.objects.filter(pk=row.pk).update(**values)
            continue
        new.append(UnmanagedCode.objects.create(lock=lock, vendor_code_id=item.vendor_code_id, **values))
        record_finding(
            lock,
            FindingKind.UNMANAGED_CODE,
            unmanaged_detail(lock, item.name, _window(item, _zone_of(lock))),
            vendor_code_id=item.vendor_code_id,
        )
    UnmanagedCode.objects.filter(lock=lock).exclude(vendor_code_id__in=[item.vendor_code_id for item in listed]).delete()
    return new


def _zone_of(lock: Lock) -> str:
    assignment = LockAssignment.objects.select_related("property").filter(lock=lock).first()
    return assignment.property.time_zone if assignment else "UTC"


def _window(item: ListedCode, tz_name: str) -> str:
    if item.starts_at is None and item.ends_at is None:
        return "with no time limit"
    if item.ends_at is None:
        return f"from {notifications.local_time(item.starts_at, tz_name)}, with no end"
    if item.starts_at is None:
        return f"until {notifications.local_time(item.ends_at, tz_name)}"
    return f"from {notifications.local_time(item.starts_at, tz_name)} to {notifications.local_time(item.ends_at, tz_name)}"
