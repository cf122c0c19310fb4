"""What reading a lock back found, recorded for the host and staff in plain words (never a PIN)."""

from datetime import datetime, timedelta

from locks import notifications
from locks.models import AccessCode, FindingKind, Lock, LockAssignment, LockFinding


def record_finding(lock: Lock, kind: str, detail: str, *, code: AccessCode | None = None, vendor_code_id: str = "") -> LockFinding:
    return LockFinding.objects.create(lock=lock, kind=kind, detail=detail[:500], access_code=code, vendor_code_id=vendor_code_id)


def found_since(lock: Lock, kind: str, since: datetime) -> bool:
    return LockFinding.objects.filter(lock=lock, kind=kind, created_at__gte=since).exists()


def record_once_a_day(lock: Lock, kind: str, detail: str, now: datetime) -> LockFinding | None:
    """A finding that would repeat at every read-back (a lock near full) is recorded once a day."""
    if found_since(lock, kind, now - timedelta(days=1)):
        return None
    return record_finding(lock, kind, detail)


def place_of(lock: Lock) -> str:
    """The lock as a host knows it: its name, and the property it opens."""
    assignment = LockAssignment.objects.select_related("property").filter(lock=lock).first()
    return f"{lock.name} ({assignment.property.name})" if assignment else lock.name


def stay_of(code: AccessCode) -> str:
    return notifications.stay_line(code.booking)


def missing_detail(code: AccessCode) -> str:
    return f"The code of {stay_of(code)} was missing from {place_of(code.lock)}; it is being put back with the same PIN."


def modified_detail(code: AccessCode, what: str) -> str:
    return f"The code of {stay_of(code)} on {place_of(code.lock)} was changed outside Nowistay ({what}); Nowistay's is being restored."


def orphan_detail(lock: Lock, name: str) -> str:
    return f"A code named “{name}” on {place_of(lock)} looked like Nowistay's but belongs to no booking; it was removed."


def unmanaged_detail(lock: Lock, name: str, window: str) -> str:
    label = f"“{name}”" if name else "without a name"
    return f"A code Nowistay does not manage is on {place_of(lock)}: {label}, {window}. Nowistay leaves it alone."


def capacity_detail(lock: Lock, held: int, capacity: int) -> str:
    return (
        f"{place_of(lock)} holds {held} of the {capacity} codes it can store; remove codes no longer needed "
        "in the vendor's app before it refuses new ones."
    )


# Told to the host by email (the others are shown on the lock's panel): Nowistay repaired a door
# a guest relies on, or the lock is about to refuse codes.
EMAILED_KINDS = (FindingKind.MISSING_ON_LOCK, FindingKind.MODIFIED_EXTERNALLY, FindingKind.ORPHAN_REMOVED, FindingKind.CAPACITY_LOW)


def tell_host(lock: Lock, now: datetime) -> int:
    """One email with the lock's findings the host was not told of yet; how many it names."""
    pending = list(LockFinding.objects.filter(lock=lock, kind__in=EMAILED_KINDS, host_notified_at__isnull=True).order_by("id"))
    if not pending:
        return 0
    claimed = LockFinding.objects.filter(pk__in=[finding.pk for finding in pending], host_notified_at__isnull=True).update(
        host_notified_at=now
    )
    if claimed:
        notifications.lock_repaired(lock, details=[finding.detail for finding in pending])
    return claimed
