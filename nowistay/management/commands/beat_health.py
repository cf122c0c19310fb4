from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from nowistay.beat import beat_health


class Command(BaseCommand):
    help = (
        "Exit 0 when a Celery beat holds the beat lock and renewed it recently, else exit 1 saying why "
        "(beat's health check in docker-compose.yml)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-age",
            type=float,
            default=None,
            help="seconds since the last renewal that still count as healthy (default: BEAT_LOCK_TTL_SECONDS)",
        )

    def handle(self, *args, max_age: float | None, **options):
        health = beat_health(max_age_seconds=max_age or settings.BEAT_LOCK_TTL_SECONDS)
        if not health.healthy:
            raise CommandError(health.message)
        self.stdout.write(health.message)
