"""The host's booking pages (issue 8): list, create, edit, and the status / access / rotate-code actions.

Every change is previewed first: a POST validates and shows what will happen to the door code
(`locks.services.preview`), saving nothing; a second POST ("Save" / the action's button) carries
the same values in hidden fields and goes through `bookings.services`. Works without JavaScript.
Every lookup is scoped to the logged-in host, so another host's booking is a 404.
"""

from dataclasses import dataclass
from datetime import time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bookings import services
from bookings.booking_forms import BookingFilterForm, BookingForm
from bookings.code_uses import code_use_text
from bookings.models import Booking, BookingStatus
from bookings.rotations import latest_rotation_view, rotation_preview
from locks import windows
from locks.clock_notes import ClockNotes, booking_clock_notes
from locks.code_problems import codes_with_findings, dashboard_items
from locks.code_status import CodeStatus, code_to_show, describe_code, ended_access_note
from locks.models import CodeState, LockAssignment, RotationSource
from locks.notifications import local_time
from locks.services.preview import code_outlook, end_access_outlook
from locks.services.rotation import RotationRefused, booking_rotation_refusal

PAGE_SIZE = 50


# --- reading ---------------------------------------------------------------------------------------

def host_bookings(host) -> QuerySet[Booking]:
    return (
        Booking.objects.filter(property__host=host)
        .select_related("property")
        .prefetch_related(Prefetch("access_codes", queryset=codes_with_findings()))
    )


def host_booking_or_404(host, booking_id: int) -> Booking:
    return get_object_or_404(host_bookings(host), pk=booking_id)


def assigned_property_ids(host) -> set[int]:
    return set(LockAssignment.objects.filter(property__host=host).values_list("property_id", flat=True))


def code_state(booking: Booking, *, has_lock: bool | None = None) -> CodeStatus:
    """The code's state now, in plain words (as on "Bookings and codes")."""
    if has_lock is None:
        has_lock = LockAssignment.objects.filter(property_id=booking.property_id).exists()
    code = code_to_show(booking.access_codes.all())
    return describe_code(code, booking=booking, has_lock=has_lock, now=timezone.now())


def clock_notes(booking: Booking) -> ClockNotes:
    """Whether the stay crosses a clock change, and whether its code's lock keeps another zone's time."""
    return booking_clock_notes(booking, code_to_show(booking.access_codes.all()))


def code_use(booking: Booking) -> str:
    """When the guest's code was used ("first used 15:42, 12 Mar"), where the lock's log is read."""
    return code_use_text(code_to_show(booking.access_codes.all()), time_zone=booking.property.time_zone)


@dataclass(frozen=True)
class StayTimes:
    check_in: time
    check_out: time
    negotiated_check_in: bool
    negotiated_check_out: bool


def stay_times(booking: Booking) -> StayTimes:
    """The check-in and check-out times that apply: the booking's own, the property's, the system's."""
    prop = booking.property
    return StayTimes(
        check_in=windows.check_in_time_of(booking.check_in_time, prop.default_check_in_time),
        check_out=windows.check_out_time_of(booking.check_out_time, prop.default_check_out_time),
        negotiated_check_in=booking.check_in_time is not None,
        negotiated_check_out=booking.check_out_time is not None,
    )


# --- list --------------------------------------------------------------------------------------------

