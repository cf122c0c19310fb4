import os
import sys

from celery import Celery
from celery.signals import (
    beat_init,
    before_task_publish,
    celeryd_after_setup,
    celeryd_init,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
)

from nowistay.logs import (
    add_request_id_to_task,
    bind_task_context,
    celery_setup_logging,
    redirect_beat_output,
    redirect_worker_output,
    unbind_task_context,
)

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


# Logs: Celery leaves the root logger to Django's LOGGING (one format and the same fields for web,
# worker and beat) instead of installing its own handler; a task carries the request id of the
# request that enqueued it, and binds its id arguments (nowistay.logs).
setup_logging.connect(celery_setup_logging, weak=False)
celeryd_after_setup.connect(redirect_worker_output, weak=False)
beat_init.connect(redirect_beat_output, weak=False)
before_task_publish.connect(add_request_id_to_task, weak=False)
task_prerun.connect(bind_task_context, weak=False)
task_postrun.connect(unbind_task_context, weak=False)
