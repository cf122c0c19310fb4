"""A vendor API budget per lock account (issue 21): the calls each account sent today and this
month, counted from the vendor-call audit, a forecast for the month, and what Nowistay does near
the vendor's limit.

Counted: every `VendorCall` of the account except those our own checks refused before sending
(`CallOutcome.LOCAL`: no request left). Each vendor's day and month are counted in its reset
convention: TTLock's monthly quota resets on the 1st, Beijing time (reference addendum §7, [T-ERR]);
no other vendor documents one, so theirs are counted in UTC.

The budgets are settings per vendor slug: `LOCKS_VENDOR_MONTHLY_BUDGET` (TTLock 5,000: the cap users
report; the Open Platform's own numbers are UNVERIFIED) and `LOCKS_VENDOR_DAILY_BUDGET` (Tedee: 700
requests an hour per user account, 16,800 a day). A vendor without either shows its counts only.

Forecast for the month: the calls so far plus the pace of the last `PACE_WINDOW` (7 days, or since
the account was connected when that is shorter, never under a day) times what is left of the
month. Month-to-date divided by the elapsed fraction of the month would forecast 30 times the
first day's calls on the 1st, and a quiet week at the start of the month would hide a busy last week.

Near the limit (`Usage.near`: this month's calls at `NEAR_USED_SHARE` of the monthly budget, or the
forecast at `NEAR_FORECAST_SHARE`, or today's calls at `NEAR_USED_SHARE` of the daily budget), the
non-urgent reads are deferred: the read-backs spread over the day and the end-of-check-in-day one
(locks.services.read_back_schedule), and the access-log reads of every read-back
(locks.services.read_back). Read-backs before check-ins (T-24 h, T-2 h) and those confirming a write
go on, as do creates, changes and deletes. The host is emailed once per month per account
(`ProviderAccount.budget_warned_at`, claimed by one conditional UPDATE) and the provider panel says
so. Past the limit (`Usage.over`), "Check this lock now" is refused until the budget resets
(locks.services.read_back_request); near it, it is done and the host told it spends calls.

Every count is one grouped query, whatever the number of accounts or audit rows; the index
`vendorcall_account_idx` (account, created_at) serves it.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q
from django.utils import dateformat
from django.utils.formats import number_format
from django.utils.translation import gettext as _, gettext_lazy

from locks import moments, notifications
from locks.models import AccountStatus, CallOutcome, ProviderAccount, VendorCall, provider_name

logger = logging.getLogger(__name__)

NEAR_USED_SHARE = 0.8  # calls used so far, of the budget: past it, non-urgent reads are deferred
NEAR_FORECAST_SHARE = 0.9  # the month's forecast, of the monthly budget: likewise
PACE_WINDOW = timedelta(days=7)
# The first hours after connecting (locks listed, codes created for the coming days) are a burst, not a pace.
MIN_PACE_WINDOW = timedelta(days=1)
# The vendor's counting zone. TTLock: "resets on the 1st (Beijing time)" [T-ERR]. Others: UTC, undocumented.
QUOTA_ZONES = {"ttlock": "Asia/Shanghai"}
ZONE_NAMES = {"Asia/Shanghai": gettext_lazy("Beijing time")}


class Level(StrEnum):
    OK = "ok"
    NEAR = "near"  # non-urgent reads deferred
    OVER = "over"  # the budget is used up: "Check this lock now" refused too


@dataclass(frozen=True)
class Period:
    """The vendor's counting day and month around a moment (UTC datetimes; the end is exclusive)."""

    zone: str
    day_start: datetime
    day_end: datetime
    month_start: datetime
    month_end: datetime

    @property
    def zone_name(self) -> str:
        return str(ZONE_NAMES.get(self.zone, self.zone))

    @property
    def last_day(self) -> str:
        """The month's last day as the host reads it, e.g. "31 Dec"."""
        return dateformat.format(self.month_end.astimezone(ZoneInfo(self.zone)) - timedelta(days=1), "j M")


def period_of(provider: str, now: datetime) -> Period:
    zone = QUOTA_ZONES.get(provider, "UTC")
    local = now.astimezone(ZoneInfo(zone))
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    next_month = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
    next_day = day + timedelta(days=1)  # wall-clock arithmetic: the next local midnight
    return Period(zone, day.astimezone(UTC), next_day.astimezone(UTC), month.astimezone(UTC), next_month.astimezone(UTC))


def monthly_budget(provider: str) -> int | None:
    return settings.LOCKS_VENDOR_MONTHLY_BUDGET.get(provider) or None


def daily_budget(provider: str) -> int | None:
    return settings.LOCKS_VENDOR_DAILY_BUDGET.get(provider) or None


