"""Events other apps may listen to. Receivers must be quick and must not call vendors."""

from django.dispatch import Signal

# A code was created or moved on its lock (sent after commit). Arguments: code_id, booking_id, and
# `fallback` when the sender knows it (the code's FallbackKind, "" for a booking's own code), so a
# receiver need not read the code for that. Receivers read the code's state themselves: it may
# have changed again meanwhile.
code_ready = Signal()
