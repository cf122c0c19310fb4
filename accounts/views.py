import hashlib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext as _, gettext_lazy, gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from accounts import sign_in
from accounts.client import client_ip_address
from accounts.events import record_security_event
from accounts.forms import AuthenticatorCodeForm, ConfirmPasswordForm, PlainTextPasswordResetForm, PlainTextSetPasswordForm, SignInCodeForm
from accounts.lockouts import active_lockouts, lockout_lift
from accounts.models import HostPreferences, SecurityEventKind
from accounts.reauth import mark_recently_authenticated, max_age, safe_next
from accounts.throttle import count_failed_sign_in, lockout_response, sign_in_allowed
from accounts.two_factor import CodeCheck, check_code, has_two_factor
from nowistay import languages


@login_required
@sensitive_post_parameters("password", "code")
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest) -> HttpResponse:
    """Confirm who you are before a sensitive action (accounts.reauth): the password, or for an
    account with two-factor authentication a current code from the authenticator app."""
    back_to = safe_next(request, request.POST.get("next") or request.GET.get("next"), reverse("home"))
    two_factor = has_two_factor(request.user)
    with_code = two_factor and request.method == "POST" and "code" in request.POST
    form = ConfirmPasswordForm(request.POST if request.method == "POST" and not with_code else None, request=request)
    code_form = AuthenticatorCodeForm(request.POST if with_code else None) if two_factor else None
    if with_code:
        username = request.user.get_username()
        if not sign_in_allowed(request, username):
            return lockout_response(request, None, {"username": username})
        if code_form.is_valid():
            check = check_code(request.user, code_form.cleaned_data["code"], recovery_codes=False)
            if check.accepted:
                otp_login(request, check.device)  # a right code also completes this session's second factor
                return _confirmed(request, back_to, detail=gettext_noop("with the authenticator app"))
            _add_code_error(code_form, check, WRONG_AUTHENTICATOR_CODE)
            record_security_event(
                kind=SecurityEventKind.REAUTHENTICATION_FAILED, user=request.user, request=request,
                detail=gettext_noop("Wrong authenticator code.")
            )
            if check.throttled_until is None:  # a code django-otp refused to check is no new guess
                count_failed_sign_in(request, username)
    elif request.method == "POST":
        if form.is_valid():
            return _confirmed(request, back_to, detail=gettext_noop("with the password"))
        record_security_event(kind=SecurityEventKind.REAUTHENTICATION_FAILED, user=request.user, request=request)
    minutes = int(max_age().total_seconds() // 60)
    status = 400 if form.errors or (code_form is not None and code_form.errors) else 200
    context = {"form": form, "code_form": code_form, "next": back_to, "minutes": minutes}
    return render(request, "accounts/confirm.html", context, status=status)


def _confirmed(request: HttpRequest, back_to: str, *, detail: str) -> HttpResponse:
    mark_recently_authenticated(request)
    record_security_event(kind=SecurityEventKind.REAUTHENTICATED, user=request.user, request=request, detail=detail)
    messages.success(request, _("Thank you: you can go ahead."))
    return redirect(back_to)


WRONG_AUTHENTICATOR_CODE = gettext_lazy("That code is not right. Type the six digits your authenticator app shows now.")
WRONG_SIGN_IN_CODE = gettext_lazy("That code is not right. Type the six digits your app shows now, or an unused recovery code.")


def _add_code_error(form, check: CodeCheck, wrong: str) -> None:
    if check.throttled_until is not None:
        until = dateformat.format(check.throttled_until, "H:i:s")
        form.add_error("code", _("Too many wrong codes: try again after %(time)s UTC.") % {"time": until})
    else:
        form.add_error("code", wrong)


class SignInView(auth_views.LoginView):
    """The one sign-in page, hosts' and staff's (the admin sends here). A right password signs in an
    account without two-factor authentication; with it, the code is asked next (accounts.sign_in)."""

    def form_valid(self, form):
        user = form.get_user()
        if not has_two_factor(user):
            return super().form_valid(form)
        sign_in.pending_start(self.request, user=user, next_url=self.get_success_url())
        return redirect("sign_in_code")


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    """The second step of signing in; also completes a signed-in session that lacks its second factor."""
    pending = sign_in.pending(request)
    if pending is None:
        user = request.user
        if not (user.is_authenticated and not user.is_verified() and has_two_factor(user)):
            messages.info(request, _("Sign in again: the step asking for your code expires after a few minutes."))
            return redirect("login")
        pending = sign_in.pending_of_signed_in(request, safe_next(request, request.GET.get(REDIRECT_FIELD_NAME), reverse("home")))
    username = pending.user.get_username()
    if not sign_in_allowed(request, username):
        return lockout_response(request, None, {"username": username})
    form = SignInCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = check_code(pending.user, form.cleaned_data["code"])
        if check.accepted:
            sign_in.finish(request, pending, check)
            return redirect(pending.next_url)
        _add_code_error(form, check, WRONG_SIGN_IN_CODE)
        if check.throttled_until is None:
            sign_in.code_refused(request, pending.user)
    status = 400 if form.errors else 200
    return render(request, "registration/sign_in_code.html", {"form": form}, status=status)


class RecordingPasswordResetForm(PlainTextPasswordResetForm):
    """Django's reset form (the same answer whether or not the address has an account); the request
    is recorded in the security log of each account it concerns, never the address typed."""

    def save(self, *args, request=None, **kwargs):
        if not reset_requests_allowed(request, self.cleaned_data["email"]):
            # The same page as always (no hint whether the address has an account), and no email:
            # the form must not become a way to flood someone's inbox.
            record_security_event(
                kind=SecurityEventKind.PASSWORD_RESET_REQUESTED, request=request, detail=gettext_noop("Not sent: too many requests.")
            )
            return None
        users = list(self.get_users(self.cleaned_data["email"]))
        for user in users:
            record_security_event(kind=SecurityEventKind.PASSWORD_RESET_REQUESTED, user=user, request=request)
        if not users:
            record_security_event(
                kind=SecurityEventKind.PASSWORD_RESET_REQUESTED, request=request,
                detail=gettext_noop("No active account has the address typed.")
            )
        return super().save(*args, request=request, **kwargs)

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None):
        """Each account's email in the language its profile names, else the one of this request
        (the browser's now: the person asking is not signed in, and may be on another device)."""
        user = context.get("user")
        chosen = HostPreferences.objects.filter(user_id=getattr(user, "pk", None)).values_list("language", flat=True).first()
        with translation.override(languages.shipped(chosen) or translation.get_language()):
            return super().send_mail(
                subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=html_email_template_name
            )


