"""One claim/lease engine for rows a worker takes one step on: access codes and message deliveries.

A row is claimed by writing a random token and a lease end (`claim_token`, `claimed_until`) with
one conditional UPDATE that repeats the due condition, so of two concurrent claims on a row
exactly one matches it. On PostgreSQL the claim of a batch is one statement whose inner SELECT
skips the rows another claim is locking (`FOR UPDATE SKIP LOCKED`, the queue-claim idiom):
they are skipped, not waited for. Elsewhere (SQLite: one writer at a time) the due ids are read
first and the UPDATE repeats the condition. A worker that dies leaves a claim whose lease runs
out; the row is then claimable again. Releasing is conditioned on the token, so a worker whose
lease ran out and was taken over writes nothing.

A batch handed to a queue is claimed for `queue_lease` (the time it may wait for a worker); the
worker that takes it renews the claim for `lease` (`renew`) and keeps renewing it while it works,
so a lease runs from when work starts, never from when the pass ran, and any backlog drains at
the workers' pace. A worker that dies stops renewing: its batch is claimable again one lease later.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Model, Q, QuerySet


def free(now: datetime) -> Q:
    """Not claimed, or claimed under a lease that has run out."""
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def released() -> dict:
    """The fields that release a claim, for an UPDATE that also records a step's outcome."""
    return {"claim_token": "", "claimed_until": None}


def new_token() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class Leases:
    """The claims of one table: which rows are due, in what order, for how long a claim holds."""

    model: type[Model]
    due: Callable[[datetime], Q]  # rows with a step to take at `now` (claimed or not)
    lease: Callable[[], timedelta]  # read at each claim: settings may change (tests)
    order_by: tuple[str, ...]
    queue_lease: Callable[[], timedelta] | None = None  # how long a queued batch may wait (default: `lease`)

    def claimable(self, now: datetime) -> Q:
        return self.due(now) & free(now)

    def claim_due(self, *, now: datetime, limit: int, within: Q | None = None) -> tuple[str, list[int]]:
        """Claim up to `limit` due rows (of those matching `within`) for a queued batch, whatever the
        table's size: they are held for `queue_lease` until a worker takes them (`renew`)."""
        token, rows = self._claim(now=now, limit=limit, within=within, label=None)
        return token, [pk for pk, _ in rows]

    def claim_due_by(self, *, now: datetime, limit: int, label: str) -> tuple[str, dict[str, list[int]]]:
        """As `claim_due`, the claimed ids grouped by the value of `label` (a field path such as
        "lock__account__provider"), read in the same statement on PostgreSQL."""
        token, rows = self._claim(now=now, limit=limit, within=None, label=label)
        grouped: dict[str, list[int]] = {}
        for pk, value in rows:
            grouped.setdefault(value, []).append(pk)
        return token, grouped

    def _claim(self, *, now: datetime, limit: int, within: Q | None, label: str | None) -> tuple[str, list[tuple]]:
        """The claim's token and its (id, label value) rows, in the candidates' order."""
        token = new_token()
        candidates = self.model.objects.filter(self.claimable(now))
        if within is not None:
            candidates = candidates.filter(within)
        candidates = candidates.order_by(*self.order_by)
        lease_end = now + (self.queue_lease or self.lease)()
        if connection.vendor == "postgresql":
            return token, self._claim_skip_locked(candidates, token, lease_end, limit, label)
        ids = self._claim_conditionally(candidates, token, lease_end, limit, now)
        if label is None or not ids:
            return token, [(pk, None) for pk in ids]
        return token, list(self.model.objects.filter(pk__in=ids).order_by(*self.order_by).values_list("pk", label))

    def claim_one(self, *, pk: int, now: datetime) -> str | None:
        """Claim one row if it is due and nobody holds it (event-driven work); its token, or None."""
        token = new_token()
        claimed = self.model.objects.filter(self.claimable(now), pk=pk).update(claim_token=token, claimed_until=now + self.lease())
        return token if claimed else None

    def renew(self, *, pks: list[int], token: str, now: datetime) -> int:
        """Hold the rows still claimed under `token` for one more lease from `now` (a worker taking a
        batch, or still working on it); rows another claim took since are left alone."""
        return self.model.objects.filter(pk__in=pks, claim_token=token).update(claimed_until=now + self.lease())

    def release(self, *, pk: int, token: str, where: Q | None = None, **changes) -> int:
        """Record `changes` and release the claim, if it is still ours (and the row matches `where`)."""
        rows = self.model.objects.filter(pk=pk, claim_token=token)
        if where is not None:
            rows = rows.filter(where)
        return rows.update(**changes, **released())

    def _claim_skip_locked(self, candidates: QuerySet, token: str, lease_end: datetime, limit: int, label: str | None) -> list[tuple]:
        fields = ("pk", label) if label else ("pk",)
        select, params = candidates.values(*fields)[:limit].query.sql_with_params()
        table = connection.ops.quote_name(self.model._meta.db_table)
        columns, returned = ("id, label", "picked.label") if label else ("id", "NULL")
        sql = (
            f"WITH picked ({columns}) AS ({select} FOR UPDATE OF {table} SKIP LOCKED) "
            f"UPDATE {table} SET claim_token = %s, claimed_until = %s FROM picked WHERE {table}.id = picked.id "
            f"RETURNING {table}.id, {returned}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, token, lease_end])
            return cursor.fetchall()

    def _claim_conditionally(self, candidates: QuerySet, token: str, lease_end: datetime, limit: int, now: datetime) -> list[int]:
        ids = list(candidates.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        claimed = self.model.objects.filter(self.claimable(now), pk__in=ids).update(claim_token=token, claimed_until=lease_end)
        if claimed < len(ids):
            ids = list(self.model.objects.filter(pk__in=ids, claim_token=token).values_list("pk", flat=True))
        return ids
