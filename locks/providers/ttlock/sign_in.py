"""How a host connects a TTLock account, and what a refused sign-in tells them.

The host signs in with the TTLock *app* account (not a TTLock developer account): the password
goes to TTLock once, as its MD5, and only the tokens are kept [T-TOK].
"""

from django.utils.translation import gettext_noop

from locks.providers.base import CredentialField, CredentialsSignIn
from locks.providers.exceptions import ProviderAuthError, ProviderError, RateLimited, TransientProviderError
from locks.providers.ttlock.errors import ANSWER_MALFORMED, WRONG_REGION

PASSWORD = "password"
METHODS = (
    CredentialsSignIn(
        key=PASSWORD,
        title=gettext_noop("Sign in with your TTLock app account"),
        fields=(
            CredentialField(
                "username",
                gettext_noop("TTLock app username"),
                help_text=gettext_noop("The phone number or e-mail address you sign in to the TTLock app with."),
                max_length=254,
            ),
            CredentialField("password", gettext_noop("TTLock app password"), secret=True, max_length=128, strip=False),
        ),
    ),
)
CONNECT_HINT = gettext_noop("Sign in with your TTLock app username and password.")
# The connect panel's paragraphs about signing in (CONNECT_FINE_PRINT: the muted ones).
CONNECT_NOTES = ()
CONNECT_FINE_PRINT = (
    (
        gettext_noop("Sign in with the account you use in the TTLock app (not a TTLock developer account). Nowistay keeps only the "
        "access TTLock grants, never your password.")
    ),
)
ELIGIBILITY_HINT = gettext_noop("The lock is linked to a gateway (or is a WiFi lock) and supports V4 keypad passcodes.")

# TTLock errcodes meaning Nowistay's own application credentials were refused [T-ERR].
APPLICATION_REFUSED = {"10000", "10001"}

WRONG_REGION_REFUSAL = (
    "This TTLock account is registered with TTLock's mainland-China service, which Nowistay "
    "cannot connect to. Use a TTLock account created outside mainland China."
)
APPLICATION_REFUSAL = "TTLock refused Nowistay's application. Please contact Nowistay support."
WRONG_CREDENTIALS = (
    "TTLock did not accept this username and password. Use the account you sign in to the TTLock app with (not a TTLock developer account)."
)
MALFORMED_ANSWER = "TTLock sent an answer Nowistay could not read. Please try again later."
UNREACHABLE = "TTLock could not be reached. Please try again in a few minutes."


def refusal(error: ProviderError) -> str:
    """What the host reads when a TTLock sign-in failed with `error`."""
    if isinstance(error, RateLimited):  # its message says when to try again
        return error.message
    if error.vendor_code == str(WRONG_REGION):
        return WRONG_REGION_REFUSAL
    if error.vendor_code in APPLICATION_REFUSED:
        return APPLICATION_REFUSAL
    if isinstance(error, ProviderAuthError):
        return WRONG_CREDENTIALS
    if error.vendor_code == ANSWER_MALFORMED:
        return MALFORMED_ANSWER
    if isinstance(error, TransientProviderError):
        return UNREACHABLE
    return f"TTLock refused the connection: {error.message}"
