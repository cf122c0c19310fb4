"""Nuki's smart locks: a keypad, the bridge's server state and the Smart Hosting subscription."""

from locks.providers.nuki.errors import NO_SUBSCRIPTION_TEXT, SUBSCRIPTION_ENDED_STATES

SERVER_STATE_OK = 0
SERVER_STATES = {1: "unregistered", 2: "auth uuid invalid", 3: "auth invalid", 4: "offline"}


# --- what a smart lock can do -------------------------------------------------------------------------


def has_keypad(device: dict) -> bool:
    # Either keypad generation takes type-13 codes [N-SW keypadPaired, keypad2Paired].
    config = device.get("config") if isinstance(device.get("config"), dict) else {}
    return bool(config.get("keypadPaired") or config.get("keypad2Paired"))


def subscription_ended(device: dict) -> bool:
    """Whether Nuki reports the lock's Smart Hosting subscription as over (not merely unknown: an
    absent `currentSubscription` gives no verdict; see "Smart Hosting" in the module docstring)."""
    if NO_SUBSCRIPTION_TEXT in str(device.get("error") or "").lower():
        return True
    subscription = device.get("currentSubscription")
    if not isinstance(subscription, dict) or subscription.get("isInGracePeriod") is True:
        return False
    state = subscription.get("state")
    return isinstance(state, str) and state.strip().upper() in SUBSCRIPTION_ENDED_STATES
