"""The host's Security page (/settings/security/): two-factor authentication, the password, signing
out everywhere, and the account's security log."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _, gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login

from accounts import sessions, two_factor
from accounts.events import record_security_event
from accounts.forms import AuthenticatorCodeForm, ThrottledPasswordChangeForm
from accounts.models import HostPreferences, SecurityEvent, SecurityEventKind
from accounts.reauth import recent_authentication_required, safe_next
from accounts.user_agents import browser_summary
from nowistay import languages

EVENTS_PER_PAGE = 25


@login_required
@require_GET
def security(request: HttpRequest) -> HttpResponse:
    password_form = ThrottledPasswordChangeForm(request.user, request=request)
    return render(request, "accounts/security.html", _page_context(request, password_form))


def _page_context(request: HttpRequest, password_form) -> dict:
    events = Paginator(SecurityEvent.objects.filter(user=request.user), EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"event": event, "browser": browser_summary(event.user_agent)} for event in events]
    return {
        "two_factor_on": two_factor.has_two_factor(request.user),
        "recovery_codes_left": two_factor.recovery_codes_left(request.user),
        "password_form": password_form,
        "events": events,
        "rows": rows,
        "idle_minutes": sessions.idle_minutes(),
        "language_choice": _language_choice(request.user),
        "languages": settings.LANGUAGES,
    }


def _language_choice(user) -> str:
    """The profile's language ("" for the browser's), for the page's Language section."""
    chosen = HostPreferences.objects.filter(user=user).values_list("language", flat=True).first()
    return languages.shipped(chosen)


@login_required
@never_cache
@sensitive_post_parameters("code")
@recent_authentication_required  # a stolen session must not bind its own phone to the account
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Turn two-factor authentication on: scan (or type) the secret, prove it with a code, then see
    the recovery codes once."""
    if two_factor.has_two_factor(request.user):
        messages.info(request, _("Two-factor authentication is already on."))
        return redirect("security:index")
    device = two_factor.authenticator_to_enrol(request.user)
    form = AuthenticatorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = two_factor.check_code(request.user, form.cleaned_data["code"], recovery_codes=False, device=device)
        if check.accepted:
            return _two_factor_turned_on(request, check.device)
        form.add_error("code", _("That code is not right: check the time on your phone and type the six digits the app shows now."))
    back_to = safe_next(request, request.GET.get(REDIRECT_FIELD_NAME), "")
    context = {"form": form, "details": two_factor.enrolment_details(device), "next": back_to}
    return render(request, "accounts/two_factor_setup.html", context, status=400 if form.errors else 200)


def _two_factor_turned_on(request: HttpRequest, device) -> HttpResponse:
    codes = two_factor.authenticator_confirm(device)
    otp_login(request, device)
    sessions.sessions_end_others(request, now=sessions.now())
    record_security_event(
        kind=SecurityEventKind.TWO_FACTOR_ENABLED, user=request.user, request=request,
        detail=gettext_noop("Every other session was signed out.")
    )
    record_security_event(kind=SecurityEventKind.RECOVERY_CODES_CREATED, user=request.user, request=request)
    back_to = safe_next(request, request.GET.get(REDIRECT_FIELD_NAME), reverse("security:index"))
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "first_time": True, "next": back_to})


@login_required
@never_cache
@recent_authentication_required
@require_http_methods(["GET", "POST"])
def recovery_codes_new(request: HttpRequest) -> HttpResponse:
    if not two_factor.has_two_factor(request.user):
        return redirect("security:index")
    if request.method == "POST":
        codes = two_factor.recovery_codes_replace(request.user)
        record_security_event(
            kind=SecurityEventKind.RECOVERY_CODES_CREATED, user=request.user, request=request,
            detail=gettext_noop("The earlier codes no longer work.")
        )
        return render(request, "accounts/recovery_codes.html", {"codes": codes, "first_time": False, "next": reverse("security:index")})
    return render(request, "accounts/recovery_codes_new.html")


@login_required
@recent_authentication_required
@require_http_methods(["GET", "POST"])
def two_factor_off(request: HttpRequest) -> HttpResponse:
    if not two_factor.has_two_factor(request.user):
        return redirect("security:index")
    if request.method == "POST":
        two_factor.two_factor_remove(request.user)
        record_security_event(kind=SecurityEventKind.TWO_FACTOR_DISABLED, user=request.user, request=request)
        messages.warning(request, _("Two-factor authentication is off: your password alone now signs you in."))
        return redirect("security:index")
    return render(request, "accounts/two_factor_off.html")


@login_required
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@require_POST
def password_change(request: HttpRequest) -> HttpResponse:
    """A new password; every other session of the account ends (Django ties sessions to the
    password), this one goes on."""
    form = ThrottledPasswordChangeForm(request.user, request.POST, request=request)
    if form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        record_security_event(
            kind=SecurityEventKind.PASSWORD_CHANGED, user=user, request=request, detail=gettext_noop("Every other session was signed out.")
        )
        messages.success(request, _("Your password is changed; every other session is signed out."))
        return redirect("security:index")
    if "old_password" in form.errors:
        record_security_event(
            kind=SecurityEventKind.REAUTHENTICATION_FAILED, user=request.user, request=request,
            detail=gettext_noop("Wrong current password when changing the password."),
        )
    return render(request, "accounts/security.html", _page_context(request, form), status=400)


@login_required
@require_POST
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    user = request.user
    sessions.sessions_end_everywhere(user, now=sessions.now())
    record_security_event(kind=SecurityEventKind.SIGNED_OUT_EVERYWHERE, user=user, request=request)
    sessions.session_end(request)
    messages.success(request, _("You are signed out everywhere: on this device and every other."))
    return redirect("login")
