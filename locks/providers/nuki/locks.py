"""Nuki's smart locks: a keypad, the bridge's server state, the Smart Hosting subscription and the lock's zone."""

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


# --- the lock's time zone -------------------------------------------------------------------------

# `config.timezoneId` is Nuki's own id, "check https://developer.nuki.io for ids" [N-SW]; the ids
# published there are the Smart Lock API's time zone table [N-TZID]. That the Web API uses the same
# table is UNVERIFIED (the only id table Nuki publishes; a Paris lock answers 37, Europe/Berlin,
# the same clock all year). 65535 means no zone: the lock keeps a manual offset, not reported.
NUKI_TIME_ZONES = {
    0: "Africa/Cairo", 1: "Africa/Lagos", 2: "Africa/Maputo", 3: "Africa/Nairobi", 4: "America/Anchorage",
    5: "America/Argentina/Buenos_Aires", 6: "America/Chicago", 7: "America/Denver", 8: "America/Halifax",
    9: "America/Los_Angeles", 10: "America/Manaus", 11: "America/Mexico_City", 12: "America/New_York",
    13: "America/Phoenix", 14: "America/Regina", 15: "America/Santiago", 16: "America/Sao_Paulo",
    17: "America/St_Johns", 18: "Asia/Bangkok", 19: "Asia/Dubai", 20: "Asia/Hong_Kong", 21: "Asia/Jerusalem",
    22: "Asia/Karachi", 23: "Asia/Kathmandu", 24: "Asia/Kolkata", 25: "Asia/Riyadh", 26: "Asia/Seoul",
    27: "Asia/Shanghai", 28: "Asia/Tehran", 29: "Asia/Tokyo", 30: "Asia/Yangon", 31: "Australia/Adelaide",
    32: "Australia/Brisbane", 33: "Australia/Darwin", 34: "Australia/Hobart", 35: "Australia/Perth",
    36: "Australia/Sydney", 37: "Europe/Berlin", 38: "Europe/Helsinki", 39: "Europe/Istanbul", 40: "Europe/London",
    41: "Europe/Moscow", 42: "Pacific/Auckland", 43: "Pacific/Guam", 44: "Pacific/Honolulu", 45: "Pacific/Pago_Pago",
}


def time_zone_of(device: dict) -> str:
    """The lock's IANA zone from `config.timezoneId`; "" when absent, 65535 (none) or not in the table.
    The deprecated `config.timezoneOffset` [N-SW] is not read."""
    config = device.get("config") if isinstance(device.get("config"), dict) else {}
    zone_id = config.get("timezoneId")
    if isinstance(zone_id, bool) or not isinstance(zone_id, int):
        return ""
    return NUKI_TIME_ZONES.get(zone_id, "")
