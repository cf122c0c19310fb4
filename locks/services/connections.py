"""Connecting an account: store what a sign-in yielded, resume waiting work, read the locks."""

from contextlib import AbstractContextManager, nullcontext

from django.db import transaction
from django.http import HttpRequest

from accounts.events import record_security_event
from accounts.models import SecurityEventKind
from locks.models import AccountStatus, ProviderAccount, validate_provider
from locks.providers.base import ConnectResult
from locks.providers.exceptions import ProviderError
from locks.services.accounts import account_reconnected, account_refresh_locks, disconnecting_refusal
from locks.services.serialise import ACCOUNT_TOKEN_SCOPE, one_at_a_time


def account_connect(*, host, provider: str, result: ConnectResult, request: HttpRequest | None = None) -> ProviderAccount:
    """Store a successful sign-in for `host` (a first connection or a reconnection), record it in
    the host's security log (from `request`'s address when given) and read the locks.

    A lock list the vendor fails to give is not a failed connection: the host can refresh later.
    While the account is still disconnecting this raises VendorUnavailable (a message for the host)
    and stores nothing: the disconnection would delete the new credentials when it ends.
    A provider the registry does not know is refused (ValidationError) before anything is stored.
    """
    validate_provider(provider)
    stored = None
    while stored is None:  # None: another sign-in created the account meanwhile; its lock is taken now
        stored = _store_sign_in(host=host, provider=provider, result=result, request=request)
    account, _created = stored
    try:
        account_refresh_locks(account=account)
    except ProviderError as error:
        ProviderAccount.objects.filter(pk=account.pk).update(last_error=f"Locks could not be read yet: {error.message}"[:500])
    return account


def _store_sign_in(*, host, provider: str, result: ConnectResult, request: HttpRequest | None) -> tuple[ProviderAccount, bool] | None:
    """The account created or reconnected, and whether it was created; None when another sign-in
    created it since it was looked up (the caller comes again, and takes that account's lock).

    The account's token lock comes before its row lock, in the order of the gateway's serialised
    refresh (token lock, then the row's update): the other order deadlocks against it on PostgreSQL.
    """
    known = ProviderAccount.objects.filter(host=host, provider=provider).values_list("pk", flat=True).first()
    with _token_lock(known), transaction.atomic():
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
        if not created and account.pk != known:
            return None
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
    return account, created


def _token_lock(account_id: int | None) -> AbstractContextManager:
    """The account's token lock (`account_reconnected` takes it again inside: it is re-entrant)."""
    return one_at_a_time(ACCOUNT_TOKEN_SCOPE, str(account_id)) if account_id is not None else nullcontext()
