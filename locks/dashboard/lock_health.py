"""What reading a provider's locks back found (issue 19), for its panel: each lock's health, the
codes on it that Nowistay does not manage, the latest findings, and what "Check this lock now" says.

Read from the database only (what the read-back last stored), never a vendor; scoped to the
host's own account; two queries whatever the number of locks. No PIN of an unmanaged code ever
leaves this module: only its name and window.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext as _, ngettext

from locks.dashboard import panels
from locks.dashboard.panels import LockOption
from locks.models import BackupCode, BackupState, Lock, LockFinding, ProviderAccount, UnmanagedCode
from locks.moments import local_time
from locks.providers import registry
from locks.services.backup_pool import keeps_backups
from locks.services.read_back_request import ReadBackRequest, Refusal, read_back_possible

# The panel shows a handful of each lock's newest findings and says how many more there are.
FINDINGS_PER_LOCK = 5


@dataclass(frozen=True)
class UnmanagedLine:
    """An unmanaged code as the host reads it: its name and window, never its PIN."""

    name: str
    window: str


@dataclass(frozen=True)
class FindingLine:
    kind: str
    headline: str
    detail: str
    when: str


@dataclass
class LockHealth:
    lock: Lock
    time_zone: str
    unmanaged: list[UnmanagedLine] = field(default_factory=list)
    findings: list[FindingLine] = field(default_factory=list)
    more_findings: int = 0
    checkable: bool = False  # "Check this lock now" is offered
    backups_ready: int | None = None  # None: this lock keeps no backup codes (issue 20)

    @property
    def battery(self) -> str:
        percent = self.lock.battery_percent
        return "" if percent is None else _("battery %(percent)s %%") % {"percent": percent}

    @property
    def connection(self) -> str:
        lock = self.lock
        if lock.offline_since is not None:
            return _("offline since %(moment)s") % {"moment": self._time(lock.offline_since)}
        if lock.is_online is False:
            return _("offline")
        return _("online") if lock.is_online else ""

    @property
    def read_back(self) -> str:
        if self.lock.reconciled_at is None:
            return _("not read back yet")
        return _("last read back %(moment)s") % {"moment": self._time(self.lock.reconciled_at)}

    @property
    def capacity(self) -> str:
        held, capacity = self.lock.codes_held, self.lock.code_capacity
        if held is None:
            return ""
        if capacity is None:
            return ngettext("%(held)d code held", "%(held)d codes held", held) % {"held": held}
        return ngettext("%(held)d of %(capacity)d codes held", "%(held)d of %(capacity)d codes held", capacity) % {
            "held": held,
            "capacity": capacity,
        }

    @property
    def backups(self) -> str:
        if self.backups_ready is None:
            return ""
        ready = self.backups_ready
        return ngettext("%(count)d backup code ready", "%(count)d backup codes ready", ready) % {"count": ready}

    @property
    def summary(self) -> list[str]:
        """The lock's one line, in parts: only what is known."""
        return [part for part in (self.connection, self.battery, self.capacity, self.backups, self.read_back) if part]

    def _time(self, moment: datetime) -> str:
        return local_time(moment, self.time_zone)


def lock_zone(option: LockOption) -> str:
    """The zone a lock's times read in: its property's, else the lock's own, else the server's."""
    if option.assigned_to is not None:
        return option.assigned_to.time_zone
    return option.lock.vendor_time_zone or settings.TIME_ZONE


def window_text(code: UnmanagedCode, zone: str) -> str:
    def moment(value: datetime) -> str:
        return local_time(value, zone)

    if code.starts_at is None and code.ends_at is None:
        return _("always valid, no end")
    if code.ends_at is None:
        return _("from %(start)s, no end") % {"start": moment(code.starts_at)}
    if code.starts_at is None:
        return _("until %(end)s") % {"end": moment(code.ends_at)}
    return _("%(start)s → %(end)s") % {"start": moment(code.starts_at), "end": moment(code.ends_at)}


