"""The one gateway from the services to a vendor: a provider session for a stored account.

Everything that reaches a vendor through a connected account comes here for its provider. The
gateway holds the account's one token store (the credentials and the `token_expires_at` column:
one expiry format, handed to the adapter as `AccountSession.expires_at`), serialises token
refreshes per account across worker processes (`serialise.one_at_a_time`, handed down as the
session's `serialise`), writes the audit row of every vendor request (`audited_call`) and marks
an account whose credentials the vendor refuses for reconnection.
"""

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.core.cache import cache

from locks import notifications
from locks.models import AccessCode, AccountStatus, CallOutcome, ProviderAccount, VendorCall
from locks.providers import rate_limits, registry
from locks.providers.base import AccountSession, LockProvider
from locks.providers.exceptions import (
    CodePending,
    OutcomeUnknown,
    ProviderAuthError,
    ProviderError,
    RateLimitedLocally,
    TransientProviderError,
    VendorUnavailable,
)
from locks.providers.http import requests_attempted
from locks.services.serialise import ACCOUNT_TOKEN_SCOPE, one_at_a_time

logger = logging.getLogger(__name__)

# Accounts whose stored credentials are still used (a disconnecting one revokes its codes first).
USABLE_ACCOUNT_STATES = (AccountStatus.CONNECTED, AccountStatus.NEEDS_RECONNECT, AccountStatus.DISCONNECTING)

Refresh = Callable[[dict], tuple[dict, datetime | None]]

# How long the workers waiting on an account's token lock take a failed refresh as their own answer
# rather than each asking the vendor again with the same credentials (a Retry-After, when longer).
FAILED_REFRESH_SHARED_FOR = timedelta(seconds=10)
FAILED_REFRESH_SHARED_AT_MOST = timedelta(minutes=5)


def provider_for_account(account: ProviderAccount) -> LockProvider:
    """The account's vendor adapter, with a session backed by the account's token store."""
    store = _TokenStore(account)
    session = AccountSession(
        account_id=account.pk,
        credentials=account.credentials,
        expires_at=account.token_expires_at,
        serialise=one_at_a_time,
        save_credentials=store.save_credentials,
        serialised_refresh=store.serialised_refresh,
    )
    store.session = session
    return registry.provider_for(account.provider, session)


class _TokenStore:
    """The account's credentials and token expiry, as one adapter session sees and stores them."""

    def __init__(self, account: ProviderAccount):
        self.account = account
        self.session: AccountSession | None = None

    def save_credentials(self, credentials: dict, expires_at: datetime | None) -> None:
        held = self.account.credentials
        with one_at_a_time(ACCOUNT_TOKEN_SCOPE, str(self.account.pk)):
            self._store_if_still_current(held, credentials, expires_at)

    def serialised_refresh(self, held: dict, refresh: Refresh) -> tuple[dict, datetime | None]:
        # One refresh per account at a time across workers; a refresh token is good for one use,
        # so tokens another worker stored meanwhile are adopted rather than refreshed again.
        # A worker that waited while another's refresh of these same credentials failed takes that
        # failure as its own: 32 workers behind a token endpoint answering 503 (or refusing the
        # refresh token) would otherwise each ask in turn, one after another.
        account = self.account
        with one_at_a_time(ACCOUNT_TOKEN_SCOPE, str(account.pk)):
            stored = ProviderAccount.objects.filter(pk=account.pk).values("credentials", "token_expires_at").first()
            if stored is not None and stored["credentials"] != held:
                self._adopt(stored["credentials"], stored["token_expires_at"])
                return stored["credentials"], stored["token_expires_at"]
            failed = _failed_refresh(account.pk, held)
            if failed is not None:
                raise failed
            try:
                # A token request is a write whatever asked for it: the account's writers wait on it.
                with rate_limits.calls_for(vendor=account.provider, account_id=account.pk, priority=rate_limits.WRITE):
                    before = requests_attempted()
                    try:
                        fresh, expires_at = refresh(held)
                    finally:
                        _token_requests.count = token_requests_attempted() + requests_attempted() - before
            except RateLimitedLocally:
                raise  # held back here, not refused by the vendor: the next worker may find room
            except ProviderError as error:
                _remember_failed_refresh(account.pk, held, error)
                raise
            self._store_if_still_current(held, fresh, expires_at)
            return fresh, expires_at

    def _store_if_still_current(self, held: dict, credentials: dict, expires_at: datetime | None) -> None:
        # Under the account's token lock. A disconnection (credentials deleted) or a reconnection
        # (other credentials) that happened while the vendor answered wins: nothing is written back.
        account = self.account
        stored = ProviderAccount.objects.filter(pk=account.pk).values("credentials", "status").first()
        if stored is None or stored["status"] not in USABLE_ACCOUNT_STATES or stored["credentials"] != held:
            return
        ProviderAccount.objects.filter(pk=account.pk).update(credentials=credentials, token_expires_at=expires_at)
        self._adopt(credentials, expires_at)

    def _adopt(self, credentials: dict, expires_at: datetime | None) -> None:
        self.account.credentials, self.account.token_expires_at = credentials, expires_at
        if self.session is not None:
            self.session.expires_at = expires_at


