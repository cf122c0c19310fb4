"""API tokens: create (the plain token is returned once), revoke, authenticate.

Tokens are `nwk_` + 32 random bytes (URL-safe base64). Only their SHA-256 digest is stored and a
presented token is found by its digest, so the comparison is an indexed lookup of a value an
attacker cannot choose the preimage of (no timing oracle on the secret itself).

A host holds at most API_MAX_TOKENS_PER_HOST active tokens (neither revoked nor expired): the API's
rate limit counts per host, and a bounded list is one a host can still review. Creating and
revoking a token are written to the host's security log (its name and scopes, never the token).
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts.events import record_security_event
from accounts.models import SecurityEventKind
from bookings.api.limits import max_tokens_per_host
from bookings.api.models import ApiToken

TOKEN_PREFIX = "nwk_"
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8  # what the host sees of a token: enough to tell two apart in the list
# last_used_at is written at most this often per token (not on every request).
LAST_USED_RESOLUTION = timedelta(minutes=1)
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length


def token_digest(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def too_many_tokens_message(limit: int) -> str:
    return ngettext(
        "You already have %(limit)d active API token, the most a host can hold. Revoke it if you no longer use it, "
        "then create the new one (revoked and expired tokens do not count).",
        "You already have %(limit)d active API tokens, the most a host can hold. Revoke one you no longer use, "
        "then create the new one (revoked and expired tokens do not count).",
        limit,
    ) % {"limit": limit}


def scopes_text(token: ApiToken) -> str:
    return "bookings, guests' PINs (read_pins)" if token.read_pins else "bookings (no PINs)"


def expiry_text(token: ApiToken) -> str:
    return f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "never expires"


def _lock_host(host) -> None:
    """Serialise the token changes of one host (PostgreSQL row lock; SQLite serialises writers), so
    two simultaneous creations cannot both pass the cap."""
    get_user_model().objects.select_for_update().filter(pk=host.pk).first()


def _refuse_over_the_cap(host) -> None:
    limit = max_tokens_per_host()
    if ApiToken.objects.filter(host=host).active().count() >= limit:
        raise ValidationError(too_many_tokens_message(limit), code="too_many_tokens")


def _save_new(*, host, name: str, read_pins: bool, plain: str, expires_at: datetime | None) -> ApiToken:
    token = ApiToken(
        host=host, name=name.strip(), read_pins=read_pins, prefix=plain[:PREFIX_LENGTH], token_hash=token_digest(plain),
        expires_at=expires_at,
    )
    token.full_clean(exclude=["host"])
    _refuse_over_the_cap(host)
    token.save()
    return token


def api_token_create(
    *, host, name: str, read_pins: bool = False, expires_at: datetime | None = None, request: HttpRequest | None = None
) -> tuple[ApiToken, str]:
    """A new token for `host`; returns it with its plain value, which is never available again.

    `expires_at` None: it never expires. Raises ValidationError (nothing saved) for a bad name, an
    expiry not in the future, or when the host already holds API_MAX_TOKENS_PER_HOST active tokens.
    """
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": gettext("An expiry must be in the future.")})
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        _lock_host(host)
        token = _save_new(host=host, name=name, read_pins=read_pins, plain=plain, expires_at=expires_at)
        record_security_event(
            kind=SecurityEventKind.API_TOKEN_CREATED, user=host, request=request,
            detail=f"“{token.name}”: {scopes_text(token)}; {expiry_text(token)}",
        )
    return token, plain


def api_token_revoke(*, token: ApiToken, request: HttpRequest | None = None) -> ApiToken:
    """Revoke at once (idempotent): the next request with it gets 401. Logged once, when it happens."""
    if token.revoked_at is None:
        with transaction.atomic():
            revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
            if revoked:
                record_security_event(
                    kind=SecurityEventKind.API_TOKEN_REVOKED, user=token.host, request=request,
                    detail=f"“{token.name}”: {scopes_text(token)}",
                )
        token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_authenticate(plain: str) -> ApiToken | None:
    """The active token (not revoked, not expired, its host active) whose value is `plain`, with its
    host loaded; else None, the same None whichever the reason."""
    if not plain or not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    now = timezone.now()
    token = ApiToken.objects.active(now).select_related("host").filter(token_hash=token_digest(plain), host__is_active=True).first()
    if token is None:
        return None
    _note_use(token, now)
    return token


def _note_use(token: ApiToken, now: datetime) -> None:
    """last_used_at, written at most once per LAST_USED_RESOLUTION per token (a conditional UPDATE,
    so simultaneous requests write it once)."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
    ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def api_token_set_fixed(*, host, name: str, plain: str, read_pins: bool) -> ApiToken:
    """Replace `host`'s tokens called `name` by one with a known value: for the local demo only
    (seed_api_token), so the interactive docs can be tried with a token printed at start-up. It
    never expires and counts toward the host's cap like any other."""
    if not plain.startswith(TOKEN_PREFIX):
        raise ValidationError({"token": f"An API token starts with {TOKEN_PREFIX}."})
    with transaction.atomic():
        _lock_host(host)
        ApiToken.objects.filter(host=host, name=name).delete()
        ApiToken.objects.filter(token_hash=token_digest(plain)).delete()
        return _save_new(host=host, name=name, read_pins=read_pins, plain=plain, expires_at=None)
