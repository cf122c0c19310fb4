"""Choosing a guest's PIN and checking it against each vendor's rules.

Pure functions over plain values. The rules are docs/product.md, "PINs"; each vendor's quirks are
cited by source key (docs/vendors.md, "Sources").
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from typing import Literal

from nowistay.phones import national_digits

PIN_LENGTH = 6
MAX_DRAWS = 1000
DIGITS = "0123456789"

PinRule = Callable[[str], str | None]
"""Takes a PIN; returns None when the vendor accepts it, else a short reason in plain words."""

PinSource = Literal["random", "guest_phone"]


class PinSpaceExhausted(Exception):
    """No free PIN satisfying the vendor's rules was found on this lock."""


def _only_digits(pin: str, allowed: str = DIGITS) -> bool:
    # str.isdigit() would also accept "²" and other Unicode digits no keypad has.
    return bool(pin) and all(character in allowed for character in pin)


def _is_strictly_monotonic(pin: str) -> bool:
    steps = [int(b) - int(a) for a, b in zip(pin, pin[1:])]
    return all(step > 0 for step in steps) or all(step < 0 for step in steps)


def _is_consecutive_run(pin: str) -> bool:
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:])}
    return steps in ({1}, {-1})


def generic_rule(pin: str) -> str | None:
    """Nowistay's own rule, for vendors without stricter ones: exactly six digits."""
    if len(pin) != PIN_LENGTH or not _only_digits(pin):
        return f"The PIN must be exactly {PIN_LENGTH} digits."
    return None


def tedee_rule(pin: str) -> str | None:
    """Tedee: 5 to 8 digits, at least 3 different ones, not an ascending or descending run."""
    if not 5 <= len(pin) <= 8 or not _only_digits(pin):
        return "Tedee PINs are 5 to 8 digits."
    if len(set(pin)) < 3:
        return "Tedee PINs need at least 3 different digits."
    # Tedee refuses "a strictly ascending or descending sequence"; we read "strictly" broadly
    # (135789 too), as a refusal costs more than a redraw (TD lockpin/create).
    if _is_strictly_monotonic(pin):
        return "Tedee PINs cannot be an ascending or descending run."
    return None


def nuki_rule(pin: str) -> str | None:
    """Nuki: six digits from 1 to 9, not starting with 12."""
    # The Nuki keypad has no 0 key (N-PIN, N-ZERO).
    if len(pin) != 6 or not _only_digits(pin, allowed="123456789"):
        return "Nuki PINs are 6 digits from 1 to 9 (the keypad has no 0)."
    # Nuki reserves PINs starting with 12 (N-PIN).
    if pin.startswith("12"):
        return "Nuki PINs cannot start with 12."
    return None


def ttlock_rule(pin: str) -> str | None:
    """TTLock: 4 to 9 digits, not starting with 0, not one repeated digit, not a run of
    consecutive digits."""
    # Other lengths are refused with errcode -3006 (T-ADD-EN, T-ERR).
    if not 4 <= len(pin) <= 9 or not _only_digits(pin):
        return "TTLock PINs are 4 to 9 digits."
    # The add page types `keyboardPwd` as Int (T-ADD; an open question in TTLock's docs): a
    # leading zero may be dropped on the lock while the guest is given six digits.
    if pin.startswith("0"):
        return "TTLock PINs cannot start with 0."
    # "Too simple" codes are refused with errcode -2032; the exact rule is unpublished
    # (T-ERR; the exact rule is unpublished).
    if len(set(pin)) == 1 or _is_consecutive_run(pin):
        return "TTLock PINs cannot be one repeated digit or a run of consecutive digits."
    return None


_RULES_BY_PROVIDER: dict[str, PinRule] = {
    "tedee": tedee_rule,
    "nuki": nuki_rule,
    "ttlock": ttlock_rule,
}


def pin_rule_for(provider_slug: str) -> PinRule:
    """The PIN rule of a provider; the generic rule for providers without their own."""
    return _RULES_BY_PROVIDER.get(provider_slug, generic_rule)


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
