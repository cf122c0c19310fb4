"""The access token's life, written once for every adapter: whether it is about to lapse
(`session.expires_at`, the one place its expiry is kept), the one refresh after a refusal, and
the one format of any other instant an adapter keeps in its credentials (ISO 8601 UTC)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from locks.providers.base import AccountSession

Answer = TypeVar("Answer")


def expires_within(session: AccountSession, margin: timedelta, *, now: datetime | None = None) -> bool:
    """Whether the session's access token lapses within `margin`; False when its expiry is not
    known (None: the token is used, and a refusal tells)."""
    if session.expires_at is None:
        return False
    return session.expires_at - (now or datetime.now(UTC)) <= margin


def iso_utc(instant: datetime) -> str:
    """An instant as adapters keep it in credentials (e.g. Tedee's refresh-token expiry): ISO 8601 UTC."""
    return instant.astimezone(UTC).isoformat()


def from_iso(value: object) -> datetime | None:
    """An instant kept by `iso_utc` read back (aware UTC); None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant.astimezone(UTC) if instant.tzinfo else instant.replace(tzinfo=UTC)


def send_with_one_refresh(
    send: Callable[[], Answer],
    *,
    refused: Callable[[Answer], bool],
    refresh: Callable[[], None],
    can_refresh: Callable[[], bool] = lambda: True,
) -> Answer:
    """`send()`; when the vendor `refused` its token (a 401, TTLock's 10003/10004), `refresh()` once
    and send once more. The second answer is returned whatever it is: the caller says what a second
    refusal means (the account needs reconnecting). A refused request did nothing at the vendor,
    so sending it again is safe."""
    answer = send()
    if refused(answer) and can_refresh():
        refresh()
        answer = send()
    return answer
