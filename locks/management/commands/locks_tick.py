from django.core.management.base import BaseCommand

from locks.services import scheduler


class Command(BaseCommand):
    help = "Run one scheduler pass now, in this process, and print what it did."

    def handle(self, *args, **options):
        report = scheduler.run_pass(dispatch=scheduler.process_inline)
        self.stdout.write(f"Scheduler pass: {report.summary()}")
