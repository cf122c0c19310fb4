"""What PIN rules share: the digit checks each vendor's rule is made of, and Nowistay's own rule
for vendors without a stricter one. Pure functions; each vendor's rule lives in its package
(`locks.providers.<vendor>.pins`) and is declared on its provider (`LockProvider.pin_rule`)."""

from collections.abc import Callable

PIN_LENGTH = 6
DIGITS = "0123456789"

PinRule = Callable[[str], str | None]
"""Takes a PIN; returns None when the vendor accepts it, else a short reason in plain words."""


def only_digits(pin: str, allowed: str = DIGITS) -> bool:
    # str.isdigit() would also accept "²" and other Unicode digits no keypad has.
    return bool(pin) and all(character in allowed for character in pin)


def is_strictly_monotonic(pin: str) -> bool:
    steps = [int(b) - int(a) for a, b in zip(pin, pin[1:], strict=False)]
    return all(step > 0 for step in steps) or all(step < 0 for step in steps)


def is_consecutive_run(pin: str) -> bool:
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:], strict=False)}
    return steps in ({1}, {-1})


def generic_rule(pin: str) -> str | None:
    """Nowistay's own rule, for vendors without stricter ones: exactly six digits."""
    if len(pin) != PIN_LENGTH or not only_digits(pin):
        return f"The PIN must be exactly {PIN_LENGTH} digits."
    return None
