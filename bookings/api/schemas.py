"""Request and response bodies of the PMS API, and the value types they share.

Inputs are strict on purpose: a PMS that sends a number where a date belongs, or an offset on a
time of day, gets a 400 naming the field rather than a silently coerced value. Dates are
YYYY-MM-DD and times HH:MM[:SS] in the property's own time zone, as on the dashboard.
"""

import re
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from django.utils.translation import gettext
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, PlainSerializer, PlainValidator, StringConstraints, WithJsonSchema

from bookings.api.rotation_schemas import CodeRotationOut
from bookings.api.selectors import clock_change_view, code_view, lock_of, rotation_of
from bookings.models import FIRST_BOOKING_DATE, LAST_BOOKING_DATE, Booking, BookingStatus
from locks.code_problems import ERROR_CODES, WARNING_CODES
from locks.providers import registry
from locks.windows import check_in_time_of, check_out_time_of
from nowistay.guest_languages import normalise_language
from nowistay.validators import forbidden_character, single_line_message

MAX_ID = 2**63 - 1  # a database bigint: larger ids cannot exist (and must not reach a query)
REF_MAX_LENGTH = 100
# A reference is a path segment: it starts with a letter or digit, ends with no blank, and holds
# no "/" or control character (C0, DEL, C1, line and paragraph separators: nowistay.validators).
_NOT_IN_REF = r"/\x00-\x1f\x7f-\x9f\u2028\u2029"
REF_PATTERN = rf"^[A-Za-z0-9](?:[^{_NOT_IN_REF}]*[^\s{_NOT_IN_REF}])?$"
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# No booking outside these years (the model's rule): the code lifecycle does date arithmetic around the stay.
FIRST_DATE, LAST_DATE = FIRST_BOOKING_DATE, LAST_BOOKING_DATE
DATE_RANGE = f"from {FIRST_DATE} to {LAST_DATE}"
# The same bounds in the document: JSON Schema's minimum/maximum are for numbers, so the years 2000-2099
# are in the pattern (tests/bookings/api/test_contract.py holds it to the model's bounds).
BOUNDED_DATE_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"

_DATE_RE = re.compile(DATE_PATTERN)
_TIME_RE = re.compile(TIME_PATTERN)


def _parse_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and _DATE_RE.fullmatch(value):
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise ValueError(gettext("Enter a real date as YYYY-MM-DD.")) from None
    else:
        raise ValueError(gettext("Enter a date as YYYY-MM-DD."))
    if not FIRST_DATE <= parsed <= LAST_DATE:
        raise ValueError(gettext("Enter a date between %(first)s and %(last)s.") % {"first": FIRST_DATE, "last": LAST_DATE})
    return parsed


def _parse_time(value: Any) -> time:
    if isinstance(value, time) and value.tzinfo is None:
        return value
    if isinstance(value, str) and _TIME_RE.fullmatch(value):
        return time.fromisoformat(value)
    raise ValueError(gettext("Enter a time of day as HH:MM or HH:MM:SS (property time, no offset)."))


def _clean_text(value: str) -> str:
    """One line of printable text, control characters refused even at either end (a trailing line
    break too): the rule and the message of the models and the host's forms (nowistay.validators),
    so the API and the booking form refuse exactly the same. Surrounding blanks then go."""
    found = forbidden_character(value.strip(" "))
    if found is not None:
        raise ValueError(single_line_message(found))
    return value.strip()


def format_time(value: time) -> str:
    return value.isoformat(timespec="minutes" if not value.second else "seconds")


# Input types: a Python dump keeps the date / time (what the services take).
ApiDate = Annotated[
    date,
    PlainValidator(_parse_date),
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string", "format": "date", "pattern": BOUNDED_DATE_PATTERN,
            "description": f"A date {DATE_RANGE}.", "examples": ["2026-06-20"],
        }
    ),
]
ApiTime = Annotated[
    time,
    PlainValidator(_parse_time),
    PlainSerializer(format_time, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": TIME_PATTERN, "examples": ["14:00"]}),
]
# Output only: times of day are written HH:MM (HH:MM:SS when a second is set).
TimeOfDay = Annotated[
    time,
    PlainSerializer(format_time, return_type=str),
    WithJsonSchema({"type": "string", "pattern": TIME_PATTERN, "examples": ["15:00"]}),
]
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]  # in a JSON body: a number, not "12"
QueryId = Annotated[int, Field(ge=1, le=MAX_ID)]  # in a query string, where everything is text


