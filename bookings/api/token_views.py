"""The host's "API tokens" settings pages: list, create (the token is shown once), revoke."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from bookings.api.models import ApiToken
from bookings.api.services import NAME_MAX_LENGTH, api_token_create, api_token_revoke
from nowistay.fields import SingleLineFormField


class ApiTokenForm(forms.Form):
    name = SingleLineFormField(max_length=NAME_MAX_LENGTH, help_text="What the token is for, e.g. the name of your PMS.")
    read_pins = forms.BooleanField(
        required=False,
        label="May read guests' PINs",
        help_text="Only if the PMS sends the door code to guests itself. Without it the API never returns a PIN.",
    )


@login_required
@require_GET
def token_list(request: HttpRequest) -> HttpResponse:
    tokens = ApiToken.objects.filter(host=request.user).order_by("revoked_at", "-created_at", "-id")
    return render(request, "api/tokens.html", {"tokens": tokens, "form": ApiTokenForm(), "docs_url": reverse("api_v1:openapi-view")})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token, plain = api_token_create(host=request.user, name=form.cleaned_data["name"], read_pins=form.cleaned_data["read_pins"])
        # Rendered, not redirected: the plain token exists only in this response (never_cache).
        return render(request, "api/token_created.html", {"token": token, "plain_token": plain, "docs_url": reverse("api_v1:openapi-view")})
    status = 400 if form.errors else 200
    return render(request, "api/token_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, host=request.user, pk=token_id)
    if request.method == "POST":
        if token.revoked_at is None:
            api_token_revoke(token=token)
            messages.success(request, f"Revoked the token “{token.name}” ({token.prefix}…): requests with it are now refused.")
        return redirect("api_tokens:list")
    return render(request, "api/token_revoke.html", {"token": token})
