from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bookings.models import Booking, Property
from locks.models import ProviderAccount, provider_name
from locks.providers import registry
from nowistay import languages


@login_required
def home(request: HttpRequest) -> HttpResponse:
    properties = Property.objects.of_host(request.user).select_related("lock_assignment__lock__account")
    upcoming = (
        Booking.objects.filter(property__host=request.user, departure_date__gte=timezone.localdate())
        .select_related("property")
        .order_by("arrival_date", "id")[:50]
    )
    accounts = {account.provider: account for account in ProviderAccount.objects.filter(host=request.user)}
    providers = [
        {"name": provider_name(slug), "slug": slug, "account": accounts.get(slug)}
        for slug in registry.PROVIDER_CLASSES
    ]
    return render(request, "home.html", {"properties": properties, "upcoming_bookings": upcoming, "providers": providers})


@require_POST
def choose_language(request: HttpRequest) -> HttpResponse:
    """The header's language switch. Signed in: kept in the host's profile (their emails follow it);
    before signing in: a cookie. An empty choice means the browser's language."""
    chosen = request.POST.get("language", "")
    language = languages.shipped(chosen)
    if chosen and not language:
        return HttpResponseBadRequest(_("This language is not available."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = "/"
    response = HttpResponseRedirect(back)
    if request.user.is_authenticated:
        languages.remember_choice(request, language)
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=True, samesite="Lax",
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response
