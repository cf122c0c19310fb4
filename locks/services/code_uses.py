"""When each code was used: the lock's access log read into first and latest use per code, and the
host's emails (a guest's first entry; a code not used by the end of check-in day).

A use names its code by the vendor's code id, by its name on the lock, or only by its PIN; the
PIN is matched among the lock's live codes only (a PIN may be given again later).
"""

from collections import defaultdict
from datetime import datetime, timedelta

from locks import notifications, windows
from locks.models import LIVE_CODE_STATES, AccessCode, Lock, LockAssignment
from locks.providers.base import CodeUse, LockProvider
from locks.services.reconcile import our_code_pk
from locks.services.vendor_accounts import audited_call
from locks.signals import CodeEvent, send_code_events

# A lock read for the first time: its log from this far back.
FIRST_READ_LOOKBACK = timedelta(days=2)
# Access logs arrive late (a gateway uploads its lock's records in batches): the last minutes are read again.
LOG_LAG = timedelta(minutes=10)
# An entry or a missed check-in older than this is not emailed about (e.g. the option was just turned on).
NEWS_TOO_OLD = timedelta(days=1)


def read_uses(lock: Lock, provider: LockProvider, now: datetime) -> int:
    """Read the lock's access log since it was last read; the number of uses matched to our codes."""
    since = lock.uses_read_until or now - FIRST_READ_LOOKBACK
    uses = audited_call(account=lock.account, operation="code_uses", lock=lock, call=lambda: provider.code_uses(lock.vendor_lock_id, since))
    matched = record_uses(lock, uses)
    read_until = max(since, now - LOG_LAG)
    Lock.objects.filter(pk=lock.pk).update(uses_read_until=read_until)
    lock.uses_read_until = read_until
    notify_first_entries(lock, now)
    notify_unused_codes(lock, now)
    return matched


def record_uses(lock: Lock, uses: list[CodeUse]) -> int:
    """Set first and latest use on the codes the uses name; reading a use twice changes nothing."""
    codes = list(AccessCode.objects.filter(lock=lock, activated_at__isnull=False))
    moments: dict[int, list[datetime]] = defaultdict(list)
    for use in uses:
        code = _code_of(use, codes)
        if code is not None:
            moments[code.pk].append(use.at)
    by_pk = {code.pk: code for code in codes}
    first_uses = []
    for pk, ats in moments.items():
        code = by_pk[pk]
        first = min([*ats, *filter(None, [code.first_used_at])])
        last = max([*ats, *filter(None, [code.last_used_at])])
        AccessCode.objects.filter(pk=pk).update(first_used_at=first, last_used_at=last)
        if code.first_used_at is None:
            first_uses.append(CodeEvent("first_used", pk, code.booking_id, first, {"lock_id": lock.pk}))
    send_code_events(first_uses)
    return sum(len(ats) for ats in moments.values())


def _code_of(use: CodeUse, codes: list[AccessCode]) -> AccessCode | None:
    if use.vendor_code_id:
        for code in codes:
            if code.vendor_code_id == use.vendor_code_id:
                return code
    pk = our_code_pk(use.name) if use.name else None
    if pk is not None:
        return next((code for code in codes if code.pk == pk), None)
    if use.pin:
        live = [code for code in codes if code.state in LIVE_CODE_STATES and code.pin == use.pin]
        # Of two live codes with one PIN (never on one lock at once), the one whose window holds the use.
        return next((code for code in live if code.starts_at <= use.at <= code.ends_at), live[0] if live else None)
    return None


def _assignment(lock: Lock) -> LockAssignment | None:
    return LockAssignment.objects.select_related("property__host").filter(lock=lock).first()


def notify_first_entries(lock: Lock, now: datetime) -> None:
    assignment = _assignment(lock)
    if assignment is None or not assignment.notify_first_entry:
        return
    entered = AccessCode.objects.filter(
        lock=lock, first_used_at__gte=now - NEWS_TOO_OLD, first_use_notified_at__isnull=True, booking__property=assignment.property
    ).select_related("booking__property__host")
    for code in entered:
        if AccessCode.objects.filter(pk=code.pk, first_use_notified_at__isnull=True).update(first_use_notified_at=now):
            notifications.guest_first_entry(code)


def notify_unused_codes(lock: Lock, now: datetime) -> None:
    """At the end of check-in day (property time), a current code never used: the host is told once."""
    assignment = _assignment(lock)
    if assignment is None or not assignment.notify_unused_code:
        return
    tz_name = assignment.property.time_zone
    candidates = AccessCode.objects.filter(
        lock=lock,
        is_current=True,
        activated_at__isnull=False,
        first_used_at__isnull=True,
        unused_notified_at__isnull=True,
        booking__property=assignment.property,
        # Check-in days that ended within NEWS_TOO_OLD, with a day either side for time zones.
        booking__arrival_date__gte=now.date() - timedelta(days=2),
        booking__arrival_date__lte=now.date(),
    ).select_related("booking__property__host")
    for code in candidates:
        day_over = windows.local_midnight_after(code.booking.arrival_date, tz_name)
        if not day_over <= now < day_over + NEWS_TOO_OLD:
            continue
        if AccessCode.objects.filter(pk=code.pk, unused_notified_at__isnull=True).update(unused_notified_at=now):
            notifications.code_unused(code)


def end_of_check_in_day(code: AccessCode) -> datetime:
    """When a code not used yet is worth telling the host about (the scheduler reads the log then)."""
    return windows.local_midnight_after(code.booking.arrival_date, code.booking.property.time_zone)
