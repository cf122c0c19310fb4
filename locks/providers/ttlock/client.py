"""Talking to TTLock: the signed request, its tokens (sign-in, refresh), one call in flight per lock, and tokens kept out of logs."""

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager as ContextManager, nullcontext
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from locks.providers.base import Serialise, one_at_a_time_in_process
from locks.providers.exceptions import (
    OutcomeUnknown,
    ProviderAuthError,
    VendorUnavailable,
)
from locks.providers.http import VendorHttp
from locks.providers.tokens import expires_within, send_with_one_refresh
from locks.providers.ttlock.errors import RECONNECT, TokenRejected, items_of, malformed, page_count, read_answer
from locks.providers.ttlock.times import now_ms

logger = logging.getLogger(__name__)


# --- one call in flight per lock ---------------------------------------------------------------

LOCK_SCOPE = "ttlock-lock"  # advisory keys: nowistay:ttlock-lock:<vendor lock id>


def one_call_per_lock_in_process(vendor_lock_id: str) -> ContextManager[None]:
    """Serialise calls to one lock among the threads of this process."""
    return one_at_a_time_in_process(LOCK_SCOPE, vendor_lock_id)


def one_call_per_lock(vendor_lock_id: str, *, serialise: Serialise = one_at_a_time_in_process) -> ContextManager[None]:
    """Serialise calls to one lock with `serialise` (the account session's: across worker processes
    when the services hand down their advisory lock, else among this process's threads).
    A gateway answers one request at a time and says -3003 "busy" otherwise [T-ERR, HT GW_LOCK]."""
    return serialise(LOCK_SCOPE, vendor_lock_id)


# --- tokens ----------------------------------------------------------------------------------------


def _token_url() -> str:
    return f"{settings.TTLOCK_API_URL.rstrip('/')}/oauth2/token"


def token_request(http: VendorHttp, form: dict) -> dict:
    try:
        response = http.request("POST", _token_url(), data=form)
    except OutcomeUnknown:  # a token request changes nothing that must be looked for afterwards
        raise VendorUnavailable("TTLock did not answer in time.") from None
    return read_answer(http, response, token_retry=False)


def credentials_from(body: dict, *, username: str, previous_refresh_token: str = "") -> tuple[dict, datetime]:
    """What we keep of a token answer: the tokens and the username, nothing else; the access
    token's expiry is returned beside them (it is kept as the session's `expires_at`)."""
    access_token = body.get("access_token")
    refresh_token = body.get("refresh_token") or previous_refresh_token
    try:
        lifetime = int(body.get("expires_in"))
    except (TypeError, ValueError):
        raise malformed("a sign-in answer") from None
    if not isinstance(access_token, str) or not access_token or not isinstance(refresh_token, str) or lifetime <= 0:
        raise malformed("a sign-in answer")
    expires_at = timezone.now() + timedelta(seconds=lifetime)
    credentials = {
        "access_token": access_token,
        "refresh_token": refresh_token,
        "username": username,
    }
    return credentials, expires_at


def password_digest(password: str) -> str:
    # TTLock takes the MD5 of the app password, 32 lowercase hex, never the password [T-TOK].
    return hashlib.md5(password.encode("utf-8")).hexdigest()


class TTLockRequests:
    """The requests of a TTLockProvider: signed, with fresh tokens."""

    def _pages(self, path: str, params: dict, page_size: int) -> Iterator[dict]:
        page = 1
        while True:
            answer = self._call("GET", path, {**params, "pageNo": page, "pageSize": page_size})
            items = items_of(answer)
            yield from items
            if page >= min(page_count(answer), self.MAX_PAGES) or not items:
                return
            page += 1

    def _call(self, method: str, path: str, params: dict, *, lock_id: str | None = None) -> dict:
        """One API call with fresh tokens; a refused token is refreshed once and the call retried once."""
        # Once per adapter at most: tokens living less than the margin must not be renewed on every call.
        if not self._refreshed and self._expires_within(self.REFRESH_MARGIN):
            self._refresh()

        def send() -> dict | TokenRejected:
            try:
                return self._send(method, path, params)
            except TokenRejected as rejected:
                return rejected

        with self.call_guard(lock_id) if lock_id is not None else nullcontext():
            answer = send_with_one_refresh(send, refused=lambda sent: isinstance(sent, TokenRejected), refresh=self._refresh)
        if isinstance(answer, TokenRejected):
            raise ProviderAuthError(RECONNECT, vendor_code=str(answer.errcode))
        return answer

    def _send(self, method: str, path: str, params: dict) -> dict:
        signed = {
            "clientId": settings.TTLOCK_CLIENT_ID,
            "accessToken": self._access_token(),
            **params,
            "date": now_ms(),
        }
        url = f"{settings.TTLOCK_API_URL.rstrip('/')}/v3/{path}"
        # GET endpoints take the signature in the query string, POST endpoints as form fields [T-LL, T-ADD].
        sent_as = {"params": signed} if method == "GET" else {"data": signed}
        response = self.http.request(method, url, **sent_as)
        return read_answer(self.http, response, token_retry=True)

    # --- tokens -----------------------------------------------------------------------------------

    def _access_token(self) -> str:
        token = self.session.credentials.get("access_token")
        if not token:
            raise ProviderAuthError(RECONNECT)
        return token

    def _expires_within(self, margin: timedelta) -> bool:
        # An unknown expiry is False: an expired-token errcode will tell.
        return expires_within(self.session, margin)

    def _refresh(self) -> None:
        """New tokens, one refresh per account at a time: a refresh token is good for one use, so
        a worker that finds the account refreshed meanwhile adopts those tokens instead."""
        self.session.refresh_credentials(self._refreshed_credentials)
        self._refreshed = True

    def _refreshed_credentials(self, credentials: dict) -> tuple[dict, datetime | None]:
        refresh_token = credentials.get("refresh_token")
        if not refresh_token:
            raise ProviderAuthError(RECONNECT)
        form = {
            "clientId": settings.TTLOCK_CLIENT_ID,
            "clientSecret": settings.TTLOCK_CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        try:
            body = token_request(self.http, form)
        except ProviderAuthError as refused:
            raise ProviderAuthError(RECONNECT, vendor_code=refused.vendor_code) from None
        return credentials_from(body, username=credentials.get("username", ""), previous_refresh_token=refresh_token)


# urllib3 logs each request line, query string included, at DEBUG; TTLock's GET calls carry the
# access token there [T-LL], so it is masked before any handler sees it.
_TOKEN_IN_URL = re.compile(r"(accessToken|access_token|refresh_token|clientSecret)=[^&\s\"]*")


class _MaskTokensInUrls(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_URL.sub(r"\1=[redacted]", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_URL.sub(r"\1=[redacted]", record.msg)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_MaskTokensInUrls())
