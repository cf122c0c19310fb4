"""Events other apps may listen to. Receivers must be quick and must not call vendors."""

from dataclasses import dataclass

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
