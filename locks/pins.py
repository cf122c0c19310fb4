"""Choosing a guest's PIN, checked against its vendor's rule.

Pure functions over plain values. The rules are docs/product.md, "PINs"; each vendor's rule is
declared by its provider (`LockProvider.pin_rule`, in `locks.providers.<vendor>.pins`).
"""

from __future__ import annotations

import random
from collections.abc import Collection
from typing import Literal

from locks.providers.pin_rules import DIGITS, PIN_LENGTH, PinRule, generic_rule
from nowistay.phones import national_digits

__all__ = [
    "DIGITS",
    "MAX_DRAWS",
    "PIN_LENGTH",
    "PinRule",
    "PinSource",
    "PinSpaceExhausted",
    "choose_pin",
    "generic_rule",
    "phone_pin",
    "random_pin",
]

MAX_DRAWS = 1000

PinSource = Literal["random", "guest_phone"]


class PinSpaceExhausted(Exception):
    """No free PIN satisfying the vendor's rules was found on this lock."""


def random_pin(*, rng: random.Random, rule: PinRule, taken: Collection[str]) -> str:
    """A random 6-digit PIN that `rule` accepts and that is not in `taken`.

    Production callers pass `random.SystemRandom()`, so PINs cannot be predicted from earlier
    ones; tests pass a seeded `random.Random`. Raises PinSpaceExhausted after MAX_DRAWS draws.
    """
    for _ in range(MAX_DRAWS):
        candidate = "".join(rng.choice(DIGITS) for _ in range(PIN_LENGTH))
        if candidate not in taken and rule(candidate) is None:
            return candidate
    raise PinSpaceExhausted(f"No free PIN found in {MAX_DRAWS} draws.")


def phone_pin(phone: str | None) -> str | None:
    """The last 6 digits of a stored (E.164) phone number's national number ("+44 7700 900123" →
    "900123"), never digits of its country code; None when the national number has fewer than 6
    digits, or the value is not an international number (one kept as written because it could
    not be read)."""
    digits = national_digits(phone)
    if digits is None or len(digits) < PIN_LENGTH:
        return None
    return digits[-PIN_LENGTH:]


def choose_pin(
    *,
    source: PinSource,
    phone: str | None,
    taken: Collection[str],
    rule: PinRule,
    rng: random.Random,
) -> str:
    """The PIN for a new code: from the guest's phone when asked and possible, else random.

    The phone's last 6 digits are used only when they exist, are free on the lock and pass the
    vendor's rule; otherwise, and for the "random" source, a random PIN is drawn.
    """
    if source not in ("random", "guest_phone"):
        raise ValueError(f"Unknown PIN source: {source!r}.")
    if source == "guest_phone":
        candidate = phone_pin(phone)
        if candidate is not None and candidate not in taken and rule(candidate) is None:
            return candidate
    return random_pin(rng=rng, rule=rule, taken=taken)
