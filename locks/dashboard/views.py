"""The integrations dashboard's views. They read through `panels` and act through the lifecycle
services; every object is looked up within the logged-in host's own, so another host's id is a 404."""

from http import HTTPStatus

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.events import record_security_event
from accounts.models import SecurityEventKind
from accounts.reauth import recent_authentication_required
from locks import tasks
from locks.dashboard import overview, panels
from locks.dashboard.connect_forms import sign_in_offers
from locks.dashboard.lock_health import check_now_message, lock_health, lock_health_card
from locks.models import Lock
from locks.providers.exceptions import ProviderError
from locks.services import account_refresh_locks, lock_assignment_remove, lock_assignment_set
from locks.services.accounts import account_disconnect_finish, account_disconnect_start
from locks.services.api_budget import account_usage, deferral_words
from locks.services.read_back_request import lock_read_back_request
from nowistay.validators import is_whole_number

# A refused row answers 422, not 400: with DEBUG on, django-htmx's debug error handler replaces the
# whole document with any htmx answer that could be one of Django's error pages (400, 403, 404, 500),
# while a refused row is an expected answer that htmx swaps in place (base.html's responseHandling
# swaps every 2xx-4xx). 422 is the status for a well-formed request refused on its content.
ROW_REFUSED = HTTPStatus.UNPROCESSABLE_ENTITY


def panel_url(provider: str) -> str:
    return reverse("integrations:panel", args=[provider])


@login_required
@require_GET
def integrations(request: HttpRequest) -> HttpResponse:
    context = {"cards": overview.provider_cards(request.user), "summary": overview.eligibility_summary(request.user)}
    return render(request, "locks/dashboard/integrations.html", context)


@login_required
@require_GET
def panel(request: HttpRequest, provider: str) -> HttpResponse:
    provider = panels.provider_or_404(provider)
    if request.htmx and request.GET.get("poll") == "disconnecting":
        return _disconnecting_poll(request, provider)
    return render_panel(request, provider)


def _disconnecting_poll(request: HttpRequest, provider: str) -> HttpResponse:
    """The "Disconnecting…" notice asks every few seconds: the same notice while it lasts, then a
    reload of the whole page (its outcome and the connect form)."""
    account = panels.host_account(request.user, provider)
    if panels.is_disconnecting(account):
        context = {"provider": provider, "label": panels.provider_label(provider), "disconnecting": account}
        return render(request, "locks/dashboard/_disconnecting.html", context)
    response = HttpResponse("")
    response["HX-Refresh"] = "true"
    return response


def render_panel(
    request: HttpRequest,
    provider: str,
    *,
    connect_form=None,
    connect_method: str = "",
    connect_error: str = "",
    bound=None,
    status: int = 200,
) -> HttpResponse:
    """The provider panel: the connect form (or the OAuth button) and, once connected, the lock
    assignments. Connect views render it too, with their bound form, when a sign-in fails."""
    account = panels.host_account(request.user, provider)
    connected = panels.is_connected(account)
    disconnecting = panels.is_disconnecting(account)
    if disconnecting and connect_form is not None and not connect_error:
        # No connect form while disconnecting: a sign-in refused meanwhile says why at the top.
        connect_error = " ".join(connect_form.non_field_errors())
    options = panels.lock_options(account) if connected else []
    context = {
        "provider": provider,
        "label": panels.provider_label(provider),
        "account": account if connected else None,
        # Being disconnected: neither assignments nor a connect form until its codes are revoked.
        "disconnecting": account if disconnecting else None,
        "disconnect_summary": panels.disconnect_summary(account),
        "sign_in_offers": sign_in_offers(provider, bound_form=connect_form, bound_method=connect_method),
        "connect_notes": panels.connect_notes(provider),
        "connect_fine_print": panels.connect_fine_print(provider),
        "connect_hint": panels.connect_hint(provider),
        "connect_error": connect_error,
        "prerequisites": panels.eligibility_hint(provider),
        "sandbox_url": settings.SANDBOX_URL,
        "sandbox_hint": panels.sandbox_hint(provider),
        "takes_chosen_pins": panels.takes_chosen_pins(provider),
        "locks": options,
    }
    if connected:
        page = request.POST.get("page") or request.GET.get("page") or 1
        query = (request.GET.get("q") or "").strip()
        editing = request.GET.get("edit", "")  # without JavaScript, a row's Edit link reloads the panel with it open
        context["rows"], context["page_obj"] = panels.assignment_rows_page(
            request.user, account, options, page=page, query=query, bound=bound,
            editing=int(editing) if is_whole_number(editing) else None,
        )
        context["query"] = query
        context["page_number"] = context["page_obj"].number
        context["lock_health"] = lock_health(account, options)
        context["checkable_locks"] = any(health.checkable for health in context["lock_health"])
        context["api_use"] = account_usage(account, timezone.now())  # one grouped query over the audit
        context["api_use_notice"] = deferral_words(context["api_use"]) if context["api_use"].near else []
    return render(request, "locks/dashboard/panel.html", context, status=status)


