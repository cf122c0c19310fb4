"""Emails about a host's webhook endpoints. A platform-wide endpoint's go to settings.ADMINS."""

from django.conf import settings
from django.core.mail import mail_admins
from django.urls import reverse

from events.models import WebhookEndpoint
from locks.notifications import send_to_host


def endpoint_disabled(*, endpoint_id: int) -> bool:
    endpoint = WebhookEndpoint.objects.select_related("host").get(pk=endpoint_id)
    subject = "Webhook endpoint disabled"
    if endpoint.host is None:
        mail_admins(subject, f"Platform-wide webhook endpoint {endpoint.pk} ({endpoint.url}) was disabled: {endpoint.disabled_reason}")
        return True
    context = {
        "url": endpoint.url,
        "reason": endpoint.disabled_reason,
        "retention_days": settings.EVENTS_RETENTION_DAYS,
        "settings_url": settings.SITE_URL + reverse("webhooks:list"),
    }
    return send_to_host(endpoint.host, subject, "webhook_disabled", context)
