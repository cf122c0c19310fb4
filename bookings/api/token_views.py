"""The host's "API tokens" settings pages: list, create (the token is shown once), revoke.

A token that can read guests' PINs is created only by someone who confirmed their password
recently (accounts.reauth): otherwise the POST creates nothing and goes to the confirmation page,
which comes back to the form filled in as it was (the POST itself is not replayed).
"""

from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.reauth import confirmation_url, is_recently_authenticated
from bookings.api.models import ApiToken
from bookings.api.services import NAME_MAX_LENGTH, api_token_create, api_token_revoke, max_tokens_per_host
from nowistay.fields import SingleLineFormField

NEVER = "never"
EXPIRY_CHOICES = [
    ("30", gettext_lazy("In 30 days")),
    ("90", gettext_lazy("In 90 days")),
    ("365", gettext_lazy("In 365 days")),
    (NEVER, gettext_lazy("Never")),
]
DEFAULT_EXPIRY = "90"


class ApiTokenForm(forms.Form):
    name = SingleLineFormField(
        max_length=NAME_MAX_LENGTH,
        label=gettext_lazy("Name"),
        help_text=gettext_lazy("What the token is for, e.g. the name of your PMS."),
    )
    read_pins = forms.BooleanField(
        required=False,
        label=gettext_lazy("May read guests' PINs"),
        help_text=gettext_lazy(
            "Only if the PMS sends the door code to guests itself. Without it the API never returns a PIN. "
            "Creating such a token asks for your password again."
        ),
    )
    expires_in = forms.ChoiceField(
        choices=EXPIRY_CHOICES,
        initial=DEFAULT_EXPIRY,
        required=False,  # left out (a script, an older page): the default, never "never"
        label=gettext_lazy("Expires"),
        help_text=gettext_lazy("An expired token is refused like a revoked one; create a new one before it expires."),
    )

    def clean_expires_in(self) -> str:
        return self.cleaned_data["expires_in"] or DEFAULT_EXPIRY

    def expires_at(self):
        choice = self.cleaned_data["expires_in"]
        return None if choice == NEVER else timezone.now() + timedelta(days=int(choice))


def _initial_from(query) -> dict:
    """The form as it was before the confirmation page (only values the form would accept)."""
    initial = {"expires_in": DEFAULT_EXPIRY}
    name = query.get("name", "")
    if name and len(name) <= NAME_MAX_LENGTH:
        initial["name"] = name
    initial["read_pins"] = query.get("read_pins") == "on"
    if query.get("expires_in") in dict(EXPIRY_CHOICES):
        initial["expires_in"] = query["expires_in"]
    return initial


def _form_again_url(form: ApiTokenForm) -> str:
    data = {"name": form.cleaned_data["name"], "read_pins": "on", "expires_in": form.cleaned_data["expires_in"]}
    return f"{reverse('api_tokens:create')}?{urlencode(data)}"


def _show_refusal(form: ApiTokenForm, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, texts in error.message_dict.items():
        form.add_error(field if field in form.fields else None, texts)


@login_required
@require_GET
def token_list(request: HttpRequest) -> HttpResponse:
    tokens = list(ApiToken.objects.filter(host=request.user).order_by("revoked_at", "-created_at", "-id"))
    active = sum(1 for token in tokens if token.is_active)
    context = {
        "tokens": tokens,
        "active_count": active,
        "max_tokens": max_tokens_per_host(),
        "docs_url": reverse("api_v1:openapi-view"),
    }
    return render(request, "api/tokens.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None, initial=_initial_from(request.GET))
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["read_pins"] and not is_recently_authenticated(request):
            return redirect(confirmation_url(_form_again_url(form)))
        try:
            token, plain = api_token_create(
                host=request.user,
                name=form.cleaned_data["name"],
                read_pins=form.cleaned_data["read_pins"],
                expires_at=form.expires_at(),
                request=request,
            )
        except ValidationError as error:
            _show_refusal(form, error)
        else:
            # Rendered, not redirected: the plain token exists only in this response (never_cache).
            context = {"token": token, "plain_token": plain, "docs_url": reverse("api_v1:openapi-view")}
            return render(request, "api/token_created.html", context)
    status = 400 if form.errors else 200
    return render(request, "api/token_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, host=request.user, pk=token_id)
    if request.method == "POST":
        if token.revoked_at is None:
            api_token_revoke(token=token, request=request)
            messages.success(
                request,
                _("Revoked the token “%(name)s” (%(prefix)s…): requests with it are now refused.")
                % {"name": token.name, "prefix": token.prefix},
            )
        return redirect("api_tokens:list")
    return render(request, "api/token_revoke.html", {"token": token})