# --- lock assignments ---------------------------------------------------------------------------

@login_required
@require_GET
def assignment_row(request: HttpRequest, provider: str, property_id: int) -> HttpResponse:
    """One row for htmx: its form (?edit=1, the row's Edit) or its summary (the form's Cancel).
    Without JavaScript those links lead to the panel itself, with or without ?edit=<id>."""
    provider = panels.provider_or_404(provider)
    account = panels.connected_account_or_404(request.user, provider)
    prop = panels.panel_property_or_404(request.user, account, property_id)
    editing = request.GET.get("edit") == "1" and prop.is_eligible_for_smart_lock
    if not request.htmx:
        return redirect(f"{panel_url(provider)}{'?edit=' + str(prop.pk) if editing else ''}#property-{prop.pk}")
    options = panels.lock_options(account) if editing else []
    row = panels.assignment_row(prop, provider, options, editing=editing, focus_edit=not editing)
    return render(request, "locks/dashboard/_assignment.html", _row_context(request, row))


def _row_context(request: HttpRequest, row) -> dict:
    """A row swapped alone, with the panel's page it is on (for its links and its form's fallback)."""
    page = request.POST.get("page") or request.GET.get("page") or ""
    return {"row": row, "page_number": page if is_whole_number(page) else "", "query": ""}


@login_required
@require_POST
def assignment_save(request: HttpRequest, provider: str, property_id: int) -> HttpResponse:
    provider = panels.provider_or_404(provider)
    account = panels.connected_account_or_404(request.user, provider)
    prop = panels.eligible_property_or_404(request.user, property_id)
    form = panels.assignment_form(prop, provider, request.POST)
    lock = _posted_lock_or_404(form, account)
    if not form.is_valid():
        return _row_response(request, prop, provider, account, form=form, status=ROW_REFUSED)
    try:
        lock_assignment_set(
            prop=prop,
            lock=lock,
            lead_days=form.cleaned_data["lead_days"],
            margin_minutes=form.cleaned_data["margin_minutes"],
            code_source=form.cleaned_data.get("code_source") or None,
            notify=form.notify_choices(),
            ladder=form.ladder_choices(),
        )
    except ValidationError as error:
        form.add_error(None, error)  # the row says it once, in both modes (the template hides its standing note)
        return _row_response(request, prop, provider, account, form=form, status=ROW_REFUSED)
    prop = panels.reloaded(prop)
    message = _("Saved: %(lock)s opens %(property)s.") % {"lock": lock.name, "property": prop.name}
    return _row_response(request, prop, provider, account, message=message)


def _posted_lock_or_404(form, account) -> Lock | None:
    """A lock id that is not one of this account's locks is a forged POST: 404, nothing changes."""
    raw = form["lock"].value()
    if raw in (None, ""):
        return None
    try:
        lock_id = int(raw)
    except (TypeError, ValueError):
        raise Http404("No such lock.") from None
    lock = Lock.objects.filter(pk=lock_id, account=account).select_related("account").first()
    if lock is None:
        raise Http404("No such lock.")
    return lock


