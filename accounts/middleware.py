from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _, ngettext

from accounts import sessions
from accounts.events import record_security_event
from accounts.models import SecurityEventKind


class SessionSecurityMiddleware:
    """Ends a signed-in session that was idle too long or ended from elsewhere (accounts.sessions),
    then lets the request go on signed out: a page that needs signing in sends the person to the
    sign-in page, which says why. Notes the activity of every other signed-in request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = sessions.now()
            if sessions.ended_elsewhere(request):
                sessions.session_end(request)
                messages.info(request, _("You were signed out on this device. Sign in again to go on."))
                return self.after_sign_out(request)
            if sessions.idle_too_long(request.session, now=now):
                record_security_event(kind=SecurityEventKind.SESSION_EXPIRED, user=request.user, request=request)
                sessions.session_end(request)
                minutes = sessions.idle_minutes()
                message = ngettext(
                    "You were signed out after %(minutes)d minute without activity. Sign in again to go on.",
                    "You were signed out after %(minutes)d minutes without activity. Sign in again to go on.",
                    minutes,
                )
                messages.info(request, message % {"minutes": minutes})
                return self.after_sign_out(request)
            sessions.note_activity(request.session, now=now)
        return self.get_response(request)

    def after_sign_out(self, request: HttpRequest) -> HttpResponse:
        if getattr(request, "htmx", False) or request.headers.get("HX-Request") == "true":
            # htmx would swap the sign-in page into part of the page: load it as a whole page instead.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("login")
            return response
        return self.get_response(request)
