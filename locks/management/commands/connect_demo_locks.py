from django.core.management.base import BaseCommand, CommandError

from locks import demo


class Command(BaseCommand):
    help = "Connect the demo host to the sandbox lock clouds and assign demo locks (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--wait-for", metavar="URL", help="wait until the sandbox answers at this URL")

    def handle(self, *args, **options):
        if options["wait_for"]:
            try:
                demo.wait_for_sandbox(options["wait_for"])
            except RuntimeError as error:
                raise CommandError(str(error)) from None
        for line in demo.connect_demo_locks():
            self.stdout.write(line)
        self.stdout.write("Demo locks ready: run `.venv/bin/python manage.py locks_tick` to create due codes now.")
