from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from bookings.models import Booking, Property
from locks.models import ProviderAccount, provider_name
from locks.providers import registry


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
