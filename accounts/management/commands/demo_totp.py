import time

from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import demo as accounts_demo
from bookings import demo as bookings_demo
from locks import demo as locks_demo
from nowistay.demo import demo_mode_enabled


class Command(BaseCommand):
    help = (
        "Print the demo staff account's current two-factor code. Demo mode only: DEBUG or SANDBOX_URL set, "
        "or the database `make run` connected to the sandbox (var/sandbox.env), so it works from another terminal."
    )

    def handle(self, *args, **options):
        if not (demo_mode_enabled() or locks_demo.is_demo_database()):
            raise CommandError(
                "Refused: demo_totp only runs in demo mode (DEBUG=true or SANDBOX_URL set, or on the database `make run` uses)."
            )
        device = TOTPDevice.objects.filter(
            user__username=bookings_demo.DEMO_STAFF_USERNAME,
            name=accounts_demo.DEMO_DEVICE_NAME,
            key=accounts_demo.DEMO_TOTP_KEY,
            confirmed=True,
        ).first()
        if device is None:
            raise CommandError(
                f"No demo authenticator for {bookings_demo.DEMO_STAFF_USERNAME}: run `manage.py seed_demo` (or `make run`) first."
            )
        now = time.time()
        code = accounts_demo.current_code(device, at=now)
        left = accounts_demo.seconds_left(device, now=now)
        self.stdout.write(
            f"{bookings_demo.DEMO_STAFF_USERNAME}'s two-factor code: {code}  (the next one in {left} s; each code works once)"
        )
