"""Talking to Nuki: URLs, sign-in (OAuth 2 code flow or a pasted API token), tokens and the authorised request."""

import logging
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

import requests
from django.conf import settings

from locks.providers.base import ConnectResult
from locks.providers.exceptions import (
    ProviderAuthError,
)
from locks.providers.http import VendorHttp, shared_http
from locks.providers.nuki.errors import json_of, malformed, raise_for_status, refused_for_subscription
from locks.providers.tokens import expires_within, send_with_one_refresh

logger = logging.getLogger(__name__)


# smartlock.log: the lock's activity log, for when codes are used (issue 19); see the package docstring.
OAUTH_SCOPES = ("account", "smartlock.readOnly", "smartlock.auth", "smartlock.log")
USE_PKCE = False  # Nuki documents no code_challenge parameter
REFRESH_MARGIN = timedelta(minutes=5)
DEFAULT_ACCESS_LIFETIME = 3600  # seconds, when the token answer has no expires_in
READBACK_DELAYS = (1.0, 2.0, 4.0)  # seconds to wait before each read-back of a write


API_TOKEN, OAUTH = "api_token", "oauth"  # credentials["auth"]


# --- URLs (all built from settings.NUKI_API_URL, as Nuki serves OAuth from the API host) ----------


def api_url(path: str) -> str:
    return f"{settings.NUKI_API_URL.rstrip('/')}/{path.lstrip('/')}"


def authorize_endpoint() -> str:
    return api_url("oauth/authorize")


def token_endpoint() -> str:
    return api_url("oauth/token")


def oauth_scopes() -> str:
    return " ".join(getattr(settings, "NUKI_OAUTH_SCOPES", None) or OAUTH_SCOPES)


# --- connecting: OAuth 2 authorization code, or a pasted API token --------------------------------


def authorize_url(*, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
    """Where to send the host to sign in to Nuki (authorization code flow, bound by `state`)."""
    params = {
        "response_type": "code",
        "client_id": settings.NUKI_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": oauth_scopes(),
        "state": state,
    }
    if USE_PKCE and code_challenge:
        params.update(code_challenge=code_challenge, code_challenge_method="S256")
    return f"{authorize_endpoint()}?{urlencode(params, quote_via=quote)}"


def exchange_code(*, code: str, redirect_uri: str, code_verifier: str | None = None, http: VendorHttp | None = None) -> ConnectResult:
    """Trade the authorization code for tokens and read the account's name.

    Raises ProviderAuthError when Nuki refuses the code, VendorUnavailable when Nuki cannot be
    reached or answers nonsense (vendor_code MALFORMED)."""
    http = http or shared_http("Nuki")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": settings.NUKI_CLIENT_ID,
        "client_secret": settings.NUKI_CLIENT_SECRET,
    }
    if USE_PKCE and code_verifier:
        form["code_verifier"] = code_verifier
    credentials, expires_at = token_answer(token_request(form, http), previous_refresh_token=None)
    name = account_name(credentials["access_token"], http=http)
    return ConnectResult(credentials=credentials, expires_at=expires_at, display_name=name)


def connect_with_api_token(*, token: str, http: VendorHttp | None = None) -> ConnectResult:
    """Check a pasted Nuki Web API token by reading the account it belongs to."""
    http = http or shared_http("Nuki")
    name = account_name(token, http=http)
    return ConnectResult(credentials={"auth": API_TOKEN, "access_token": token}, expires_at=None, display_name=name)


def account_name(token: str, *, http: VendorHttp | None = None) -> str:
    """`GET /account` with this token: the account's name (or email) to show the host."""
    http = http or shared_http("Nuki")
    response = http.request("GET", api_url("account"), headers=bearer_headers(token))
    raise_for_status(response)
    account = json_of(http, response)
    if not isinstance(account, dict):
        raise malformed("the account")
    name = account.get("name") or account.get("email") or (f"Nuki account {account['accountId']}" if account.get("accountId") else "")
    if not isinstance(name, str) or not name.strip():
        raise malformed("the account has no name")
    return name.strip()[:200]


