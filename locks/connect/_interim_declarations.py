"""TEMPORARY: the sign-in declarations of the four vendors, until each provider declares its own.

`locks.providers.base.LockProvider` declares how a host signs in (`sign_in_methods`, the hints,
`sign_in_with`, `authorization_url`, `exchange_code`, `sign_in_refusal`). Until the providers
implement them, this module assigns them on the four provider classes, delegating to today's
sign-in functions and holding the refusal messages the connect flows used to word themselves.
Imported once, from `locks.apps.LocksConfig.ready`. Delete it when the providers' own arrive.

Each delegation looks the vendor function up when called, so a test that patches it is honoured.
"""

from locks.connect.services import NOT_CONFIGURED, OAUTH_CANCELLED, OAUTH_FAILED, OAUTH_NO_CODE, OAUTH_STATE
from locks.providers import nuki, tedee
from locks.providers.base import CredentialField, CredentialsSignIn, OAuthSignIn
from locks.providers.exceptions import (
    PermanentProviderError,
    ProviderAuthError,
    ProviderError,
    TransientProviderError,
)
from locks.providers.igloohome import IgloohomeProvider
from locks.providers.nuki import NukiProvider
from locks.providers.tedee import TedeeProvider
from locks.providers.ttlock import ANSWER_MALFORMED, WRONG_REGION, TTLockProvider

# --- TTLock: the host's TTLock *app* account; the password goes to TTLock once, as its MD5 ----------

# TTLock errcodes meaning Nowistay's own application credentials were refused.
TTLOCK_APPLICATION_REFUSED = {"10000", "10001"}


def _ttlock_refusal(cls, error) -> str:
    if error.vendor_code == str(WRONG_REGION):
        return (
            "This TTLock account is registered with TTLock's mainland-China service, which Nowistay "
            "cannot connect to. Use a TTLock account created outside mainland China."
        )
    if error.vendor_code in TTLOCK_APPLICATION_REFUSED:
        return "TTLock refused Nowistay's application. Please contact Nowistay support."
    if isinstance(error, ProviderAuthError):
        return (
            "TTLock did not accept this username and password. Use the account you sign in to the "
            "TTLock app with (not a TTLock developer account)."
        )
    if error.vendor_code == ANSWER_MALFORMED:
        return "TTLock sent an answer Nowistay could not read. Please try again later."
    if isinstance(error, TransientProviderError):
        return "TTLock could not be reached. Please try again in a few minutes."
    return f"TTLock refused the connection: {error.message}"


def _ttlock_sign_in_with(cls, method, values):
    return TTLockProvider.sign_in(values["username"], values["password"])


# --- Tedee: OAuth 2 authorization code + PKCE through Tedee's Azure AD B2C sign-in ------------------

TEDEE_MESSAGES = {
    OAUTH_CANCELLED: "You cancelled the Tedee sign-in, so nothing was connected.",
    OAUTH_STATE: (
        "This Tedee sign-in could not be matched to one you started here, or it took longer than "
        "10 minutes. Nothing was connected; please start connecting Tedee again."
    ),
    "refused": "Tedee did not accept the sign-in. Nothing was connected; please start connecting Tedee again.",
    OAUTH_FAILED: "Tedee could not complete the sign-in. Nothing was connected; please try again.",
    "unreachable": "Tedee could not be reached. Nothing was connected; please try again in a few minutes.",
    "malformed": (
        "Tedee answered the sign-in with something we could not understand. Nothing was connected; "
        "please try again, and contact support if it keeps happening."
    ),
    NOT_CONFIGURED: "Connecting Tedee is not set up on this server yet.",
}
TEDEE_MESSAGES[OAUTH_NO_CODE] = TEDEE_MESSAGES["malformed"]


def _tedee_refusal(cls, error) -> str:
    if error.vendor_code in TEDEE_MESSAGES:
        return TEDEE_MESSAGES[error.vendor_code]
    if isinstance(error, ProviderAuthError):
        return TEDEE_MESSAGES["refused"]
    return TEDEE_MESSAGES["unreachable"]


# --- Nuki: "Sign in with Nuki" (no PKCE documented), or a pasted Nuki Web API token ---------------

NUKI_MESSAGES = {
    "wrong_token": (
        "Nuki did not accept this API token. Copy it again from Nuki Web (Menu > API); a token stops "
        "working when it is deleted or when the Nuki Web password changes."
    ),
    "refused": "Nuki did not accept the sign-in, so nothing was connected. Please start connecting Nuki again.",
    OAUTH_CANCELLED: "You cancelled the Nuki sign-in, so nothing was connected.",
    OAUTH_FAILED: "The Nuki sign-in did not complete, so nothing was connected. Please try again.",
    "unreachable": "Nuki could not be reached, so nothing was connected. Please try again in a few minutes.",
    nuki.MALFORMED: (
        "Nuki answered with something we could not understand, so nothing was connected. Please try "
        "again, and contact support if it keeps happening."
    ),
    NOT_CONFIGURED: "Signing in with Nuki is not set up on this server; you can paste a Nuki Web API token instead.",
}
NUKI_MESSAGES[OAUTH_NO_CODE] = NUKI_MESSAGES[OAUTH_FAILED]
_NUKI_LOCAL = "local"  # a token refused before asking Nuki: the error's own message


