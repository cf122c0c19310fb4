from django.apps import AppConfig


class NowistayConfig(AppConfig):
    name = "nowistay"
    verbose_name = "Nowistay"

    def ready(self) -> None:
        from nowistay import startup  # noqa: F401  (registers the production settings' deploy check)