def _text(max_length: int, min_length: int = 0):
    return Annotated[str, StringConstraints(strict=True, min_length=min_length, max_length=max_length), AfterValidator(_clean_text)]


GuestName = _text(Booking._meta.get_field("guest_name").max_length, min_length=1)
GuestEmail = Annotated[
    _text(Booking._meta.get_field("guest_email").max_length),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "email", "maxLength": 254}, {"type": "string", "maxLength": 0}]}),
]
# What nowistay.phones.PHONE_PATTERN lets through (within the field's length), or empty. The number
# itself is read in the property's country by the model (Booking.clean_fields) and stored in E.164.
PHONE_SCHEMA_PATTERN = r"^(\+?[0-9 ()./-]{4,32})?$"
GuestPhone = Annotated[
    _text(Booking._meta.get_field("guest_phone").max_length),
    WithJsonSchema({"type": "string", "maxLength": 32, "pattern": PHONE_SCHEMA_PATTERN, "examples": ["+33 6 12 34 56 78"]}),
]


GUEST_LANGUAGE_DESCRIPTION = (
    "The guest's language, ISO 639-1 (e.g. fr); a region is ignored (pt-BR is stored as pt). Empty: the language of the "
    "guest phone number's country. Guest messages are sent in it when the message has a text in it."
)
GuestLanguage = Annotated[
    str,
    StringConstraints(strict=True),
    AfterValidator(normalise_language),  # its LanguageRefused is a ValueError: a 400 naming the field
    WithJsonSchema({"type": "string", "maxLength": 35, "examples": ["fr"], "description": GUEST_LANGUAGE_DESCRIPTION}),
]
StatusValue = Literal["pending", "confirmed", "cancelled"]
assert set(StatusValue.__args__) == set(BookingStatus.values)
STATUS_DESCRIPTION = (
    "Only confirmed bookings get a door code. A cancelled booking may be confirmed again: it gets a new code "
    "(the one retired at the cancellation never comes back)."
)

CODE_STATES = (
    "no_code", "scheduled", "creating", "retrying", "active", "updating",
    "revoking", "revoked", "expired", "failed", "unrevocable",
)  # the kinds of locks.code_status.describe_code


def _no_default(schema: dict) -> None:
    schema.pop("default", None)


def _optional(**kwargs):
    """A PATCH field: may be left out, but not sent as null (unless its type allows null)."""
    return Field(None, json_schema_extra=_no_default, **kwargs)


# --- requests ------------------------------------------------------------------------------------


class BookingIn(Schema):
    """A whole booking (PUT): every field is set; an optional field left out is cleared."""

    model_config = ConfigDict(extra="forbid")

    property: ObjectId = Field(..., description="Id of one of your properties.")
    guest_name: GuestName
    guest_email: GuestEmail = ""
    guest_phone: GuestPhone = Field(
        "",
        description="Digits; spaces, +, -, ( ) and . are allowed, letters and extensions are not. Without + and a country "
        "code, read as a number of the property's country. Stored and returned in E.164, e.g. +33612345678.",
    )
    guest_language: GuestLanguage = ""
    arrival_date: ApiDate
    departure_date: ApiDate = Field(..., description=f"After the arrival date; {DATE_RANGE}.")
    status: StatusValue = Field(..., description=STATUS_DESCRIPTION)
    check_in_time: ApiTime | None = Field(None, description="Negotiated check-in on the arrival date; null uses the property's.")
    check_out_time: ApiTime | None = Field(None, description="Negotiated check-out on the departure date; null uses the property's.")


class BookingPatch(Schema):
    """Some fields of an existing booking (PATCH): fields left out keep their value."""

    model_config = ConfigDict(extra="forbid")

    property: ObjectId = _optional(description="Id of one of your properties.")
    guest_name: GuestName = _optional()
    guest_email: GuestEmail = _optional()
    guest_phone: GuestPhone = _optional(
        description="As in PUT: without + and a country code, read as a number of the property's country; stored in E.164."
    )
    guest_language: GuestLanguage = _optional()
    arrival_date: ApiDate = _optional()
    departure_date: ApiDate = _optional()
    status: StatusValue = _optional(description=STATUS_DESCRIPTION)
    check_in_time: ApiTime | None = _optional(description="null uses the property's check-in time.")
    check_out_time: ApiTime | None = _optional(description="null uses the property's check-out time.")