def _nuki_refusal(cls, error) -> str:
    if error.vendor_code == OAUTH_STATE or error.vendor_code == _NUKI_LOCAL:
        return error.message
    if error.vendor_code in NUKI_MESSAGES:
        return NUKI_MESSAGES[error.vendor_code]
    # 403 (a token without the rights) reads as a refusal; anything else as Nuki failing.
    if isinstance(error, ProviderAuthError) or error.vendor_code == "403":
        return NUKI_MESSAGES["refused"]
    return NUKI_MESSAGES["unreachable"]


def _nuki_sign_in_with(cls, method, values):
    token = values["token"].strip()
    if any(character.isspace() for character in token):
        raise PermanentProviderError("An API token has no spaces or line breaks; please paste it again.", vendor_code=_NUKI_LOCAL)
    try:
        return nuki.connect_with_api_token(token=token)
    except ProviderError as error:
        if isinstance(error, ProviderAuthError) or error.vendor_code == "403":
            raise ProviderAuthError("Nuki refused the token.", vendor_code="wrong_token") from None
        raise


# --- igloohome: the client ID and secret of an API client made in the iglooaccess portal -----------


def _igloohome_refusal(cls, error) -> str:
    if isinstance(error, PermanentProviderError):
        return f"{error.message} Nothing was saved; check the API client in the iglooaccess portal and try again."
    return f"{error.message} Nothing was saved; please try again in a few minutes."


def _igloohome_sign_in_with(cls, method, values):
    return IgloohomeProvider.sign_in(client_id=values["client_id"].strip(), client_secret=values["client_secret"].strip())


def _oauth(authorize, exchange):
    def authorization_url(cls, *, state, code_challenge, redirect_uri):
        return authorize()(state=state, code_challenge=code_challenge, redirect_uri=redirect_uri)

    def exchange_code(cls, *, code, code_verifier, redirect_uri):
        return exchange()(code=code, code_verifier=code_verifier, redirect_uri=redirect_uri)

    return classmethod(authorization_url), classmethod(exchange_code)


DECLARATIONS = {
    TTLockProvider: {
        "sign_in_methods": (
            CredentialsSignIn(
                key="password",
                title="Sign in with your TTLock app account",
                fields=(
                    CredentialField(
                        "username",
                        "TTLock app username",
                        help_text="The phone number or e-mail address you sign in to the TTLock app with.",
                    ),
                    CredentialField("password", "TTLock app password", secret=True, max_length=128),
                ),
            ),
        ),
        "connect_hint": "Sign in with your TTLock app username and password.",
        "eligibility_hint": "The lock is linked to a gateway (or is a WiFi lock) and supports V4 keypad passcodes.",
        "sign_in_with": classmethod(_ttlock_sign_in_with),
        "sign_in_refusal": classmethod(_ttlock_refusal),
    },
    TedeeProvider: {
        "sign_in_methods": (OAuthSignIn(title="Connect Tedee", required_settings=("TEDEE_CLIENT_ID",)),),
        "connect_hint": "Sign in on Tedee's own page; you never type a key or password here.",
        "eligibility_hint": (
            "A keypad is paired, the lock is reachable through a bridge, and this account is the lock's owner or an administrator."
        ),
        "sign_in_refusal": classmethod(_tedee_refusal),
    },
    NukiProvider: {
        "sign_in_methods": (
            OAuthSignIn(title="Sign in with Nuki", required_settings=("NUKI_CLIENT_ID", "NUKI_CLIENT_SECRET"), pkce=nuki.USE_PKCE),
            CredentialsSignIn(
                key="api-token",
                title="Paste a Nuki Web API token",
                fields=(
                    CredentialField(
                        "token",
                        "Nuki Web API token",
                        help_text="In Nuki Web, open Menu > API and create an API token; paste it here. It is stored encrypted.",
                        secret=True,
                        max_length=512,
                    ),
                ),
            ),
        ),
        "connect_hint": "Sign in with Nuki, or paste a Nuki Web API token.",
        "eligibility_hint": "A keypad is paired and the lock is reachable through Nuki Web.",
        "sign_in_with": classmethod(_nuki_sign_in_with),
        "sign_in_refusal": classmethod(_nuki_refusal),
    },
    IgloohomeProvider: {
        "sign_in_methods": (
            CredentialsSignIn(
                key="api-client",
                title="Paste the client ID and secret of an igloohome API client",
                fields=(
                    CredentialField("client_id", "API client ID", help_text="In the iglooaccess portal, under API access.", max_length=200),
                    CredentialField("client_secret", "API client secret", secret=True, max_length=500),
                ),
            ),
        ),
        "connect_hint": "Paste the client ID and secret of an igloohome API client.",
        "eligibility_hint": "The lock supports algoPINs (remotely generated PINs).",
        "sign_in_with": classmethod(_igloohome_sign_in_with),
        "sign_in_refusal": classmethod(_igloohome_refusal),
    },
}
DECLARATIONS[TedeeProvider]["authorization_url"], DECLARATIONS[TedeeProvider]["exchange_code"] = _oauth(
    lambda: tedee.authorize_url, lambda: tedee.exchange_code
)
DECLARATIONS[NukiProvider]["authorization_url"], DECLARATIONS[NukiProvider]["exchange_code"] = _oauth(
    lambda: nuki.authorize_url, lambda: nuki.exchange_code
)


def install() -> None:
    """Assign the declarations on the provider classes, leaving any a provider already declares."""
    for provider_class, declared in DECLARATIONS.items():
        for name, value in declared.items():
            if name not in vars(provider_class):
                setattr(provider_class, name, value)


install()