def budgeted_providers() -> list[str]:
    return sorted({slug for slug in {**settings.LOCKS_VENDOR_MONTHLY_BUDGET, **settings.LOCKS_VENDOR_DAILY_BUDGET} if _has_budget(slug)})


def _has_budget(provider: str) -> bool:
    return monthly_budget(provider) is not None or daily_budget(provider) is not None


@dataclass(frozen=True)
class Usage:
    """One account's calls in its vendor's day and month, with the month's forecast."""

    account_id: int
    provider: str
    period: Period
    today: int
    month: int
    forecast: int
    monthly_budget: int | None
    daily_budget: int | None

    @property
    def vendor(self) -> str:
        return provider_name(self.provider)

    @property
    def capped(self) -> bool:
        return self.monthly_budget is not None or self.daily_budget is not None

    @property
    def month_share(self) -> float | None:
        return self.month / self.monthly_budget if self.monthly_budget else None

    @property
    def forecast_share(self) -> float | None:
        return self.forecast / self.monthly_budget if self.monthly_budget else None

    @property
    def day_share(self) -> float | None:
        return self.today / self.daily_budget if self.daily_budget else None

    @property
    def share(self) -> float | None:
        """The larger of this month's and today's share of their budgets; None without a cap."""
        shares = [share for share in (self.month_share, self.day_share) if share is not None]
        return max(shares) if shares else None

    @property
    def level(self) -> Level:
        if self.share is None:
            return Level.OK
        if self.share >= 1:
            return Level.OVER
        if self.share >= NEAR_USED_SHARE or (self.forecast_share or 0) >= NEAR_FORECAST_SHARE:
            return Level.NEAR
        return Level.OK

    @property
    def near(self) -> bool:
        """Near the limit or past it: non-urgent reads are deferred."""
        return self.level != Level.OK

    @property
    def over(self) -> bool:
        return self.level == Level.OVER

    @property
    def resets_at(self) -> datetime:
        """When the used-up budget starts again: the next month, or the next day for a daily budget."""
        if self.month_share is not None and self.month_share >= 1:
            return self.period.month_end
        return self.period.day_end

    @property
    def percent(self) -> str:
        return f"{100 * self.share:.0f} %" if self.share is not None else "—"

    def month_words(self) -> str:
        """E.g. "API use this month: 3,210 of 5,000 calls (forecast 4,950 by 31 Dec)"."""
        values = {"month": _grouped(self.month), "budget": _grouped(self.monthly_budget or 0), "forecast": _grouped(self.forecast)}
        values["last_day"] = self.period.last_day
        if self.monthly_budget:
            return _("API use this month: %(month)s of %(budget)s calls (forecast %(forecast)s by %(last_day)s)") % values
        return _("API use this month: %(month)s calls (forecast %(forecast)s by %(last_day)s)") % values

    def words(self) -> str:
        """The figure that matters most: this month's against a monthly budget, else today's against a daily one."""
        return self.day_words() if self.daily_budget and not self.monthly_budget else self.month_words()

    def day_words(self) -> str:
        if self.daily_budget:
            today, budget = _grouped(self.today), _grouped(self.daily_budget)
            return _("API use today: %(today)s of %(budget)s calls") % {"today": today, "budget": budget}
        return _("API use today: %(today)s calls") % {"today": _grouped(self.today)}


def deferral_words(usage: Usage) -> list[str]:
    """What Nowistay does near the limit, for the host (the provider panel and the email)."""
    values = {
        "vendor": usage.vendor,
        "month": usage.month_words(),
        "day": usage.day_words(),
        "last_day": usage.period.last_day,
        "zone": usage.period.zone_name,
    }
    if usage.month_share is not None and (usage.month_share >= NEAR_USED_SHARE or (usage.forecast_share or 0) >= NEAR_FORECAST_SHARE):
        deferred = _(
            "So that guests' codes keep being created, changed and removed, Nowistay now checks your %(vendor)s locks only "
            "before check-ins (24 hours and 2 hours before) and after a change, and no longer reads their access logs, until "
            "%(vendor)s's month ends (%(last_day)s, %(zone)s). Emails about guests' first entry and unused codes wait until then."
        )
    else:
        deferred = _(
            "So that guests' codes keep being created, changed and removed, Nowistay now checks your %(vendor)s locks only "
            "before check-ins (24 hours and 2 hours before) and after a change, and no longer reads their access logs, until "
            "the day ends (%(zone)s). Emails about guests' first entry and unused codes wait until then."
        )
    words = [_("Your %(vendor)s account is close to the calls %(vendor)s allows: %(month)s; %(day)s.") % values, deferred % values]
    if usage.over:
        until = moments.utc_time(usage.resets_at)
        words.append(_("The limit is reached: “Check this lock now” is off until %(moment)s.") % {"moment": until})
    return words


