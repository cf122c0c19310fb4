from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from bookings.models import Property
from messaging import rendering
from messaging.channels import CHANNELS
from messaging.models import CHANNEL_FIELDS, Channel, MessageTemplate

DEFAULT_SUBJECT = "Your stay at {{property_name}}"
DEFAULT_BODY = (
    "Hello {{guest_name}},\n\n"
    "Your door code for {{property_name}} is {{smartlock_code}}.\n"
    "It works from {{code_valid_from}} until {{code_valid_until}}. {{code_usage_note}}\n\n"
    "Check-in is from {{check_in_time}} on {{arrival_date}}; check-out by {{check_out_time}} on {{departure_date}}.\n\n"
    "See you soon!"
)


class MessageTemplateForm(forms.ModelForm):
    """A host's message. The text is checked by the model (known variables only); the property
    choices are the host's own, so another host's property id is an invalid choice."""

    class Meta:
        model = MessageTemplate
        fields = [
            "name", "is_active", "properties", "trigger", "offset", "offset_unit", "send_at",
            "is_code_change", "subject", "body",
        ]
        labels = {"is_active": "Active", "trigger": "Send", "properties": "Properties"}
        widgets = {
            "properties": forms.CheckboxSelectMultiple,
            "send_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "offset": forms.NumberInput(attrs={"min": 0, "max": 720}),
            "body": forms.Textarea(attrs={"rows": 12, "cols": 80, "spellcheck": "true"}),
            "subject": forms.TextInput(attrs={"size": 60}),
        }
        error_messages = {
            "subject": {"max_length": rendering.TOO_LONG["subject"]},
            "body": {"max_length": rendering.TOO_LONG["body"]},
        }
        help_texts = {
            "trigger": (
                "Times are in each property's time zone. A booking confirmed after the moment still gets the message, until check-in."
            ),
        }

    channels = forms.MultipleChoiceField(
        label=_("Send by"), choices=Channel.choices, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one way to send it.")},
        help_text=_("One message per channel. A guest without an address for a channel gets it on the others."),
    )

    def __init__(self, *args, host, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channels"].initial = self.instance.channels if self.instance.pk else [Channel.EMAIL]
        self.host = host
        self.instance.host = host
        # Live preview with htmx; without JavaScript the form's "Preview" button does the same.
        live = {
            "hx-post": reverse("messaging:preview"),
            "hx-trigger": "keyup changed delay:400ms",
            "hx-target": "#preview",
            "hx-include": "closest form",
        }
        for name in ("subject", "body"):
            self.fields[name].widget.attrs.update(live)
        self.fields["properties"].queryset = Property.objects.of_host(host)
        if not self.instance.pk and not self.is_bound:
            # A new message starts from a working example rather than blank fields.
            for name, value in (("subject", DEFAULT_SUBJECT), ("body", DEFAULT_BODY), ("offset", 1), ("send_at", "10:00")):
                if not self.initial.get(name):
                    self.initial[name] = value

    @staticmethod
    def channels_not_set_up() -> list[str]:
        """Labels of the channels this server has no provider credentials for."""
        return [Channel(name).label for name, channel in CHANNELS.items() if not channel.is_configured()]

    def _post_clean(self) -> None:
        chosen = set(self.cleaned_data.get("channels") or ())
        if "channels" in self.cleaned_data:
            for channel, field in CHANNEL_FIELDS.items():
                setattr(self.instance, field, channel in chosen)
        super()._post_clean()

    def save(self, commit: bool = True) -> MessageTemplate:
        self.instance.host = self.host
        return super().save(commit=commit)
