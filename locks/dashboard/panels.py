"""What the integrations pages show, read from the database only: never a vendor call here.

Every query is scoped to the host, and the number of queries does not grow with the number of
properties or locks (see benchmarks/dashboard.py).
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count
from django.http import Http404
from django.utils import timezone

from bookings.models import SMART_LOCK_ELIGIBLE, Property
from locks.dashboard.forms import AssignmentForm
from locks.models import AccessCode, AccountStatus, CodeState, Lock, LockAssignment, Provider, ProviderAccount
from locks.providers import registry
from locks.services.assignments import assignment_warnings

# What each brand's card says before the host connects (SPEC.md "Connecting a lock account").
CONNECT_HOW = {
    Provider.TTLOCK: "Sign in with your TTLock app username and password.",
    Provider.TEDEE: "Sign in on Tedee's own page; you never type a key or password here.",
    Provider.NUKI: "Sign in with Nuki, or paste a Nuki Web API token.",
    Provider.IGLOOHOME: "Paste the client ID and secret of an igloohome API client.",
}

# What the lock needs to appear as available (SPEC.md "Locks and assignments").
PREREQUISITES = {
    Provider.TTLOCK: "The lock is linked to a gateway (or is a WiFi lock) and supports V4 keypad passcodes.",
    Provider.TEDEE: (
        "A keypad is paired, the lock is reachable through a bridge, and this account is the lock's owner "
        "or an administrator."
    ),
    Provider.NUKI: "A keypad is paired and the lock is reachable through Nuki Web.",
    Provider.IGLOOHOME: "The lock supports algoPINs (remotely generated PINs).",
}


def sandbox_hint(provider: str) -> str:
    """What to type against the sandbox clouds (`make run`); empty against real vendors."""
    if not settings.SANDBOX_URL:
        return ""
    from locks.demo import SANDBOX_SIGN_IN_HINTS

    return SANDBOX_SIGN_IN_HINTS[provider]


def provider_or_404(slug: str) -> str:
    if slug not in Provider.values:
        raise Http404("No such lock provider.")
    return slug


def provider_label(provider: str) -> str:
    return Provider(provider).label


def takes_chosen_pins(provider: str) -> bool:
    return registry.provider_class(provider).capabilities.chosen_pins


def revokes_remotely(provider: str) -> bool:
    return registry.provider_class(provider).capabilities.remote_revoke


def is_connected(account: ProviderAccount | None) -> bool:
    return account is not None and account.status != AccountStatus.DISCONNECTED


def host_account(host, provider: str) -> ProviderAccount | None:
    return ProviderAccount.objects.filter(host=host, provider=provider).first()


def connected_account_or_404(host, provider: str) -> ProviderAccount:
    account = host_account(host, provider)
    if not is_connected(account):
        raise Http404("This lock provider is not connected.")
    return account


# --- the integrations page ----------------------------------------------------------------------

@dataclass
class ProviderCard:
    provider: str
    label: str
    account: ProviderAccount | None
    how_to_connect: str
    lock_count: int = 0
    assigned_count: int = 0

    @property
    def connected(self) -> bool:
        return is_connected(self.account)

    @property
    def needs_reconnect(self) -> bool:
        return self.connected and self.account.needs_reconnect


def provider_cards(host) -> list[ProviderCard]:
    """One card per brand, in a fixed order; two queries whatever the number of locks."""
    accounts = {
        account.provider: account
        for account in ProviderAccount.objects.filter(host=host).annotate(
            lock_count=Count("locks", distinct=True), assigned_count=Count("locks__assignment", distinct=True)
        )
    }
    cards = []
    for provider, label in Provider.choices:
        account = accounts.get(provider)
        card = ProviderCard(provider, label, account, CONNECT_HOW[provider])
        if is_connected(account):
            card.lock_count, card.assigned_count = account.lock_count, account.assigned_count
        cards.append(card)
    return cards


def eligibility_summary(host) -> dict[str, int]:
    return Property.objects.of_host(host).aggregate(
        total=Count("id"),
        eligible=Count("id", filter=SMART_LOCK_ELIGIBLE),
        with_lock=Count("lock_assignment"),
    )


# --- a provider's panel: lock assignments ---------------------------------------------------------

@dataclass
class LockOption:
    lock: Lock
    assigned_to: Property | None

    @property
    def disabled(self) -> bool:
        return not self.lock.supports_remote_codes

    @property
    def label(self) -> str:
        text = self.lock.name
        if self.disabled:
            return f"{text} — unavailable: {self.lock.unavailable_reason}"
        if self.lock.is_online is False:
            text += " (offline now; codes are retried)"
        return text


@dataclass
class AssignmentRow:
    """One eligible property in a provider's "Lock assignments" list."""

    property: Property
    provider: str
    form: AssignmentForm
    options: list[LockOption]
    assignment: LockAssignment | None
    warnings: list[str] = field(default_factory=list)
    message: str = ""
    error: str = ""

    @property
    def provider_label(self) -> str:
        return provider_label(self.provider)

    @property
    def has_this_brand(self) -> bool:
        return self.assignment is not None and self.assignment.lock.account.provider == self.provider

    @property
    def other_brand(self) -> str:
        if self.assignment is None or self.has_this_brand:
            return ""
        return self.assignment.lock.account.get_provider_display()

    @property
    def selected_lock_id(self) -> str:
        value = self.form["lock"].value()
        return "" if value in (None, "") else str(value)


