from django import forms
from django.utils.functional import lazy
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from locks.models import (
    BACKUP_CODES_MAX,
    LADDER_HOURS_MAX,
    LEAD_DAYS_DEFAULT,
    LEAD_DAYS_MAX,
    LEAD_DAYS_MIN,
    MARGIN_MINUTES_DEFAULT,
    MARGIN_MINUTES_MAX,
    MARGIN_MINUTES_MIN,
    CodeSource,
    LockAssignment,
)

# What the host asked to be emailed about, read from the lock's access log (issue 19).
NOTIFY_FIELDS = ("notify_first_entry", "notify_unused_code")
# What happens while a guest's code is late (issue 20): the escalation ladder and the backup codes.
LADDER_FIELDS = ("warn_host_hours_before", "send_fallback", "fallback_hours_before", "remind_host_at_check_in", "backup_codes")


_NUMBER_ERRORS = ("min_value", "max_value", "invalid", "required")


def _filled(message, **values):
    """A lazy message with its named placeholders filled in once it is shown, in the reader's language."""
    return lazy(lambda: str(message) % values, str)()


def _model_label(name: str) -> str:
    return capfirst(LockAssignment._meta.get_field(name).verbose_name)


def _ladder_number(name: str, maximum: int, range_error) -> forms.IntegerField:
    """One of the ladder's numbers, labelled and defaulted as the model says; empty keeps the saved value."""
    return forms.IntegerField(
        label=_model_label(name),
        required=False,
        min_value=0,
        max_value=maximum,
        initial=LockAssignment._meta.get_field(name).default,
        error_messages=dict.fromkeys(_NUMBER_ERRORS, _filled(range_error, maximum=maximum)),
    )


class AssignmentForm(forms.Form):
    """One row of "Lock assignments". The lock is an id checked against the host's own account by
    the view (another host's lock is a 404, not a form error); the template draws the options."""

    lock = forms.IntegerField(
        required=True, error_messages={"required": _("Choose a lock, or use Remove to take the lock off this property.")}
    )
    lead_days = forms.IntegerField(
        label=_("Generate codes X days before arrival"),
        min_value=LEAD_DAYS_MIN,
        max_value=LEAD_DAYS_MAX,
        initial=LEAD_DAYS_DEFAULT,
        error_messages={
            "min_value": _filled(_("Choose from %(low)d to %(high)d days."), low=LEAD_DAYS_MIN, high=LEAD_DAYS_MAX),
            "max_value": _filled(_("Choose from %(low)d to %(high)d days."), low=LEAD_DAYS_MIN, high=LEAD_DAYS_MAX),
            "invalid": _("Enter a whole number of days."),
            "required": _filled(_("Enter a number of days from %(low)d to %(high)d."), low=LEAD_DAYS_MIN, high=LEAD_DAYS_MAX),
        },
    )
    margin_minutes = forms.IntegerField(
        label=_("Access margin"),
        min_value=MARGIN_MINUTES_MIN,
        max_value=MARGIN_MINUTES_MAX,
        initial=MARGIN_MINUTES_DEFAULT,
        error_messages={
            "min_value": _filled(_("Choose from %(low)d to %(high)d minutes."), low=MARGIN_MINUTES_MIN, high=MARGIN_MINUTES_MAX),
            "max_value": _filled(
                _("Choose from %(low)d to %(high)d minutes (4 hours)."), low=MARGIN_MINUTES_MIN, high=MARGIN_MINUTES_MAX
            ),
            "invalid": _("Enter a whole number of minutes."),
            "required": _filled(
                _("Enter a number of minutes from %(low)d to %(high)d."), low=MARGIN_MINUTES_MIN, high=MARGIN_MINUTES_MAX
            ),
        },
    )
    code_source = forms.ChoiceField(label=_("Code source"), choices=CodeSource.choices, required=False)
    notify_first_entry = forms.BooleanField(label=_model_label("notify_first_entry"), required=False)
    notify_unused_code = forms.BooleanField(label=_model_label("notify_unused_code"), required=False)
    # The ladder's settings are applied only from a form that showed them (its checkboxes unticked
    # mean "no"; a post without them, e.g. an older page, changes nothing).
    ladder_shown = forms.BooleanField(required=False, widget=forms.HiddenInput)
    warn_host_hours_before = _ladder_number("warn_host_hours_before", LADDER_HOURS_MAX, _("Choose from 0 to %(maximum)d hours."))
    send_fallback = forms.BooleanField(label=_model_label("send_fallback"), required=False, initial=True)
    fallback_hours_before = _ladder_number("fallback_hours_before", LADDER_HOURS_MAX, _("Choose from 0 to %(maximum)d hours."))
    remind_host_at_check_in = forms.BooleanField(label=_model_label("remind_host_at_check_in"), required=False, initial=True)
    backup_codes = _ladder_number("backup_codes", BACKUP_CODES_MAX, _("Choose from 0 to %(maximum)d backup codes."))

    def __init__(self, *args, takes_chosen_pins: bool = True, reads_access_log: bool = True, keeps_backups: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not keeps_backups:  # offline codes instead (TTLock), or PINs the vendor chooses
            del self.fields["backup_codes"]
        if not takes_chosen_pins:
            del self.fields["code_source"]
        if not reads_access_log:  # no log to read: Nowistay cannot know whether a guest entered
            for name in NOTIFY_FIELDS:
                del self.fields[name]

    def ladder_choices(self) -> dict:
        """The escalation ladder's settings, as cleaned (the backup codes only where the brand keeps
        them); none from a form that did not show them, and a number left empty is kept."""
        if not self.cleaned_data.get("ladder_shown"):
            return {}
        chosen = {name: self.cleaned_data[name] for name in LADDER_FIELDS if name in self.fields}
        return {name: value for name, value in chosen.items() if value is not None}

    def notify_choices(self) -> dict[str, bool]:
        """The email choices this brand offers, as cleaned (none when it has no access log)."""
        return {name: self.cleaned_data[name] for name in NOTIFY_FIELDS if name in self.fields}
