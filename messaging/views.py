"""Guest message pages: the host's templates (list, create, edit with a live preview, delete) and
each booking's message log. Every object is looked up within the logged-in host's own, so another
host's id is a 404; everything shown is read from the database."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bookings.models import Booking, Property
from locks.code_status import code_to_show, describe_code
from locks.models import LockAssignment
from messaging import rendering, services
from messaging.forms import MessageTemplateForm
from messaging.models import OPEN_STATUSES, CodeChangeNotice, MessageDelivery, MessageTemplate
from nowistay.validators import forbidden_character, is_whole_number, multiline_message, single_line_message


def _templates(host):
    return MessageTemplate.objects.of_host(host).prefetch_related("properties")


def _bookings(host):
    return Booking.objects.filter(property__host=host).select_related("property")


@login_required
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    templates = list(_templates(request.user))
    recent = (
        MessageDelivery.objects.filter(booking__property__host=request.user)
        .select_related("booking__property")
        .defer("subject", "body")
        .order_by("-updated_at", "-pk")[:20]
    )
    context = {
        "templates": [{"template": t, "without_lock": _without_lock(request.user, t)} for t in templates],
        "recent": recent,
    }
    return render(request, "messaging/template_list.html", context)


def _without_lock(host, template: MessageTemplate) -> list[Property]:
    """Properties a code message applies to that have no lock: there it would wait in vain."""
    if not template.is_active or not template.uses_code:
        return []
    chosen = list(template.properties.all())
    scope = chosen or Property.objects.of_host(host)
    assigned = set(LockAssignment.objects.filter(property__host=host).values_list("property_id", flat=True))
    return [prop for prop in scope if prop.pk not in assigned]


@login_required
@require_http_methods(["GET", "POST"])
def template_create(request: HttpRequest) -> HttpResponse:
    return _edit_page(request, MessageTemplate(host=request.user))


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    return _edit_page(request, get_object_or_404(_templates(request.user), pk=template_id))


def _edit_page(request: HttpRequest, template: MessageTemplate) -> HttpResponse:
    form = MessageTemplateForm(request.POST or None, instance=template, host=request.user)
    status = 200
    if request.method == "POST" and request.POST.get("action") != "preview":
        if form.is_valid():
            saved = form.save()
            messages.success(request, f"Saved the message “{saved.name}”.")
            return redirect("messaging:templates")
        status = 400
    subject, body = _texts(form)
    booking = _preview_booking(request)
    context = {
        "form": form,
        "template": template if template.pk else None,
        "variables": rendering.describe_variables(),
        "preview": _preview(request, subject=subject, body=body, booking=booking),
        "preview_bookings": services.preview_bookings(request.user),
        "preview_booking": booking,
        "without_lock": _without_lock(request.user, template) if template.pk else [],
        "channels_not_set_up": form.channels_not_set_up(),
    }
    return render(request, "messaging/template_form.html", context, status=status)


def _texts(form: MessageTemplateForm) -> tuple[str, str]:
    if form.is_bound:
        return form.data.get("subject", ""), form.data.get("body", "")
    return form["subject"].value() or "", form["body"].value() or ""


def _preview_booking(request: HttpRequest) -> Booking | None:
    """The booking chosen for the preview: the host's own, else 404; none means the sample."""
    booking_id = (request.POST.get("preview_booking") if request.method == "POST" else request.GET.get("preview_booking")) or ""
    if not booking_id.strip():
        return None
    if not is_whole_number(booking_id):
        raise Http404("No such booking.")
    return get_object_or_404(_bookings(request.user), pk=int(booking_id))


def _sample_name(host) -> str:
    """The sample booking's property: one with a smart lock if the host has one."""
    props = Property.objects.of_host(host)
    first = props.filter(lock_assignment__isnull=False).first() or props.eligible_for_smart_lock().first() or props.first()
    return first.name if first else "Seaside Flat"


def _preview(request: HttpRequest, *, subject: str, body: str, booking: Booking | None) -> services.Preview:
    """The preview of unsaved text. Text too long to be saved is refused unread, so no request
    reads more than the size a template may have."""
    refused = rendering.length_problems(subject=subject, body=body) or _character_problems(subject, body)
    if refused:
        return services.Preview(subject="", body="", problems=refused, notes=[])
    return services.template_preview(subject=subject, body=body, booking=booking, sample_property_name=_sample_name(request.user))


def _character_problems(subject: str, body: str) -> list[str]:
    """The characters saving would refuse (nowistay.validators), said in the preview where they
    are typed rather than rendered into it."""
    problems = []
    found = forbidden_character(subject.strip(" "))
    if found is not None:
        problems.append(f"Subject: {single_line_message(found)}")
    found = forbidden_character(body, multiline=True)
    if found is not None:
        problems.append(f"Message: {multiline_message(found)}")
    return problems


@login_required
@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """The live preview (htmx): the posted subject and body on the chosen booking. Sends nothing."""
    booking = _preview_booking(request)
    preview = _preview(request, subject=request.POST.get("subject", ""), body=request.POST.get("body", ""), booking=booking)
    return render(request, "messaging/_preview.html", {"preview": preview})


@login_required
@require_http_methods(["GET", "POST"])
def template_delete(request: HttpRequest, template_id: int) -> HttpResponse:
    template = get_object_or_404(_templates(request.user), pk=template_id)
    if request.method == "POST":
        name = template.name
        closed = services.message_template_delete(template=template)
        text = f"Deleted the message “{name}”."
        if closed:
            text += f" {closed} message(s) not sent yet will not be sent."
        messages.success(request, text)
        return redirect("messaging:templates")
    waiting = template.deliveries.filter(status__in=OPEN_STATUSES).count()
    return render(request, "messaging/template_confirm_delete.html", {"template": template, "waiting": waiting})


@login_required
@require_GET
def booking_log(request: HttpRequest, booking_id: int) -> HttpResponse:
    """Every message of one stay: sent (with the PIN it carried), waiting, missed, skipped; and the
    door code changes the host was told about."""
    booking = get_object_or_404(_bookings(request.user), pk=booking_id)
    codes = booking.access_codes.select_related("lock__account").order_by("-id")
    code = code_to_show(codes)
    has_lock = LockAssignment.objects.filter(property=booking.property).exists()
    context = {
        "booking": booking,
        "code": code,
        "code_status": describe_code(code, booking=booking, has_lock=has_lock, now=timezone.now()),
        "deliveries": booking.message_deliveries.select_related("template").order_by("due_at", "pk"),
        "notices": CodeChangeNotice.objects.filter(booking=booking).order_by("created_at", "pk"),
        "time_zone": booking.property.time_zone,
    }
    return render(request, "messaging/booking_log.html", context)

