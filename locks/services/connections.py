"""Connecting an account: store what a sign-in yielded, resume waiting work, read the locks."""

from django.db import transaction
from django.http import HttpRequest

from accounts.events import record_security_event
from accounts.models import SecurityEventKind
from locks.models import AccountStatus, ProviderAccount
from locks.providers.base import ConnectResult
from locks.providers.exceptions import ProviderError
from locks.services.accounts import account_reconnected, account_refresh_locks, disconnecting_refusal


def account_connect(*, host, provider: str, result: ConnectResult, request: HttpRequest | None = None) -> ProviderAccount:
    """Store a successful sign-in for `host` (a first connection or a reconnection), record it in
    the host's security log (from `request`'s address when given) and read the locks.

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
        record_security_event(
            kind=SecurityEventKind.LOCK_ACCOUNT_CONNECTED,
            user=host,
            request=request,
            detail=f"{account.provider_name} account “{result.display_name}”{'' if created else ' (reconnected)'}",
        )
    try:
        account_refresh_locks(account=account)
    except ProviderError as error:
        ProviderAccount.objects.filter(pk=account.pk).update(last_error=f"Locks could not be read yet: {error.message}"[:500])
    return account
