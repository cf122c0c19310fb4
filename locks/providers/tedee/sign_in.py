"""How a host connects a Tedee account (OAuth 2 + PKCE on Tedee's own page), and what a refused
sign-in tells them [TD howtos/authenticate.rst]."""

from django.utils.translation import gettext_noop

from locks.providers.base import OAuthSignIn
from locks.providers.exceptions import (
    NOT_CONFIGURED,
    OAUTH_CANCELLED,
    OAUTH_FAILED,
    OAUTH_NO_CODE,
    OAUTH_STATE,
    ProviderAuthError,
    ProviderError,
    RateLimited,
    VendorUnavailable,
)

METHODS = (OAuthSignIn(title=gettext_noop("Connect Tedee"), required_settings=("TEDEE_CLIENT_ID",), pkce=True),)
CONNECT_HINT = gettext_noop("Sign in on Tedee's own page; you never type a key or password here.")
# The connect panel's paragraphs about signing in (CONNECT_FINE_PRINT: the muted ones).
CONNECT_NOTES = (
    (
        gettext_noop("Tedee uses a secure OAuth connection: you sign in on Tedee's own page and approve the connection. You do not "
        "type a client ID, secret, API key or password here.")
    ),
)
CONNECT_FINE_PRINT = (
    gettext_noop(
        "Sign in with the Tedee account that owns or administers the lock. If you cancel or close the Tedee page, simply start again here."
    ),
)
ELIGIBILITY_HINT = gettext_noop(
    "A keypad is paired, the lock is reachable through a bridge, and this account is the lock's owner or an administrator."
)
# Tedee wants a verifier of exactly 43 characters for S256 [TD authenticate]: secrets.token_urlsafe(32).
CODE_VERIFIER_LENGTH = 43

REFUSED = "Tedee did not accept the sign-in. Nothing was connected; please start connecting Tedee again."
UNREACHABLE = "Tedee could not be reached. Nothing was connected; please try again in a few minutes."
MALFORMED = (
    "Tedee answered the sign-in with something we could not understand. Nothing was connected; "
    "please try again, and contact support if it keeps happening."
)

# The connect flow's own refusals (no Tedee request behind them), in Tedee's words.
FLOW_REFUSALS = {
    OAUTH_CANCELLED: "You cancelled the Tedee sign-in, so nothing was connected.",
    OAUTH_STATE: (
        "This Tedee sign-in could not be matched to one you started here, or it took longer than "
        "10 minutes. Nothing was connected; please start connecting Tedee again."
    ),
    OAUTH_FAILED: "Tedee could not complete the sign-in. Nothing was connected; please try again.",
    OAUTH_NO_CODE: MALFORMED,
    NOT_CONFIGURED: "Connecting Tedee is not set up on this server yet.",
}


def refusal(error: ProviderError) -> str:
    """What the host reads when a Tedee sign-in (the flow, or exchanging the code) failed with `error`."""
    if error.vendor_code in FLOW_REFUSALS:
        return FLOW_REFUSALS[error.vendor_code]
    if isinstance(error, ProviderAuthError):
        return REFUSED
    if isinstance(error, RateLimited):  # its message says when to try again
        return error.message
    if isinstance(error, VendorUnavailable) and error.vendor_code == "malformed":
        return MALFORMED
    return UNREACHABLE
