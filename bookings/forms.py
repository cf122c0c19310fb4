from zoneinfo import available_timezones

from django import forms

from bookings.models import Property

TIME_ZONE_NAMES = sorted(available_timezones())


class PropertySettingsForm(forms.ModelForm):
    """The property's time zone and default times: the same model validation as admin and the API."""

    class Meta:
        model = Property
        fields = ["time_zone", "default_check_in_time", "default_check_out_time"]
        labels = {
            "time_zone": "Time zone",
            "default_check_in_time": "Default check-in time",
            "default_check_out_time": "Default check-out time",
        }
        help_texts = {
            "time_zone": "The IANA name of the place, e.g. Europe/Paris. Code windows use this time zone.",
            "default_check_in_time": "Empty means 15:00. A booking's negotiated early check-in takes precedence.",
            "default_check_out_time": "Empty means 11:00. A booking's negotiated late check-out takes precedence.",
        }
        widgets = {
            "time_zone": forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}),
            "default_check_in_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "default_check_out_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def clean_time_zone(self) -> str:
        return self.cleaned_data["time_zone"].strip()

    def times_changed(self) -> bool:
        return bool(set(self.changed_data) & {"time_zone", "default_check_in_time", "default_check_out_time"})
