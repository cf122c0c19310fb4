from django.core.management.base import BaseCommand, CommandError

from locks import demo
from locks.services import scheduler


class Command(BaseCommand):
    help = (
        "Run one scheduler pass now, in this process, and print what it did. On the database `make run` "
        "connected to the sandbox lock clouds, it uses them too (var/sandbox.env)."
    )

    def handle(self, *args, **options):
        try:
            sandbox_url = demo.use_recorded_sandbox()
        except RuntimeError as error:
            raise CommandError(str(error)) from None
        if sandbox_url:
            self.stdout.write(f"Vendors: the sandbox lock clouds at {sandbox_url} (the demo's, from var/sandbox.env).")
        report = scheduler.run_pass(dispatch=scheduler.process_inline)
        self.stdout.write(f"Scheduler pass: {report.summary()}")
