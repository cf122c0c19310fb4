from django import forms
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy as _

from bookings.models import Property
from messaging import languages, rendering
from messaging.channels import CHANNELS
from messaging.models import CHANNEL_FIELDS, Channel, MessageTemplate, MessageTemplateText
from nowistay.guest_languages import guest_language_choices, language_or_empty

# The example a new message starts from, in the host's language where a translation exists.
DEFAULT_SUBJECT = _("Your stay at {{property_name}}")
DEFAULT_BODY = _(
    "Hello {{guest_name}},\n\n"
    "Your door code for {{property_name}} is {{smartlock_code}}.\n"
    "It works from {{code_valid_from}} until {{code_valid_until}}. {{code_usage_note}}\n\n"
    "Check-in is from {{check_in_time}} on {{arrival_date}}; check-out by {{check_out_time}} on {{departure_date}}.\n\n"
    "See you soon!"
)
# At most this many other languages per message: bounds what a save or a preview reads.
MAX_TEXTS = 20
TEXTS_PREFIX = "texts"
TEXTS_TOTAL = f"{TEXTS_PREFIX}-TOTAL_FORMS"
TOO_LONG = {"subject": {"max_length": rendering.TOO_LONG["subject"]}, "body": {"max_length": rendering.TOO_LONG["body"]}}
TEXT_WIDGETS = {
    "body": forms.Textarea(attrs={"rows": 12, "cols": 80, "spellcheck": "true"}),
    "subject": forms.TextInput(attrs={"size": 60}),
}


def live_preview_attrs() -> dict[str, str]:
    """Live preview with htmx; without JavaScript the form's "Preview" button does the same."""
    return {
        "hx-post": reverse("messaging:preview"),
        "hx-trigger": "keyup changed delay:400ms",
        "hx-target": "#preview",
        "hx-include": "closest form",
    }


def language_select(empty_label) -> forms.Select:
    return forms.Select(choices=[("", empty_label), *guest_language_choices(get_language() or "en")])


class MessageTemplateForm(forms.ModelForm):
    """A host's message. The text is checked by the model (known variables only); the property
    choices are the host's own, so another host's property id is an invalid choice."""

    class Meta:
        model = MessageTemplate
        fields = [
            "name", "is_active", "properties", "trigger", "offset", "offset_unit", "send_at",
            "is_code_change", "language", "fallback_language", "subject", "body",
        ]
        labels = {
            "name": _("Name"), "is_active": _("Active"), "trigger": _("Send"), "properties": _("Properties"),
            "offset": _("How long"), "offset_unit": _("Unit"), "send_at": _("At (property time)"),
            "is_code_change": _("Door code change message"), "channel": _("Channel"), "subject": _("Subject"), "body": _("Body"),
            "language": _("Language of this text"), "fallback_language": _("Fallback language"),
        }
        widgets = {
            "properties": forms.CheckboxSelectMultiple,
            "send_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "offset": forms.NumberInput(attrs={"min": 0, "max": 720}),
            **TEXT_WIDGETS,
        }
        error_messages = TOO_LONG
        help_texts = {
            "trigger": _(
                "Times are in each property's time zone. A booking confirmed after the moment still gets the message, until check-in."
            ),
            "fallback_language": _("Guests whose language has no text here get the text in this language. Empty: the main text."),
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
        for name in ("subject", "body"):
            self.fields[name].widget.attrs.update(live_preview_attrs())
        self.fields["language"].widget = language_select(_("— choose —"))
        self.fields["language"].required = False  # left out (an older page): as it was, else the default
        self.fields["fallback_language"].widget = language_select(_("The main text's language"))
        self.fields["properties"].queryset = Property.objects.of_host(host)
        if not self.instance.pk and not self.is_bound:
            # A new message starts from a working example rather than blank fields.
            for name, value in (("subject", DEFAULT_SUBJECT), ("body", DEFAULT_BODY), ("offset", 1), ("send_at", "10:00")):
                if not self.initial.get(name):
                    self.initial[name] = str(value)  # the example's lazy translation, in the host's language now
            self.initial["language"] = language_or_empty(get_language() or "") or self.instance.language  # the example's

    def clean_language(self) -> str:
        return self.cleaned_data.get("language") or self.instance.language or languages.default_template_language()

    def check_fallback(self, other_languages: list[str]) -> bool:
        """The fallback must be one of the message's languages (the main one or another text's)."""
        main = self.cleaned_data.get("language")
        problem = languages.fallback_problem(self.cleaned_data.get("fallback_language") or "", [main, *other_languages])
        if problem is not None:
            self.add_error("fallback_language", problem)
        return problem is None

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


class MessageTemplateTextForm(forms.ModelForm):
    """The message in one more language: held to the main text's rules by the model."""

    class Meta:
        model = MessageTemplateText
        fields = ["language", "subject", "body"]
        labels = {"language": _("Language"), "subject": _("Subject"), "body": _("Body")}
        widgets = TEXT_WIDGETS
        error_messages = TOO_LONG

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].widget = language_select(_("— add a language —"))
        for name in ("subject", "body"):
            self.fields[name].widget.attrs.update(live_preview_attrs())


TextFormSet = forms.inlineformset_factory(
    MessageTemplate, MessageTemplateText, form=MessageTemplateTextForm, extra=1, can_delete=True,
    max_num=MAX_TEXTS, validate_max=True, absolute_max=MAX_TEXTS,
)


def text_formset(data, *, template: MessageTemplate):
    return TextFormSet(data, instance=template, prefix=TEXTS_PREFIX)


def other_languages(formset) -> list[str]:
    """The languages of the texts being saved (rows left blank or marked for deletion aside)."""
    return [
        form.cleaned_data["language"]
        for form in formset.forms
        if form.has_changed() and not formset._should_delete_form(form) and form.cleaned_data.get("language")
    ]


def posted_texts(data) -> dict[str, languages.Text]:
    """The other languages' texts as typed, unsaved (the live preview reads them), at most MAX_TEXTS."""
    total = data.get(TEXTS_TOTAL, "")
    count = min(int(total), MAX_TEXTS) if total.isascii() and total.isdigit() and len(total) < 6 else 0
    texts: dict[str, languages.Text] = {}
    for index in range(count):
        key = f"{TEXTS_PREFIX}-{index}-"
        language = language_or_empty(data.get(key + "language", ""))
        if language and not data.get(key + "DELETE"):
            texts.setdefault(language, languages.Text(data.get(key + "subject", ""), data.get(key + "body", "")))
    return texts
