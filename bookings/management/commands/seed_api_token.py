from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bookings import demo
from bookings.api.services import api_token_set_fixed
from bookings.demo import DEMO_TOKEN

# DEMO_TOKEN is a fixed, public value so `make run` can print it: a demo convenience, never for a real host.
DEMO_TOKEN_NAME = "Demo"


class Command(BaseCommand):
    help = "Give the demo host an API token with a fixed (demo-only) value and print it for the API docs."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the web server listens.")
        parser.add_argument(
            "--force", action="store_true", help="Run even though neither DEBUG nor SANDBOX_URL is set (not a demo?)."
        )

    def handle(self, *args, url: str, force: bool, **options):
        # A token anyone can read in the source must never open a real installation.
        if not (settings.DEBUG or settings.SANDBOX_URL or force):
            raise CommandError("Refusing to create the public demo token outside the demo (set DEBUG or SANDBOX_URL, or pass --force).")
        host = get_user_model().objects.filter(username=demo.DEMO_HOST_USERNAME).first()
        if host is None:
            raise CommandError(f"No user {demo.DEMO_HOST_USERNAME!r}: run `manage.py seed_demo` first.")
        api_token_set_fixed(host=host, name=DEMO_TOKEN_NAME, plain=DEMO_TOKEN, read_pins=True)
        self.stdout.write(f"API docs: {url.rstrip('/')}/api/v1/docs/  token: {DEMO_TOKEN}")
