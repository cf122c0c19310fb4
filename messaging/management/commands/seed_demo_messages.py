from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from messaging import demo
from nowistay.demo import refuse_outside_demo_mode


class Command(BaseCommand):
    help = "Give the demo host an active \"Door code\" message and a stay whose message is due now (idempotent)."

    def handle(self, *args, **options):
        refuse_outside_demo_mode("add the demo messages and stay")
        try:
            result = demo.seed_demo_messages(now=timezone.now())
        except demo.DemoHostMissing as error:
            raise CommandError(str(error)) from None
        verb = "Created" if result.template_created else "Already there:"
        self.stdout.write(f"{verb} the “{demo.TEMPLATE_NAME}” message (1 day before check-in at 10:00, with {{{{smartlock_code}}}}).")
        if result.booking is not None:
            booking = result.booking
            verb = "Added" if result.booking_created else "Already there:"
            self.stdout.write(
                f"{verb} {booking.guest_name}'s stay at {booking.property.name} from {booking.arrival_date:%-d %B}: "
                "its door code email goes to the console as soon as the code is active on the sandbox lock."
            )
