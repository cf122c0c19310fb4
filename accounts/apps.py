from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Account security"

    def ready(self) -> None:
        from accounts import signals  # noqa: F401  (receivers)


class VerifiedAdminConfig(admin_apps.AdminConfig):
    """Django's admin whose default site asks staff for their second factor (accounts.admin_site).
    Named in INSTALLED_APPS instead of django.contrib.admin."""

    default = False  # "accounts" alone means AccountsConfig
    default_site = "accounts.admin_site.VerifiedAdminSite"
