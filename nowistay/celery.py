import os
import sys

from celery import Celery
from celery.signals import beat_init, celeryd_init, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nowistay.settings")

app = Celery("nowistay")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fix-up closes the database connection around every task unless this is set:
# a new PostgreSQL connection (a server process) per task costs more than the task itself.
app.conf["CELERY_DB_REUSE_MAX"] = 200
# Exactly one beat schedules: the others stand by until its lock in Redis expires (nowistay/beat.py).
app.conf.beat_scheduler = "nowistay.beat:SingleBeatScheduler"
app.autodiscover_tasks()


@worker_init.connect
def shorten_gil_switch_interval(sender=None, **kwargs) -> None:
    """Worker threads mostly wait on vendors and the database; with the default 5 ms switch
    interval, a thread whose answer arrived can wait that long for the GIL, again and again
    (the convoy effect), which throttles a threads pool long before the CPU is busy."""
    from django.conf import settings

    sys.setswitchinterval(settings.WORKER_GIL_SWITCH_INTERVAL_SECONDS)


@celeryd_init.connect
@beat_init.connect
def refuse_insecure_production_settings(sender=None, **kwargs) -> None:
    """`celery worker` and `celery beat` refuse to start on insecure production settings, before
    any task runs (nowistay/startup.py).

    celeryd_init is sent only by the worker program (celery.apps.worker.Worker), not by a worker
    a test starts in its own process (celery.contrib.testing), which runs on the test settings.
    Celery logs and ignores an exception a signal handler raises, so this one exits instead.
    """
    from nowistay.startup import InsecureProductionSettings, refuse_to_start_if_insecure

    try:
        refuse_to_start_if_insecure()
    except InsecureProductionSettings as refusal:
        raise SystemExit(str(refusal)) from None
