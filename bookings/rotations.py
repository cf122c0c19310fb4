"""A code rotation as the host's booking page and the PMS API show it: its three steps together (the
new PIN on the lock, the old code, the guest's message), each read from the rows that do the work
(`locks.rotation_status`, `messaging.rotations`), and the preview shown before a host rotates.

Never a PIN: the API shows these words to tokens without the `read_pins` scope.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import dateformat
from django.utils.translation import gettext as _

from bookings.models import Booking
from locks.models import CodeRotation
from locks.rotation_status import RotationStep, new_pin_step, old_code_step
from locks.services.preview import rotate_outlook
from messaging.rotations import guest_outlook, guest_step

ROTATION_STATES = ("in_progress", "done", "failed")


@dataclass(frozen=True)
class RotationView:
    rotation: CodeRotation
    started_local: datetime
    new_pin: RotationStep
    old_code: RotationStep
    guest: RotationStep

    @property
    def started(self) -> str:
        """When it was asked for, property time ("14:05 11 Mar")."""
        return dateformat.format(self.started_local, "H:i j M")

    @property
    def state(self) -> str:
        steps = (self.new_pin, self.old_code, self.guest)
        if any(step.state == "failed" for step in steps):
            return "failed"
        if any(step.waiting for step in steps):
            return "in_progress"
        return "done"

    @property
    def description(self) -> str:
        """The three steps on one line."""
        return _("new PIN on the lock: %(new_pin)s; old code: %(old_code)s; guest: %(guest)s") % {
            "new_pin": self.new_pin.text,
            "old_code": self.old_code.text,
            "guest": self.guest.text,
        }


def rotation_view(rotation: CodeRotation, *, now: datetime) -> RotationView:
    """`rotation` loaded with `booking__property`, `old_code__lock__account`, `new_code__lock__account`."""
    new_pin = new_pin_step(rotation, now=now)
    return RotationView(
        rotation=rotation,
        started_local=rotation.created_at.astimezone(ZoneInfo(rotation.booking.property.time_zone)),
        new_pin=new_pin,
        old_code=old_code_step(rotation, now=now),
        guest=guest_step(rotation, new_pin=new_pin),
    )


def latest_rotation_view(booking: Booking, *, now: datetime) -> RotationView | None:
    """The booking's latest rotation (from its prefetched `code_rotations` when loaded so), or None."""
    rotations = booking.code_rotations.all()
    if not _prefetched(booking):
        rotations = rotations.select_related("old_code__lock__account", "new_code__lock__account")
    latest = next(iter(rotations), None)
    if latest is None:
        return None
    latest.booking = booking
    return rotation_view(latest, now=now)


def rotation_preview(booking: Booking, *, now: datetime) -> str:
    """What rotating the booking's code now will do: on the lock, then for the guest."""
    # Two clauses written by locks and messaging: the translator may change how they are joined.
    parts = {"on_the_lock": rotate_outlook(booking, now=now), "for_the_guest": guest_outlook(booking)}
    return _("%(on_the_lock)s; %(for_the_guest)s") % parts


def _prefetched(booking: Booking) -> bool:
    return "code_rotations" in getattr(booking, "_prefetched_objects_cache", {})
