"""One at a time: serialise work on one named thing across threads and worker processes.

On PostgreSQL a session-level advisory lock (held by this thread's connection, released
explicitly, never tied to a transaction); elsewhere (SQLite: tests, development) a lock shared
by this process's threads. Each `scope` is its own key space, so a TTLock gateway and an
account's tokens never share a key. Providers get `one_at_a_time` handed down in their
`AccountSession.serialise`; they never reach the database themselves.
"""

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection

from locks.providers.base import one_at_a_time_in_process

logger = logging.getLogger(__name__)

ACCOUNT_TOKEN_SCOPE = "account-token"  # one token refresh per vendor account at a time


@contextmanager
def one_at_a_time(scope: str, name: str) -> Iterator[None]:
    """Serialise work on `name` (within `scope`) across threads and worker processes."""
    if connection.vendor != "postgresql":
        with one_at_a_time_in_process(scope, name):
            yield
        return
    key = advisory_key(scope, name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        _advisory_unlock(key, scope)


def advisory_key(scope: str, name: str) -> int:
    """The signed 64-bit advisory lock key of `name` in `scope`."""
    digest = hashlib.blake2b(f"nowistay:{scope}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _advisory_unlock(key: int, scope: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    except DatabaseError:
        # An unlock that fails (aborted transaction, lost connection) would leave the lock held
        # by this session: ending the session is the one sure release.
        logger.warning("releasing the %s advisory lock failed; closing the database connection", scope)
        connection.close()
