from django import forms
from django.utils.translation import gettext_lazy as _

from events.models import URL_MAX_LENGTH, EventKind
from events.services import validate_endpoint_url
from nowistay.fields import SingleLineFormField

KIND_CHOICES = [(kind.value, kind.label) for kind in EventKind if kind != EventKind.TEST]


class EndpointForm(forms.Form):
    url = SingleLineFormField(label=_("URL"), max_length=URL_MAX_LENGTH, validators=[validate_endpoint_url], help_text=_("https:// only."))
    description = SingleLineFormField(label=_("Description"), max_length=100, required=False)
    kinds = forms.MultipleChoiceField(
        choices=KIND_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
        label=_("Events"), help_text=_("None ticked: every event."),
    )
    read_pins = forms.BooleanField(
        required=False, label=_("Include guests' PINs"),
        help_text=_("Only if your system sends the door code to guests itself. Asks for your password again."),
    )
