"""The staff health page: what needs attention across every host, read from the database only."""

from datetime import timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from locks.models import AccessCode, AccountStatus, CallOutcome, CodeState, ProviderAccount, VendorCall
from locks.services.api_budget import usage_of_all_accounts

RETRYING_STATES = [CodeState.CREATING, CodeState.UPDATING, CodeState.REVOKING, CodeState.EXPIRING]
# The API budget table's orders (?budget_order=), largest first; accounts without a cap come last by share.
BUDGET_ORDERS = {
    "share": lambda usage: (usage.share if usage.share is not None else -1, usage.month),
    "month": lambda usage: (usage.month, usage.today),
    "today": lambda usage: (usage.today, usage.month),
    "forecast": lambda usage: (usage.forecast, usage.month),
}
BUDGET_ROWS_SHOWN = 200


def codes_by_state() -> list[dict]:
    counts = dict(AccessCode.objects.values_list("state").annotate(count=Count("id")).order_by())
    return [{"state": label, "value": value, "count": counts.get(value, 0)} for value, label in CodeState.choices]


def accounts_needing_reconnection():
    return ProviderAccount.objects.filter(status=AccountStatus.NEEDS_RECONNECT).select_related("host").order_by("updated_at")


def codes_retrying_longest(limit: int = 20):
    return (
        AccessCode.objects.filter(state__in=RETRYING_STATES, first_failure_at__isnull=False)
        .select_related("booking__property", "lock__account")
        .order_by("first_failure_at")[:limit]
    )


def vendor_error_rates(now=None) -> list[dict]:
    """Per vendor over 24 hours: requests sent and how many failed. Requests our own checks refused
    before sending (LOCAL) say nothing about the vendor: they are counted apart, not as errors."""
    since = (now or timezone.now()) - timedelta(hours=24)
    rows = (
        VendorCall.objects.filter(created_at__gte=since)
        .values("provider")
        .annotate(
            sent=Count("id", filter=~Q(outcome=CallOutcome.LOCAL)),
            transient=Count("id", filter=Q(outcome=CallOutcome.TRANSIENT)),
            permanent=Count("id", filter=Q(outcome=CallOutcome.PERMANENT)),
            unknown=Count("id", filter=Q(outcome=CallOutcome.UNKNOWN)),
            local=Count("id", filter=Q(outcome=CallOutcome.LOCAL)),
        )
        .order_by("provider")
    )
    report = []
    for row in rows:
        failed = row["transient"] + row["permanent"] + row["unknown"]
        rate = f"{100 * failed / row['sent']:.1f} %" if row["sent"] else "—"
        report.append({**row, "failed": failed, "error_rate": rate})
    return report


def api_budgets(now, order: str = "share") -> tuple[list[dict], int]:
    """Every account's vendor API use (locks.services.api_budget), largest first by `order`, at most
    BUDGET_ROWS_SHOWN of them, and how many more there are. Two queries, whatever the number of accounts."""
    accounts, usages = usage_of_all_accounts(now)
    key = BUDGET_ORDERS.get(order, BUDGET_ORDERS["share"])
    rows = [{"account": account, "usage": usages[account.pk]} for account in accounts]
    rows.sort(key=lambda row: key(row["usage"]), reverse=True)
    return rows[:BUDGET_ROWS_SHOWN], max(0, len(rows) - BUDGET_ROWS_SHOWN)


def health(request: HttpRequest) -> HttpResponse:
    """Every host's codes and accounts: for staff allowed to view access codes."""
    if not request.user.has_perm("locks.view_accesscode"):
        raise PermissionDenied
    now = timezone.now()
    order = request.GET.get("budget_order", "share")
    order = order if order in BUDGET_ORDERS else "share"
    budgets, more_budgets = api_budgets(now, order)
    context = {
        **admin.site.each_context(request),
        "title": "Smart-lock health",
        "codes_by_state": codes_by_state(),
        "accounts": accounts_needing_reconnection(),
        "retrying": codes_retrying_longest(),
        "vendors": vendor_error_rates(now),
        "budgets": budgets,
        "more_budgets": more_budgets,
        "budget_order": order,
        "budget_orders": list(BUDGET_ORDERS),
        "now": now,
    }
    return TemplateResponse(request, "admin/locks_health.html", context)
