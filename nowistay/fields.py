"""Text fields that carry the plain-text rules of nowistay.validators everywhere they are used: in the
model (full_clean: the admin, and the services behind the API) and in every form made from them (the
host's pages, the admin), so each refuses the same characters with the same message.

A ModelForm does not copy a model field's validators onto its form field; it runs them afterwards,
and only for fields the form found valid. Without the rule on the form field, a NUL got Django's own
"Null characters are not allowed." and a control character in an email address "Enter a valid email
address.", neither saying which invisible character to remove.
"""

from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.db import models

from nowistay.validators import validate_multiline_text, validate_single_line_text


class _TextRuleFormField:
    """The rule first, in place of Django's NUL-only check (the rule refuses NUL too, and says where
    it is), and also on the text as typed: Django trims surrounding whitespace before validators
    run, which would quietly drop a line break or a tab at either end that the API refuses."""

    text_rule = staticmethod(validate_single_line_text)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        others = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]
        self.validators = [self.text_rule, *others]

    def clean(self, value):
        if isinstance(value, str):
            self.text_rule(value.strip(" "))
        return super().clean(value)


class SingleLineFormField(_TextRuleFormField, forms.CharField):
    """A form's text box for one line of printable text (names, credentials)."""


class PastedCredentialField(SingleLineFormField):
    """A token, key or username pasted from elsewhere: a line break or blank copied along at either
    end is a paste artefact and trimmed (what Django's strip does); inside, the rule holds."""

    def clean(self, value):
        return forms.CharField.clean(self, value)


class SingleLineEmailFormField(_TextRuleFormField, forms.EmailField):
    pass


class MultilineFormField(_TextRuleFormField, forms.CharField):
    text_rule = staticmethod(validate_multiline_text)


class SingleLineCharField(models.CharField):
    """One line of printable text: no control character, line break or tab."""

    default_validators = [validate_single_line_text]

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": SingleLineFormField, **kwargs})


class SingleLineEmailField(models.EmailField):
    default_validators = [*models.EmailField.default_validators, validate_single_line_text]

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": SingleLineEmailFormField, **kwargs})


class MultilineTextField(models.TextField):
    """Printable text over several lines (message bodies): line breaks and tabs allowed."""

    default_validators = [validate_multiline_text]

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": MultilineFormField, **kwargs})