_token_requests = threading.local()


def token_requests_attempted() -> int:
    """How many of this thread's requests (`requests_attempted`) were token refreshes."""
    return getattr(_token_requests, "count", 0)


def _failed_refresh_key(account_id: int) -> str:
    return f"nowistay:failed-token-refresh:{account_id}"


def _credentials_digest(credentials: dict) -> str:
    # The cache (Redis, shared by the worker processes) never holds the credentials themselves.
    return hashlib.blake2b(json.dumps(credentials, sort_keys=True, default=str).encode(), digest_size=16).hexdigest()


def _remember_failed_refresh(account_id: int, credentials: dict, error: ProviderError) -> None:
    shared_for = FAILED_REFRESH_SHARED_FOR.total_seconds()
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        shared_for = min(max(shared_for, retry_after), FAILED_REFRESH_SHARED_AT_MOST.total_seconds())
    try:
        cache.set(_failed_refresh_key(account_id), (_credentials_digest(credentials), error), shared_for)
    except Exception:  # a cache that is down costs more token requests, never the refresh's own error
        logger.warning("could not share a failed token refresh", exc_info=True, extra={"account_id": account_id})


def _failed_refresh(account_id: int, credentials: dict) -> ProviderError | None:
    """The error of a refresh of these very credentials that failed moments ago, if any."""
    try:
        remembered = cache.get(_failed_refresh_key(account_id))
    except Exception:
        logger.warning("could not read a shared failed token refresh", exc_info=True, extra={"account_id": account_id})
        return None
    if not remembered or remembered[0] != _credentials_digest(credentials):
        return None
    return remembered[1]


# Read-backs: they may use only a share of each rate-limit window, so writes always find room.
READ_OPERATIONS = frozenset({"list_codes", "code_uses", "lock_health"})
# Operations that change something at the vendor: one held back part-way may have acted already.
CHANGING_OPERATIONS = frozenset({"create_code", "update_code", "delete_code", "issue_offline_code"})


