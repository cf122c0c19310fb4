"""Provider slug -> adapter class. An explicit dict: what is supported is visible in one place."""

from locks.providers.base import AccountSession, LockProvider
from locks.providers.exceptions import OperationNotSupported
from locks.providers.homeit import HomeitProvider
from locks.providers.igloohome import IgloohomeProvider
from locks.providers.nuki import NukiProvider
from locks.providers.tedee import TedeeProvider
from locks.providers.ttlock import TTLockProvider

# In the order the host's pages list the brands.
PROVIDER_CLASSES: dict[str, type[LockProvider]] = {
    TTLockProvider.slug: TTLockProvider,
    TedeeProvider.slug: TedeeProvider,
    NukiProvider.slug: NukiProvider,
    IgloohomeProvider.slug: IgloohomeProvider,
    HomeitProvider.slug: HomeitProvider,
}


def provider_class(slug: str) -> type[LockProvider]:
    try:
        return PROVIDER_CLASSES[slug]
    except KeyError:
        raise OperationNotSupported(f"No adapter is installed for the provider “{slug}”.") from None


def provider_for(slug: str, session: AccountSession) -> LockProvider:
    return provider_class(slug)(session)
