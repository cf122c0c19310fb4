from django.apps import AppConfig


class NowistayConfig(AppConfig):
    name = "nowistay"
    verbose_name = "Nowistay"
