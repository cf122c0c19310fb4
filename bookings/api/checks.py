"""System check: a malformed API_RATE_LIMIT stops `manage.py check` / runserver, not the first request."""

from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def api_rate_limit_is_valid(app_configs=None, **kwargs) -> list[Error]:
    from bookings.api.security import configured_rate

    try:
        configured_rate()
    except ImproperlyConfigured as error:
        return [Error(str(error), hint="e.g. API_RATE_LIMIT=120/minute", id="bookings.E001")]
    return []
