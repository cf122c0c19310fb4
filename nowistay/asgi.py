import os

from django.core.asgi import get_asgi_application

from nowistay.startup import refuse_to_start_if_insecure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nowistay.settings")
application = get_asgi_application()
# Production (DEBUG off) refuses insecure settings before serving a request (nowistay/startup.py).
refuse_to_start_if_insecure()
