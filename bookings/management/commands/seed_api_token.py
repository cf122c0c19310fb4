from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bookings import demo
from bookings.api.services import api_token_set_fixed
from bookings.demo import DEMO_TOKEN
from nowistay.demo import refuse_outside_demo_mode

# DEMO_TOKEN is a fixed, public value so `make run` can print it: a demo convenience, never for a real host.
DEMO_TOKEN_NAME = "Demo"


class Command(BaseCommand):
    help = "Give the demo host an API token with a fixed (demo-only) value and print it for the API docs."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the web server listens.")

    def handle(self, *args, url: str, **options):
        # A token anyone can read in the source must never open a real installation: no way around this.
        refuse_outside_demo_mode("create the public demo API token")
        host = get_user_model().objects.filter(username=demo.DEMO_HOST_USERNAME).first()
        if host is None:
            raise CommandError(f"No user {demo.DEMO_HOST_USERNAME!r}: run `manage.py seed_demo` first.")
        api_token_set_fixed(host=host, name=DEMO_TOKEN_NAME, plain=DEMO_TOKEN, read_pins=True)
        self.stdout.write(f"API docs: {url.rstrip('/')}/api/v1/docs/  token: {DEMO_TOKEN}")
