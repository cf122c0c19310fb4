"""When a booking's code was used, as the lock's access log told Nowistay (issue 19).

Pure apart from what the caller loaded (the code with "lock__account"): no query, no vendor call.
Said only for a brand whose access log Nowistay reads (`Capabilities.access_log`): for the others
"not used yet" would be a guess. Times read in the property's time zone.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import dateformat
from django.utils.translation import gettext as _

from locks.models import AccessCode, CodeState
from locks.providers import registry
from locks.providers.exceptions import OperationNotSupported

# A code that has been on the lock: live, or finished after it was.
ON_THE_LOCK = {CodeState.ACTIVE, CodeState.UPDATING, CodeState.SUPERSEDED, CodeState.REVOKING, CodeState.EXPIRING}
FINISHED = {CodeState.REVOKED, CodeState.EXPIRED}

_USE = "H:i, j M"  # Django date format: "15:42, 12 Mar", the month in the active language


def access_log_read(code: AccessCode) -> bool:
    try:
        return registry.provider_class(code.lock.account.provider).capabilities.access_log
    except OperationNotSupported:  # a vendor no longer installed
        return False


def use_time(moment: datetime, time_zone: str) -> str:
    """e.g. "15:42, 12 Mar" in the property's time."""
    return dateformat.format(moment.astimezone(ZoneInfo(time_zone)), _USE)


def code_use_text(code: AccessCode | None, *, time_zone: str) -> str:
    """ "first used 15:42, 12 Mar" (and the latest use when later), "not used yet", "never used",
    or "" when there is nothing Nowistay can say."""
    if code is None or not access_log_read(code):
        return ""
    if code.first_used_at is not None:
        first = use_time(code.first_used_at, time_zone)
        if code.last_used_at is not None and code.last_used_at > code.first_used_at:
            return _("first used %(first)s, last used %(last)s") % {"first": first, "last": use_time(code.last_used_at, time_zone)}
        return _("first used %(first)s") % {"first": first}
    if code.activated_at is None:  # never on the lock: nothing to have been used
        return ""
    if code.state in ON_THE_LOCK:
        return _("not used yet")
    return _("never used") if code.state in FINISHED else ""
