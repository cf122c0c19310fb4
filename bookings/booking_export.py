"""The bookings page's CSV export: the bookings its filters select, with their codes' states.

Without PINs by default. With `?pins=1` the file carries each working code's PIN: PINs open doors,
so that asks for the password again when it was not confirmed recently
(`accounts.reauth`), and each such download is written to the security log, as the codes page's
"Download codes (CSV)" is. The file is streamed: it may cover years of a large host's bookings.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.events import record_security_event
from accounts.models import SecurityEventKind
from accounts.reauth import confirmation_url, is_recently_authenticated
from bookings.booking_forms import BookingFilterForm
from bookings.booking_pages import assigned_property_ids, filtered, host_bookings
from bookings.exports import csv_lines

# Bookings read per query while the file streams (their codes are prefetched per chunk).
CHUNK = 500


@login_required
@never_cache
@require_GET
def bookings_export(request: HttpRequest) -> HttpResponse:
    with_pins = request.GET.get("pins") == "1"
    if with_pins and not is_recently_authenticated(request):
        return HttpResponseRedirect(confirmation_url(request.get_full_path()))
    filters = request.GET.copy()
    filters.pop("pins", None)
    form = BookingFilterForm(filters or None, host=request.user)
    if form.is_bound and not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in form.errors.items())
        text = _("The filters are not valid: %(errors)s") % {"errors": errors}
        return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
    bookings = filtered(host_bookings(request.user), form.cleaned_data if form.is_bound else {})
    bookings = bookings.order_by("arrival_date", "id")
    now = timezone.now()
    if with_pins:
        record_security_event(
            kind=SecurityEventKind.CODES_EXPORTED, user=request.user, request=request,
            detail=f"{bookings.count()} booking(s) from the bookings page, CSV with PINs",
        )
    lines = csv_lines(bookings.iterator(chunk_size=CHUNK), with_lock=assigned_property_ids(request.user), now=now, with_pins=with_pins)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    name = "nowistay-bookings-with-pins" if with_pins else "nowistay-bookings"
    response["Content-Disposition"] = f'attachment; filename="{name}-{now:%Y-%m-%d}.csv"'
    return response
