"""How a host connects a Nuki account, and what a refused sign-in tells them:

- "Sign in with Nuki" (OAuth 2 authorization code, for installations with a Nuki integrator app:
  NUKI_CLIENT_ID and NUKI_CLIENT_SECRET); Nuki documents no PKCE parameter, so only the state is
  sent (see "Decisions" in the package docstring).
- A Nuki Web API token pasted into a form (Nuki Web > Menu > API), checked with `GET /account`,
  stored encrypted, never rendered back and never logged.
"""

from django.utils.translation import gettext_noop

from locks.providers.base import CredentialField, CredentialsSignIn, OAuthSignIn
from locks.providers.exceptions import (
    LOCAL_REFUSAL,
    NOT_CONFIGURED,
    OAUTH_CANCELLED,
    OAUTH_FAILED,
    OAUTH_NO_CODE,
    OAUTH_STATE,
    PermanentProviderError,
    ProviderAuthError,
    ProviderError,
    RateLimited,
    VendorUnavailable,
)
from locks.providers.nuki.client import USE_PKCE
from locks.providers.nuki.errors import MALFORMED

API_TOKEN_METHOD = "api-token"
METHODS = (
    OAuthSignIn(title=gettext_noop("Sign in with Nuki"), required_settings=("NUKI_CLIENT_ID", "NUKI_CLIENT_SECRET"), pkce=USE_PKCE),
    CredentialsSignIn(
        key=API_TOKEN_METHOD,
        title=gettext_noop("Paste a Nuki Web API token"),
        fields=(
            CredentialField(
                "token",
                gettext_noop("Nuki Web API token"),
                help_text=gettext_noop("In Nuki Web, open Menu > API and create an API token; paste it here. It is stored encrypted."),
                secret=True,
                max_length=512,
            ),
        ),
    ),
)
CONNECT_HINT = gettext_noop("Sign in with Nuki, or paste a Nuki Web API token.")
# The connect panel's paragraphs about signing in (CONNECT_FINE_PRINT: the muted ones).
CONNECT_NOTES = (
    (
        gettext_noop("Connect the Nuki locks of your Nuki Web account: paste a Nuki Web API token (Nuki Web, Menu > API), or sign in"
        " on Nuki's own page where this server offers it.")
    ),
)
CONNECT_FINE_PRINT = ()
ELIGIBILITY_HINT = gettext_noop("A keypad is paired and the lock is reachable through Nuki Web.")

# Our marker in `vendor_code` for an API token Nuki refused (401, or 403: a token without the rights).
API_TOKEN_REFUSED = "api token refused"

WRONG_TOKEN = (
    "Nuki did not accept this API token. Copy it again from Nuki Web (Menu > API); a token stops "
    "working when it is deleted or when the Nuki Web password changes."
)
REFUSED = "Nuki did not accept the sign-in, so nothing was connected. Please start connecting Nuki again."
UNREACHABLE = "Nuki could not be reached, so nothing was connected. Please try again in a few minutes."
MALFORMED_ANSWER = (
    "Nuki answered with something we could not understand, so nothing was connected. Please try "
    "again, and contact support if it keeps happening."
)
SIGN_IN_FAILED = "The Nuki sign-in did not complete, so nothing was connected. Please try again."
# The connect flow's own refusals (no Nuki request behind them), in Nuki's words.
FLOW_REFUSALS = {
    OAUTH_CANCELLED: "You cancelled the Nuki sign-in, so nothing was connected.",
    OAUTH_FAILED: SIGN_IN_FAILED,
    OAUTH_NO_CODE: SIGN_IN_FAILED,
    NOT_CONFIGURED: "Signing in with Nuki is not set up on this server; you can paste a Nuki Web API token instead.",
}


def checked_token(value: str) -> str:
    """The pasted API token, refused before asking Nuki when it cannot be one."""
    token = value.strip()
    if any(character.isspace() for character in token):
        raise PermanentProviderError("An API token has no spaces or line breaks; please paste it again.", vendor_code=LOCAL_REFUSAL)
    return token


def token_refused(error: ProviderError) -> bool:
    """Whether Nuki refused a pasted API token (rather than failing)."""
    return isinstance(error, ProviderAuthError) or (not isinstance(error, RateLimited) and error.vendor_code == "403")


def refusal(error: ProviderError) -> str:
    """What the host reads when a Nuki sign-in (OAuth code exchange or API token) failed with `error`."""
    if error.vendor_code in (OAUTH_STATE, LOCAL_REFUSAL):  # their message says what went wrong
        return error.message
    if error.vendor_code in FLOW_REFUSALS:
        return FLOW_REFUSALS[error.vendor_code]
    if error.vendor_code == API_TOKEN_REFUSED:
        return WRONG_TOKEN
    if isinstance(error, ProviderAuthError):
        return REFUSED
    if isinstance(error, RateLimited):  # its message says when to try again
        return error.message
    if isinstance(error, VendorUnavailable):
        return MALFORMED_ANSWER if error.vendor_code == MALFORMED else UNREACHABLE
    # 403 (a token without the rights) reads as a refusal; anything else as Nuki failing.
    return REFUSED if error.vendor_code == "403" else UNREACHABLE
