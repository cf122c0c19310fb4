"""Connecting an account: store what a sign-in yielded, resume waiting work, read the locks."""

from django.db import transaction

from locks.models import AccountStatus, ProviderAccount
from locks.providers.base import ConnectResult
from locks.providers.exceptions import ProviderError
from locks.services.accounts import account_reconnected, account_refresh_locks, disconnecting_refusal


def account_connect(*, host, provider: str, result: ConnectResult) -> ProviderAccount:
    """Store a successful sign-in for `host` (a first connection or a reconnection) and read the locks.

    A lock list the vendor fails to give is not a failed connection: the host can refresh later.
    While the account is still disconnecting this raises VendorUnavailable (a message for the host)
    and stores nothing: the disconnection would delete the new credentials when it ends.
    """
    with transaction.atomic():
        account, created = ProviderAccount.objects.select_for_update().get_or_create(
            host=host,
            provider=provider,
            defaults={
                "credentials": result.credentials,
                "token_expires_at": result.expires_at,
                "display_name": result.display_name,
                "status": AccountStatus.CONNECTED,
            },
        )
        if not created:
            if account.status == AccountStatus.DISCONNECTING:
                raise disconnecting_refusal(account)
            account_reconnected(
                account=account, credentials=result.credentials, expires_at=result.expires_at, display_name=result.display_name
            )
    try:
        account_refresh_locks(account=account)
    except ProviderError as error:
        ProviderAccount.objects.filter(pk=account.pk).update(last_error=f"Locks could not be read yet: {error.message}"[:500])
    return account
