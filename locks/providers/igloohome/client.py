"""Talking to igloohome: the client-credentials token, the authorised request, and statuses translated (table below)."""

import re
from datetime import datetime, timedelta

import requests
from django.conf import settings

from locks.providers.exceptions import (
    CodeRejected,
    LockNotFound,
    OutcomeUnknown,
    ProviderAuthError,
    RateLimited,
    VendorUnavailable,
)
from locks.providers.http import retry_after_seconds
from locks.providers.tokens import expires_within, send_with_one_refresh

VENDOR = "igloohome"
TOKEN_PATH = "/oauth2/token"
# Only what Nowistay uses: listing devices and issuing hourly and daily algoPINs.
SCOPES = ("igloohomeapi/get-devices", "igloohomeapi/algopin-hourly", "igloohomeapi/algopin-daily")
DEFAULT_TOKEN_LIFETIME = timedelta(seconds=3600)
TOKEN_RENEWAL_MARGIN = timedelta(minutes=5)
NO_API_CLIENT = "No igloohome API client is saved for this account; reconnect it."
TOKEN_LIFETIME_KEY = "access_token_lifetime"  # seconds, as igloohome gave them for the current token
FORBIDDEN_IS_NOT_EXPIRY = timedelta(minutes=1)  # a 403 to a token younger than this is not renewed


def renewal_margin(credentials: dict) -> timedelta:
    """How long before its expiry the token is renewed: a few minutes, or half the lifetime of a
    token living less than twice that, so a short-lived token is not renewed on every request.
    The lifetime is kept in credentials (the expiry itself is the session's `expires_at`)."""
    seconds = credentials.get(TOKEN_LIFETIME_KEY)
    if not isinstance(seconds, (int, float)) or seconds <= 0:
        return TOKEN_RENEWAL_MARGIN
    return min(TOKEN_RENEWAL_MARGIN, timedelta(seconds=seconds) / 2)


# HTTP status -> our vocabulary (token endpoint and API alike, see _raise_for_status):
#   400, 422  refused request (format, range)        -> CodeRejected (API) / ProviderAuthError (token)
#   401       bad client or token                    -> one fresh token, then ProviderAuthError
#   403       no rights                              -> one fresh token, then LockNotFound / ProviderAuthError
#   404       device not in the account              -> LockNotFound
#   409       variance already taken for the slot    -> next free variance, then an earlier start hour
#   429       rate limited                           -> RateLimited(retry_after)
#   5xx       vendor failure                         -> VendorUnavailable (504 on create: OutcomeUnknown)

_LONG_DIGIT_RUN = re.compile(r"\d{6,}")  # a PIN echoed in a vendor message never reaches our records


