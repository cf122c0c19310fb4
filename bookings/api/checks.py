"""System check: a malformed API limit setting stops `manage.py check` / runserver, not the first request."""

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def api_rate_limit_is_valid(app_configs=None, **kwargs) -> list[Error]:
    from bookings.api.security import configured_auth_failure_limit, configured_rate

    errors = []
    for read, setting, example in (
        (configured_rate, "API_RATE_LIMIT", "120/minute"),
        (configured_auth_failure_limit, "API_AUTH_FAILURE_LIMIT", "20/10minutes"),
    ):
        try:
            read()
        except ImproperlyConfigured as error:
            errors.append(Error(str(error), hint=f"e.g. {setting}={example}", id="bookings.E001"))
    cap = getattr(settings, "API_MAX_TOKENS_PER_HOST", 10)
    if not isinstance(cap, int) or cap < 1:
        errors.append(Error(f"API_MAX_TOKENS_PER_HOST must be a whole number of at least 1, not {cap!r}.", id="bookings.E002"))
    return errors
