from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from locks import demo
from locks.services import missing_codes, scheduler


class Command(BaseCommand):
    help = (
        "Run what beat runs every sweep period, now, in this process: the missing codes pass, then the "
        "scheduler pass; print what they did. On the database `make run` connected to the sandbox lock "
        "clouds, it uses them too (var/sandbox.env)."
    )

    def handle(self, *args, **options):
        try:
            sandbox_url = demo.use_recorded_sandbox()
        except RuntimeError as error:
            raise CommandError(str(error)) from None
        if sandbox_url:
            self.stdout.write(f"Vendors: the sandbox lock clouds at {sandbox_url} (the demo's, from var/sandbox.env).")
        missing = missing_codes.missing_codes_pass(timezone.now())
        report = scheduler.run_pass(dispatch=scheduler.process_inline)
        self.stdout.write(f"Scheduler pass: {report.summary()}; {missing.planned} missing codes planned before it")