class IgloohomeRequests:
    """The requests of an IgloohomeProvider: a cached client-credentials token, renewed once when refused."""

    def _api(self, method: str, path: str, *, params: dict | None = None, json: dict | None = None) -> requests.Response:
        """One API request with a cached token; a refused token is renewed once and the request sent again
        (a 401/403 means nothing was done)."""
        url = settings.IGLOOHOME_API_URL.rstrip("/") + path

        def send() -> requests.Response:
            headers = {"Authorization": f"Bearer {self._access_token()}", "Accept": "application/json"}
            return self.http.request(method, url, params=params, json=json, headers=headers)

        # One client sees an expired token answered with 403 (idx:37064654223), so both are retried;
        # but a 403 to a token issued moments ago is about rights (a device or scope the API client
        # lacks), and renewing on it would cost a token request on every such call.
        sent_token: list[str] = []

        def send_recorded() -> requests.Response:
            response = send()
            sent_token[:] = [self.session.credentials.get("access_token", "")]  # as send() found or fetched it
            return response

        return send_with_one_refresh(
            send_recorded,
            refused=lambda sent: sent.status_code == 401 or (sent.status_code == 403 and not self._token_just_issued(sent_token)),
            refresh=lambda: self._access_token(renew=True),
        )

    def _token_just_issued(self, sent_token: list[str]) -> bool:
        """Whether the token sent (still the session's) was issued less than FORBIDDEN_IS_NOT_EXPIRY ago."""
        credentials = self.session.credentials
        lifetime, expires_at = credentials.get(TOKEN_LIFETIME_KEY), self.session.expires_at
        if sent_token != [credentials.get("access_token", "")] or expires_at is None or not isinstance(lifetime, (int, float)):
            return False
        issued_at = expires_at - timedelta(seconds=lifetime)
        return self.now() - issued_at < FORBIDDEN_IS_NOT_EXPIRY

    def _raise_for_status(self, response: requests.Response, *, on_device: bool, creating: bool = False) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        detail = vendor_message(response)
        code = str(status)
        if status == 401:
            raise ProviderAuthError("igloohome refused Nowistay's access token; reconnect the igloohome account.", vendor_code=code)
        if status == 403 and on_device:
            raise LockNotFound(
                "igloohome refused access to this lock: it is not in this API client's account, "
                "or the client lacks the algoPIN permission.",
                vendor_code=code,
            )
        if status == 403:
            raise ProviderAuthError("igloohome refused access: the API client lacks the device-list permission.", vendor_code=code)
        if status == 404:
            raise LockNotFound("igloohome does not know this lock; it is no longer in this account.", vendor_code=code)
        if status == 429:
            raise RateLimited("igloohome asked us to slow down.", retry_after=retry_after_seconds(response), vendor_code=code)
        if status in (400, 422) and on_device:
            raise CodeRejected(f"igloohome refused the code: {detail or 'no reason given'}.", vendor_code=code)
        if status == 504 and creating:
            raise OutcomeUnknown("igloohome timed out; the code may have been issued all the same.", vendor_code=code)
        raise VendorUnavailable(f"igloohome failed (HTTP {status}).", vendor_code=code)

    # --- the token --------------------------------------------------------------------------------------

    def _access_token(self, *, renew: bool = False) -> str:
        """The cached token while it has more than a few minutes left (or an unknown expiry: a
        refusal tells), else a new one (saved)."""
        credentials = self.session.credentials
        token = credentials.get("access_token")
        if not renew and token and not expires_within(self.session, renewal_margin(credentials), now=self.now()):
            return token
        # One renewal per account at a time, like every vendor's refresh: a worker that finds the
        # token renewed by another meanwhile adopts it without asking igloohome again.
        token = self.session.refresh_credentials(self._new_token).get("access_token")
        if not token:
            raise ProviderAuthError(NO_API_CLIENT)
        return token

    def _new_token(self, credentials: dict) -> tuple[dict, datetime]:
        """`credentials` with a new client-credentials token, and when that token lapses."""
        client_id, client_secret = credentials.get("client_id"), credentials.get("client_secret")
        if not client_id or not client_secret:
            raise ProviderAuthError(NO_API_CLIENT)
        now = self.now()
        token, lifetime = self._request_token(client_id, client_secret)
        return {**credentials, "access_token": token, TOKEN_LIFETIME_KEY: int(lifetime.total_seconds())}, now + lifetime

    def _request_token(self, client_id: str, client_secret: str) -> tuple[str, timedelta]:
        url = settings.IGLOOHOME_AUTH_URL.rstrip("/") + TOKEN_PATH
        try:
            response = self.http.request(
                "POST",
                url,
                auth=(client_id, client_secret),
                data={"grant_type": "client_credentials", "scope": " ".join(SCOPES)},
                headers={"Accept": "application/json"},
            )
        except OutcomeUnknown:  # asking for a token changes nothing at igloohome
            raise VendorUnavailable("igloohome did not answer in time.") from None
        status = response.status_code
        if status in (400, 401, 403):
            raise ProviderAuthError(token_refusal(response), vendor_code=str(status))
        if status == 429:
            raise RateLimited("igloohome asked us to slow down.", retry_after=retry_after_seconds(response), vendor_code=str(status))
        if not 200 <= status < 300:
            raise VendorUnavailable(f"igloohome's sign-in failed (HTTP {status}).", vendor_code=str(status))
        body = self.http.json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise VendorUnavailable("igloohome answered the sign-in with something unexpected.")
        expires_in = body.get("expires_in")
        try:
            seconds = int(expires_in)
        except (TypeError, ValueError):
            seconds = 0
        return token, timedelta(seconds=seconds) if seconds > 0 else DEFAULT_TOKEN_LIFETIME


def vendor_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str):
        return ""
    return _LONG_DIGIT_RUN.sub("…", " ".join(message.split()))[:200].rstrip(".")


def token_refusal(response: requests.Response) -> str:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if error == "invalid_scope":
        return (
            "This igloohome API client is not allowed what Nowistay needs (device list, hourly and daily "
            "algoPINs); give it those permissions in the iglooaccess portal."
        )
    return "igloohome did not accept the API client ID and secret."