@login_required
@require_POST
def assignment_remove(request: HttpRequest, provider: str, property_id: int) -> HttpResponse:
    provider = panels.provider_or_404(provider)
    account = panels.connected_account_or_404(request.user, provider)
    prop = panels.panel_property_or_404(request.user, account, property_id)
    assignment = panels.current_assignment(prop)
    if assignment is None or assignment.lock.account_id != account.pk:
        message = _("%(property)s has no %(brand)s lock.") % {"property": prop.name, "brand": panels.provider_label(provider)}
        return _row_response(request, prop, provider, account, message=message)
    lock_name = assignment.lock.name
    revoked = lock_assignment_remove(prop=prop)
    prop = panels.reloaded(prop)
    sentences = [_("Removed %(lock)s from %(property)s.") % {"lock": lock_name, "property": prop.name}]
    if revoked and panels.revokes_remotely(provider):
        revoking = ngettext(
            "The code of %(count)d upcoming booking is being revoked.",
            "The codes of %(count)d upcoming bookings are being revoked.",
            revoked,
        )
        sentences.append(revoking % {"count": revoked})
    elif revoked:
        revoking = ngettext(
            "The code of %(count)d upcoming booking is being revoked (where the lock allows it).",
            "The codes of %(count)d upcoming bookings are being revoked (where the lock allows it).",
            revoked,
        )
        sentences.append(revoking % {"count": revoked})
    sentences.append(_("Guests staying now keep their code until check-out."))
    message = " ".join(sentences)
    return _row_response(request, prop, provider, account, message=message)


def _row_response(request, prop, provider, account, *, form=None, message: str = "", status: int = 200) -> HttpResponse:
    """htmx swaps the one row; without JavaScript the whole panel comes back (PRG on success), its
    refused row saying why and the top of the page saying which row it is."""
    if request.htmx:
        # Refused: the form again, with its errors. Done: the row's summary, saying what was done.
        options = panels.lock_options(account) if form is not None else []
        row = panels.assignment_row(prop, provider, options, form, message=message, focus_edit=form is None)
        return render(request, "locks/dashboard/_assignment.html", _row_context(request, row), status=status)
    if status >= 400:
        messages.error(request, _("%(property)s was not saved: the reason is shown in its row below.") % {"property": prop.name})
        return render_panel(request, provider, bound={prop.pk: form}, status=status)
    messages.success(request, message)
    page = request.POST.get("page", "")
    query = f"?page={page}" if is_whole_number(page) and page != "1" else ""
    return redirect(f"{panel_url(provider)}{query}#property-{prop.pk}")


# --- reading a lock back -----------------------------------------------------------------------

@login_required
@require_POST
def check_lock_now(request: HttpRequest, provider: str, lock_id: int) -> HttpResponse:
    """ "Check this lock now": a read-back of the lock handed to a worker, or why not. htmx swaps the
    lock's entry, saying so inside it; without JavaScript the panel comes back with a message."""
    provider = panels.provider_or_404(provider)
    account = panels.connected_account_or_404(request.user, provider)
    lock = _health_lock_or_404(account, lock_id)
    answer = lock_read_back_request(lock=lock, now=timezone.now())
    health = lock_health_card(account, lock)
    message = check_now_message(answer, health, account.provider_name)
    if request.htmx:
        context = {
            "health": health,
            "provider": provider,
            "label": panels.provider_label(provider),
            "check_message": message,
            "check_refused": not answer.queued,
        }
        return render(request, "locks/dashboard/_lock_card.html", context, status=200 if answer.queued else ROW_REFUSED)
    if answer.queued:
        messages.success(request, message)
    else:
        messages.warning(request, message)
    return redirect(f"{panel_url(provider)}#lock-{lock.pk}")


def _health_lock_or_404(account, lock_id: int) -> Lock:
    """One of the locks the panel lists under "Your locks, as last read back" (those that can take guest codes)."""
    lock = Lock.objects.filter(pk=lock_id, account=account, supports_remote_codes=True).first()
    if lock is None:
        raise Http404("No such lock.")
    lock.account = account
    return lock


# --- account actions -----------------------------------------------------------------------------

@login_required
@require_POST
def refresh_locks(request: HttpRequest, provider: str) -> HttpResponse:
    provider = panels.provider_or_404(provider)
    account = panels.connected_account_or_404(request.user, provider)
    try:
        locks = account_refresh_locks(account=account)
    except ProviderError as error:
        messages.error(
            request,
            _("The locks could not be read from %(brand)s: %(error)s The list shown is the last one read.")
            % {"brand": account.provider_name, "error": error.message},
        )
    else:
        usable = sum(1 for lock in locks if lock.supports_remote_codes)
        messages.success(
            request, _("Locks refreshed: %(found)d found, %(usable)d can take guest codes.") % {"found": len(locks), "usable": usable}
        )
    return redirect(panel_url(provider))


