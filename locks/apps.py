from django.apps import AppConfig


class LocksConfig(AppConfig):
    name = "locks"

    def ready(self) -> None:
        # Registers the tasks the services enqueue (nowistay.dispatch), in every process.
        from locks import tasks  # noqa: F401
