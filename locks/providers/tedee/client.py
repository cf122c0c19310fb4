"""Tedee's sign-in and tokens: OAuth 2 + PKCE through Azure AD B2C, the refresh grant, and the account's name [TD authenticate]."""

import base64
import binascii
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings

from locks.providers.base import ConnectResult
from locks.providers.exceptions import (
    ProviderAuthError,
    RateLimited,
    VendorUnavailable,
)
from locks.providers.http import VendorHttp, retry_after_seconds, shared_http
from locks.providers.tokens import iso_utc

B2C_POLICY = "B2C_1A_Signup_Signin_With_Kmsi"  # Tedee's sign-in user flow [TD authenticate]
SCOPE_PREFIX = "https://tedee.onmicrosoft.com/api/"
# DeviceActivity.Read: the lock's activity, for when codes are used (issue 19) [TD authenticate "Scopes"].
SCOPES = (
    f"{SCOPE_PREFIX}user_impersonation",
    f"{SCOPE_PREFIX}Device.ReadWrite",
    f"{SCOPE_PREFIX}DeviceActivity.Read",
    "offline_access",
)


REFRESH_MARGIN = timedelta(minutes=5)  # refresh an access token this long before it expires
REFRESH_TOKEN_LIFETIME = timedelta(days=14)  # when the answer does not say [TD authenticate]
KEEP_ALIVE_AFTER = timedelta(days=7)  # half the refresh token's life: one missed daily run is harmless
DEFAULT_ACCESS_LIFETIME = 3600  # seconds, the documented sample, when neither expires_in nor exp is given


# --- URLs (all built from settings) -------------------------------------------------------------


def api_url(path: str) -> str:
    return f"{settings.TEDEE_API_URL.rstrip('/')}/api/{settings.TEDEE_API_VERSION}/{path.lstrip('/')}"


def authorize_endpoint() -> str:
    return f"{settings.TEDEE_AUTH_URL.rstrip('/')}/{B2C_POLICY}/oauth2/v2.0/authorize"


def token_endpoint() -> str:
    return f"{settings.TEDEE_AUTH_URL.rstrip('/')}/{B2C_POLICY}/oauth2/v2.0/token"


# --- OAuth: authorize, exchange, refresh ----------------------------------------------------------


