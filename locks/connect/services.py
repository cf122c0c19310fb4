"""Connecting a host's lock account, for every vendor alike: the sign-in methods a provider declares
(`LockProvider.sign_in_methods`) are carried out here, and the account stored through
`locks.services.connections.account_connect`, which also reads its locks.

Two shapes only: credentials typed into Nowistay's form (`CredentialsSignIn`, exchanged by
`sign_in_with`), or an OAuth 2 sign-in on the vendor's own page (`OAuthSignIn`: `authorization_url`,
then `exchange_code` with the state kept by `locks.connect.oauth`). Each vendor request goes through
`sign_in_waits` (a vendor that said "too many requests" is not asked again meanwhile). A failed
sign-in stores nothing and raises ConnectError, whose message is the provider's own words
(`sign_in_refusal`). No view here: the dashboard, the connect views and the demo all call these.
"""

from django.conf import settings
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from locks.connect import oauth, sign_in_waits
from locks.models import ProviderAccount
from locks.providers import registry
from locks.providers.base import ConnectResult, CredentialsSignIn, LockProvider, OAuthSignIn, SignInMethod
from locks.providers.exceptions import (
    NOT_CONFIGURED,
    OAUTH_CANCELLED,
    OAUTH_FAILED,
    OAUTH_NO_CODE,
    OAUTH_STATE,
    PermanentProviderError,
    ProviderError,
    RateLimited,
)
from locks.services.connections import account_connect


class ConnectError(Exception):
    """A connection attempt that connected nothing; `message` is written for the host."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def provider_class(slug: str) -> type[LockProvider]:
    return registry.provider_class(slug)


def credentials_method(provider: str, key: str | None = None) -> CredentialsSignIn | None:
    """The provider's credentials sign-in `key` (its first one when `key` is None), if it has one."""
    methods = [method for method in provider_class(provider).sign_in_methods if isinstance(method, CredentialsSignIn)]
    return next((method for method in methods if key is None or method.key == key), None)


def oauth_method(provider: str) -> OAuthSignIn | None:
    return next((m for m in provider_class(provider).sign_in_methods if isinstance(m, OAuthSignIn)), None)


def is_configured(method: SignInMethod) -> bool:
    return all(getattr(settings, name, "") for name in getattr(method, "required_settings", ()))


def is_only_way_in(provider: str, method: SignInMethod) -> bool:
    """Whether `method` is the provider's only sign-in: it is then offered even when not set up on
    this server (its start says so), where a second way in would only be a dead end beside the other."""
    return provider_class(provider).sign_in_methods == (method,)


# --- credentials --------------------------------------------------------------------------------


@sensitive_variables("values", "result")
def connect_with_credentials(
    *, host, provider: str, method: str, values: dict[str, str], request: HttpRequest | None = None
) -> ProviderAccount:
    """Sign in with the values of the provider's credentials sign-in `method` and store the account
    (a first connection or a reconnection). `request`: where it came from, for the security log."""
    cls = provider_class(provider)
    result = _vendor_step(host, cls, lambda: cls.sign_in_with(method, values))
    return _store(host, provider, result, request)


# --- OAuth --------------------------------------------------------------------------------------


def callback_uri(provider: str, build_absolute_uri, callback_path: str) -> str:
    """The callback URL registered with the vendor: settings.<SLUG>_REDIRECT_URI when set (behind a
    proxy the URL the vendor knows may differ from the one a request arrived on), else this site's."""
    return getattr(settings, f"{provider.upper()}_REDIRECT_URI", "") or build_absolute_uri(callback_path)


def oauth_start(*, host, session, provider: str, redirect_uri: str) -> str:
    """Remember a fresh state in the host's session; the vendor's sign-in URL to send the host to.
    Not while the vendor asked this host's sign-ins to wait: the sign-in would end in the same refusal."""
    cls, method = provider_class(provider), oauth_method(provider)
    if method is None or not is_configured(method):
        raise ConnectError(cls.sign_in_refusal(PermanentProviderError("", vendor_code=NOT_CONFIGURED)))
    try:
        sign_in_waits.refuse_while_waiting(host=host, provider=provider)
    except RateLimited as error:
        raise ConnectError(error.message) from None
    pending = oauth.begin(session, provider, redirect_uri=redirect_uri, user_id=host.pk)
    challenge = pending.code_challenge if method.pkce else None
    return cls.authorization_url(state=pending.state, code_challenge=challenge, redirect_uri=redirect_uri)


@sensitive_variables("code", "result")
def oauth_complete(*, host, session, provider: str, params, request: HttpRequest | None = None) -> ProviderAccount:
    """Finish the sign-in the vendor redirected back with: check the state (always first, which also
    uses it up), then the answer; exchange the code and store the account."""
    cls, method = provider_class(provider), oauth_method(provider)
    try:
        pending = oauth.complete(session, provider, params.get("state"), user_id=host.pk)
    except oauth.OAuthStateError as error:
        raise _refusal(cls, str(error), OAUTH_STATE) from None
    if params.get("error"):
        raise _refusal(cls, "", OAUTH_CANCELLED if params["error"] == "access_denied" else OAUTH_FAILED)
    code = params.get("code")
    if not code:
        raise _refusal(cls, "", OAUTH_NO_CODE)
    verifier = pending.code_verifier if method is not None and method.pkce else None
    result = _vendor_step(host, cls, lambda: cls.exchange_code(code=code, code_verifier=verifier, redirect_uri=pending.redirect_uri))
    return _store(host, provider, result, request)


# --- shared steps -------------------------------------------------------------------------------


def _refusal(cls: type[LockProvider], message: str, vendor_code: str) -> ConnectError:
    return ConnectError(cls.sign_in_refusal(PermanentProviderError(message, vendor_code=vendor_code)))


def _vendor_step(host, cls: type[LockProvider], call) -> ConnectResult:
    try:
        return sign_in_waits.sign_in(host=host, provider=cls.slug, attempt=call)
    except RateLimited as error:  # its message says when to try again
        raise ConnectError(error.message) from None
    except ProviderError as error:
        raise ConnectError(cls.sign_in_refusal(error)) from None


def _store(host, provider: str, result: ConnectResult, request: HttpRequest | None) -> ProviderAccount:
    try:
        return account_connect(host=host, provider=provider, result=result, request=request)
    except ProviderError as error:  # e.g. a disconnection of this account still under way
        raise ConnectError(error.message) from None