@login_required
@require_GET
def booking_list(request: HttpRequest) -> HttpResponse:
    form = BookingFilterForm(request.GET or None, host=request.user)
    bookings = host_bookings(request.user)
    status = 200
    if form.is_bound and not form.is_valid():
        bookings, status = bookings.none(), 400
    else:
        bookings = filtered(bookings, form.cleaned_data if form.is_bound else {})
    page = Paginator(bookings.order_by("arrival_date", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    with_lock = assigned_property_ids(request.user)
    rows = [
        {"booking": booking, "times": stay_times(booking), "code": code_state(booking, has_lock=booking.property_id in with_lock)}
        for booking in page
    ]
    upcoming_only = not (form.is_bound and form.is_valid() and form.has_date_range())
    context = {"form": form, "page": page, "rows": rows, "upcoming_only": upcoming_only}
    return render(request, "bookings/booking_list.html", context, status=status)


def filtered(bookings: QuerySet[Booking], filters: dict) -> QuerySet[Booking]:
    """The bookings the list's filters select (its CSV export uses the same)."""
    if filters.get("property"):
        bookings = bookings.filter(property=filters["property"])
    if filters.get("status"):
        bookings = bookings.filter(status=filters["status"])
    if filters.get("arrival_from"):
        bookings = bookings.filter(arrival_date__gte=filters["arrival_from"])
    if filters.get("arrival_to"):
        bookings = bookings.filter(arrival_date__lte=filters["arrival_to"])
    if not (filters.get("arrival_from") or filters.get("arrival_to")):
        # Upcoming and current: not departed yet (a day of slack covers every time zone's "today").
        bookings = bookings.filter(departure_date__gte=timezone.now().date() - timedelta(days=1))
    return bookings


# --- create and edit ----------------------------------------------------------------------------

REVIEW, SAVE, CHANGE = "review", "save", "change"


@login_required
@require_http_methods(["GET", "POST"])
def booking_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        initial = {"property": request.GET.get("property")} if request.GET.get("property") else {}
        form = BookingForm(host=request.user, with_status=True, initial=initial)
        return _form_page(request, form)
    form = BookingForm(request.POST, host=request.user, with_status=True)
    step = request.POST.get("step")
    if step == CHANGE:
        return _form_page(request, form)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    if step != SAVE:
        return _review_page(request, form, before=None, after=form.instance)
    try:
        booking = services.booking_create(host=request.user, data=form.service_data())
    except ValidationError as error:
        form.add_error(None, error)
        return _form_page(request, form, status=400)
    messages.success(
        request,
        _("Saved %(guest)s's booking at %(property)s.") % {"guest": booking.guest_name, "property": booking.property.name},
    )
    return redirect(booking_url(booking))


@login_required
@require_http_methods(["GET", "POST"])
def booking_edit(request: HttpRequest, booking_id: int) -> HttpResponse:
    before = host_booking_or_404(request.user, booking_id)
    if request.method == "GET":
        return _detail_page(request, before, BookingForm(instance=before, host=request.user, with_status=False))
    # The form writes the proposed values onto its instance: give it a copy, `before` stays as saved.
    proposed = Booking.objects.select_related("property").get(pk=before.pk)
    form = BookingForm(request.POST, instance=proposed, host=request.user, with_status=False)
    step = request.POST.get("step")
    if step == CHANGE:
        return _detail_page(request, before, form)
    if not form.is_valid():
        return _detail_page(request, before, form, status=400)
    if step != SAVE:
        return _review_page(request, form, before=before, after=form.instance)
    if request.POST.get("version") != booking_version(before):
        return _review_page(request, form, before=before, after=form.instance, stale=True)
    try:
        services.booking_update(booking=before, data=form.service_data())
    except ValidationError as error:
        form.add_error(None, error)
        return _detail_page(request, before, form, status=400)
    messages.success(request, _("Saved the changes to %(guest)s's booking.") % {"guest": form.instance.guest_name})
    return redirect(booking_url(before))


def booking_url(booking: Booking) -> str:
    return reverse("booking_pages:edit", args=[booking.pk])


def booking_version(booking: Booking) -> str:
    """What the host reviewed: a save against a booking changed since then is reviewed again.
    (Ending access updates `access_ended_at` without touching `updated_at`, hence both.)"""
    ended = booking.access_ended_at.isoformat() if booking.access_ended_at else ""
    return f"{booking.updated_at.isoformat()}|{ended}|{booking.status}"


def _form_page(request: HttpRequest, form: BookingForm, *, status: int = 200) -> HttpResponse:
    return render(request, "bookings/booking_form.html", {"form": form}, status=status)


def _detail_page(request: HttpRequest, booking: Booking, form: BookingForm, *, status: int = 200) -> HttpResponse:
    context = {
        "booking": booking,
        "times": stay_times(booking),
        "code": code_state(booking),
        "code_use": code_use(booking),
        "problems": dashboard_items(booking, now=timezone.now()),
        "ladder_steps": list(booking.ladder_steps.all()),
        "clock": clock_notes(booking),
        "ended_at": local_time(booking.access_ended_at, booking.property.time_zone) if booking.access_ended_at else "",
        "actions": [(action, reverse(f"booking_pages:{action.url_name}", args=[booking.pk])) for action in actions_for(booking)],
        "rotation": latest_rotation_view(booking, now=timezone.now()),
        "guest_language": booking.guest_language_words(),
        "form": form,
    }
    return render(request, "bookings/booking_detail.html", context, status=status)


def _review_page(request: HttpRequest, form: BookingForm, *, before: Booking | None, after: Booking, stale: bool = False) -> HttpResponse:
    context = {
        "title": (
            _("Review the new booking")
            if before is None
            else _("Review the changes to %(guest)s's booking") % {"guest": before.guest_name}
        ),
        "booking": before,
        "summary": _summary(after),
        "outlook": code_outlook(before, after, now=timezone.now()),
        "form": form,
        "version": booking_version(before) if before else "",
        "action_url": request.path,
        "confirm_label": _("Save"),
        "confirm_name": "step",
        "confirm_value": SAVE,
        "stale": stale,
        "back_url": booking_url(before) if before else reverse("booking_pages:new"),
    }
    return render(request, "bookings/booking_review.html", context, status=409 if stale else 200)


def _summary(booking: Booking) -> list[tuple[str, str]]:
    times = stay_times(booking)
    arrival = {"date": dateformat.format(booking.arrival_date, "j F Y"), "time": dateformat.format(times.check_in, "H:i")}
    leave = {"date": dateformat.format(booking.departure_date, "j F Y"), "time": dateformat.format(times.check_out, "H:i")}
    arrives = (_("%(date)s, check-in %(time)s (negotiated)") if times.negotiated_check_in else _("%(date)s, check-in %(time)s")) % arrival
    leaves = (_("%(date)s, check-out %(time)s (negotiated)") if times.negotiated_check_out else _("%(date)s, check-out %(time)s")) % leave
    return [
        (_("Property"), f"{booking.property.name} ({booking.property.time_zone})"),
        (_("Guest"), booking.guest_name),
        (_("Email"), booking.guest_email or "—"),
        (_("Phone"), booking.guest_phone or "—"),
        (_("Arrival"), arrives),
        (_("Departure"), leaves),
        (_("Status"), booking.get_status_display()),
    ]


# --- actions ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    slug: str
    url_name: str
    label: str  # the button on the booking page and on the preview
    status: str | None  # the status it sets; None for "End access now"
    done: str  # the message once done, a sentence with the guest's name as %(guest)s
    danger: bool = False

    def applies_to(self, booking: Booking) -> bool:
        if self.slug == "end-access":
            return booking.status == BookingStatus.CONFIRMED and booking.access_ended_at is None
        if self.slug == "restore-access":
            return booking.access_ended_at is not None
        if self.slug == "rotate-code":  # a code on the lock: one whose PIN a guest may have
            on_lock = (CodeState.ACTIVE, CodeState.UPDATING)
            current = [code for code in booking.access_codes.all() if code.is_current and code.state in on_lock]
            return booking.status == BookingStatus.CONFIRMED and booking.access_ended_at is None and bool(current)
        return booking.status != self.status


ACTIONS = {
    action.slug: action
    for action in (
        Action("confirm", "confirm", gettext_lazy("Confirm booking"), BookingStatus.CONFIRMED,
               gettext_lazy("%(guest)s's booking is confirmed.")),
        Action("pending", "pending", gettext_lazy("Set back to pending"), BookingStatus.PENDING,
               gettext_lazy("%(guest)s's booking is back to pending.")),
        Action("cancel", "cancel", gettext_lazy("Cancel booking"), BookingStatus.CANCELLED,
               gettext_lazy("%(guest)s's booking is cancelled."), danger=True),
        Action("end-access", "end_access", gettext_lazy("End access now"), None,
               gettext_lazy("%(guest)s's access has ended."), danger=True),
        # (restore and rotate write a whole sentence of their own, with what happens to the code)
        Action("restore-access", "restore_access", gettext_lazy("Restore access"), None, ""),
        Action("rotate-code", "rotate_code", gettext_lazy("Rotate code"), None, ""),
    )
}


def actions_for(booking: Booking) -> list[Action]:
    return [action for action in ACTIONS.values() if action.applies_to(booking)]


@login_required
@require_POST
def booking_action(request: HttpRequest, booking_id: int, action: str) -> HttpResponse:
    booking = host_booking_or_404(request.user, booking_id)
    act = ACTIONS.get(action)
    if act is None:
        raise Http404("No such action.")
    if not act.applies_to(booking):
        messages.warning(
            request, _("“%(action)s” does not apply to this booking any more: nothing was changed.") % {"action": act.label}
        )
        return redirect(booking_url(booking))
    if request.POST.get("step") != SAVE:
        return _action_review(request, booking, act)
    if request.POST.get("version") != booking_version(booking):
        return _action_review(request, booking, act, stale=True)
    if act.slug == "end-access":
        retired = services.booking_end_access(booking=booking)
        done = act.done % {"guest": booking.guest_name}
        messages.success(request, f"{done} {ended_access_note(retired, booking.property.time_zone)}")
    elif act.slug == "restore-access":
        outlook = code_outlook(booking, _with_access(booking), now=timezone.now())
        services.booking_restore_access(booking=booking)
        messages.success(
            request,
            _("%(guest)s's access is restored. For the code: %(outlook)s.") % {"guest": booking.guest_name, "outlook": outlook},
        )
    elif act.slug == "rotate-code":
        outlook = rotation_preview(booking, now=timezone.now())
        try:
            services.booking_rotate_code(booking=booking, via=RotationSource.BOOKING_PAGE)
        except RotationRefused as refusal:
            messages.warning(request, str(refusal))
            return redirect(booking_url(booking))
        messages.success(
            request,
            _("%(guest)s's door code is being rotated. What happens: %(outlook)s. Each step's progress is shown below.")
            % {"guest": booking.guest_name, "outlook": outlook},
        )
    else:
        services.booking_set_status(booking=booking, status=act.status)
        messages.success(request, act.done % {"guest": booking.guest_name})
    return redirect(booking_url(booking))


def _action_review(request: HttpRequest, booking: Booking, act: Action, *, stale: bool = False) -> HttpResponse:
    now = timezone.now()
    refusal = ""
    if act.slug == "end-access":
        outlook = end_access_outlook(booking, now=now)
        after = booking
    elif act.slug == "rotate-code":
        outlook, after = rotation_preview(booking, now=now), booking
        refusal = booking_rotation_refusal(booking, now=now)
    elif act.slug == "restore-access":
        after = _with_access(booking)
        outlook = code_outlook(booking, after, now=now)
    else:
        after = Booking.objects.select_related("property").get(pk=booking.pk)
        after.status = act.status
        outlook = code_outlook(booking, after, now=now)
    context = {
        "title": _("%(action)s: %(guest)s at %(property)s")
        % {"action": act.label, "guest": booking.guest_name, "property": booking.property.name},
        "booking": booking,
        "summary": _summary(after),
        "outlook": outlook,
        "form": None,
        "version": booking_version(booking),
        "action_url": request.path,
        "confirm_label": act.label,
        "confirm_name": "step",
        "confirm_value": SAVE,
        "danger": act.danger,
        "stale": stale,
        "refusal": refusal,
        "back_url": booking_url(booking),
    }
    return render(request, "bookings/booking_review.html", context, status=409 if stale or refusal else 200)


def _with_access(booking: Booking) -> Booking:
    """The booking as it would be with its access restored (unsaved)."""
    after = Booking.objects.select_related("property").get(pk=booking.pk)
    after.access_ended_at = None
    return after



