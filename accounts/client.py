"""Which address a request came from. Behind a load balancer REMOTE_ADDR is the balancer's: the
address is read from X-Forwarded-For only when the deployment says how many proxies it trusts
(TRUSTED_PROXY_COUNT), counting from the right, so a client cannot forge it."""

from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest


def client_ip_address(request: HttpRequest) -> str | None:
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= trusted:
            return _valid(hops[-trusted])
    return _valid(request.META.get("REMOTE_ADDR", ""))


def _valid(text: str) -> str | None:
    try:
        return str(ip_address(text))
    except ValueError:
        return None
