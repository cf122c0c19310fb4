"""Forms of the host booking pages. Model validation (departure after arrival, phone) runs through
the ModelForm; the property choices are the host's own, so another host's id is "Select a valid
choice". Saving goes through `bookings.services`, which validate again."""

from django import forms
from django.utils.translation import get_language, gettext_lazy as _

from bookings.models import Booking, BookingStatus, Property
from nowistay.guest_languages import guest_language_choices

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class HostPropertyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Property) -> str:
        return f"{obj.name} ({obj.time_zone})"


class BookingForm(forms.ModelForm):
    """A booking as the host types it. `with_status` on create only: on an existing booking the
    status changes through the confirm / pending / cancel actions, each with its own preview."""

    property = HostPropertyChoiceField(queryset=Property.objects.none(), label=_("Property"))

    class Meta:
        model = Booking
        fields = [
            "property",
            "guest_name",
            "guest_email",
            "guest_phone",
            "guest_language",
            "arrival_date",
            "departure_date",
            "check_in_time",
            "check_out_time",
            "status",
        ]
        labels = {
            "status": _("Status"),
            "guest_name": _("Guest name"),
            "guest_email": _("Guest email"),
            "guest_phone": _("Guest phone"),
            "guest_language": _("Guest language"),
            "arrival_date": _("Arrival"),
            "departure_date": _("Departure"),
            "check_in_time": _("Negotiated check-in time"),
            "check_out_time": _("Negotiated check-out time"),
        }
        help_texts = {
            "guest_phone": _(
                "With + and the country code for a number from abroad; without, it is read as a number "
                "of the property's country. Stored in international form, e.g. +33612345678."
            ),
            "guest_language": _(
                "Optional. Guest messages are written in it. Left empty, the language of the phone number's country is used."
            ),
            "check_in_time": _("Optional early check-in on the arrival date; empty uses the property's default."),
            "check_out_time": _("Optional late check-out on the departure date; empty uses the property's default."),
        }
        widgets = {
            "arrival_date": DATE_WIDGET,
            "departure_date": DATE_WIDGET,
            "check_in_time": TIME_WIDGET,
            "check_out_time": TIME_WIDGET,
        }

    def __init__(self, *args, host, with_status: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["property"].queryset = Property.objects.of_host(host)
        language = self.fields["guest_language"]
        language.widget = forms.Select(choices=[("", _("— from the phone number —")), *guest_language_choices(get_language() or "en")])
        if not with_status:
            del self.fields["status"]

    def service_data(self) -> dict:
        """The cleaned values, as `booking_create` / `booking_update` take them."""
        return {name: self.cleaned_data[name] for name in self.fields}


class BookingFilterForm(forms.Form):
    """The list's filters (GET). Empty dates mean "upcoming and current"."""

    property = HostPropertyChoiceField(
        queryset=Property.objects.none(), required=False, empty_label=_("All properties"), label=_("Property")
    )
    status = forms.ChoiceField(choices=[("", _("All statuses")), *BookingStatus.choices], required=False, label=_("Status"))
    arrival_from = forms.DateField(required=False, widget=DATE_WIDGET, label=_("Arriving from"))
    arrival_to = forms.DateField(required=False, widget=DATE_WIDGET, label=_("Arriving until"))

    def __init__(self, *args, host, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["property"].queryset = Property.objects.of_host(host)

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("arrival_from"), cleaned.get("arrival_to")
        if start and end and end < start:
            self.add_error("arrival_to", _("This date must not be before “Arriving from”."))
        return cleaned

    def has_date_range(self) -> bool:  # (a method: the `property` field shadows the builtin here)
        return bool(self.cleaned_data.get("arrival_from") or self.cleaned_data.get("arrival_to"))
