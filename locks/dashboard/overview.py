"""The integrations page's cards and the disconnect preview, read from the database only: never a
vendor call here (a provider's panel and its rows are `panels`)."""

from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone

from bookings.models import SMART_LOCK_ELIGIBLE, Property
from locks.dashboard.panels import connect_hint, is_connected, is_disconnecting, revokes_remotely
from locks.models import AccessCode, CodeState, LockAssignment, ProviderAccount, provider_name
from locks.providers import registry

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

    @property
    def disconnecting(self) -> bool:
        return is_disconnecting(self.account)


def provider_cards(host) -> list[ProviderCard]:
    """One card per brand, in a fixed order; two queries whatever the number of locks."""
    accounts = {
        account.provider: account
        for account in ProviderAccount.objects.filter(host=host).annotate(
            lock_count=Count("locks", distinct=True), assigned_count=Count("locks__assignment", distinct=True)
        )
    }
    cards = []
    for provider in registry.PROVIDER_CLASSES:
        account = accounts.get(provider)
        card = ProviderCard(provider, provider_name(provider), account, connect_hint(provider))
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


# --- disconnecting ---------------------------------------------------------------------------------

@dataclass
class DisconnectPreview:
    """What disconnecting will do, in the order docs/product.md gives ("Disconnect")."""

    provider_label: str
    revokes_remotely: bool
    upcoming_codes: list[AccessCode]
    assigned_properties: list[Property]
    staying_count: int

    @property
    def assigned_names(self) -> str:
        """The assigned properties' names, for the sentence that lists them (a list is not a sentence's word)."""
        return ", ".join(prop.name for prop in self.assigned_properties)


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
        provider_label=account.provider_name,
        revokes_remotely=revokes_remotely(account.provider),
        upcoming_codes=upcoming,
        assigned_properties=properties,
        staying_count=staying,
    )
