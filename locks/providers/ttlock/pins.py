"""TTLock's PIN rule [T-ADD, T-ADD-EN, T-ERR]; why a leading zero is refused: see the package docstring."""

from locks.providers.pin_rules import is_consecutive_run, only_digits


def ttlock_rule(pin: str) -> str | None:
    """TTLock: 4 to 9 digits, not starting with 0, not one repeated digit, not a run of
    consecutive digits."""
    # Other lengths are refused with errcode -3006 (T-ADD-EN, T-ERR).
    if not 4 <= len(pin) <= 9 or not only_digits(pin):
        return "TTLock PINs are 4 to 9 digits."
    # The add page types `keyboardPwd` as Int (T-ADD; an open question in TTLock's docs): a
    # leading zero may be dropped on the lock while the guest is given six digits.
    if pin.startswith("0"):
        return "TTLock PINs cannot start with 0."
    # "Too simple" codes are refused with errcode -2032; the exact rule is unpublished (T-ERR).
    if len(set(pin)) == 1 or is_consecutive_run(pin):
        return "TTLock PINs cannot be one repeated digit or a run of consecutive digits."
    return None
