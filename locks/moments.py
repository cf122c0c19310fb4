"""Moments and days as a host or guest reads them, in the active language: Django's date format
(day and month names translated), the connecting words in one translated message.

The English is the same as the strftime forms these replace: "11:30 on 15 March 2026"."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import dateformat
from django.utils.translation import gettext as _


def local_time(moment: datetime, tz_name: str) -> str:
    """A moment in a zone, e.g. "11:30 on 15 March 2026"."""
    local = moment.astimezone(ZoneInfo(tz_name))
    return _("%(time)s on %(day)s") % {"time": dateformat.format(local, "H:i"), "day": dateformat.format(local, "j F Y")}


def utc_time(moment: datetime) -> str:
    """A moment not tied to a property, e.g. "16:00 UTC on 31 December 2026"."""
    local = moment.astimezone(ZoneInfo("UTC"))
    return _("%(time)s UTC on %(day)s") % {"time": dateformat.format(local, "H:i"), "day": dateformat.format(local, "j F Y")}


def clock(moment: datetime, zone: ZoneInfo | None = None) -> str:
    """The time of day only, e.g. "11:30"."""
    return dateformat.format(moment.astimezone(zone) if zone else moment, "H:i")


def day(value: date | datetime, fmt: str = "j F Y") -> str:
    """A day in Django's date syntax: "j F Y" (15 March 2026), "j M" (15 Mar), "j F" (15 March)."""
    return dateformat.format(value, fmt)
