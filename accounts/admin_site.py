"""The admin is for staff signed in with their second factor. Its own login page is gone: signing in
happens on the host sign-in page (throttled, two steps), and this site sends each visitor where
they can get in — the sign-in page, the second step, or two-factor enrolment."""

from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.reauth import safe_next
from accounts.two_factor import has_two_factor


class VerifiedAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        is_verified = getattr(user, "is_verified", None)  # set by django_otp's OTPMiddleware
        return user.is_active and user.is_staff and callable(is_verified) and is_verified()

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        back_to = safe_next(request, request.GET.get(REDIRECT_FIELD_NAME), reverse("admin:index", current_app=self.name))
        user = request.user
        if self.has_permission(request):
            return HttpResponseRedirect(back_to)
        if not user.is_authenticated:
            return redirect_to_login(back_to)
        if not (user.is_active and user.is_staff):
            return render(request, "admin/staff_only.html", status=403)
        if has_two_factor(user):
            return HttpResponseRedirect(f"{reverse('sign_in_code')}?{urlencode({REDIRECT_FIELD_NAME: back_to})}")
        messages.warning(request, _("The admin needs two-factor authentication: turn it on here first."))
        return HttpResponseRedirect(f"{reverse('security:two_factor_setup')}?{urlencode({REDIRECT_FIELD_NAME: back_to})}")
