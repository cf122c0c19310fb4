"""Guest message pages: the host's templates (list, create, edit with a live preview, delete) and
each booking's message log. Every object is looked up within the logged-in host's own, so another
host's id is a 404; everything shown is read from the database."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext as _, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bookings.models import Booking, Property
from locks.code_status import code_to_show, describe_code
from locks.models import LockAssignment
from messaging import languages, rendering, services
from messaging.forms import TEXTS_TOTAL, MessageTemplateForm, other_languages, posted_texts, text_formset
from messaging.models import OPEN_STATUSES, CodeChangeNotice, MessageDelivery, MessageTemplate
from nowistay.guest_languages import guest_language_choices, language_name, language_or_empty
from nowistay.validators import forbidden_character, is_whole_number, multiline_message, single_line_message


def _templates(host):
    return MessageTemplate.objects.of_host(host).prefetch_related("properties", "translations")


def _language_names(template: MessageTemplate) -> list[str]:
    """The template's languages in the host's words, the main one first."""
    display = get_language() or "en"
    main = _("%(language)s (main)") % {"language": language_name(template.language, display)}
    return [main, *(language_name(text.language, display) for text in template.translations.all())]


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
        "templates": [
            {"template": t, "without_lock": _without_lock(request.user, t), "languages": _language_names(t)} for t in templates
        ],
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
    # A post without the other languages' rows (an older page) leaves those texts as they are.
    with_texts = TEXTS_TOTAL in request.POST
    texts = text_formset(request.POST if with_texts else None, template=template)
    status = 200
    if request.method == "POST" and request.POST.get("action") != "preview":
        # The main form first: the other texts are checked against its (new) main text and trigger.
        form_valid = form.is_valid()
        texts_valid = texts.is_valid() if with_texts else True
        kept = other_languages(texts) if with_texts else [text.language for text in template.translations.all()] if template.pk else []
        if form_valid and texts_valid and form.check_fallback(kept):
            with transaction.atomic():
                saved = form.save()
                if with_texts:
                    texts.instance = saved
                    texts.save()
            messages.success(request, _("Saved the message “%(name)s”.") % {"name": saved.name})
            return redirect("messaging:templates")
        status = 400
    booking = _preview_booking(request)
    preview, preview_language = _preview(request, *_language_texts(form, template), booking=booking)
    context = {
        "form": form,
        "texts": texts,
        "template": template if template.pk else None,
        "variables": rendering.describe_variables(),
        "preview": preview,
        "preview_bookings": services.preview_bookings(request.user),
        "preview_booking": booking,
        "preview_languages": guest_language_choices(get_language() or "en"),
        "preview_language": preview_language,
        "without_lock": _without_lock(request.user, template) if template.pk else [],
        "channels_not_set_up": form.channels_not_set_up(),
    }
    return render(request, "messaging/template_form.html", context, status=status)


def _language_texts(form: MessageTemplateForm, template: MessageTemplate) -> tuple[dict[str, languages.Text], str, str]:
    """(texts by language, main language, fallback language) as typed, else as saved."""
    if form.is_bound:
        return _posted(form.data)
    main = language_or_empty(form["language"].value() or "") or languages.default_template_language()
    saved = template.texts() if template.pk else {}
    texts = {**saved, main: languages.Text(form["subject"].value() or "", form["body"].value() or "")}
    return texts, main, language_or_empty(form["fallback_language"].value() or "")


def _posted(data: QueryDict) -> tuple[dict[str, languages.Text], str, str]:
    main = language_or_empty(data.get("language", "")) or languages.default_template_language()
    texts = {**posted_texts(data), main: languages.Text(data.get("subject", ""), data.get("body", ""))}
    return texts, main, language_or_empty(data.get("fallback_language", ""))


def _preview_booking(request: HttpRequest) -> Booking | None:
    """The booking chosen for the preview: the host's own, else 404; none means the sample."""
    booking_id = (request.POST.get("preview_booking") if request.method == "POST" else request.GET.get("preview_booking")) or ""
    if not booking_id.strip():
        return None
    if not is_whole_number(booking_id):
        raise Http404(_("No such booking."))
    return get_object_or_404(_bookings(request.user), pk=int(booking_id))


def _sample_name(host) -> str:
    """The sample booking's property: one with a smart lock if the host has one."""
    props = Property.objects.of_host(host)
    first = props.filter(lock_assignment__isnull=False).first() or props.eligible_for_smart_lock().first() or props.first()
    return first.name if first else "Seaside Flat"


def _preview(
    request: HttpRequest, texts: dict[str, languages.Text], main: str, fallback: str, *, booking: Booking | None
) -> tuple[services.Preview, str]:
    """(the preview, the language asked for): the text a guest of the chosen language would get
    (by default the booking's guest's language, else the main text), unsaved. Text too long to be
    saved is refused unread, so no request reads more than the size a template may have."""
    params = request.POST if request.method == "POST" else request.GET
    asked = language_or_empty(params.get("preview_language", ""))
    wanted = asked or (booking.effective_guest_language if booking else "") or main
    chosen = languages.choose_text(texts, wanted=wanted, main=main, fallback=fallback or main)
    refused = rendering.length_problems(subject=chosen.subject, body=chosen.body) or _character_problems(chosen.subject, chosen.body)
    if refused:
        return services.Preview(subject="", body="", problems=refused, notes=[], language=chosen.language), asked
    note = languages.used_language_note(wanted=wanted, used=chosen.language)
    preview = services.template_preview(
        subject=chosen.subject, body=chosen.body, booking=booking, sample_property_name=_sample_name(request.user),
        language=chosen.language, notes=[note] if note else [],
    )
    return preview, asked


def _character_problems(subject: str, body: str) -> list[str]:
    """The characters saving would refuse (nowistay.validators), said in the preview where they
    are typed rather than rendered into it."""
    problems = []
    found = forbidden_character(subject.strip(" "))
    if found is not None:
        problems.append(_("Subject: %(problem)s") % {"problem": single_line_message(found)})
    found = forbidden_character(body, multiline=True)
    if found is not None:
        problems.append(_("Message: %(problem)s") % {"problem": multiline_message(found)})
    return problems


@login_required
@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """The live preview (htmx): the posted texts on the chosen booking, in the chosen language. Sends nothing."""
    booking = _preview_booking(request)
    preview, _asked = _preview(request, *_posted(request.POST), booking=booking)
    return render(request, "messaging/_preview.html", {"preview": preview})


@login_required
@require_http_methods(["GET", "POST"])
def template_delete(request: HttpRequest, template_id: int) -> HttpResponse:
    template = get_object_or_404(_templates(request.user), pk=template_id)
    if request.method == "POST":
        name = template.name
        closed = services.message_template_delete(template=template)
        text = _("Deleted the message “%(name)s”.") % {"name": name}
        if closed:
            unsent = ngettext(
                "%(count)d message not sent yet will not be sent.", "%(count)d messages not sent yet will not be sent.", closed
            )
            text += " " + unsent % {"count": closed}
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