def audited_call(*, account: ProviderAccount, operation: str, call: Callable, lock=None, code: AccessCode | None = None):
    """Run one vendor request and write its audit row. Unexpected errors become VendorUnavailable.

    A failure before any request left (the adapter's own checks, or our rate limit holding it back)
    is recorded as LOCAL, so the vendor's error rate counts only what the vendor answered (or
    failed to answer). The requests made count against the account's rate limits
    (locks.providers.rate_limits), read-backs at read priority.
    """
    started = time.monotonic()
    attempted_before, refreshes_before = requests_attempted(), token_requests_attempted()
    error: ProviderError | None = None
    priority = rate_limits.READ if operation in READ_OPERATIONS else rate_limits.WRITE
    try:
        with rate_limits.calls_for(vendor=account.provider, account_id=account.pk, priority=priority):
            return call()
    except RateLimitedLocally as caught:
        operation_sent = requests_attempted() - attempted_before - (token_requests_attempted() - refreshes_before)
        if operation not in CHANGING_OPERATIONS or not operation_sent:
            error = caught
            raise
        # Held back part-way through a write, after a request of it (not a token refresh) left:
        # what was sent may have acted, so the step looks before sending it again, as after a lost answer.
        error = OutcomeUnknown(
            f"{account.provider_name} was sent part of this request before our rate limit held back the rest; "
            "it is looked for before anything is sent again.",
            retry_after=caught.retry_after,
        )
        raise error from caught
    except ProviderError as caught:
        error = caught
        raise
    except Exception as caught:  # an adapter bug or a vendor answering garbage must not kill the claim
        logger.exception("unexpected error from %s %s", account.provider, operation, extra={"account_id": account.pk})
        error = VendorUnavailable(f"Unexpected answer from {account.provider_name}.")
        raise error from caught
    finally:
        _write_audit_row(VendorCall(
            account=account,
            provider=account.provider,
            operation=operation,
            access_code=code,
            lock=lock,
            outcome=_outcome(error, sent=requests_attempted() > attempted_before),
            error_kind=error.kind if error else "",
            error_message=error.message[:500] if error else "",
            duration_ms=int((time.monotonic() - started) * 1000),
        ))


def _outcome(error: ProviderError | None, *, sent: bool) -> str:
    if error is None or isinstance(error, CodePending):  # accepted: the vendor applies it later
        return CallOutcome.OK
    if not sent or isinstance(error, RateLimitedLocally):  # our limit held the operation back: it never left
        return CallOutcome.LOCAL
    if isinstance(error, OutcomeUnknown):
        return CallOutcome.UNKNOWN
    if isinstance(error, TransientProviderError):
        return CallOutcome.TRANSIENT
    return CallOutcome.PERMANENT


def account_unusable(account: ProviderAccount) -> ProviderError:
    """The error a step records when the account's credentials cannot be used."""
    name = account.provider_name
    if account.status == AccountStatus.DISCONNECTED:
        return ProviderAuthError(f"The {name} account was disconnected.")
    return ProviderAuthError(f"The {name} account needs reconnecting.")


def account_mark_needs_reconnect(*, account: ProviderAccount, error: ProviderError) -> None:
    """Flag the account and tell the host once, on the transition."""
    changed = ProviderAccount.objects.filter(pk=account.pk, status=AccountStatus.CONNECTED).update(
        status=AccountStatus.NEEDS_RECONNECT, last_error=error.message[:500]
    )
    if changed:
        account.status, account.last_error = AccountStatus.NEEDS_RECONNECT, error.message[:500]
        notifications.account_needs_reconnect(account)


# --- audit rows written together --------------------------------------------------------------------
# Within a worker's batch (`audit_rows_together`), audit rows wait at most this long and are written
# in one INSERT: one statement per created code saved. A worker killed meanwhile loses at most
# these few seconds of its audit, never a code's state (the steps write that at once).
AUDIT_WAIT_SECONDS = 2.0


class _AuditRows:
    def __init__(self):
        self.rows: list[VendorCall] = []
        self.since = 0.0

    def add(self, row: VendorCall) -> None:
        if not self.rows:
            self.since = time.monotonic()
        self.rows.append(row)
        if time.monotonic() - self.since >= AUDIT_WAIT_SECONDS:
            self.write()

    def write(self) -> None:
        rows, self.rows = self.rows, []
        if rows:
            VendorCall.objects.bulk_create(rows)


_batched_audit: ContextVar[_AuditRows | None] = ContextVar("batched_audit", default=None)


@contextmanager
def audit_rows_together() -> Iterator[None]:
    """The audit rows of the vendor calls made inside are written together, every few seconds and
    at the end (an error included)."""
    rows = _AuditRows()
    reset = _batched_audit.set(rows)
    try:
        yield
    finally:
        _batched_audit.reset(reset)
        rows.write()


def _write_audit_row(row: VendorCall) -> None:
    batched = _batched_audit.get()
    if batched is None:
        row.save(force_insert=True)
    else:
        batched.add(row)
