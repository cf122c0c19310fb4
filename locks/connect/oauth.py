"""OAuth 2 authorization-code state for every vendor connect flow that signs in on the vendor's page.

The `state` is random, kept in the signed-in host's own session with the PKCE verifier, the
redirect URI and its creation time, single use (taken out of the session whatever happens next),
bound to the host who started it, valid for STATE_LIFETIME_SECONDS, and compared in constant time.

The verifier is 43 characters (32 random bytes, base64url): RFC 7636's minimum, and the exact length
some vendors' S256 sign-in insists on; vendors that take no PKCE (`OAuthSignIn.pkce`) are not sent it.
"""

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from django.utils.translation import gettext as _

STATE_LIFETIME_SECONDS = 600
SESSION_KEY = "locks_oauth_pending"


class OAuthStateError(Exception):
    """The callback's state is missing, forged, replayed or expired; its message is for the host."""


@dataclass(frozen=True)
class PendingAuthorization:
    provider: str
    state: str
    code_verifier: str
    created_at: float
    redirect_uri: str = ""
    user_id: int | None = None

    @property
    def code_challenge(self) -> str:
        return pkce_challenge(self.code_verifier)


def pkce_challenge(verifier: str) -> str:
    """S256: base64url(sha256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def begin(session, provider: str, *, redirect_uri: str = "", user_id: int | None = None) -> PendingAuthorization:
    """Create and remember a fresh state and PKCE verifier for `provider` in this session (a new
    start replaces a sign-in left unfinished)."""
    pending = PendingAuthorization(
        provider=provider,
        state=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(32),
        created_at=time.time(),
        redirect_uri=redirect_uri,
        user_id=user_id,
    )
    session[SESSION_KEY] = {
        "provider": pending.provider,
        "state": pending.state,
        "verifier": pending.code_verifier,
        "redirect_uri": pending.redirect_uri,
        "user_id": pending.user_id,
        "created_at": pending.created_at,
    }
    return pending


def complete(session, provider: str, returned_state: str | None, *, user_id: int | None = None) -> PendingAuthorization:
    """Take the pending authorization out of the session (whatever happens: single use) and check it."""
    stored = session.pop(SESSION_KEY, None)
    if not isinstance(stored, dict) or stored.get("provider") != provider or stored.get("user_id") != user_id:
        raise OAuthStateError(_("This sign-in link is not one we started for you. Please start again from Connect."))
    if not returned_state or not hmac.compare_digest(str(stored["state"]).encode(), returned_state.encode()):
        raise OAuthStateError(_("The sign-in answer did not match the request we sent. Please start again from Connect."))
    if time.time() - float(stored["created_at"]) > STATE_LIFETIME_SECONDS:
        raise OAuthStateError(_("The sign-in took too long and expired. Please start again from Connect."))
    return PendingAuthorization(
        provider=stored["provider"],
        state=stored["state"],
        code_verifier=stored["verifier"],
        created_at=float(stored["created_at"]),
        redirect_uri=stored.get("redirect_uri", ""),
        user_id=stored.get("user_id"),
    )
