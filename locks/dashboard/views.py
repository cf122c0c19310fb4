"""The integrations dashboard's views. They read through `panels` and act through the lifecycle
services; every object is looked up within the logged-in host's own, so another host's id is a 404."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from locks.dashboard import panels
from locks.models import Lock
from locks.notifications import local_time
from locks.providers.exceptions import ProviderError
from locks.services import account_disconnect, account_refresh_locks, lock_assignment_remove, lock_assignment_set


def panel_url(provider: str) -> str:
    return reverse("integrations:panel", args=[provider])


@login_required
@require_GET
def integrations(request: HttpRequest) -> HttpResponse:
    context = {"cards": panels.provider_cards(request.user), "summary": panels.eligibility_summary(request.user)}
    return render(request, "locks/dashboard/integrations.html", context)


@login_required
@require_GET
def panel(request: HttpRequest, provider: str) -> HttpResponse:
    return render_panel(request, panels.provider_or_404(provider))


def render_panel(request: HttpRequest, provider: str, *, connect_form=None, connect_error: str = "", bound=None, status: int = 200) -> HttpResponse:
    """The provider panel: the connect form (or the OAuth button) and, once connected, the lock
    assignments. Connect views render it too, with their bound form, when a sign-in fails."""
    from locks.dashboard.connect_forms import blank_connect_form, connect_action, oauth_start_url

    account = panels.host_account(request.user, provider)
    connected = panels.is_connected(account)
    options = panels.lock_options(account) if connected else []
    context = {
        "provider": provider,
        "label": panels.provider_label(provider),
        "account": account if connected else None,
        "connect_form": connect_form or blank_connect_form(provider),
        "connect_action": connect_action(provider),
        "oauth_start_url": oauth_start_url(provider),
        "connect_error": connect_error,
        "prerequisites": panels.PREREQUISITES[provider],
        "sandbox_url": settings.SANDBOX_URL,
        "sandbox_hint": panels.sandbox_hint(provider),
        "takes_chosen_pins": panels.takes_chosen_pins(provider),
        "locks": options,
    }
    if connected:
        page = request.POST.get("page") or request.GET.get("page") or 1
        query = (request.GET.get("q") or "").strip()
        context["rows"], context["page_obj"] = panels.assignment_rows_page(
            request.user, account, options, page=page, query=query, bound=bound
        )
        context["query"] = query
    return render(request, "locks/dashboard/panel.html", context, status=status)


# --- lock assignments ---------------------------------------------------------------------------

@login_required
@require_POST
def assignment_save(request: HttpRequest, provider: str, property_id: int) -> HttpResponse:
    provider = panels.provider_or_404(provider)
    account = panels.connected_account_or_404(request.user, provider)
    prop = panels.eligible_property_or_404(request.user, property_id)
    form = panels.assignment_form(prop, provider, request.POST)
    lock = _posted_lock_or_404(form, account)
    if not form.is_valid():
        return _row_response(request, prop, provider, account, form=form, status=400)
    try:
        lock_assignment_set(
            prop=prop,
            lock=lock,
            lead_days=form.cleaned_data["lead_days"],
            margin_minutes=form.cleaned_data["margin_minutes"],
            code_source=form.cleaned_data.get("code_source") or None,
        )
    except ValidationError as error:
        return _row_response(request, prop, provider, account, form=form, error=" ".join(error.messages), status=400)
    prop = panels.reloaded(prop)
    return _row_response(request, prop, provider, account, message=f"Saved: {lock.name} opens {prop.name}.")


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
        return _row_response(request, prop, provider, account, message=f"{prop.name} has no {panels.provider_label(provider)} lock.")
    lock_name = assignment.lock.name
    revoked = lock_assignment_remove(prop=prop)
    prop = panels.reloaded(prop)
    message = f"Removed {lock_name} from {prop.name}."
    if revoked:
        message += f" The codes of {revoked} upcoming booking(s) are being revoked"
        message += "." if panels.revokes_remotely(provider) else " (where the lock allows it)."
    message += " Guests staying now keep their code until check-out."
    return _row_response(request, prop, provider, account, message=message)


def _row_response(request, prop, provider, account, *, form=None, message: str = "", error: str = "", status: int = 200) -> HttpResponse:
    """htmx swaps the one row; without JavaScript the whole panel comes back (PRG on success)."""
    if request.htmx:
        row = panels.assignment_row(prop, provider, panels.lock_options(account), form, message=message, error=error)
        return render(request, "locks/dashboard/_assignment.html", {"row": row, "takes_chosen_pins": panels.takes_chosen_pins(provider)}, status=status)
    if status >= 400:
        if error:
            messages.error(request, f"{prop.name}: {error}")
        return render_panel(request, provider, bound={prop.pk: form}, status=status)
    messages.success(request, message)
    page = request.POST.get("page", "")
    query = f"?page={page}" if page.isdigit() and page != "1" else ""
    return redirect(f"{panel_url(provider)}{query}#property-{prop.pk}")


# --- account actions -----------------------------------------------------------------------------

@login_required
@require_POST
def refresh_locks(request: HttpRequest, provider: str) -> HttpResponse:
    provider = panels.provider_or_404(provider)
    account = panels.connected_account_or_404(request.user, provider)
    try:
        locks = account_refresh_locks(account=account)
    except ProviderError as error:
        messages.error(request, f"The locks could not be read from {account.get_provider_display()}: {error.message} The list shown is the last one read.")
    else:
        usable = sum(1 for lock in locks if lock.supports_remote_codes)
        messages.success(request, f"Locks refreshed: {len(locks)} found, {usable} can take guest codes.")
    return redirect(panel_url(provider))


@login_required
@require_http_methods(["GET", "POST"])
def disconnect(request: HttpRequest, provider: str) -> HttpResponse:
    provider = panels.provider_or_404(provider)
    account = panels.connected_account_or_404(request.user, provider)
    if request.method == "GET":
        preview = panels.disconnect_preview(account)
        return render(request, "locks/dashboard/disconnect.html", {"provider": provider, "account": account, "preview": preview})
    report = account_disconnect(account=account)
    messages.success(request, _disconnect_summary(account, report))
    return redirect(panel_url(provider))


def _disconnect_summary(account, report) -> str:
    parts = [f"{account.get_provider_display()} is disconnected and its stored credentials are deleted."]
    if report.revoked:
        parts.append(f"{report.revoked} code(s) of upcoming bookings were revoked.")
    for code in report.left_valid:
        until = local_time(code.lock_ends_at or code.ends_at, code.booking.property.time_zone)
        parts.append(f"{code.booking.guest_name}'s code at {code.booking.property.name} could not be removed and works until {until}.")
    if report.staying_untouched:
        parts.append(f"{report.staying_untouched} guest(s) staying now keep their code until check-out.")
    return " ".join(parts)
