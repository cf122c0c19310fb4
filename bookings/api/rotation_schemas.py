"""The API's words for a code rotation (`BookingOut.code_rotation`): the rotation and its three
steps, each a machine-readable state and plain words (never a PIN), as `bookings.rotations` reads them."""

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from bookings.rotations import ROTATION_STATES
from locks.models import RotationSource
from locks.rotation_status import NEW_PIN_STATES, OLD_CODE_STATES
from messaging.rotations import GUEST_STATES


class NewPinStepOut(Schema):
    state: Literal[NEW_PIN_STATES] = Field(
        ..., description="done: the new code is on the lock; pending: being created; failed; dropped: the booking changed first."
    )
    description: str = Field(..., description="In plain words, never with the PIN.", examples=["done: on the lock since 12:01 10 Jun"])


class OldCodeStepOut(Schema):
    state: Literal[OLD_CODE_STATES] = Field(
        ...,
        description="revoked; being_revoked; unrevocable: the lock's brand cannot (or would not) revoke it, so it works "
        "until its end (igloohome's algoPINs); expired.",
    )
    description: str = Field(..., description="In plain words, with until when an unrevocable code works.", examples=["revoked"])


class GuestStepOut(Schema):
    state: Literal[GUEST_STATES] = Field(
        ...,
        description="sent; sending; waiting: for the new code to be on the lock; failed; not_sent: the message was closed "
        "unsent (the note says why); not_needed: the guest had not been sent a door code by message.",
    )
    description: str = Field(..., description="In plain words.", examples=["sent at 12:01 10 Jun to grace@example.com"])


class CodeRotationOut(Schema):
    state: Literal[ROTATION_STATES] = Field(..., description="in_progress while a step is under way; failed when a step failed.")
    description: str = Field(..., description="The three steps on one line, in plain words.")
    started_at: datetime = Field(..., description="When the rotation was asked for, UTC.")
    requested_via: Literal[tuple(RotationSource.values)] = Field(..., description="The booking page, or this API.")
    new_pin: NewPinStepOut = Field(..., description="The new code, with its new PIN, on the lock.")
    old_code: OldCodeStepOut = Field(..., description="The code rotated away.")
    guest: GuestStepOut = Field(..., description="The guest sent the new code: your door code change message, or Nowistay's default.")
