from django.apps import AppConfig


class LocksConfig(AppConfig):
    name = "locks"

    def ready(self):
        # TEMPORARY, until each provider declares its own sign-in (see the module's docstring).
        from locks.connect import _interim_declarations  # noqa: F401