def reset_requests_allowed(request, email: str) -> bool:
    """At most PASSWORD_RESET_REQUESTS_PER_HOUR per address typed and ten times that per client
    address, counted in the shared cache for an hour."""
    limit = settings.PASSWORD_RESET_REQUESTS_PER_HOUR
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    keys = [(f"password-reset:email:{digest}", limit), (f"password-reset:ip:{client_ip_address(request)}", limit * 10)]
    allowed = True
    for key, most in keys:
        cache.add(key, 0, timeout=3600)
        try:
            allowed = cache.incr(key) <= most and allowed
        except ValueError:  # expired between add and incr: this is the first request of a new hour
            cache.set(key, 1, timeout=3600)
    return allowed


class PasswordResetView(auth_views.PasswordResetView):
    form_class = RecordingPasswordResetForm
    email_template_name = "emails/password_reset.txt"
    html_email_template_name = "emails/password_reset.html"
    subject_template_name = "emails/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """A new password through the emailed link. Nobody is signed in by it (post_reset_login stays
    False): the next sign-in asks for the password and, if on, the second factor. Every session of
    the account ends (Django ties them to the password), and a lock-out of the account is lifted:
    whoever reads its email may try again."""

    post_reset_login = False
    form_class = PlainTextSetPasswordForm
    success_url = reverse_lazy("password_reset_complete")

    def dispatch(self, *args, **kwargs):
        response = super().dispatch(*args, **kwargs)
        if getattr(response, "context_data", {}).get("validlink") is False:
            response.status_code = 404  # a used, expired or made-up link: its page says so
        return response

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.user
        record_security_event(kind=SecurityEventKind.PASSWORD_RESET, user=user, request=self.request)
        username = user.get_username()
        if active_lockouts(username=username, ip_address=None, now=timezone.now()).exists():
            lockout_lift(username=username, ip_address=None, by=None, reason="after a password reset", now=timezone.now())
        return response
