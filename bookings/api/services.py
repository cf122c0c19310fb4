"""API tokens: create (the plain token is returned once), revoke, authenticate.

Tokens are `nwk_` + 32 random bytes (URL-safe base64). Only their SHA-256 digest is stored and a
presented token is found by its digest, so the comparison is an indexed lookup of a value an
attacker cannot choose the preimage of (no timing oracle on the secret itself).
"""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from bookings.api.models import ApiToken

TOKEN_PREFIX = "nwk_"
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8  # what the host sees of a token: enough to tell two apart in the list
# last_used_at is written at most this often per token (not on every request).
LAST_USED_RESOLUTION = timedelta(minutes=1)
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length


def token_digest(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def _save_new(*, host, name: str, read_pins: bool, plain: str) -> ApiToken:
    token = ApiToken(host=host, name=name.strip(), read_pins=read_pins, prefix=plain[:PREFIX_LENGTH], token_hash=token_digest(plain))
    token.full_clean(exclude=["host"])
    token.save()
    return token


def api_token_create(*, host, name: str, read_pins: bool = False) -> tuple[ApiToken, str]:
    """A new token for `host`; returns it with its plain value, which is never available again."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return _save_new(host=host, name=name, read_pins=read_pins, plain=plain), plain


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke at once (idempotent): the next request with it gets 401."""
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_authenticate(plain: str) -> ApiToken | None:
    """The active token whose value is `plain` (with its host loaded), else None."""
    if not plain or not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    token = (
        ApiToken.objects.select_related("host")
        .filter(token_hash=token_digest(plain), revoked_at__isnull=True, host__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_set_fixed(*, host, name: str, plain: str, read_pins: bool) -> ApiToken:
    """Replace `host`'s tokens called `name` by one with a known value: for the local demo only
    (seed_api_token), so the interactive docs can be tried with a token printed at start-up."""
    if not plain.startswith(TOKEN_PREFIX):
        raise ValidationError({"token": f"An API token starts with {TOKEN_PREFIX}."})
    with transaction.atomic():
        ApiToken.objects.filter(host=host, name=name).delete()
        ApiToken.objects.filter(token_hash=token_digest(plain)).delete()
        return _save_new(host=host, name=name, read_pins=read_pins, plain=plain)
