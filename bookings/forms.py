from zoneinfo import available_timezones

from django import forms
from django.utils.translation import get_language, gettext as _, gettext_lazy

from bookings.models import Property
from nowistay.countries import country_name, country_names_in, country_of_time_zone

TIME_ZONE_NAMES = sorted(available_timezones())


def country_choices(time_zone: str) -> list[tuple[str, str]]:
    """Every ISO 3166-1 country by name, after an empty choice that says what it means for a
    property in `time_zone`."""
    derived = country_of_time_zone(time_zone)
    if derived:
        empty = _("The time zone's country (%(country)s)") % {"country": country_name(derived)}
    else:
        empty = _("None: guest phone numbers need their country code")
    by_name = sorted(country_names_in(get_language() or "en").items(), key=lambda item: item[1].casefold())
    return [("", empty), *((code, f"{name} ({code})") for code, name in by_name)]


def country_field(time_zone: str, **kwargs) -> forms.ChoiceField:
    return forms.ChoiceField(choices=country_choices(time_zone), required=False, **kwargs)


class PropertySettingsForm(forms.ModelForm):
    """The property's time zone and default times: the same model validation as admin and the API."""

    class Meta:
        model = Property
        fields = ["time_zone", "country", "default_check_in_time", "default_check_out_time"]
        labels = {
            "time_zone": gettext_lazy("Time zone"),
            "country": gettext_lazy("Country"),
            "default_check_in_time": gettext_lazy("Default check-in time"),
            "default_check_out_time": gettext_lazy("Default check-out time"),
        }
        help_texts = {
            "time_zone": gettext_lazy("The IANA name of the place, e.g. Europe/Paris. Code windows use this time zone."),
            "default_check_in_time": gettext_lazy(
                "Empty means 15:00. A booking's negotiated early check-in takes precedence."
            ),
            "default_check_out_time": gettext_lazy(
                "Empty means 11:00. A booking's negotiated late check-out takes precedence."
            ),
        }
        widgets = {
            "time_zone": forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}),
            "default_check_in_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "default_check_out_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"] = country_field(
            self.instance.time_zone,
            label=_("Country"),
            help_text=_(
                "Guest phone numbers written without + and a country code are read as numbers of this "
                "country, and stored with its code."
            ),
        )

    def clean_time_zone(self) -> str:
        return self.cleaned_data["time_zone"].strip()

    def times_changed(self) -> bool:
        return bool(set(self.changed_data) & {"time_zone", "default_check_in_time", "default_check_out_time"})
