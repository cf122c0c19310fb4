"""Typed errors and warnings of a booking's door code: one vocabulary for the API and the dashboard.

Modelled on Seam's access-code `errors[]` / `warnings[]` (docs: reference/integration-conventions.md
§2): each entry is a stable machine `code`, a `since` moment read from the data, and a plain
`message` for the host. An **error** means the guest's code is not, or may not be, what it should
be on the lock right now; a **warning** means it works but something about it deserves a look.

Errors

| code | since | derived from |
|---|---|---|
| `lock_offline` | first failure | last error kind `lock_offline` (lock or gateway unreachable) |
| `rate_limited` | first failure | last error kind `rate_limited` (the vendor asked to wait) |
| `vendor_unavailable` | first failure | kinds `vendor_unavailable`, `transient`, `outcome_unknown` |
| `credentials_revoked` | first failure | kind `auth`: the vendor account must be reconnected |
| `pin_rejected` | first failure | kinds `code_rejected`, `pin_taken`: the lock refused the PIN |
| `no_space_on_lock` | first failure | kind `storage_full` |
| `lock_not_found` | first failure | kind `lock_not_found`: the lock left the vendor account |
| `subscription_required` | first failure | kind `subscription_required` |
| `not_supported` | first failure | kind `not_supported` |
| `vendor_error` | first failure | any other recorded error kind |
| `missing_on_lock` | finding | a read-back found the code missing (put back, not yet seen again) |
| `modified_externally` | finding | a read-back found it changed outside Nowistay (restored, not yet seen again) |
| `unrevocable` | retired_at | a replaced or cancelled code that still works until its end |

Errors from an error kind are shown while the code is being retried or has failed; a finding's
error lasts until a later read-back shows the code on the lock as it should be.

Warnings

| code | since | derived from |
|---|---|---|
| `crosses_clock_change` | code planned | the stay (the code's window) crosses a daylight-saving change |
| `lock_time_zone_mismatch` | lock refreshed | the lock keeps another zone's time than the property |
| `not_confirmed_on_lock` | sent | a lock that lists its codes has not shown this one yet |
| `cannot_be_read_back` | activated | the brand cannot list codes: never confirmed on the lock |
| `retrying_past_alert` | alert moment | creation still failing after the moment the host is emailed |
| `fallback_code` | given | the guest holds an offline or backup code, their own was late |

Pure: no query beyond what the caller loaded (the booking's `access_codes` with `lock__account`
and each code's `findings`, as bookings.api.selectors prefetches them).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _, gettext_lazy

from bookings.models import Booking
from locks.clock_notes import booking_clock_notes
from locks.code_status import code_to_show
from locks.models import AccessCode, CodeState, FallbackKind
from locks.models.read_back import FindingKind, LockFinding
from locks.services.codes import capabilities_of


@dataclass(frozen=True)
class Problem:
    code: str
    since: datetime
    message: str


# The error kinds of locks.providers.exceptions (AccessCode.last_error_kind) → (error code, message).
ERROR_KINDS = {
    "lock_offline": ("lock_offline", gettext_lazy("The lock or its gateway is offline: the code cannot reach it.")),
    "rate_limited": ("rate_limited", gettext_lazy("The lock's vendor asked Nowistay to slow down: the code is sent when it allows.")),
    "vendor_unavailable": ("vendor_unavailable", gettext_lazy("The lock's vendor could not be reached: Nowistay keeps trying.")),
    "transient": ("vendor_unavailable", gettext_lazy("The lock's vendor answered with a temporary error: Nowistay keeps trying.")),
    "outcome_unknown": ("vendor_unavailable", gettext_lazy("The lock's vendor did not answer: Nowistay checks whether the code arrived.")),
    "auth": ("credentials_revoked", gettext_lazy("The vendor account no longer accepts Nowistay: reconnect it at Integrations.")),
    "code_rejected": ("pin_rejected", gettext_lazy("The lock refused the PIN: another PIN is needed.")),
    "pin_taken": ("pin_rejected", gettext_lazy("The PIN is already on the lock: another PIN is needed.")),
    "storage_full": ("no_space_on_lock", gettext_lazy("The lock's code memory is full: remove old codes in the vendor's app.")),
    "lock_not_found": (
        "lock_not_found",
        gettext_lazy("The lock is no longer in the vendor account: share it again or assign another lock."),
    ),
    "subscription_required": (
        "subscription_required",
        gettext_lazy("The lock needs a vendor subscription before it takes remote codes."),
    ),
    "not_supported": ("not_supported", gettext_lazy("The vendor does not support this for the lock.")),
}
OTHER_ERROR = ("vendor_error", gettext_lazy("The lock's vendor refused the code."))
NOT_ERRORS = frozenset({"pending_on_lock"})  # a write still being applied: the not_confirmed_on_lock warning

FINDING_ERRORS = {
    FindingKind.MISSING_ON_LOCK: (
        "missing_on_lock",
        gettext_lazy("The code was found missing on the lock and was put back; waiting to see it there again."),
    ),
    FindingKind.MODIFIED_EXTERNALLY: (
        "modified_externally",
        gettext_lazy("The code was changed outside Nowistay and was restored; waiting to see it on the lock again."),
    ),
}
FINDING_KINDS = tuple(FINDING_ERRORS)

ERROR_CODES = sorted({code for code, _ in ERROR_KINDS.values()} | {OTHER_ERROR[0], "unrevocable"} | {c for c, _ in FINDING_ERRORS.values()})
WARNING_CODES = sorted(
    {
        "crosses_clock_change", "lock_time_zone_mismatch", "not_confirmed_on_lock",
        "cannot_be_read_back", "retrying_past_alert", "fallback_code",
    }
)

LABELS = {
    "lock_offline": gettext_lazy("Lock offline"),
    "rate_limited": gettext_lazy("Vendor busy"),
    "vendor_unavailable": gettext_lazy("Vendor unreachable"),
    "credentials_revoked": gettext_lazy("Account needs reconnecting"),
    "pin_rejected": gettext_lazy("PIN refused"),
    "no_space_on_lock": gettext_lazy("Lock memory full"),
    "lock_not_found": gettext_lazy("Lock not in the account"),
    "subscription_required": gettext_lazy("Subscription needed"),
    "not_supported": gettext_lazy("Not supported"),
    "vendor_error": gettext_lazy("Vendor error"),
    "missing_on_lock": gettext_lazy("Was missing on the lock"),
    "modified_externally": gettext_lazy("Changed outside Nowistay"),
    "unrevocable": gettext_lazy("Cannot be revoked"),
    "crosses_clock_change": gettext_lazy("Clock change"),
    "lock_time_zone_mismatch": gettext_lazy("Lock clock"),
    "not_confirmed_on_lock": gettext_lazy("Not yet confirmed on the lock"),
    "cannot_be_read_back": gettext_lazy("Cannot be checked on the lock"),
    "retrying_past_alert": gettext_lazy("Still failing"),
    "fallback_code": gettext_lazy("Fallback code"),
}
# Shown on the dashboard in full already (the clock notes): not listed a second time there.
SHOWN_ELSEWHERE_ON_DASHBOARD = frozenset({"crosses_clock_change", "lock_time_zone_mismatch"})

_IN_TROUBLE = frozenset({CodeState.CREATING, CodeState.UPDATING, CodeState.REVOKING, CodeState.EXPIRING, CodeState.FAILED})
_ON_LOCK = frozenset({CodeState.ACTIVE, CodeState.UPDATING})
_OVER = frozenset({CodeState.REVOKED, CodeState.EXPIRED, CodeState.FAILED})


def code_errors(code: AccessCode | None, *, now: datetime) -> list[Problem]:
    """The errors of the code on show (locks.code_status.code_to_show), oldest first."""
    if code is None:
        return []
    errors = [problem for problem in (_kind_error(code), _unrevocable(code, now)) if problem is not None]
    errors += _finding_errors(code)
    return sorted(errors, key=lambda problem: problem.since)


def code_warnings(code: AccessCode | None, *, booking: Booking, now: datetime) -> list[Problem]:
    """The warnings of the code on show, oldest first."""
    warnings = _clock_warnings(booking, code)
    if code is not None and code.state not in _OVER:
        candidates = (_not_confirmed(code), _cannot_read_back(code), _past_alert(code, now), _fallback(code))
        warnings += [problem for problem in candidates if problem is not None]
    return sorted(warnings, key=lambda problem: problem.since)


def codes_with_findings() -> QuerySet[AccessCode]:
    """A booking's `access_codes` as the functions here read them (for Prefetch): lock and account,
    and the findings that can be errors, newest first. A constant number of queries per page."""
    findings = LockFinding.objects.filter(kind__in=FINDING_KINDS).order_by("-created_at", "-id")
    return AccessCode.objects.select_related("lock__account").prefetch_related(Prefetch("findings", queryset=findings)).order_by("-id")


def dashboard_items(booking: Booking, *, now: datetime) -> list[dict]:
    """The code on show's errors then warnings, as short labelled items for the host's pages."""
    code = code_to_show(booking.access_codes.all())
    items = [{"kind": "error", "problem": problem} for problem in code_errors(code, now=now)]
    items += [{"kind": "warning", "problem": problem} for problem in code_warnings(code, booking=booking, now=now)]
    return [
        {"kind": item["kind"], "code": item["problem"].code, "label": str(LABELS[item["problem"].code]), "message": item["problem"].message}
        for item in items
        if item["problem"].code not in SHOWN_ELSEWHERE_ON_DASHBOARD
    ]


def _kind_error(code: AccessCode) -> Problem | None:
    kind = code.last_error_kind
    if code.state not in _IN_TROUBLE or not (kind or code.last_error) or kind in NOT_ERRORS:
        return None
    name, message = ERROR_KINDS.get(kind, OTHER_ERROR)
    return Problem(name, code.first_failure_at or code.updated_at, str(message))


def _unrevocable(code: AccessCode, now: datetime) -> Problem | None:
    ends = code.lock_ends_at or code.ends_at
    if code.state != CodeState.SUPERSEDED or ends <= now:
        return None
    if capabilities_of(code.lock).remote_revoke:
        message = _("%(brand)s refused to revoke this code: it keeps working until its end.")
    else:
        message = _("%(brand)s codes cannot be revoked remotely: this one works until its end.")
    message %= {"brand": code.lock.account.provider_name}
    return Problem("unrevocable", code.retired_at or code.updated_at, message)


def _finding_errors(code: AccessCode) -> list[Problem]:
    """Findings newer than the code's last confirmation on the lock (one per kind, the latest)."""
    latest: dict[str, Problem] = {}
    for finding in code.findings.all():  # prefetched, newest first, of FINDING_KINDS only
        if finding.kind not in FINDING_ERRORS or finding.kind in latest:
            continue
        if code.confirmed_on_lock_at is not None and code.confirmed_on_lock_at > finding.created_at:
            continue
        name, message = FINDING_ERRORS[finding.kind]
        latest[finding.kind] = Problem(name, finding.created_at, str(message))
    return list(latest.values())