class BookingFilters(Schema):
    """Query filters of the booking list; each may be left out (a query string has no null)."""

    property: QueryId = _optional(description="Only this property's bookings.")
    status: StatusValue = _optional(description="Only bookings with this status.")
    arrival_from: ApiDate = _optional(description=f"Arriving on or after this date ({DATE_RANGE}).")
    arrival_to: ApiDate = _optional(description=f"Arriving on or before this date ({DATE_RANGE}).")
    external_ref: str = _optional(max_length=REF_MAX_LENGTH, pattern=REF_PATTERN, description="Exactly this reference.")


# --- responses -----------------------------------------------------------------------------------


class LockOut(Schema):
    provider: str = Field(..., description=f"The lock's brand: one of {', '.join(registry.PROVIDER_CLASSES)}.", examples=["ttlock"])
    brand: str = Field(..., examples=["TTLock"])
    name: str


class PropertyOut(Schema):
    id: int
    name: str
    time_zone: str = Field(..., description="IANA name, e.g. Europe/Paris.")
    default_check_in_time: TimeOfDay = Field(..., description="The property's check-in time (15:00 when it has none).")
    default_check_out_time: TimeOfDay = Field(..., description="The property's check-out time (11:00 when it has none).")
    eligible_for_smart_lock: bool = Field(
        ..., description="On the Nowistay PMS with an active AI Assistant subscription: only these get door codes."
    )
    lock: LockOut | None = Field(..., description="The smart lock assigned to the property, if any.")

    @staticmethod
    def resolve_default_check_in_time(obj) -> time:
        return check_in_time_of(None, obj.default_check_in_time)

    @staticmethod
    def resolve_default_check_out_time(obj) -> time:
        return check_out_time_of(None, obj.default_check_out_time)

    @staticmethod
    def resolve_eligible_for_smart_lock(obj) -> bool:
        return obj.is_eligible_for_smart_lock

    @staticmethod
    def resolve_lock(obj) -> dict | None:
        lock = lock_of(obj)
        if lock is None:
            return None
        return {"provider": lock.account.provider, "brand": lock.account.provider_name, "name": lock.name}


class CodeErrorOut(Schema):
    code: Literal[tuple(ERROR_CODES)] = Field(..., description="What is wrong, as a machine-readable kind (see the API description).")
    since: datetime = Field(..., description="Since when, UTC (e.g. the first failed attempt, or when a read-back found it).")
    message: str = Field(..., description="The problem in plain words, for the host.")


class CodeWarningOut(Schema):
    code: Literal[tuple(WARNING_CODES)] = Field(..., description="What deserves a look, as a machine-readable kind.")
    since: datetime = Field(..., description="Since when, UTC.")
    message: str = Field(..., description="The warning in plain words, for the host.")


class CodeOut(Schema):
    state: Literal[CODE_STATES] = Field(..., description="The code's state, as a machine-readable kind.")
    description: str = Field(..., description="The state in plain words, as the host dashboard shows it.")
    valid_from: datetime | None = Field(
        ..., description="Start of the validity window (margin included), UTC. The lock's window when it holds one."
    )
    valid_until: datetime | None = Field(..., description="End of the validity window, UTC.")
    valid_from_local: datetime | None = Field(..., description="valid_from in the property's time zone.")
    valid_until_local: datetime | None = Field(..., description="valid_until in the property's time zone.")
    time_zone: str = Field(..., description="The property's time zone.")
    usage_note: str = Field(..., description="What the guest must know to use the code (e.g. use within 24 hours of its start).")
    pin: str | None = Field(
        ..., description="The guest's PIN: only for tokens with the read_pins scope, and only once the code has one; otherwise null."
    )
    confirmed_on_lock_at: datetime | None = Field(
        ..., description="When Nowistay last read the lock back and found the code on it as it should be, UTC; null until then."
    )
    first_used_at: datetime | None = Field(
        ...,
        description="The first keypad opening with this code, from the lock's access log, UTC; "
        "null when not used (or the brand has no log).",
    )
    last_used_at: datetime | None = Field(..., description="The latest keypad opening with this code, UTC; null when not used.")
    fallback: Literal["offline", "backup"] | None = Field(
        ...,
        description="Set when this code was given because the guest's own code did not reach the lock in time: "
        "`offline` (issued by the vendor's cloud without reaching the lock; cannot be revoked remotely before it is used) "
        "or `backup` (one of the backup codes kept on the lock). Null for the guest's own code.",
    )
    clock_warning: str = Field(
        ...,
        description="Set when the lock reports its own clock (a time zone or a UTC offset) and it is not the property's over "
        "the code's window (an offset: at its start), so the code may open at the wrong hour; empty otherwise.",
    )
    errors: list[CodeErrorOut] = Field(
        ..., description="What is wrong with the code now (empty when nothing is), oldest first. Kinds: " + ", ".join(ERROR_CODES) + "."
    )
    warnings: list[CodeWarningOut] = Field(
        ..., description="What works but deserves a look, oldest first. Kinds: " + ", ".join(WARNING_CODES) + "."
    )


