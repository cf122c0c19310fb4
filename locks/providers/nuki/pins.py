"""Nuki's PIN rule [N-PIN, N-ZERO]."""

from locks.providers.pin_rules import only_digits


def nuki_rule(pin: str) -> str | None:
    """Nuki: six digits from 1 to 9, not starting with 12."""
    # The Nuki keypad has no 0 key (N-PIN, N-ZERO).
    if len(pin) != 6 or not only_digits(pin, allowed="123456789"):
        return "Nuki PINs are 6 digits from 1 to 9 (the keypad has no 0)."
    # Nuki reserves PINs starting with 12 (N-PIN).
    if pin.startswith("12"):
        return "Nuki PINs cannot start with 12."
    return None
