from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Guest messages"

    def ready(self) -> None:
        from django.db.models.signals import post_init, post_save

        from bookings.models import Booking
        from locks.signals import codes_ready
        from messaging import receivers, tasks  # noqa: F401  (tasks: registers what the services enqueue)

        post_init.connect(receivers.booking_loaded, sender=Booking, dispatch_uid="messaging.booking_loaded")
        post_save.connect(receivers.booking_saved, sender=Booking, dispatch_uid="messaging.booking_saved")
        codes_ready.connect(receivers.codes_ready, dispatch_uid="messaging.codes_ready")