class LadderStepOut(Schema):
    kind: Literal["host_warned", "fallback_sent", "no_fallback", "host_reminded"] = Field(
        ..., description="The step of the escalation ladder taken while the code was not on the lock."
    )
    at: datetime = Field(..., description="When it was taken, UTC.")
    detail: str = Field(..., description="What was done, in plain words (never a PIN).")


OFFSET_PATTERN = r"^[+-]([01][0-9]|2[0-3]):[0-5][0-9]$"


class ClockChangeOut(Schema):
    at: datetime = Field(..., description="When the property's clocks change, UTC.")
    from_offset: str = Field(..., pattern=OFFSET_PATTERN, description="The property's UTC offset before the change.", examples=["+01:00"])
    to_offset: str = Field(..., pattern=OFFSET_PATTERN, description="Its UTC offset after the change.", examples=["+02:00"])
    message: str = Field(
        ..., description="What the change means for the stay and its door code, in plain words, as the booking page shows it."
    )


class BookingOut(Schema):
    id: int
    external_ref: str | None = Field(..., description="Your reference; null for bookings made on the dashboard.")
    property: int
    guest_name: str
    guest_email: str
    guest_phone: str = Field(
        ...,
        description="E.164, e.g. +33612345678; empty when unknown. A number stored before numbers were read, "
        "that could not be read, keeps the form it was written in.",
    )
    guest_language: str = Field(..., description="ISO 639-1, e.g. fr; empty when not set (the phone's country is then used).")
    arrival_date: date
    departure_date: date
    status: StatusValue
    check_in_time: TimeOfDay | None
    check_out_time: TimeOfDay | None
    access_ended_at: datetime | None = Field(..., description="Set when access ended early (early departure, or revoked by staff).")
    created_at: datetime
    updated_at: datetime
    code: CodeOut
    ladder: list[LadderStepOut] = Field(
        ...,
        description="The escalation ladder's steps taken for this booking, oldest first: empty while its code reached the lock in time.",
    )
    clock_change: ClockChangeOut | None = Field(
        ...,
        description="The first daylight-saving change of the property's zone that the stay crosses: within its code's window "
        "on the lock while the code works, else between check-in and check-out. null when it crosses none; the message "
        "names every change crossed.",
    )
    code_rotation: CodeRotationOut | None = Field(
        ..., description="The latest rotation of the booking's code (POST .../rotate-code/), null when it was never rotated."
    )

    @staticmethod
    def resolve_ladder(obj) -> list[dict]:
        return [{"kind": step.kind, "at": step.created_at, "detail": step.detail} for step in obj.ladder_steps.all()]

    @staticmethod
    def resolve_property(obj) -> int:
        return obj.property_id

    @staticmethod
    def resolve_external_ref(obj) -> str | None:
        link = getattr(obj, "external_ref", None)  # a missing reverse one-to-one is an AttributeError
        return link.ref if link is not None else None

    @staticmethod
    def resolve_code(obj, context) -> dict:
        return code_view(obj, token=getattr(context["request"], "auth", None))

    @staticmethod
    def resolve_clock_change(obj) -> dict | None:
        return clock_change_view(obj)

    @staticmethod
    def resolve_code_rotation(obj) -> dict | None:
        return rotation_of(obj)


class FieldError(Schema):
    field: str | None = Field(..., description="The field at fault (a dotted path for nested input); null for the request as a whole.")
    message: str


class ValidationErrorOut(Schema):
    detail: str = Field(..., examples=["Invalid request."])
    errors: list[FieldError]


class ErrorOut(Schema):
    detail: str
