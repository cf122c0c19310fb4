from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.events import record_security_event
from accounts.forms import ConfirmPasswordForm
from accounts.models import SecurityEventKind
from accounts.reauth import mark_recently_authenticated, max_age, safe_next


@login_required
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest) -> HttpResponse:
    """Confirm who you are before a sensitive action (accounts.reauth)."""
    back_to = safe_next(request, request.POST.get("next") or request.GET.get("next"), reverse("home"))
    form = ConfirmPasswordForm(request.POST or None, request=request)
    if request.method == "POST":
        if form.is_valid():
            mark_recently_authenticated(request)
            record_security_event(kind=SecurityEventKind.REAUTHENTICATED, user=request.user, request=request)
            messages.success(request, "Thank you: you can go ahead.")
            return redirect(back_to)
        record_security_event(kind=SecurityEventKind.REAUTHENTICATION_FAILED, user=request.user, request=request)
    minutes = int(max_age().total_seconds() // 60)
    status = 400 if form.errors else 200
    return render(request, "accounts/confirm.html", {"form": form, "next": back_to, "minutes": minutes}, status=status)
