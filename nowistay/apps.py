from django.apps import AppConfig


class NowistayConfig(AppConfig):
    name = "nowistay"
    verbose_name = "Nowistay"

    def ready(self) -> None:
        from nowistay import languages, startup  # noqa: F401  (the sign-in receiver; the production settings' deploy check)