def authorize_url(*, state: str, code_challenge: str, redirect_uri: str) -> str:
    """Where to send the host to sign in to Tedee (authorization code + PKCE S256)."""
    params = {
        "response_type": "code",
        "client_id": settings.TEDEE_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "response_mode": "query",
        "scope": " ".join(SCOPES),
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    return f"{authorize_endpoint()}?{urlencode(params, quote_via=quote)}"


def exchange_code(*, code: str, code_verifier: str, redirect_uri: str, http: VendorHttp | None = None) -> ConnectResult:
    """Trade the authorization code for tokens. Raises ProviderAuthError when Tedee refuses the
    code, VendorUnavailable when Tedee cannot be reached or answers nonsense (vendor_code "malformed")."""
    form = {
        "grant_type": "authorization_code",
        "client_id": settings.TEDEE_CLIENT_ID,
        "client_secret": settings.TEDEE_CLIENT_SECRET,
        "scope": " ".join(SCOPES),
        "code": code,
        "code_verifier": code_verifier,
        "redirect_uri": redirect_uri,
    }
    answer = _token_request(http or shared_http("Tedee"), form, refused="Tedee did not accept the sign-in.")
    credentials, expires_at = credentials_from_token_answer(answer, redirect_uri=redirect_uri)
    return ConnectResult(credentials=credentials, expires_at=expires_at, display_name=account_name(answer))


def refresh_tokens(credentials: dict, *, http: VendorHttp | None = None) -> tuple[dict, datetime]:
    """New credentials and their access token's expiry from the refresh grant. ProviderAuthError
    when Tedee refuses the refresh token."""
    refresh_token = credentials.get("refresh_token")
    if not refresh_token:
        raise ProviderAuthError("The Tedee connection has no refresh token; please reconnect the account.")
    form = {
        "grant_type": "refresh_token",
        "client_id": settings.TEDEE_CLIENT_ID,
        "client_secret": settings.TEDEE_CLIENT_SECRET,
        "scope": " ".join(SCOPES),
        "refresh_token": refresh_token,
    }
    if credentials.get("redirect_uri"):
        form["redirect_uri"] = credentials["redirect_uri"]
    answer = _token_request(
        http or shared_http("Tedee"), form, refused="Tedee no longer accepts this connection; please reconnect the account."
    )
    return credentials_from_token_answer(answer, redirect_uri=credentials.get("redirect_uri", ""), previous=credentials)


def _token_request(http: VendorHttp, form: dict, *, refused: str) -> dict:
    response = http.request("POST", token_endpoint(), data=form, headers={"accept": "application/json"})
    if response.status_code in (400, 401, 403):  # invalid_grant, invalid_client...: B2C said no
        raise ProviderAuthError(refused, vendor_code=str(response.status_code))
    if response.status_code == 429:
        raise RateLimited("Tedee asked us to slow down.", retry_after=retry_after_seconds(response), vendor_code="429")
    if response.status_code != 200:
        raise VendorUnavailable("Tedee's sign-in service failed; try again later.", vendor_code=str(response.status_code))
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not answer.get("access_token"):
        raise VendorUnavailable("Tedee's sign-in service answered with something unexpected.", vendor_code="malformed")
    return answer


def credentials_from_token_answer(
    answer: dict, *, redirect_uri: str, previous: dict | None = None, now: float | None = None
) -> tuple[dict, datetime]:
    """What we keep of a token answer (the tokens, when the refresh token was issued and lapses,
    never anything else) and, beside it, when the access token lapses (the session's `expires_at`)."""
    now = time.time() if now is None else now
    previous = previous or {}
    refresh_token = answer.get("refresh_token") or previous.get("refresh_token")
    if not refresh_token:
        # Without offline_access there is no refresh token and the connection would die in hours.
        raise VendorUnavailable("Tedee's sign-in service gave no refresh token.", vendor_code="malformed")
    renewed = bool(answer.get("refresh_token"))
    refresh_lifetime = _seconds(answer.get("refresh_token_expires_in")) or REFRESH_TOKEN_LIFETIME.total_seconds()
    credentials = {
        "access_token": answer["access_token"],
        "refresh_token": refresh_token,
        "refresh_token_issued_at": _iso_at(now) if renewed else previous.get("refresh_token_issued_at", _iso_at(now)),
        "refresh_token_expires_at": _iso_at(now + refresh_lifetime) if renewed else previous.get("refresh_token_expires_at"),
        "redirect_uri": redirect_uri,
    }
    return credentials, _whole_second(now + _access_lifetime(answer, now))


def _whole_second(epoch: float) -> datetime:
    return datetime.fromtimestamp(int(epoch), tz=UTC)


def _iso_at(epoch: float) -> str:
    return iso_utc(_whole_second(epoch))


def _access_lifetime(answer: dict, now: float) -> float:
    # The docs say 4 hours, the sample says "3600" (a string): trust the answer [TD authenticate].
    seconds = _seconds(answer.get("expires_in"))
    if seconds:
        return seconds
    expires = jwt_claims(answer.get("access_token", "")).get("exp")
    if isinstance(expires, (int, float)) and expires > now:
        return expires - now
    return DEFAULT_ACCESS_LIFETIME


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def jwt_claims(token: str) -> dict:
    """The payload of a JWT, read WITHOUT verifying its signature.

    Only ever used on tokens we just received from Tedee's token endpoint over TLS (or stored from
    it), to read the account's name: nothing is authorised on the strength of these claims.
    """
    try:
        payload = token.split(".")[1]
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(decoded)
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def account_name(answer: dict) -> str:
    """The account's name from the token's documented claims `name` and `email` [TD authenticate]."""
    claims = jwt_claims(answer.get("id_token") or "") or jwt_claims(answer.get("access_token") or "")
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    mail = claims.get("email") if isinstance(claims.get("email"), str) else ""
    if not mail and isinstance(claims.get("emails"), list) and claims["emails"]:
        mail = str(claims["emails"][0])  # B2C's own spelling of the claim, just in case
    if name and mail and name != mail:
        return f"{name} ({mail})"[:200]
    return (name or mail or "Tedee account")[:200]
