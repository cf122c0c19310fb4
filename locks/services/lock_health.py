"""A lock's health as its vendor reports it: battery, online state, code capacity. A low battery or
a lock offline for long emails the host once, naming the properties and stays it affects; the
alert is armed again once the lock is healthy."""

from datetime import datetime, timedelta

from locks import notifications
from locks.models import LIVE_CODE_STATES, AccessCode, FindingKind, Lock, LockAssignment
from locks.providers.base import LockHealth, LockProvider
from locks.services import findings
from locks.services.vendor_accounts import audited_call

LOW_BATTERY_PERCENT = 20
LONG_OFFLINE = timedelta(hours=24)
STAYS_NAMED = 5  # the next stays an alert names


def read_health(lock: Lock, provider: LockProvider, now: datetime) -> LockHealth:
    health = audited_call(account=lock.account, operation="lock_health", lock=lock, call=lambda: provider.lock_health(lock.vendor_lock_id))
    apply_health(lock, health, now)
    return health


def apply_health(lock: Lock, health: LockHealth, now: datetime) -> None:
    offline_since = lock.offline_since
    if health.is_online is False:
        offline_since = offline_since or now
    elif health.is_online:
        offline_since = None
    reported = {
        "is_online": health.is_online,
        "battery_percent": health.battery_percent,
        "code_capacity": health.code_capacity,
        "codes_held": health.codes_held,
    }
    fields = {name: value for name, value in reported.items() if value is not None}
    fields.update(offline_since=offline_since, health_checked_at=now)
    Lock.objects.filter(pk=lock.pk).update(**fields)
    for name, value in fields.items():
        setattr(lock, name, value)
    _alert_or_rearm(lock, now)


def health_problems(lock: Lock, now: datetime) -> list[tuple[str, str]]:
    """(finding kind, plain words) of what is wrong with the lock now."""
    problems = []
    if lock.battery_percent is not None and lock.battery_percent <= LOW_BATTERY_PERCENT:
        problems.append((FindingKind.BATTERY_LOW, f"its battery is at {lock.battery_percent} %"))
    if lock.offline_since is not None and now - lock.offline_since >= LONG_OFFLINE:
        since = notifications.local_time(lock.offline_since, _zone_of(lock))
        problems.append((FindingKind.OFFLINE_LONG, f"it has been offline since {since}"))
    return problems


def _alert_or_rearm(lock: Lock, now: datetime) -> None:
    problems = health_problems(lock, now)
    if problems and lock.health_alert_sent_at is None:
        if Lock.objects.filter(pk=lock.pk, health_alert_sent_at__isnull=True).update(health_alert_sent_at=now):
            lock.health_alert_sent_at = now
            place = findings.place_of(lock)
            for kind, words in problems:
                findings.record_finding(lock, kind, f"{place}: {words}.")
            notifications.lock_needs_attention(
                lock, problems=[words for _, words in problems], properties=_properties(lock), stays=_next_stays(lock, now)
            )
    elif not problems and lock.offline_since is None and lock.health_alert_sent_at is not None:
        Lock.objects.filter(pk=lock.pk).update(health_alert_sent_at=None)
        lock.health_alert_sent_at = None


def _properties(lock: Lock) -> list[str]:
    return [assignment.property.name for assignment in LockAssignment.objects.select_related("property").filter(lock=lock)]


def _next_stays(lock: Lock, now: datetime) -> list[str]:
    codes = AccessCode.objects.filter(lock=lock, is_current=True, state__in=LIVE_CODE_STATES, ends_at__gt=now)
    return [notifications.stay_line(code.booking) for code in codes.select_related("booking__property").order_by("starts_at")[:STAYS_NAMED]]


def _zone_of(lock: Lock) -> str:
    assignment = LockAssignment.objects.select_related("property").filter(lock=lock).first()
    return assignment.property.time_zone if assignment else "UTC"