def lock_options(account: ProviderAccount) -> list[LockOption]:
    locks = Lock.objects.filter(account=account).select_related("assignment__property").order_by("name", "id")
    return [LockOption(lock, _assigned_property(lock)) for lock in locks]


def _assigned_property(lock: Lock) -> Property | None:
    try:
        return lock.assignment.property
    except LockAssignment.DoesNotExist:
        return None


def eligible_properties(host):
    return (
        Property.objects.of_host(host)
        .eligible_for_smart_lock()
        .select_related("lock_assignment__lock__account")
        .order_by("name", "id")
    )


def eligible_property_or_404(host, property_id: int) -> Property:
    prop = eligible_properties(host).filter(pk=property_id).first()
    if prop is None:
        raise Http404("No such property.")
    return prop


def current_assignment(prop: Property) -> LockAssignment | None:
    try:
        return prop.lock_assignment
    except LockAssignment.DoesNotExist:
        return None


def assignment_initial(assignment: LockAssignment | None, provider: str) -> dict:
    if assignment is None or assignment.lock.account.provider != provider:
        return {}
    return {
        "lock": assignment.lock_id,
        "lead_days": assignment.lead_days,
        "margin_minutes": assignment.margin_minutes,
        "code_source": assignment.code_source,
    }


def assignment_form(prop: Property, provider: str, data=None) -> AssignmentForm:
    assignment = current_assignment(prop)
    return AssignmentForm(
        data,
        prefix=f"p{prop.pk}",
        initial=assignment_initial(assignment, provider),
        takes_chosen_pins=takes_chosen_pins(provider),
    )


def assignment_row(prop: Property, provider: str, options: list[LockOption], form: AssignmentForm | None = None, **notes) -> AssignmentRow:
    assignment = current_assignment(prop)
    warnings = []
    if assignment is not None and assignment.lock.account.provider == provider:
        warnings = assignment_warnings(assignment, on=timezone.localdate())
    return AssignmentRow(
        property=prop,
        provider=provider,
        form=form or assignment_form(prop, provider),
        options=options,
        assignment=assignment,
        warnings=warnings,
        **notes,
    )


def assignment_rows(host, provider: str, options: list[LockOption], bound: dict[int, AssignmentForm] | None = None) -> list[AssignmentRow]:
    bound = bound or {}
    return [assignment_row(prop, provider, options, bound.get(prop.pk)) for prop in eligible_properties(host)]


# --- disconnecting ---------------------------------------------------------------------------------

@dataclass
class DisconnectPreview:
    """What disconnecting will do, in the order SPEC.md gives."""

    provider_label: str
    revokes_remotely: bool
    upcoming_codes: list[AccessCode]
    assigned_properties: list[Property]
    staying_count: int


def disconnect_preview(account: ProviderAccount) -> DisconnectPreview:
    now = timezone.now()
    live = AccessCode.objects.filter(lock__account=account, is_current=True).exclude(
        state__in=[CodeState.REVOKED, CodeState.EXPIRED, CodeState.FAILED]
    )
    upcoming = list(live.filter(starts_at__gt=now).select_related("booking__property").order_by("starts_at"))
    staying = live.filter(starts_at__lte=now, state=CodeState.ACTIVE).count()
    properties = [
        assignment.property
        for assignment in LockAssignment.objects.filter(lock__account=account).select_related("property").order_by("property__name")
    ]
    return DisconnectPreview(
        provider_label=account.get_provider_display(),
        revokes_remotely=revokes_remotely(account.provider),
        upcoming_codes=upcoming,
        assigned_properties=properties,
        staying_count=staying,
    )
