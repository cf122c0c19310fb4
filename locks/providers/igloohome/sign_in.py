"""How a host connects an igloohome account: the client ID and secret of an API client made in the
iglooaccess portal; a token is fetched to prove them before anything is stored [IG]."""

from django.utils.translation import gettext_noop

from locks.providers.base import CredentialField, CredentialsSignIn
from locks.providers.exceptions import PermanentProviderError, ProviderError, RateLimited

API_CLIENT = "api-client"
METHODS = (
    CredentialsSignIn(
        key=API_CLIENT,
        title=gettext_noop("Paste an igloohome API client"),
        fields=(
            CredentialField(
                "client_id",
                gettext_noop("API client ID"),
                help_text=gettext_noop("In the iglooaccess portal, under API access."),
                max_length=200,
            ),
            CredentialField("client_secret", gettext_noop("API client secret"), secret=True, max_length=500),
        ),
    ),
)
CONNECT_HINT = gettext_noop("Paste the client ID and secret of an igloohome API client.")
# The connect panel's paragraphs about signing in (CONNECT_FINE_PRINT: the muted ones).
CONNECT_NOTES = (
    (
        gettext_noop("In the iglooaccess portal, create an API client allowed to list devices and create algoPINs, then paste its "
        "client ID and secret here.")
    ),
)
CONNECT_FINE_PRINT = (
    (
        gettext_noop("algoPINs work without a bridge, but igloohome cannot change or revoke them remotely: when a booking changes, "
        "the guest gets a new code and the old one keeps working until its end.")
    ),
)
ELIGIBILITY_HINT = gettext_noop("The lock supports algoPINs (remotely generated PINs).")


def refusal(error: ProviderError) -> str:
    """What the host reads when an igloohome sign-in failed with `error`."""
    if isinstance(error, RateLimited):  # its message says when to try again
        return error.message
    if isinstance(error, PermanentProviderError):
        return f"{error.message} Nothing was saved; check the API client in the iglooaccess portal and try again."
    return f"{error.message} Nothing was saved; please try again in a few minutes."
