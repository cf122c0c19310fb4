"""The words of a door code's status (locks.code_status), marked for translation: the short
reasons, the notes, what the host can do, and times as the host reads them, in the property's
zone and the active language. English as before: "11:00", "00:45 on 6 Jun", "6 June", "14:00 6 Jun"."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import dateformat
from django.utils.translation import gettext as _, gettext_lazy

from locks.models import FallbackKind

# Short reasons for the error kinds of locks.providers.exceptions (their `kind` names).
REASONS = {
    "lock_offline": gettext_lazy("lock or gateway offline"),
    "rate_limited": gettext_lazy("vendor busy"),
    "vendor_unavailable": gettext_lazy("vendor unreachable"),
    "outcome_unknown": gettext_lazy("no answer from the vendor"),
    "transient": gettext_lazy("temporary vendor error"),
    "auth": gettext_lazy("account needs reconnecting"),
    "code_rejected": gettext_lazy("PIN refused by the lock"),
    "lock_not_found": gettext_lazy("lock no longer in the account"),
    "code_not_found": gettext_lazy("code no longer on the lock"),
    "storage_full": gettext_lazy("lock's code memory is full"),
    "not_supported": gettext_lazy("not supported by the vendor"),
    "pending_on_lock": gettext_lazy("still being put on the lock"),
    "pin_taken": gettext_lazy("PIN already on the lock"),
    "subscription_required": gettext_lazy("the lock needs a vendor subscription"),
}

NOT_ELIGIBLE = gettext_lazy(
    "no code: this property cannot have a smart lock (needs the Nowistay PMS and an active AI Assistant subscription)"
)

FALLBACK_NOTES = {
    FallbackKind.OFFLINE: gettext_lazy("an offline code, given because the guest's own code did not reach the lock in time"),
    FallbackKind.BACKUP: gettext_lazy("a backup code from the lock, given because the guest's own code did not reach the lock in time"),
}


def fix_of(kind: str, brand: str) -> str:
    """What the host can do about the cause of a failure, as an instruction ("" when it passes by itself)."""
    values = {"brand": brand}
    if kind == "subscription_required":
        if brand == "Nuki":
            return _("activate Nuki's Smart Hosting subscription for this lock")
        return _("activate the %(brand)s subscription it needs for this lock") % values
    if kind == "lock_offline":
        return _("check that the lock's gateway or bridge has power and Wi-Fi")
    if kind == "auth":
        return _("reconnect your %(brand)s account at Integrations") % values
    if kind == "storage_full":
        return _("remove old codes from the lock in the %(brand)s app") % values
    if kind == "lock_not_found":
        return _("share the lock with your %(brand)s account again, or assign another lock at Integrations") % values
    return ""


def capitalised(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:]


def local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)


def day_text(day: date, now: datetime, zone: ZoneInfo) -> str:
    """ "6 June", with its year when not this year's ("6 June 2027")."""
    return dateformat.format(day, "j F" if day.year == local(now, zone).year else "j F Y")


def moment_text(moment: datetime, zone: ZoneInfo) -> str:
    """ "14:00 6 Jun"."""
    return dateformat.format(local(moment, zone), "H:i j M")


def at_text(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    """The local time ("11:00") on the host's today; with its day ("00:45 on 6 Jun") on another day."""
    value = local(moment, zone)
    clock = dateformat.format(value, "H:i")
    if value.date() == local(now, zone).date():
        return clock
    return _("%(time)s on %(day)s") % {"time": clock, "day": dateformat.format(value, "j M")}


def until_text(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    value = local(moment, zone)
    if value.time() == time(0, 0):  # the end of a day: name the day that ends, not the one that starts
        return _("midnight at the end of %(day)s") % {"day": day_text(value.date() - timedelta(days=1), now, zone)}
    return at_text(moment, now, zone)
