"""How far a code rotation got on the lock, in plain words: the new PIN, and the old code.

Pure reading, like `locks.code_status` (which words the codes themselves): the states come from the
two code rows the rotation links, loaded with `lock__account` and their booking's property. No
PIN is ever written here: the API shows these words to tokens that may not read PINs. The guest's
step is read by `messaging.rotations`.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from locks.code_status import describe_code
from locks.code_words import moment_text
from locks.models import AccessCode, CodeRotation, CodeState, FallbackKind
from locks.services.codes import can_revoke

# Machine-readable states of each step (the API documents them).
NEW_PIN_STATES = ("done", "pending", "failed", "dropped")
OLD_CODE_STATES = ("revoked", "being_revoked", "unrevocable", "expired")


@dataclass(frozen=True)
class RotationStep:
    state: str  # one of the step's states, for machines
    text: str  # the step in plain words, for people

    @property
    def waiting(self) -> bool:
        """Work on this step is still under way (a rotation is in progress while one step waits)."""
        return self.state in ("pending", "being_revoked", "waiting", "sending")


def new_pin_step(rotation: CodeRotation, *, now: datetime) -> RotationStep:
    """The new code with its new PIN: on the lock (done), still being made, failed, or dropped
    because the booking changed before it was made."""
    code = rotation.new_code
    if code.activated_at is not None:
        return RotationStep("done", _("done: on the lock since %(moment)s") % {"moment": _moment(code.activated_at, rotation)})
    if code.state in (CodeState.SCHEDULED, CodeState.CREATING):
        return RotationStep("pending", _("pending: %(status)s") % {"status": _words(code, rotation, now)})
    if code.state == CodeState.FAILED:
        return RotationStep("failed", _words(code, rotation, now))  # "failed: <why>"
    return RotationStep("dropped", _("not made: the booking changed before the new code was on the lock"))


def old_code_step(rotation: CodeRotation, *, now: datetime) -> RotationStep:
    """The code rotated away: revoked, being revoked, or still working until its end because its
    vendor cannot (or would not) revoke it."""
    code = rotation.old_code
    if code.state == CodeState.REVOKED:
        return RotationStep("revoked", _("revoked"))
    if code.state in (CodeState.EXPIRING, CodeState.EXPIRED):
        return RotationStep("expired", _("expired: its time was over"))
    if code.state == CodeState.SUPERSEDED:
        values = {"until": _moment(code.lock_ends_at or code.ends_at, rotation), "brand": code.lock.account.provider_name}
        if code.fallback == FallbackKind.OFFLINE:
            text = _("unrevocable until %(until)s: an offline code cannot be revoked remotely (%(brand)s)")
        elif not can_revoke(code):
            text = _("unrevocable until %(until)s: %(brand)s cannot revoke it")
        else:
            text = _("unrevocable until %(until)s: %(brand)s refused to revoke it")
        return RotationStep("unrevocable", text % values)
    # Revoking (the retirement sets no other state on a code that may be on the lock).
    return RotationStep("being_revoked", _words(code, rotation, now))


def rotation_in_progress(rotation: CodeRotation, *, now: datetime) -> bool:
    """The lock's part is still under way: the new code is not made yet, or the old one is being revoked."""
    return new_pin_step(rotation, now=now).waiting or old_code_step(rotation, now=now).waiting


def _words(code: AccessCode, rotation: CodeRotation, now: datetime) -> str:
    return describe_code(code, booking=rotation.booking, has_lock=True, now=now).text


def _moment(moment: datetime, rotation: CodeRotation) -> str:
    return moment_text(moment, ZoneInfo(rotation.booking.property.time_zone))