@login_required
@recent_authentication_required
@require_http_methods(["GET", "POST"])
def disconnect(request: HttpRequest, provider: str) -> HttpResponse:
    """GET: what disconnecting will do. POST: start it; the vendor requests (one per upcoming code)
    run in a task (tasks.finish_account_disconnect), and the panel shows "Disconnecting…" until they
    are done. With no request to make it is finished at once. A second press changes nothing.
    Both ask for the password again when it was not confirmed recently (accounts.reauth): a
    disconnection revokes every upcoming guest's code."""
    provider = panels.provider_or_404(provider)
    account = panels.host_account(request.user, provider)
    if panels.is_disconnecting(account):  # a second press, or a second tab: already under way
        if request.method == "POST":
            messages.info(request, _already_disconnecting(account.provider_name))
        return redirect(panel_url(provider))
    if not panels.is_connected(account):
        raise Http404("This lock provider is not connected.")
    if request.method == "GET":
        preview = overview.disconnect_preview(account)
        return render(request, "locks/dashboard/disconnect.html", {"provider": provider, "account": account, "preview": preview})
    plan = account_disconnect_start(account=account)
    if not plan.started:  # a concurrent press won the race
        messages.info(request, _already_disconnecting(account.provider_name))
        return redirect(panel_url(provider))
    record_security_event(
        kind=SecurityEventKind.LOCK_ACCOUNT_DISCONNECTED,
        user=request.user,
        request=request,
        detail=f"{account.provider_name} account “{account.display_name}”: {_count(plan.upcoming_revoked, 'upcoming code')} revoked, "
        f"{_count(plan.assignments_removed, 'lock assignment')} removed",
    )
    if not plan.awaits_vendor:
        # Nothing to revoke at the vendor (no upcoming code, or none it can revoke): no request to
        # wait for, so it is finished here; the panel shows what became of the codes.
        account_disconnect_finish(account_id=account.pk)
        messages.success(request, _("%(brand)s is disconnected.") % {"brand": account.provider_name})
        return redirect(panel_url(provider))
    account_id = account.pk
    # robust: a broker that refuses the task must not turn a started disconnection into an error
    # page; the keep-alive run sends the task again (tasks.keep_accounts_alive).
    transaction.on_commit(lambda: tasks.finish_account_disconnect.delay(account_id), robust=True)
    messages.success(request, _disconnect_started_message(account, plan))
    return redirect(panel_url(provider))


def _already_disconnecting(label: str) -> str:
    return _(
        "%(brand)s is already being disconnected: the codes of upcoming bookings are being revoked. Nothing else was changed."
    ) % {"brand": label}


def _disconnect_started_message(account, plan) -> str:
    label = account.provider_name
    revoking = plan.upcoming_revoked
    # Clauses joined by semicolons, each one message with its own count.
    if revoking:
        first = ngettext(
            "Disconnecting %(brand)s: %(count)d upcoming code is being revoked;",
            "Disconnecting %(brand)s: %(count)d upcoming codes are being revoked;",
            revoking,
        ) % {"brand": label, "count": revoking}
    else:  # only revocations that were already under way (e.g. a cancelled booking's code)
        first = _("Disconnecting %(brand)s: the revocations already under way are being finished;") % {"brand": label}
    removed = plan.assignments_removed
    parts = [
        first,
        ngettext(
            "%(count)d lock assignment removed; the stored credentials are deleted once this is done.",
            "%(count)d lock assignments removed; the stored credentials are deleted once this is done.",
            removed,
        ) % {"count": removed},
    ]
    if plan.left_valid:
        count = len(plan.left_valid)
        parts.append(
            ngettext(
                "%(count)d upcoming code cannot be revoked and keeps working until its end.",
                "%(count)d upcoming codes cannot be revoked and keep working until their end.",
                count,
            ) % {"count": count}
        )
    if plan.staying_untouched:
        staying = ngettext(
            "%(count)d guest staying now keeps their code until check-out.",
            "%(count)d guests staying now keep their code until check-out.",
            plan.staying_untouched,
        )
        parts.append(staying % {"count": plan.staying_untouched})
    return " ".join(parts)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
