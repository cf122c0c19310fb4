import os

from django.core.wsgi import get_wsgi_application

from nowistay.startup import refuse_to_start_if_insecure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nowistay.settings")
application = get_wsgi_application()
# Production (DEBUG off) refuses insecure settings before serving a request; an exception, not an
# exit, so gunicorn halts ("Worker failed to boot") instead of restarting the worker for ever.
refuse_to_start_if_insecure()
