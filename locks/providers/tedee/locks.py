"""Tedee's locks: which can take PINs (a keypad, a bridge, and owner or administrator rights)."""

KEYPAD_DEVICE_TYPES = {3, 10}  # Keypad, Keypad PRO [TD enums/device-type.rst]
ACCESS_ADMIN, ACCESS_OWNER = 1, 2  # [TD enums/access-level.rst]


def unavailable_reasons(item: dict) -> list[str]:
    """Why a lock cannot take remote PINs, in plain words; empty when it can. Being offline right
    now is live state, never a reason."""
    reasons = []
    accessories = item.get("accessories") or []
    if not any(isinstance(a, dict) and a.get("deviceType") in KEYPAD_DEVICE_TYPES for a in accessories):
        reasons.append("No Tedee Keypad is paired with this lock.")
    if not item.get("connectedToId"):
        reasons.append("The lock is not paired with a Tedee Bridge, so PINs cannot be sent to it remotely.")
    if item.get("accessLevel") not in (ACCESS_ADMIN, ACCESS_OWNER):
        reasons.append("Your Tedee account is not the owner or an administrator of this lock.")
    return reasons
