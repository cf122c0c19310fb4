"""The host's Security page. Mounted by nowistay/urls.py at settings/security/."""

from django.urls import path

from accounts import security_views

app_name = "security"

urlpatterns = [
    path("", security_views.security, name="index"),
    path("two-factor/", security_views.two_factor_setup, name="two_factor_setup"),
    path("two-factor/recovery-codes/", security_views.recovery_codes_new, name="recovery_codes_new"),
    path("two-factor/off/", security_views.two_factor_off, name="two_factor_off"),
    path("password/", security_views.password_change, name="password_change"),
    path("sign-out-everywhere/", security_views.sign_out_everywhere, name="sign_out_everywhere"),
]
