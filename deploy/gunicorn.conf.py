"""gunicorn settings of the web service: `gunicorn --config deploy/gunicorn.conf.py nowistay.wsgi:application`
(the image's CMD and docker-compose.yml). Command-line options override these."""

import os

bind = ["0.0.0.0:8000"]
# gunicorn reads WEB_CONCURRENCY itself too; named here so the default is visible: ~2 per CPU core.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = 60
graceful_timeout = 30
# Workers' heartbeat files in memory: a container's disk-backed /tmp can stall them into timeouts.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

accesslog = "-"
errorlog = "-"
# The path only (%(U)s), never the query string (%(r)s, %(q)s) nor the Referer (%(f)s): the vendors'
# OAuth callbacks carry the authorisation code and state in theirs, and pages after them in the Referer.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'

# Gunicorn's own lines and its access log through the application's handlers and format (one JSON
# object per line in production, with the request id; nowistay.logs scrubs secrets from them).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nowistay.settings")
from django.conf import settings  # noqa: E402  (after DJANGO_SETTINGS_MODULE is set)

from nowistay.logs import gunicorn_logconfig_dict  # noqa: E402

logconfig_dict = gunicorn_logconfig_dict(settings.LOGGING)
