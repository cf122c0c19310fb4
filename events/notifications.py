"""Emails about a host's webhook endpoints. A platform-wide endpoint's go to settings.ADMINS."""

from django.conf import settings
from django.core.mail import mail_admins
from django.urls import reverse
from django.utils.translation import gettext as _

from events.models import WebhookEndpoint
from locks.notifications import send_to_host
from nowistay import languages


def endpoint_disabled(*, endpoint_id: int) -> bool:
    endpoint = WebhookEndpoint.objects.select_related("host").get(pk=endpoint_id)
    if endpoint.host is None:  # to the operators, in English
        subject = "Webhook endpoint disabled"
        mail_admins(subject, f"Platform-wide webhook endpoint {endpoint.pk} ({endpoint.url}) was disabled: {endpoint.disabled_reason}")
        return True
    context = {
        "url": endpoint.url,
        "retention_days": settings.EVENTS_RETENTION_DAYS,
        "settings_url": settings.SITE_URL + reverse("webhooks:list"),
    }
    with languages.speaking_to(endpoint.host):
        # The reason is a sentence of Nowistay's (translated if it is a known one) or an error's text.
        reason = _(endpoint.disabled_reason) if endpoint.disabled_reason else ""
        return send_to_host(endpoint.host, _("Webhook endpoint disabled"), "webhook_disabled", {**context, "reason": reason})
