"""The account's locks as the panel offers them: the list under "Lock assignments" and the dropdown
of an edited row. Every word is translated in the host's language, each phrase whole."""

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from bookings.models import Property
from locks.models import Lock


def assigned_note(property_name: str) -> str:
    """The dropdown option's note after a lock's name; a row's own lock drops it (AssignmentRow.options_html)."""
    return _(" — assigned to %(property)s") % {"property": property_name}


@dataclass
class LockOption:
    lock: Lock
    assigned_to: Property | None
    kept_in_cloud: bool = False  # the vendor writes codes while the lock is offline (Capabilities.writes_while_offline)

    @property
    def disabled(self) -> bool:
        return not self.lock.supports_remote_codes

    @property
    def label(self) -> str:
        values = {"lock": self.lock.name, "reason": self.lock.unavailable_reason}
        if self.disabled:
            return _("%(lock)s — unavailable: %(reason)s") % values
        if self.lock.is_online is False:
            # Vendors whose codes live in their cloud write them anyway; the lock takes them when back.
            if self.kept_in_cloud:
                return _("%(lock)s (offline now; codes reach it when it is back)") % values
            return _("%(lock)s (offline now; codes are retried)") % values
        return self.lock.name

    @property
    def availability(self) -> str:
        """An available lock in the panel's list of locks: "available, online, assigned to Flat 2"."""
        online = self.lock.is_online
        if self.assigned_to is None:
            if online is False:
                return _("available, offline now")
            return _("available, online") if online else _("available")
        values = {"property": self.assigned_to.name}
        if online is False:
            return _("available, offline now, assigned to %(property)s") % values
        if online:
            return _("available, online, assigned to %(property)s") % values
        return _("available, assigned to %(property)s") % values


def lock_options_html(options: list[LockOption]) -> SafeString:
    """The dropdown's options, rendered once per page (at most one row shows them at a time)."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}{}</option>',
        (
            (
                option.lock.pk,
                mark_safe(" disabled") if option.disabled else "",
                option.label,
                assigned_note(option.assigned_to.name) if option.assigned_to and not option.disabled else "",
            )
            for option in options
        ),
    )


def own_note_html(property_name: str) -> SafeString:
    return format_html("{}", assigned_note(property_name))
