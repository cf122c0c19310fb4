"""A host's webhook endpoints: create, edit, rotate the secret, test, delete; and event pruning."""

import ipaddress
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_noop, ngettext

from events import queue
from events.models import URL_MAX_LENGTH, Event, EventKind, WebhookDelivery, WebhookEndpoint
from events.signing import new_secret
from nowistay.validators import validate_single_line_text

LOCAL_HOSTS = ("localhost", "127.0.0.1")


def validate_endpoint_url(url: str) -> None:
    """https to a public server only (http to this machine while DEBUG), bounded, no control characters."""
    if len(url) > URL_MAX_LENGTH:
        raise ValidationError(
            ngettext("At most %(limit)d character.", "At most %(limit)d characters.", URL_MAX_LENGTH) % {"limit": URL_MAX_LENGTH}
        )
    validate_single_line_text(url)
    if any(char.isspace() for char in url):
        raise ValidationError(_("The URL contains a space."))
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValidationError(_("Enter a full URL, e.g. https://pms.example/webhooks/nowistay."))
    if settings.DEBUG and parts.hostname in LOCAL_HOSTS and parts.scheme in ("http", "https"):
        return
    if parts.scheme != "https":
        raise ValidationError(_("The URL must start with https://."))
    if parts.hostname in LOCAL_HOSTS or _is_internal_address(parts.hostname):
        raise ValidationError(_("The URL must name a public server, not this machine or a private network."))


def _is_internal_address(hostname: str) -> bool:
    """A literal IP address that is not public (a name resolving to one is left to the egress network)."""
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return not address.is_global


def endpoint_create(*, host, url: str, description: str = "", kinds: list[str], read_pins: bool) -> WebhookEndpoint:
    validate_endpoint_url(url)
    return WebhookEndpoint.objects.create(
        host=host, url=url, description=description, kinds=kinds, read_pins=read_pins, secret=new_secret()
    )


def endpoint_update(*, endpoint: WebhookEndpoint, url: str, description: str, kinds: list[str], read_pins: bool) -> None:
    validate_endpoint_url(url)
    endpoint.url, endpoint.description, endpoint.kinds, endpoint.read_pins = url, description, kinds, read_pins
    endpoint.save(update_fields=["url", "description", "kinds", "read_pins"])


def endpoint_enable(*, endpoint: WebhookEndpoint) -> None:
    endpoint.active, endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = True, None, "", None
    endpoint.save(update_fields=["active", "disabled_at", "disabled_reason", "failing_since"])


def endpoint_disable_by_host(*, endpoint: WebhookEndpoint) -> None:
    endpoint.active, endpoint.disabled_at, endpoint.disabled_reason = False, timezone.now(), gettext_noop("Disabled by you.")
    endpoint.save(update_fields=["active", "disabled_at", "disabled_reason"])


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret, at once: the old one signs nothing from now on. Returns it, to show once."""
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint.secret


@transaction.atomic
def endpoint_send_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` event to this endpoint only (it is not in the host's feed)."""
    now = timezone.now()
    event = Event.objects.create(host=endpoint.host, kind=EventKind.TEST, occurred_at=now, payload={"endpoint_id": endpoint.pk})
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, next_attempt_at=now)
    queue.enqueue_deliveries([delivery.pk])
    return delivery


def events_prune(*, now=None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVENTS_RETENTION_DAYS)
    deleted, _ = Event.objects.filter(created_at__lt=cutoff).delete()
    return deleted
