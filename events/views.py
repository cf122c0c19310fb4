"""The host's "Webhooks" settings pages. Every query is scoped to request.user: another host's
endpoint answers 404. A secret is rendered only in the response that created it (never cached)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.reauth import confirmation_url, is_recently_authenticated
from events import delivery, services
from events.forms import EndpointForm
from events.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

RECENT_DELIVERIES = 50


def _endpoint(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, host=request.user, pk=endpoint_id)


def _needs_confirmation(request: HttpRequest, form: EndpointForm) -> bool:
    return form.cleaned_data["read_pins"] and not is_recently_authenticated(request)


@login_required
@require_GET
def endpoint_list(request: HttpRequest) -> HttpResponse:
    endpoints = WebhookEndpoint.objects.filter(host=request.user)
    return render(request, "events/endpoints.html", {"endpoints": endpoints})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def endpoint_create(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _needs_confirmation(request, form):
            return redirect(confirmation_url(request.path))
        endpoint = services.endpoint_create(host=request.user, **form.cleaned_data)
        return render(request, "events/secret.html", {"endpoint": endpoint, "secret": endpoint.secret})
    return render(request, "events/endpoint_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_edit(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    initial = {"url": endpoint.url, "description": endpoint.description, "kinds": endpoint.kinds, "read_pins": endpoint.read_pins}
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if _needs_confirmation(request, form) and not endpoint.read_pins:
            return redirect(confirmation_url(request.path))
        services.endpoint_update(endpoint=endpoint, **form.cleaned_data)
        messages.success(request, _("Endpoint saved."))
        return redirect("webhooks:detail", endpoint.pk)
    context = {"form": form, "endpoint": endpoint}
    return render(request, "events/endpoint_form.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def endpoint_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    deliveries = endpoint.deliveries.select_related("event").order_by("-id")[:RECENT_DELIVERIES]
    attempts = {}
    for attempt in WebhookAttempt.objects.filter(delivery__in=list(deliveries)):
        attempts.setdefault(attempt.delivery_id, []).append(attempt)
    rows = [(row, attempts.get(row.pk, [])) for row in deliveries]
    return render(request, "events/endpoint.html", {"endpoint": endpoint, "rows": rows})


@login_required
@require_POST
def endpoint_toggle(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    if endpoint.active:
        services.endpoint_disable_by_host(endpoint=endpoint)
    else:
        services.endpoint_enable(endpoint=endpoint)
    return redirect("webhooks:detail", endpoint.pk)


@login_required
@require_POST
def endpoint_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    _endpoint(request, endpoint_id).delete()
    messages.success(request, _("Endpoint deleted."))
    return redirect("webhooks:list")


@login_required
@never_cache
@require_POST
def endpoint_rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    secret = services.endpoint_rotate_secret(endpoint=endpoint)
    return render(request, "events/secret.html", {"endpoint": endpoint, "secret": secret, "rotated": True})


@login_required
@require_POST
def endpoint_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    services.endpoint_send_test(endpoint=endpoint)
    messages.success(request, _("Test event queued."))
    return redirect("webhooks:detail", endpoint.pk)


@login_required
@require_POST
def delivery_resend(request: HttpRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    row = get_object_or_404(WebhookDelivery, endpoint__host=request.user, endpoint_id=endpoint_id, pk=delivery_id)
    delivery.delivery_resend(delivery=row)
    messages.success(request, _("Delivery queued again."))
    return redirect("webhooks:detail", endpoint_id)
