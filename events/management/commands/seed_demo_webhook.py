from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bookings.demo import DEMO_HOST_USERNAME
from events.models import WebhookEndpoint
from nowistay.demo import refuse_outside_demo_mode
from sandbox.demo_sign_ins import DEMO_WEBHOOK_SECRET, WEBHOOK_RECEIVER_PATH


class Command(BaseCommand):
    help = (
        "Give the demo host a webhook endpoint on the sandbox's receiver (`make run`), signed with the "
        "sandbox's published demo secret, so every event shows up verified on <sandbox>/webhooks/. "
        "Demo mode only: the secret is public."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sandbox", required=True, help="The sandbox's address, e.g. http://127.0.0.1:8100")

    def handle(self, *args, sandbox: str, **options):
        # A secret anyone can read in the source must never sign a real installation's webhooks.
        refuse_outside_demo_mode("give the demo host a webhook endpoint with the public demo secret")
        host = get_user_model().objects.filter(username=DEMO_HOST_USERNAME).first()
        if host is None:
            raise CommandError(f"No user {DEMO_HOST_USERNAME!r}: run `manage.py seed_demo` first.")
        url = sandbox.rstrip("/") + WEBHOOK_RECEIVER_PATH
        endpoint, created = WebhookEndpoint.objects.get_or_create(
            host=host, url=url, defaults={"description": "The sandbox's receiver (make run)", "secret": DEMO_WEBHOOK_SECRET}
        )
        verb = "Added" if created else "Kept"
        self.stdout.write(f"{verb} the demo host's webhook endpoint {endpoint.url}: deliveries show on that page.")
