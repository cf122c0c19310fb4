"""Tedee's PIN rule [TD endpoints/lockpin/create.rst]."""

from locks.providers.pin_rules import is_strictly_monotonic, only_digits


def tedee_rule(pin: str) -> str | None:
    """Tedee: 5 to 8 digits, at least 3 different ones, not an ascending or descending run."""
    if not 5 <= len(pin) <= 8 or not only_digits(pin):
        return "Tedee PINs are 5 to 8 digits."
    if len(set(pin)) < 3:
        return "Tedee PINs need at least 3 different digits."
    # Tedee refuses "a strictly ascending or descending sequence"; we read "strictly" broadly
    # (135789 too), as a refusal costs more than a redraw (TD lockpin/create).
    if is_strictly_monotonic(pin):
        return "Tedee PINs cannot be an ascending or descending run."
    return None
