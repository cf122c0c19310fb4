"""Events other apps may listen to. Receivers must be quick and must not call vendors."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.dispatch import Signal


@dataclass(frozen=True)
class ReadyCode:
    """A code now on its lock with the window wanted. `fallback`: the code's FallbackKind when the
    sender knows it ("" for a booking's own code), None when it does not, so a receiver need not
    read the code for that."""

    code_id: int
    booking_id: int
    fallback: str | None = None


# Codes were created or moved on their locks (sent after commit), as `codes`: a list of ReadyCode,
# one per code, in batches (a worker sends its batch's every few seconds), so a receiver can answer
# for them all in one query. Receivers read the codes' state themselves: it may have changed again.
codes_ready = Signal()


@dataclass(frozen=True)
class CodeEvent:
    """Something that happened to a code, for integrations (the `events` app). `kind` is the
    event's name without its `access_code.` prefix (scheduled, created, changed, removed, failed, retrying,
    unrevocable, fallback_sent, first_used, confirmed_on_lock, drift_repaired); `data` holds small
    plain values, never a PIN."""

    kind: str
    code_id: int
    booking_id: int
    occurred_at: datetime
    data: dict = field(default_factory=dict)


# What happened to codes (sent after commit), as `events`: a list of CodeEvent, batched like
# codes_ready, so a receiver writes them all in one statement. Receivers must not call vendors.
code_events = Signal()


def send_code_events(events: list[CodeEvent]) -> None:
    """Announce `events` once the surrounding transaction has committed (at once outside one)."""
    if events:
        transaction.on_commit(lambda: code_events.send(sender=CodeEvent, events=events))
