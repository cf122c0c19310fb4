from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from locks import demo
from nowistay.demo import refuse_outside_demo_mode


class Command(BaseCommand):
    help = "Connect the demo host to the sandbox lock clouds and assign demo locks (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--wait-for", metavar="URL", help="wait until the sandbox answers at this URL")

    def handle(self, *args, **options):
        refuse_outside_demo_mode("connect the demo host to the sandbox lock clouds")
        if options["wait_for"]:
            try:
                demo.wait_for_sandbox(options["wait_for"])
            except RuntimeError as error:
                raise CommandError(str(error)) from None
        for line in demo.connect_demo_locks():
            self.stdout.write(line)
        if settings.SANDBOX_URL:  # the vendors point at the sandbox: say so for commands run elsewhere
            demo.record_sandbox_settings()
        self.stdout.write("Demo locks ready: `.venv/bin/python manage.py locks_tick` (any terminal) creates due codes now.")
