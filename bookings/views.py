"""The host's properties, the "Bookings and codes" page and its CSV export. Everything is read from
the database (the code's state as stored, never a vendor call) and scoped to the logged-in host."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.events import record_security_event
from accounts.models import SecurityEventKind
from accounts.reauth import recent_authentication_required
from bookings.booking_pages import assigned_property_ids, clock_notes, code_state, code_use
from bookings.exports import codes_csv
from bookings.forms import TIME_ZONE_NAMES, PropertySettingsForm
from bookings.models import Booking, Property
from locks.code_problems import codes_with_findings, dashboard_items
from locks.code_status import code_to_show
from locks.services import code_retry_now, property_times_changed
from locks.services.retry_now import RETRYING_NOW


@login_required
@require_GET
def properties(request: HttpRequest) -> HttpResponse:
    props = Property.objects.of_host(request.user).select_related("lock_assignment__lock__account")
    return render(request, "bookings/properties.html", {"properties": props})


@login_required
@require_http_methods(["GET", "POST"])
def property_settings(request: HttpRequest, property_id: int) -> HttpResponse:
    prop = get_object_or_404(Property.objects.of_host(request.user), pk=property_id)
    form = PropertySettingsForm(request.POST or None, instance=prop)
    if request.method == "POST" and form.is_valid():
        form.save()
        moved = property_times_changed(prop=prop) if form.times_changed() else 0
        if moved:
            message = ngettext(
                "Saved the settings of %(name)s. The code of %(count)d booking follows the new times.",
                "Saved the settings of %(name)s. The codes of %(count)d bookings follow the new times.",
                moved,
            ) % {"name": prop.name, "count": moved}
        else:
            message = _("Saved the settings of %(name)s.") % {"name": prop.name}
        messages.success(request, message)
        return redirect("bookings:properties")
    status = 400 if form.errors else 200
    context = {"property": prop, "form": form, "time_zones": TIME_ZONE_NAMES}
    return render(request, "bookings/property_settings.html", context, status=status)


# --- bookings and codes ---------------------------------------------------------------------------

def upcoming_and_current_bookings(host):
    """Bookings not over yet (a day of slack so every time zone's "today" is covered)."""
    since = timezone.now().date() - timedelta(days=1)
    return (
        Booking.objects.filter(property__host=host, departure_date__gte=since)
        .select_related("property")
        .prefetch_related(Prefetch("access_codes", queryset=codes_with_findings()))
        .order_by("property__name", "property_id", "arrival_date", "id")
    )


BOOKINGS_PER_PAGE = 200


@login_required
@require_GET
def codes(request: HttpRequest) -> HttpResponse:
    with_lock = assigned_property_ids(request.user)
    page = Paginator(upcoming_and_current_bookings(request.user), BOOKINGS_PER_PAGE).get_page(request.GET.get("page"))
    groups: dict[int, dict] = {}
    now = timezone.now()
    for booking in page.object_list:
        status = code_state(booking, has_lock=booking.property_id in with_lock)
        group = groups.setdefault(booking.property_id, {"property": booking.property, "rows": []})
        row = {"booking": booking, "status": status, "use": code_use(booking), "clock": clock_notes(booking)}
        group["rows"].append({**row, "problems": dashboard_items(booking, now=now)})
    return render(request, "bookings/codes.html", {"groups": list(groups.values()), "page_obj": page})


@login_required
@recent_authentication_required
@never_cache
@require_GET
def codes_export(request: HttpRequest) -> HttpResponse:
    """"Download codes (CSV)": every current and upcoming booking with its code's state, window and
    PIN. PINs open doors, so it asks for the password again when it was not confirmed recently,
    and each download is written to the security log."""
    now = timezone.now()
    bookings = list(upcoming_and_current_bookings(request.user))
    content = codes_csv(bookings, with_lock=assigned_property_ids(request.user), now=now)
    record_security_event(
        kind=SecurityEventKind.CODES_EXPORTED, user=request.user, request=request,
        detail=f"{len(bookings)} current and upcoming booking(s), CSV",
    )
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="nowistay-codes-{now:%Y-%m-%d}.csv"'
    return response


@login_required
@require_POST
def retry_code(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = get_object_or_404(Booking.objects.filter(property__host=request.user), pk=booking_id)
    code = code_to_show(booking.access_codes.select_related("lock__account").order_by("-id"))
    if code is None:
        messages.error(request, _("%(guest)s's booking has no code to retry.") % {"guest": booking.guest_name})
    else:
        outcome = code_retry_now(code_id=code.pk)
        # Only an actual retry is a success; a cool-down, a vendor's wait or nothing to retry is news.
        report = messages.success if outcome == RETRYING_NOW else messages.info
        # The outcome is one of locks' fixed sentences: translated where a catalogue knows it.
        report(
            request,
            _("%(guest)s at %(property)s: %(outcome)s")
            % {"guest": booking.guest_name, "property": booking.property.name, "outcome": _(outcome)},
        )
    return redirect(f"{_codes_url()}#booking-{booking.pk}")


def _codes_url() -> str:
    return reverse("bookings:codes")