def _clock_warnings(booking: Booking, code: AccessCode | None) -> list[Problem]:
    notes = booking_clock_notes(booking, code)
    warnings = []
    if notes.change is not None:
        since = code.created_at if code is not None else booking.created_at
        warnings.append(Problem("crosses_clock_change", since, notes.change.message))
    if notes.lock_warning:
        warnings.append(Problem("lock_time_zone_mismatch", code.lock.last_refreshed_at or code.created_at, notes.lock_warning))
    return warnings


def _not_confirmed(code: AccessCode) -> Problem | None:
    if code.awaiting_lock_since is not None:
        message = _("Sent to the lock; the vendor has not shown it on the lock yet.")
        return Problem("not_confirmed_on_lock", code.awaiting_lock_since, message)
    if code.state not in _ON_LOCK or code.confirmed_on_lock_at is not None or not capabilities_of(code.lock).lists_codes:
        return None
    return Problem(
        "not_confirmed_on_lock", code.activated_at or code.updated_at, _("Accepted by the vendor, not yet seen on the lock by a read-back.")
    )


def _cannot_read_back(code: AccessCode) -> Problem | None:
    if code.state not in _ON_LOCK or capabilities_of(code.lock).lists_codes:
        return None
    message = _("%(brand)s cannot list a lock's codes: Nowistay cannot confirm this one is on the lock.") % {
        "brand": code.lock.account.provider_name
    }
    return Problem("cannot_be_read_back", code.activated_at or code.updated_at, message)


def _past_alert(code: AccessCode, now: datetime) -> Problem | None:
    retrying = code.state == CodeState.CREATING and code.next_attempt_at is not None and bool(code.last_error)
    if not retrying or code.alert_at > now:
        return None
    message = _("Still not on the lock after the moment you are emailed about it: Nowistay keeps trying.")
    return Problem("retrying_past_alert", code.alert_at, message)


def _fallback(code: AccessCode) -> Problem | None:
    if not code.fallback:
        return None
    if code.fallback == FallbackKind.OFFLINE:
        message = _("The guest has an offline code (their own did not reach the lock in time); it cannot be revoked remotely before use.")
    else:
        message = _("The guest has a backup code from the lock (their own did not reach the lock in time).")
    return Problem("fallback_code", code.created_at, message)