def latest_findings(account: ProviderAccount):
    """The account's findings, each lock's newest FINDINGS_PER_LOCK, with the lock's total (one query)."""
    per_lock = {"partition_by": [F("lock_id")]}
    return (
        LockFinding.objects.filter(lock__account=account)
        .annotate(
            rank=Window(RowNumber(), order_by=[F("created_at").desc(), F("id").desc()], **per_lock),
            total=Window(Count("id"), **per_lock),
        )
        .filter(rank__lte=FINDINGS_PER_LOCK)
        .order_by("lock_id", "rank")
    )


def lock_health(account: ProviderAccount, options: list[LockOption]) -> list[LockHealth]:
    """One entry per lock that can take guest codes (the others are never read back)."""
    checkable = read_back_possible(account)
    cards = {
        option.lock.pk: LockHealth(option.lock, lock_zone(option), checkable=checkable)
        for option in options
        if option.lock.supports_remote_codes
    }
    for code in UnmanagedCode.objects.filter(lock__account=account).only("lock", "name", "starts_at", "ends_at"):
        card = cards.get(code.lock_id)
        if card is not None:
            card.unmanaged.append(UnmanagedLine(code.name or _("unnamed code"), window_text(code, card.time_zone)))
    if keeps_backups(registry.provider_class(account.provider)):
        ready = BackupCode.objects.filter(lock__account=account, state=BackupState.READY).values("lock_id").annotate(n=Count("id"))
        counts = {row["lock_id"]: row["n"] for row in ready}
        for lock_id, card in cards.items():
            card.backups_ready = counts.get(lock_id, 0)
    for finding in latest_findings(account):
        card = cards.get(finding.lock_id)
        if card is not None:
            card.findings.append(
                FindingLine(finding.kind, finding.get_kind_display(), finding.detail, local_time(finding.created_at, card.time_zone))
            )
            card.more_findings = finding.total - FINDINGS_PER_LOCK if finding.total > FINDINGS_PER_LOCK else 0
    return list(cards.values())


def lock_health_card(account: ProviderAccount, lock: Lock) -> LockHealth:
    """The panel's entry for one lock that can take guest codes."""
    options = [option for option in panels.lock_options(account) if option.lock.pk == lock.pk]
    (card,) = lock_health(account, options)
    return card


def check_now_message(answer: ReadBackRequest, health: LockHealth, vendor: str) -> str:
    """What the host reads after pressing "Check this lock now", times in the lock's zone."""
    values = {
        "lock": health.lock.name,
        "vendor": vendor,
        "again": local_time(answer.again_at, health.time_zone) if answer.again_at else "",
        "usage": answer.usage.words() if answer.usage is not None else "",
        "times": settings.LOCKS_READ_BACKS_PER_LOCK_PER_DAY,
    }
    match answer.refusal:
        case None if answer.usage is not None:
            return _(
                "Nowistay is checking %(lock)s now; results appear here in a minute. This spends calls of your %(vendor)s account, "
                "which is close to its limit (%(usage)s)."
            ) % values
        case None:
            return _("Nowistay is checking %(lock)s now; results appear here in a minute.") % values
        case Refusal.OVER_BUDGET:
            return _(
                "Your %(vendor)s account has used the calls %(vendor)s allows (%(usage)s); the calls left go to "
                "creating and removing guests' codes, so %(lock)s can be checked again from %(again)s."
            ) % values
        case Refusal.UNDER_WAY:
            return _(
                "Nowistay is checking %(lock)s already, or has just checked it; results appear here in a minute. "
                "You can ask again from %(again)s."
            ) % values
        case Refusal.SPENT:
            return _(
                "%(lock)s has been read back %(times)d times today, the most Nowistay reads a lock "
                "in a day; you can check it again from %(again)s."
            ) % values
        case Refusal.VENDOR_WAIT:
            return _(
                "%(vendor)s asked Nowistay to slow down, so changes to your codes go first; you can check %(lock)s from %(again)s."
            ) % values
        case Refusal.NOT_CONNECTED:
            return _("%(vendor)s no longer accepts Nowistay's access: sign in again above, then check %(lock)s.") % values
        case Refusal.CANNOT_READ_BACK:
            return _("%(vendor)s does not let Nowistay read its locks back, so %(lock)s cannot be checked.") % values
