from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events and webhooks"

    def ready(self) -> None:
        from events import receivers, tasks  # noqa: F401  (tasks: registers what the services enqueue)
        from locks.signals import code_events

        code_events.connect(receivers.code_events, dispatch_uid="events.code_events")
