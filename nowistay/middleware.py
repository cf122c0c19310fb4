"""Request checks that come before any view reads the request."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from nowistay.validators import forbidden_character, printable

API_PREFIX = "/api/"
# Each a whole sentence per kind of character (nowistay.validators.ForbiddenCharacter.kind).
PARAMETER_MESSAGES = {
    "line_break": _("Remove a line break (character %(position)s) from this parameter: only printable text is allowed."),
    "tab": _("Remove a tab (character %(position)s) from this parameter: only printable text is allowed."),
    "nul": _("Remove the NUL character U+0000 (character %(position)s) from this parameter: only printable text is allowed."),
    "surrogate": _(
        "Remove the unpaired surrogate %(code_point)s (character %(position)s) from this parameter: "
        "only printable text is allowed."
    ),
    "control": _(
        "Remove the control character %(code_point)s (character %(position)s) from this parameter: "
        "only printable text is allowed."
    ),
}


def query_string_errors(request: HttpRequest) -> list[dict]:
    """One {"field", "message"} per query-string parameter whose name or value is not plain text
    on one line (nowistay.validators: NUL, CR/LF, TAB and every other control character)."""
    errors = []
    for name, values in request.GET.lists():
        for text in (name, *values):
            found = forbidden_character(text)
            if found is not None:
                message = found.message(PARAMETER_MESSAGES)
                errors.append({"field": printable(name), "message": message})
                break
    return errors


def drop_cookies_with_control_characters(request: HttpRequest) -> None:
    """A cookie holding a control character was not set by us (a quoted cookie can smuggle a NUL as
    an octal escape): treat it as absent, as Django treats any malformed cookie, instead of looking
    a session up by it (a 500 on PostgreSQL)."""
    for name, value in list(request.COOKIES.items()):
        if forbidden_character(name) or forbidden_character(value):
            del request.COOKIES[name]


class PlainTextRequestMiddleware:
    """Refuses a query string that carries NUL or another control character, before any view, filter
    or search reads it: a 400 naming the parameter (the API's 400 JSON under /api/), never a 500.
    No link or form of the product sends one. Form fields and JSON bodies are checked by their
    field validators instead, so the error lands on the field with the rest of the input kept.

    Placed before SessionMiddleware, so a cookie it drops is never looked up."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        drop_cookies_with_control_characters(request)
        errors = query_string_errors(request)
        if errors:
            return self.refusal(request, errors)
        return self.get_response(request)

    @staticmethod
    def refusal(request: HttpRequest, errors: list[dict]) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"detail": "Invalid request.", "errors": errors}, status=400)
        # An htmx request swaps the answer into part of a page: the message alone, not a whole page.
        template = "_bad_query_string.html" if request.headers.get("HX-Request") == "true" else "bad_query_string.html"
        return HttpResponse(render_to_string(template, {"errors": errors}, request=request), status=400)