def usage_of_accounts(accounts: Iterable[ProviderAccount], now: datetime) -> dict[int, Usage]:
    """Each account's usage, by account id: one query, whatever the number of accounts or calls."""
    accounts = list(accounts)
    if not accounts:
        return {}
    counts = _counts(Q(account_id__in=[account.pk for account in accounts]), {account.provider for account in accounts}, now)
    return {account.pk: _usage(account, counts.get(account.pk, {}), now) for account in accounts}


def usage_of_all_accounts(now: datetime) -> tuple[list[ProviderAccount], dict[int, Usage]]:
    """Every account (staff) with its usage: two queries, the accounts and one count for them all."""
    accounts = list(ProviderAccount.objects.select_related("host").order_by("pk"))
    counts = _counts(Q(account__isnull=False), {account.provider for account in accounts}, now)
    return accounts, {account.pk: _usage(account, counts.get(account.pk, {}), now) for account in accounts}


def account_usage(account: ProviderAccount, now: datetime) -> Usage:
    return usage_of_accounts([account], now)[account.pk]


def _counts(accounts: Q, providers: set[str], now: datetime) -> dict[int, dict]:
    periods = {slug: period_of(slug, now) for slug in providers}
    if not periods:
        return {}
    month, today = Q(pk__in=[]), Q(pk__in=[])
    for slug, period in periods.items():
        month |= Q(provider=slug, created_at__gte=period.month_start)
        today |= Q(provider=slug, created_at__gte=period.day_start)
    since = min([period.month_start for period in periods.values()] + [now - PACE_WINDOW])
    rows = (
        VendorCall.objects.filter(accounts, created_at__gte=since, created_at__lte=now)
        .exclude(outcome=CallOutcome.LOCAL)
        .values("account_id")
        .annotate(
            month=Count("id", filter=month),
            today=Count("id", filter=today),
            recent=Count("id", filter=Q(created_at__gte=now - PACE_WINDOW)),
        )
        .order_by()
    )
    return {row["account_id"]: row for row in rows}


def _usage(account: ProviderAccount, row: dict, now: datetime) -> Usage:
    period = period_of(account.provider, now)
    month, recent = row.get("month", 0), row.get("recent", 0)
    window = min(PACE_WINDOW, max(MIN_PACE_WINDOW, now - account.connected_at))
    forecast = month + round(recent * ((period.month_end - now) / window))
    budgets = monthly_budget(account.provider), daily_budget(account.provider)
    return Usage(account.pk, account.provider, period, row.get("today", 0), month, forecast, *budgets)


def accounts_near_limit(accounts: Iterable[ProviderAccount], now: datetime) -> set[int]:
    """The ids of those accounts whose non-urgent reads are deferred (one query; none without a cap)."""
    capped = [account for account in accounts if _has_budget(account.provider)]
    return {account_id for account_id, usage in usage_of_accounts(capped, now).items() if usage.near}


def api_budget_warn_hosts(*, now: datetime) -> int:
    """Email each host whose account came near its vendor's limit, once per month per account
    (the scheduler pass). Only accounts not yet warned this month are counted; the number emailed."""
    providers = budgeted_providers()
    if not providers:
        return 0
    not_warned = Q(pk__in=[])
    for slug in providers:
        month_start = period_of(slug, now).month_start
        not_warned |= Q(provider=slug) & (Q(budget_warned_at__isnull=True) | Q(budget_warned_at__lt=month_start))
    accounts = list(ProviderAccount.objects.filter(not_warned, status=AccountStatus.CONNECTED).select_related("host"))
    usages = usage_of_accounts(accounts, now)
    return sum(_warn_once(account, usages[account.pk], now) for account in accounts if usages[account.pk].near)


def _warn_once(account: ProviderAccount, usage: Usage, now: datetime) -> int:
    """Claim this month's warning with one conditional UPDATE, then email: a second pass finds it claimed."""
    month_start = usage.period.month_start
    claim = ProviderAccount.objects.filter(pk=account.pk).filter(Q(budget_warned_at__isnull=True) | Q(budget_warned_at__lt=month_start))
    if not claim.update(budget_warned_at=now):
        return 0
    account.budget_warned_at = now
    logger.info("account %s near its %s API budget: %s", account.pk, usage.vendor, usage.month_words())
    return int(notifications.api_budget_near(account, brand=usage.vendor, paragraphs=deferral_words(usage)))


def _grouped(number: int) -> str:
    """3,210 in English, 3 210 in French, 3.210 in German: the active language's grouping."""
    return number_format(number, force_grouping=True)
