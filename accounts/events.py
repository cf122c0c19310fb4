"""Writing the security log. One function; callers say what happened, never with a secret."""

from django.http import HttpRequest

from accounts.client import client_ip_address  # the one reading of proxies' headers
from accounts.models import SecurityEvent, SecurityEventKind
from nowistay.validators import without_control_characters

USER_AGENT_LENGTH = SecurityEvent._meta.get_field("user_agent").max_length
DETAIL_LENGTH = SecurityEvent._meta.get_field("detail").max_length
USERNAME_LENGTH = SecurityEvent._meta.get_field("username").max_length


def client_ip(request: HttpRequest | None) -> str | None:
    """The address the request came from, as the security settings say to read it."""
    if request is None:
        return None
    return client_ip_address(request)


def record_security_event(
    *, kind: SecurityEventKind, user=None, request: HttpRequest | None = None, username: str = "", detail: str = ""
) -> SecurityEvent:
    """Log `kind` for `user` (who), now (when), from the request's address and browser (where).

    `detail` is plain words for the host (e.g. "API token “PMS sync” with read_pins"); it must
    never hold a password, token, secret or PIN.
    """
    agent = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
    return SecurityEvent.objects.create(
        user=user,
        username=without_control_characters(username or getattr(user, "get_username", lambda: "")())[:USERNAME_LENGTH],
        kind=kind,
        ip_address=client_ip(request),
        user_agent=without_control_characters(agent)[:USER_AGENT_LENGTH],
        detail=without_control_characters(detail)[:DETAIL_LENGTH],
    )
