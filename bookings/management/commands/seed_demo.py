from django.core.management.base import BaseCommand
from django.utils import timezone

from bookings import demo
from nowistay.demo import refuse_outside_demo_mode


class Command(BaseCommand):
    help = "Load the demo host, properties and bookings (idempotent) and print the logins."

    def handle(self, *args, **options):
        refuse_outside_demo_mode("create the demo accounts")
        result = demo.seed_demo(today=timezone.localdate())
        verb = "Loaded" if result.created else "Already loaded:"
        self.stdout.write(f"{verb} {result.properties} demo properties and {result.bookings} bookings.")
        self.stdout.write(f"Host login:  {demo.DEMO_HOST_USERNAME} / {demo.DEMO_HOST_PASSWORD}")
        self.stdout.write(f"New host (no lock account yet): {demo.NEW_HOST_USERNAME} / {demo.NEW_HOST_PASSWORD}")
        self.stdout.write(f"Staff login: {demo.DEMO_STAFF_USERNAME} / {demo.DEMO_STAFF_PASSWORD} (admin at /admin/)")
        self.stdout.write("  its two-factor code: .venv/bin/python manage.py demo_totp")
