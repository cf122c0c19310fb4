"""OAuth 2 authorization-code state for the vendor connect flows (Tedee, Nuki).

The `state` is random, bound to the signed-in host's session, single use, expires after
STATE_LIFETIME, and is compared in constant time. PKCE (S256) verifiers travel with it.
"""

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

STATE_LIFETIME_SECONDS = 600
_SESSION_KEY = "locks_oauth_pending"


class OAuthStateError(Exception):
    """The callback's state is missing, forged, replayed or expired; its message is for the host."""


@dataclass(frozen=True)
class PendingAuthorization:
    provider: str
    state: str
    code_verifier: str
    created_at: float

    @property
    def code_challenge(self) -> str:
        return pkce_challenge(self.code_verifier)


def pkce_challenge(verifier: str) -> str:
    """S256: base64url(sha256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def begin(session, provider: str) -> PendingAuthorization:
    """Create and remember a fresh state and PKCE verifier for `provider` in this session."""
    pending = PendingAuthorization(
        provider=provider,
        state=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        created_at=time.time(),
    )
    session[_SESSION_KEY] = {
        "provider": pending.provider,
        "state": pending.state,
        "code_verifier": pending.code_verifier,
        "created_at": pending.created_at,
    }
    return pending


def complete(session, provider: str, returned_state: str | None) -> PendingAuthorization:
    """Take the pending authorization out of the session (whatever happens: single use) and check it."""
    stored = session.pop(_SESSION_KEY, None)
    if not stored or stored.get("provider") != provider:
        raise OAuthStateError("This sign-in link is not one we started for you. Please start again from Connect.")
    if not returned_state or not hmac.compare_digest(str(stored["state"]).encode(), returned_state.encode()):
        raise OAuthStateError("The sign-in answer did not match the request we sent. Please start again from Connect.")
    if time.time() - float(stored["created_at"]) > STATE_LIFETIME_SECONDS:
        raise OAuthStateError("The sign-in took too long and expired. Please start again from Connect.")
    return PendingAuthorization(
        provider=stored["provider"],
        state=stored["state"],
        code_verifier=stored["code_verifier"],
        created_at=float(stored["created_at"]),
    )
