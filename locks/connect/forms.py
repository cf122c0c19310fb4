"""The connect form of a credentials sign-in, built from the fields the provider declares."""

from django import forms
from django.utils.translation import gettext as _

from locks.providers.base import CredentialField, CredentialsSignIn
from nowistay.fields import PastedCredentialField


def credential_form_field(field: CredentialField) -> forms.Field:
    # The provider marks its label and help with gettext_noop: translated here, per request.
    label, help_text = _(field.label) if field.label else field.label, _(field.help_text) if field.help_text else ""
    if field.secret:
        # render_value=False: a secret typed in is never sent back in the page, even when the form fails.
        widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"})
        return PastedCredentialField(
            label=label, help_text=help_text, max_length=field.max_length, strip=field.strip, widget=widget
        )
    return PastedCredentialField(label=label, help_text=help_text, max_length=field.max_length, strip=field.strip)


def credentials_form_class(method: CredentialsSignIn) -> type[forms.Form]:
    fields = {field.name: credential_form_field(field) for field in method.fields}
    return type(f"CredentialsForm_{method.key.replace('-', '_')}", (forms.Form,), fields)


def credentials_form(method: CredentialsSignIn, data=None) -> forms.Form:
    return credentials_form_class(method)(data)


def secret_field_names(method: CredentialsSignIn) -> list[str]:
    return [field.name for field in method.fields if field.secret]
