"""System checks: a malformed API limit setting or SITE_URL stops `manage.py check` / runserver,
not the first request (or the first client generated from the OpenAPI document)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from bookings.api.limits import configured_auth_failure_limit, configured_rate, max_tokens_per_host


@register()
def api_rate_limit_is_valid(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    for read, setting, example in (
        (configured_rate, "API_RATE_LIMIT", "120/minute"),
        (configured_auth_failure_limit, "API_AUTH_FAILURE_LIMIT", "20/10minutes"),
    ):
        try:
            read()
        except ImproperlyConfigured as error:
            errors.append(Error(str(error), hint=f"e.g. {setting}={example}", id="bookings.E001"))
    cap = max_tokens_per_host()
    if not isinstance(cap, int) or cap < 1:
        errors.append(Error(f"API_MAX_TOKENS_PER_HOST must be a whole number of at least 1, not {cap!r}.", id="bookings.E002"))
    return errors


def site_url_problem(value) -> str | None:
    """Why `value` cannot be the server of the OpenAPI document, or None: it must be an http(s) URL
    of a host, without a path, query or fragment (the document's paths start with /api/v1/)."""
    if not isinstance(value, str):
        return f"SITE_URL must be a URL such as https://app.nowistay.example, not {value!r}."
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return f"SITE_URL must start with http:// or https:// and name a host, not {value!r}."
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        return f"SITE_URL must be only a scheme and a host (and port), not {value!r}."
    return None


@register()
def site_url_is_valid(app_configs=None, **kwargs) -> list[Error]:
    problem = site_url_problem(getattr(settings, "SITE_URL", ""))
    if problem is None:
        return []
    return [Error(problem, hint="e.g. SITE_URL=https://app.nowistay.example", id="bookings.E003")]
