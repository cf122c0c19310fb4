"""Validators shared by models, forms and (later) the API, so bad input gets one message."""

import re

from django.core.exceptions import ValidationError

from locks.windows import is_valid_time_zone

PHONE_PATTERN = re.compile(r"^\+?[0-9 ()./-]{4,32}$")


def validate_time_zone(value: str) -> None:
    if not is_valid_time_zone(value):
        raise ValidationError(
            "“%(value)s” is not a known time zone; use an IANA name such as Europe/Paris.",
            code="invalid_time_zone",
            params={"value": value},
        )


def validate_phone(value: str) -> None:
    if value and not PHONE_PATTERN.fullmatch(value):
        raise ValidationError(
            "Enter a phone number with digits only (spaces, +, -, ( ) and . are allowed).",
            code="invalid_phone",
        )
