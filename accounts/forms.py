from django import forms
from django.contrib.auth import authenticate


class ConfirmPasswordForm(forms.Form):
    """The signed-in person's own password, checked through the authentication backends (so the
    sign-in throttle counts a wrong one too)."""

    password = forms.CharField(label="Your password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}))

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        user = self.request.user
        confirmed = authenticate(self.request, username=user.get_username(), password=password)
        if confirmed is None or confirmed.pk != user.pk:
            raise forms.ValidationError("That is not your password.", code="wrong_password")
        return password
