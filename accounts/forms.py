from django import forms
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _, ngettext

from accounts.two_factor import RECOVERY_CODE_COUNT
from nowistay.fields import SingleLineEmailFormField, SingleLineFormField

CODE_WIDGET_ATTRIBUTES = {"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false", "autocapitalize": "off", "size": 12}


class ConfirmPasswordForm(forms.Form):
    """The signed-in person's own password, checked through the authentication backends (so the
    sign-in throttle counts a wrong one too)."""

    password = SingleLineFormField(
        label=_("Your password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True})
    )

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        user = self.request.user
        confirmed = authenticate(self.request, username=user.get_username(), password=password)
        if confirmed is None or confirmed.pk != user.pk:
            raise forms.ValidationError(_("That is not your password."), code="wrong_password")
        return password


class AuthenticatorCodeForm(forms.Form):
    """A code from the authenticator app: the six digits it shows now."""

    code = SingleLineFormField(
        label=_("Code from your authenticator app"), max_length=20,
        widget=forms.TextInput(attrs={**CODE_WIDGET_ATTRIBUTES, "inputmode": "numeric"}),
    )


class SignInCodeForm(forms.Form):
    """The second step of signing in: the authenticator's code, or one of the recovery codes."""

    code = SingleLineFormField(
        label=_("Code from your authenticator app, or a recovery code"), max_length=20,
        widget=forms.TextInput(attrs=CODE_WIDGET_ATTRIBUTES),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = ngettext(
            "Six digits from the app; or, without your phone, one of the %(count)d recovery codes (each works once).",
            "Six digits from the app; or, without your phone, one of the %(count)d recovery codes (each works once).",
            RECOVERY_CODE_COUNT,
        ) % {"count": RECOVERY_CODE_COUNT}


def new_password_field(label: str, *, with_help: bool = False) -> SingleLineFormField:
    return SingleLineFormField(
        label=label, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html() if with_help else "",
    )


class PlainTextSetPasswordForm(SetPasswordForm):
    """Django's new-password form (the reset link's page) with the plain-text rule on each field."""

    new_password1 = new_password_field(_("New password"), with_help=True)
    new_password2 = new_password_field(_("New password again"))


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """Django's password change, with the current password checked through the authentication
    backends, so the sign-in throttle counts a wrong one (a stolen session cannot guess it freely).
    A password with a control character is refused on the field, before any check."""

    old_password = SingleLineFormField(
        label=_("Current password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password1 = new_password_field(_("New password"), with_help=True)
    new_password2 = new_password_field(_("New password again"))

    def __init__(self, user, *args, request, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        confirmed = authenticate(self.request, username=self.user.get_username(), password=old_password)
        if confirmed is None or confirmed.pk != self.user.pk:
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password


class PlainTextPasswordResetForm(PasswordResetForm):
    email = SingleLineEmailFormField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