def bearer_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def token_request(form: dict[str, str], http: VendorHttp) -> dict:
    response = http.request("POST", token_endpoint(), data=form, headers={"Accept": "application/json"})
    if response.status_code in (400, 401, 403):  # invalid_grant, invalid_client (RFC 6749 §5.2)
        raise ProviderAuthError(
            "Nuki did not accept the sign-in; please connect the Nuki account again.", vendor_code=str(response.status_code)
        )
    raise_for_status(response)
    answer = json_of(http, response)
    if not isinstance(answer, dict):
        raise malformed("the token answer")
    return answer


def token_answer(answer: dict, *, previous_refresh_token: str | None) -> tuple[dict, datetime]:
    access_token = answer.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise malformed("no access token")
    refresh_token = answer.get("refresh_token") or previous_refresh_token
    try:
        lifetime = int(answer.get("expires_in") or DEFAULT_ACCESS_LIFETIME)
    except (TypeError, ValueError):
        raise malformed("the token lifetime") from None
    expires_at = datetime.fromtimestamp(time.time() + lifetime, UTC).replace(microsecond=0)
    credentials = {"auth": OAUTH, "access_token": access_token}
    if refresh_token:
        credentials["refresh_token"] = refresh_token
    return credentials, expires_at


class NukiRequests:
    """The requests of a NukiProvider: the Bearer token, refreshed before it ends and once after a 401."""

    # --- credentials -------------------------------------------------------------------------------
    @property
    def _credentials(self) -> dict:
        return self.session.credentials or {}

    def _is_oauth(self) -> bool:
        return self._credentials.get("auth") == OAUTH

    def _access_token(self) -> str:
        token = self._credentials.get("access_token")
        if not token:
            raise ProviderAuthError("The Nuki account has no usable credentials; please connect it again.")
        if self._is_oauth() and self._expires_soon():
            self._refresh()
            token = self._credentials["access_token"]
        return token

    def _expires_soon(self) -> bool:
        return expires_within(self.session, REFRESH_MARGIN)

    def _refresh(self) -> None:
        if not self._is_oauth() or not self._credentials.get("refresh_token"):
            raise ProviderAuthError("The Nuki sign-in has expired; please connect the Nuki account again.")
        # One refresh per account at a time: Nuki rotates the refresh token, so a worker that
        # finds the account refreshed meanwhile adopts those tokens instead of reusing the old one.
        self.session.refresh_credentials(self._refreshed_credentials)
        logger.info("Nuki access token refreshed for account %s", self.session.account_id)

    def _refreshed_credentials(self, credentials: dict) -> tuple[dict, datetime | None]:
        refresh_token = (credentials or {}).get("refresh_token")
        if (credentials or {}).get("auth") != OAUTH or not refresh_token:
            raise ProviderAuthError("The Nuki sign-in has expired; please connect the Nuki account again.")
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": settings.NUKI_CLIENT_ID,
            "client_secret": settings.NUKI_CLIENT_SECRET,
        }
        return token_answer(token_request(form, self.http), previous_refresh_token=refresh_token)

    def keep_alive(self) -> None:
        """OAuth: refresh now (proves and renews the refresh token). API token: read the account,
        so a token destroyed by a password change is noticed before a booking needs it."""
        if self._is_oauth():
            self._refresh()
        else:
            self._call("GET", "account")

    # --- requests -------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, code_write: bool = False, allow: tuple[int, ...] = (), **kwargs) -> requests.Response:
        """One API request with the Bearer token; on 401 the token is refreshed once and the request
        sent again (a 401 means Nuki did nothing). Statuses in `allow` are returned, not raised."""
        response = send_with_one_refresh(
            lambda: self.http.request(method, api_url(path), headers=bearer_headers(self._access_token()), **kwargs),
            refused=lambda sent: sent.status_code == 401,
            refresh=self._refresh,
            can_refresh=lambda: self._is_oauth() and bool(self._credentials.get("refresh_token")),
        )
        if response.status_code == 401 and not self._is_oauth():
            raise ProviderAuthError(
                "Nuki no longer accepts the API token (Nuki deletes API tokens when the account's password "
                "changes); please paste a new one.",
                vendor_code="401",
            )
        if response.status_code not in allow or refused_for_subscription(response):
            raise_for_status(response, code_write=code_write)
        return response
