"""NUL bytes and control characters, at every entry point.

Text comes in through query strings, forms (host pages and admin) and the API. Each refuses NUL and
control characters where they come in, with a message that names the field or parameter: a 400
page (or the API's 400 JSON) for a query string, an error on the field for a form (the rest of the
input kept), a 400 on the field for the API. The host booking form refuses exactly what the API
refuses. What was stored before these rules cannot inject an email header.

The entry points are enumerated, not hand-picked: every URL pattern of the project gets bad query
strings, and every form on every page (host pages as two hosts, admin add and change pages) gets a
bad value in each of its fields, so a new page or form is covered without editing this file.

Run it on PostgreSQL too (`DATABASE_URL=postgres://…`): PostgreSQL refuses NUL in text, SQLite
stores it, so the 500s this file guards against showed only there.
"""

import importlib
import json
import re
from datetime import timedelta
from email import message_from_bytes
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
import responses
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from bookings.api.services import api_token_create
from bookings.models import Booking, BookingStatus, ExternalBookingRef, Property
from locks import notifications as lock_notifications
from locks.dashboard import panels
from locks.models import AccessCode, LockAssignment
from messaging import services as messaging
from messaging.models import DeliveryStatus, MessageDelivery, MessageTemplate, TriggerKind
from nowistay.validators import forbidden_character, validate_multiline_text, validate_single_line_text

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]

OUR_APPS = ("bookings", "locks", "messaging")
PROVIDERS = ("ttlock", "tedee", "nuki", "igloohome")
KNOWN_REF = "PMS-1"
HTMX = {"HX-Request": "true"}
# Every field message of ours says where the character is ("… (character 4) …").
FIELD_MESSAGE = re.compile(r"character \d+")

# One of each kind: NUL (PostgreSQL refuses it), a header injection, terminal escapes, a C1 control.
SINGLE_LINE_PAYLOADS = {
    "nul": "\x00",
    "crlf": "\r\nBcc: evil@example.com",
    "esc-bel": "\x1b[31m\x07",
    "c1-nel": "\x85",
}
# A body may hold line breaks and tabs, but not these.
MULTILINE_PAYLOADS = {"nul": "\x00", "esc-bel": "\x1b[31m\x07", "c1-nel": "\x85", "lone-cr": "\rX"}
QUERY_PAYLOADS = {"nul": "%00", "crlf": "%0D%0A", "tab": "%09", "esc": "%1B", "del": "%7F", "c1": "%C2%85"}


# --- the world: two hosts, a staff user, and something of everything -----------------------------


@pytest.fixture(autouse=True)
def no_vendor_calls():
    """A form that let a value through would call a vendor: no request leaves the test (any call
    fails as a connection error)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        yield


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(host, make_property, assigned_property, book, django_user_model):
    """`host` has a TTLock lock on a property, a booking known to the API, a message template and
    an API token; `newcomer` has a property and nothing connected (so the connect forms show);
    `staff` is a superuser for the admin."""
    prop = assigned_property()
    make_property(name="Garden Studio")
    today = timezone.localdate()
    booking = book(prop, today + timedelta(days=10), today + timedelta(days=12), guest_email="grace@example.com")
    ExternalBookingRef.objects.create(host=host, ref=KNOWN_REF, booking=booking)
    template = MessageTemplate.objects.create(
        host=host, name="Welcome", trigger=TriggerKind.ON_CONFIRMATION, subject="Welcome to {{property_name}}",
        body="Hello {{guest_name}},\r\nsee you soon.",
    )
    token, plain_token = api_token_create(host=host, name="PMS")
    newcomer = django_user_model.objects.create_user(username="newcomer", email="new@example.com", password="newcomer-pw-123")
    make_property(host=newcomer, name="Newcomer Loft")
    staff = django_user_model.objects.create_superuser(username="staff", email="staff@example.com", password="staff-pw-123")
    return {
        "host": host, "property": prop, "booking": booking, "template": template, "token": token,
        "plain_token": plain_token, "newcomer": newcomer, "staff": staff,
    }


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- every URL pattern of the project ------------------------------------------------------------


def route_patterns(resolver=None, prefix: str = ""):
    """(route, pattern) for every URL pattern, routes joined from their includes."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from route_patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>|\(\?P<(?P<group>\w+)>[^)]*\)")


def admin_object_id(route: str) -> str | None:
    match = re.match(r"admin/(\w+)/(\w+)/", route)
    if not match:
        return None
    model = apps.get_model(match[1], match[2])
    first = model.objects.order_by("pk").first()
    return str(first.pk) if first else None


def parameter_values(world) -> dict:
    return {
        "booking_id": world["booking"].pk,
        "property_id": world["property"].pk,
        "template_id": world["template"].pk,
        "token_id": world["token"].pk,
        "provider": "ttlock",
        "external_ref": KNOWN_REF,
        "app_label": "bookings",
        "content_type_id": ContentType.objects.get_for_model(Booking).pk,
        "url": "nothing-here/",
    }


def concrete_urls(world, override=None) -> list[tuple[str, str]]:
    """(url, route) for every URL pattern, its parameters filled from the world; `override(name,
    converter)` may give a parameter another value."""
    values = parameter_values(world)
    urls = []
    for route, _pattern in route_patterns():
        def fill(match, route=route):
            name, converter = match["name"] or match["group"], match["converter"] or "str"
            value = override(name, converter) if override else None
            if value is None and name == "object_id":
                value = str(world["booking"].pk) if route.startswith("admin/r/") else admin_object_id(route)
            if value is None:
                value = values.get(name)
            if value is None:
                raise LookupError(name)
            return str(value)

        try:
            path = PARAMETER.sub(fill, route)
        except LookupError:
            continue
        urls.append(("/" + path.replace("^", "").replace("$", "").replace("\\", ""), route))
    return urls


class Clients:
    """One logged-in client per role, and the API's bearer header."""

    def __init__(self, world):
        self.world, self._clients = world, {}

    def as_user(self, user) -> Client:
        if user.pk not in self._clients:
            self._clients[user.pk] = logged_in(user)
        return self._clients[user.pk]

    def for_url(self, url: str) -> tuple[Client, dict]:
        if url.startswith("/admin/"):
            return self.as_user(self.world["staff"]), {}
        if url.startswith("/api/"):
            return Client(), {"Authorization": f"Bearer {self.world['plain_token']}"}
        return self.as_user(self.world["host"]), {}


def client_for(url: str, world) -> tuple[Client, dict]:
    return Clients(world).for_url(url)


def assert_query_refused(response, parameter: str) -> None:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    if response.request["PATH_INFO"].startswith("/api/"):
        body = response.json()
        assert body["detail"] == "Invalid request."
        assert [error["field"] for error in body["errors"]] == [parameter]
        assert FIELD_MESSAGE.search(body["errors"][0]["message"])
    else:
        assert response["Content-Type"].startswith("text/html")
        page = unescape(response.content.decode())
        assert f"“{parameter}”" in page
        assert FIELD_MESSAGE.search(page)


class TestQueryStrings:
    def test_provider_panel_search_with_nul_is_a_400_naming_q(self, world):
        """Was a 500 on PostgreSQL (the search filters property names with the NUL)."""
        response = logged_in(world["host"]).get("/integrations/ttlock/?q=%00")
        assert_query_refused(response, "q")
        assert "the NUL character U+0000 (character 1)" in unescape(response.content.decode())

    def test_admin_list_filter_with_nul_is_a_400_naming_status(self, world):
        """Was a 500 on PostgreSQL (the admin filters bookings by the NUL)."""
        assert_query_refused(logged_in(world["staff"]).get("/admin/bookings/booking/?status=%00"), "status")

    @pytest.mark.parametrize("url, parameter", [
        ("/admin/bookings/booking/?q=%00", "q"),
        ("/admin/locks/accesscode/?state=%00", "state"),
        ("/admin/bookings/booking/?p=%00", "p"),
        ("/bookings/?status=%00", "status"),
        ("/bookings/?arrival_from=2026-01-01%00", "arrival_from"),
        ("/bookings/?page=%00", "page"),
        ("/bookings/codes/?page=1%1B", "page"),
        ("/messages/?preview_booking=%00", "preview_booking"),
        ("/api/v1/bookings/?status=%00", "status"),
        ("/api/v1/bookings/?external_ref=PMS%C2%85", "external_ref"),
        ("/api/v1/properties/?page=%00", "page"),
    ])
    def test_named_filters_and_pages(self, world, url, parameter):
        client, headers = client_for(url, world)
        assert_query_refused(client.get(url, headers=headers), parameter)

    @pytest.mark.parametrize("payload", QUERY_PAYLOADS.values(), ids=QUERY_PAYLOADS.keys())
    def test_every_url_of_the_project_refuses_a_bad_parameter(self, world, payload):
        urls, clients = concrete_urls(world), Clients(world)
        assert len(urls) > 60, "the URL patterns were not all found"
        for url, _route in urls:
            client, headers = clients.for_url(url)
            response = client.get(f"{url}?q=caf%C3%A9{payload}&page=1", headers=headers)
            assert_query_refused(response, "q")

    def test_a_bad_parameter_name_is_refused_and_written_readably(self, world):
        response = logged_in(world["host"]).get("/bookings/?st%00atus=pending")
        assert_query_refused(response, "stU+0000atus")

    def test_every_bad_parameter_is_named(self, world):
        client, headers = client_for("/api/v1/bookings/", world)
        response = client.get("/api/v1/bookings/?status=%00&page=1&external_ref=a%0Ab", headers=headers)
        assert [error["field"] for error in response.json()["errors"]] == ["status", "external_ref"]

    def test_htmx_gets_the_message_alone(self, world):
        response = logged_in(world["host"]).get("/integrations/ttlock/?q=%1B", headers=HTMX)
        assert response.status_code == 400
        page = response.content.decode()
        assert "<html" not in page and "“q”" in unescape(page)

    @pytest.mark.parametrize("query", ["q=caf%C3%A9", "q=Zo%C3%AB+%E5%B1%B1%E7%94%B0", "q=a%C2%A0b", "q=%F0%9F%99%82", "q="])
    def test_printable_text_of_any_script_passes(self, world, query):
        assert logged_in(world["host"]).get(f"/integrations/ttlock/?{query}").status_code == 200
        assert logged_in(world["staff"]).get(f"/admin/bookings/booking/?{query}").status_code == 200

    def test_a_session_cookie_with_nul_is_ignored_not_a_500(self, world):
        """Was a 500 on PostgreSQL: the session was looked up by the NUL-bearing key. A quoted cookie
        can carry an octal escape, so a browser-borne NUL is possible."""
        client = Client()
        client.cookies["sessionid"] = "abcdefghijklmnop\x00qrstuvwxyz012345"
        response = client.get("/bookings/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


class TestPathParameters:
    @pytest.mark.parametrize("payload", ["%00", "%0D%0A", "%1B", "%C2%85"])
    def test_a_control_character_in_any_text_parameter_of_a_path_is_no_500(self, world, payload):
        """Ids never match their converter (404); text parameters (the API's references, admin
        object ids, provider slugs) are refused by the view: 400 on the field or 404."""
        bad_value = f"x{payload}y"
        text_parameter = lambda name, converter: bad_value if converter != "int" else None  # noqa: E731
        clients, checked = Clients(world), 0
        for url, _route in concrete_urls(world, override=text_parameter):
            if bad_value not in url:
                continue
            client, headers = clients.for_url(url)
            response = client.get(url, headers=headers)
            if response.status_code == 405:
                response = client.post(url, "{}", content_type="application/json", headers=headers)
            assert response.status_code in (302, 400, 403, 404), (url, response.status_code)
            checked += 1
        assert checked >= 20

# --- every form on every page --------------------------------------------------------------------


class Forms(HTMLParser):
    """The forms of a page, with the values a browser would send for each field."""

    TEXT_TYPES = {"text", "email", "tel", "search", "url", "password"}
    # Admin widgets that are text boxes but hold dates, times or ids, not text.
    NOT_TEXT_CLASSES = {"vDateField", "vTimeField", "vForeignKeyRawIdAdminField", "vManyToManyRawIdAdminField"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = self._select = self._textarea = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {"method": (attrs.get("method") or "get").lower(), "action": attrs.get("action"), "fields": [], "button": None}
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            classes = set((attrs.get("class") or "").split())
            is_text = kind in self.TEXT_TYPES and not classes & self.NOT_TEXT_CLASSES
            self._form["fields"].append({"name": name, "value": attrs.get("value") or "", "kind": kind, "text": is_text})
        elif tag == "textarea" and name:
            self._textarea = {"name": name, "value": "", "kind": "textarea", "text": True}
            self._form["fields"].append(self._textarea)
        elif tag == "select" and name:
            self._select = {"name": name, "options": [], "selected": [], "multiple": "multiple" in attrs}
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            self._select["options"].append(value)
            if "selected" in attrs:
                self._select["selected"].append(value)
        elif tag == "button" and name and self._form["button"] is None and (attrs.get("type") or "submit") == "submit":
            self._form["button"] = (name, attrs.get("value") or "")

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None:
            self._textarea["value"] = self._textarea["value"].removeprefix("\n")
            self._textarea = None
        elif tag == "select" and self._select is not None and self._form is not None:
            chosen = self._select["selected"] or ([] if self._select["multiple"] else self._select["options"][:1])
            for value in chosen:
                self._form["fields"].append({"name": self._select["name"], "value": value, "kind": "select", "text": False})
            self._select = None


def sample_values(world) -> dict[str, str]:
    """What a person would type into an empty field of that name (so the rest of a form is valid)."""
    today = timezone.localdate()
    return {
        "guest_name": "Grace Guest", "guest_email": "grace@example.com", "guest_phone": "+33 6 12 34 56 78",
        "arrival_date": str(today + timedelta(days=20)), "departure_date": str(today + timedelta(days=22)),
        "name": "Welcome note", "subject": "Welcome to {{property_name}}", "body": "Hello {{guest_name}}",
        "time_zone": "Europe/Paris", "username": "owner@example.com", "password": "secret-password-1",
        "token": "nuki-api-token-1234", "client_id": "client-1234", "client_secret": "client-secret-1234",
    }


def pages(world) -> list[tuple[str, Client, str]]:
    """Every page that answers a GET: host pages as both hosts, admin pages as the staff user."""
    clients, found, urls = Clients(world), [], {}
    for provider in PROVIDERS:
        def only_the_provider(name, _converter, provider=provider):
            return provider if name == "provider" else None

        for url, route in concrete_urls(world, override=only_the_provider):
            urls[url] = route
    for url in urls:
        if url.startswith(("/api/", "/admin/auth/", "/admin/password_change/")) or "logout" in url or url.endswith("nothing-here/"):
            continue  # the admin's user pages are Django's own (see the report); the API has no pages
        users = [world["staff"]] if url.startswith("/admin/") else [world["host"], world["newcomer"]]
        for user in users:
            client = clients.as_user(user)
            response = client.get(url)
            if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
                found.append((url, client, response.content.decode()))
                # A provider panel's rows are summaries: their form is on the page its Edit link opens.
                edit = re.search(r'href="(\?[^"#]*edit=\d+)', found[-1][2])
                if edit:
                    opened = client.get(url + unescape(edit[1]))
                    assert opened.status_code == 200, url + unescape(edit[1])
                    found.append((url + unescape(edit[1]), client, opened.content.decode()))
    return found


KEPT_KINDS = {"text", "email", "tel", "search", "url", "textarea", "date", "time", "number"}


def form_cases(world):
    """One case per field of each distinct form (a form repeated on a page, e.g. one row per
    property, or on several pages, counts once): the data a browser would send, with what a person
    would type into the empty fields."""
    samples, seen = sample_values(world), set()
    for url, client, html in pages(world):
        for form in Forms(html).forms:
            action = form["action"] or url
            if action.startswith("/accounts/login/"):
                continue  # credentials are compared, never stored; Django refuses NUL there
            signature = (re.sub(r"\d+", "#", action), form["method"], tuple(sorted(f["name"] for f in form["fields"])))
            if signature in seen:
                continue
            seen.add(signature)
            data: dict[str, list[str]] = {}
            for field in form["fields"]:
                value = field["value"] or (samples.get(field["name"], "") if field["kind"] != "hidden" else "")
                data.setdefault(field["name"], []).append(value)
            if form["button"]:
                data.setdefault(form["button"][0], []).append(form["button"][1])
            for field in form["fields"]:
                if field["kind"] in ("hidden", "select", "checkbox", "radio"):
                    continue
                yield {"page": url, "client": client, "action": action, "method": form["method"], "data": data,
                       "field": field, "kept": [f for f in form["fields"] if f["kind"] in KEPT_KINDS and f is not field]}


def with_payload(value: str, payload: str) -> str:
    """The payload inside the value, where it cannot be trimmed off as surrounding blank."""
    value = value if len(value) >= 2 else (value * 2 or "xx")
    middle = len(value) // 2
    return value[:middle] + payload + value[middle:]


def stored_control_characters() -> list[tuple[str, str, str]]:
    """Every stored text value of our apps that breaks the rules (one line for CharField, several
    for TextField)."""
    bad = []
    for app in OUR_APPS:
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.concrete_fields:
                if not isinstance(field, (models.CharField, models.TextField)):
                    continue
                multiline = isinstance(field, models.TextField)
                for value in model.objects.values_list(field.attname, flat=True):
                    if isinstance(value, str) and forbidden_character(value, multiline=multiline):
                        bad.append((model.__name__, field.name, value))
    return bad


def field_error_block(html: str, field: str) -> str:
    """The errors Django shows under a field (its error list carries the field's id)."""
    match = re.search(rf'<ul class="errorlist"[^>]*id="id_{re.escape(field)}_error"[^>]*>(.*?)</ul>', html, re.S)
    return match[1] if match else ""


class TestEveryForm:
    def test_every_field_of_every_form_refuses_control_characters_on_the_field(self, world, monkeypatch):
        """Each form field gets each payload. A text field answers with our message on that field
        and keeps the rest of the input; any other field (dates, numbers) refuses the value; a
        GET form is refused as a query string; nothing is stored, nothing is a 500."""
        monkeypatch.setattr(panels, "ROWS_PER_PAGE", 1)  # so the provider panels show their search form
        assert stored_control_characters() == []
        cases = list(form_cases(world))
        reached = {(case["action"].split("/")[1], re.sub(r"^p\d+-", "", case["field"]["name"])) for case in cases}
        for expected in [("bookings", "guest_name"), ("messages", "body"), ("locks", "username"), ("locks", "token"),
                         ("locks", "client_secret"), ("settings", "name"), ("properties", "time_zone"),
                         ("admin", "guest_email"), ("admin", "subject"), ("admin", "q"), ("integrations", "q"),
                         ("bookings", "arrival_from"), ("integrations", "lead_days"), ("locks", "client_id")]:
            assert expected in reached, f"the crawl did not reach {expected}"
        failures = []
        for case in cases:
            payloads = MULTILINE_PAYLOADS if case["field"]["kind"] == "textarea" else SINGLE_LINE_PAYLOADS
            for label, payload in payloads.items():
                problem = self._check(case, payload)
                if problem:
                    failures.append(f"{case['method'].upper()} {case['action']} {case['field']['name']} [{label}]: {problem}")
        assert failures == []
        assert stored_control_characters() == []

    @staticmethod
    def _check(case, payload) -> str:
        field, client = case["field"], case["client"]
        sent = dict(case["data"])
        sent[field["name"]] = [with_payload(sent[field["name"]][0], payload)]
        if case["method"] == "get":
            response = client.get(case["action"].split("?")[0] + "?" + urlencode(sent, doseq=True))
            if response.status_code == 400 and f"“{field['name']}”" in unescape(response.content.decode()):
                return ""
            return f"GET answered {response.status_code}"
        response = client.post(case["action"], sent)
        if response.status_code in (301, 302, 303):
            return f"accepted (redirect to {response['Location']})"
        html = response.content.decode()
        if not field["text"]:
            return "" if 400 <= response.status_code < 500 or "errorlist" in html else f"accepted ({response.status_code})"
        if not FIELD_MESSAGE.search(unescape(field_error_block(html, field["name"]))):
            return f"no control-character error on the field ({response.status_code})"
        for other in case["kept"]:
            value = sent[other["name"]][0]
            if value and escape(value) not in html:
                return f"lost the input of {other['name']!r}"
        return ""

    def test_a_message_body_keeps_its_line_breaks_and_tabs(self, world):
        client = logged_in(world["host"])
        template = world["template"]
        page = client.get(f"/messages/{template.pk}/").content.decode()
        form = next(form for form in Forms(page).forms if form["method"] == "post" and any(f["name"] == "body" for f in form["fields"]))
        data: dict[str, list[str]] = {}
        for field in form["fields"]:
            data.setdefault(field["name"], []).append(field["value"])
        data["body"] = ["Hello {{guest_name}},\r\n\r\n\tThe key box is left of the door.\r\nSee you!"]
        data["action"] = ["save"]
        response = client.post(f"/messages/{template.pk}/", data)
        assert response.status_code == 302
        template.refresh_from_db()
        assert template.body == "Hello {{guest_name}},\r\n\r\n\tThe key box is left of the door.\r\nSee you!"


class TestAdminForms:
    def test_every_editable_text_field_of_our_admin_refuses_control_characters(self, world, rf):
        """Each ModelAdmin's own form (add and change), field by field: what staff type obeys the
        same rules as the host pages and the API."""
        request = rf.get("/admin/")
        request.user = world["staff"]
        checked = []
        for model, model_admin in admin.site._registry.items():
            if model._meta.app_label not in OUR_APPS:
                continue
            for obj in (None, model.objects.order_by("pk").first()):
                if obj is None and not model_admin.has_add_permission(request):
                    continue
                if obj is not None and not model_admin.has_change_permission(request, obj):
                    continue
                form_class = model_admin.get_form(request, obj)
                for name, field in form_class.base_fields.items():
                    if not isinstance(field, forms.CharField) or isinstance(field, (forms.JSONField, forms.UUIDField)):
                        continue
                    form = form_class(instance=obj)
                    data = {key: form[key].value() for key in form.fields}
                    data = {key: value for key, value in data.items() if value is not None}
                    data[name] = with_payload(str(data.get(name) or "text"), "\x1b")
                    bound = form_class(data=data, instance=obj)
                    bound.is_valid()
                    messages = " ".join(bound.errors.get(name, []))
                    assert FIELD_MESSAGE.search(messages), (model.__name__, name, bound.errors)
                    checked.append((model.__name__, name))
        assert ("Booking", "guest_name") in checked and ("MessageTemplate", "subject") in checked
        assert ("Property", "name") in checked


# --- the host booking form and the API refuse the same ---------------------------------------------


NAMES = [
    "Eve\r\nBcc: evil@example.com", "Eve\x1b[31m\x07", "Eve\x00", "Eve\x85", "Eve\u2028Smith", "Eve\tSmith",
    "Eve\x7f", "Eve\x9b", "Eve\n", "\tEve", "Eve \x1f", "Zoë 山田", "Eve 🙂", " Eve ", "Eve\u00a0Smith",
    "Ève\u200dSmith", "\u05e9\u05dc\u05d5\u05dd",
]


def form_accepts(client, prop, name: str, field: str = "guest_name") -> tuple[bool, str]:
    today = timezone.localdate()
    data = {
        "property": prop.pk, "guest_name": "Grace", "guest_email": "", "guest_phone": "",
        "arrival_date": str(today + timedelta(days=30)), "departure_date": str(today + timedelta(days=32)),
        "status": BookingStatus.PENDING, "step": "review",
    }
    response = client.post("/bookings/new/", {**data, field: name})
    if response.status_code == 200:
        return True, ""
    assert response.status_code == 400, response.status_code
    return False, unescape(field_error_block(response.content.decode(), field))


def api_accepts(client, token: str, prop, name: str, ref: str, field: str = "guest_name") -> tuple[bool, str]:
    today = timezone.localdate()
    body = {"property": prop.pk, "guest_name": "Grace", "arrival_date": str(today + timedelta(days=30)),
            "departure_date": str(today + timedelta(days=32)), "status": "pending", field: name}
    response = client.put(f"/api/v1/bookings/{ref}/", json.dumps(body), content_type="application/json",
                          headers={"Authorization": f"Bearer {token}"})
    if response.status_code in (200, 201):
        return True, ""
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert [error["field"] for error in errors] == [field], errors
    return False, errors[0]["message"]


class TestBookingFormMatchesTheApi:
    @pytest.mark.parametrize("name", NAMES, ids=[repr(name) for name in NAMES])
    def test_the_same_names_are_refused_with_the_same_message(self, world, name):
        form_ok, form_message = form_accepts(logged_in(world["host"]), world["property"], name)
        api_ok, api_message = api_accepts(Client(), world["plain_token"], world["property"], name, "SAME-1")
        assert form_ok == api_ok, (form_message, api_message)
        if not form_ok and FIELD_MESSAGE.search(api_message):
            assert api_message in form_message

    @pytest.mark.parametrize("field, value", [
        ("guest_email", "grace\x1b@example.com"), ("guest_email", "grace@example.com\r\nBcc: evil@example.com"),
        ("guest_email", '"gr\x07ace"@example.com'), ("guest_email", "grace@example.com\n"), ("guest_email", "grace@example.com"),
        ("guest_phone", "+33 6\x0012"), ("guest_phone", "+33 6\u2028 12"), ("guest_phone", "+33 6 12 34 56 78\t"),
        ("guest_phone", "+33 6 12 34 56 78"),
    ])
    def test_email_and_phone_too(self, world, field, value):
        form_ok, form_message = form_accepts(logged_in(world["host"]), world["property"], value, field)
        api_ok, api_message = api_accepts(Client(), world["plain_token"], world["property"], value, "SAME-3", field)
        assert form_ok == api_ok, (form_message, api_message)
        if not form_ok:
            assert api_message in form_message

    @pytest.mark.parametrize("name", ["Eve\n", "\tEve", "Eve\r\n", "\x0bEve"])
    def test_a_control_character_at_either_end_is_refused_not_trimmed_away(self, world, name):
        form_ok, form_message = form_accepts(logged_in(world["host"]), world["property"], name)
        api_ok, api_message = api_accepts(Client(), world["plain_token"], world["property"], name, "SAME-4")
        assert (form_ok, api_ok) == (False, False)
        assert api_message in form_message

    def test_the_booking_form_no_longer_stores_a_header_injection(self, world):
        """It stored "Eve\\r\\nBcc: …" and ESC/BEL before."""
        client = logged_in(world["host"])
        today = timezone.localdate()
        for name in ("Eve\r\nBcc: evil@example.com", "Eve\x1b\x07"):
            response = client.post("/bookings/new/", {
                "property": world["property"].pk, "guest_name": name, "guest_email": "eve@example.com", "guest_phone": "+44 20 7946 0000",
                "arrival_date": str(today + timedelta(days=30)), "departure_date": str(today + timedelta(days=32)),
                "status": BookingStatus.PENDING, "step": "save",
            })
            assert response.status_code == 400
            page = response.content.decode()
            assert FIELD_MESSAGE.search(unescape(field_error_block(page, "guest_name")))
            assert 'value="eve@example.com"' in page and 'value="+44 20 7946 0000"' in page  # the rest is kept
        assert not Booking.objects.filter(guest_name__startswith="Eve").exists()

    @hypothesis_settings(max_examples=40, deadline=None, derandomize=True,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(name=st.text(alphabet=st.sampled_from("Ev é山 \t\n\r\x00\x07\x1b\x1f\x7f\x85\x9f\u2028\u00a0"), min_size=1, max_size=6))
    def test_any_name_gets_the_same_answer_from_both(self, world, name):
        form_ok, _ = form_accepts(logged_in(world["host"]), world["property"], name)
        api_ok, _ = api_accepts(Client(), world["plain_token"], world["property"], name, "SAME-2")
        assert form_ok == api_ok


# --- the API's JSON bodies --------------------------------------------------------------------------


class TestApiBodies:
    def put(self, world, ref: str, **fields):
        today = timezone.localdate()
        body = {"property": world["property"].pk, "guest_name": "Grace", "arrival_date": str(today + timedelta(days=30)),
                "departure_date": str(today + timedelta(days=32)), "status": "pending", **fields}
        return Client().put(f"/api/v1/bookings/{ref}/", json.dumps(body), content_type="application/json",
                            headers={"Authorization": f"Bearer {world['plain_token']}"})

    @pytest.mark.parametrize("field", ["guest_name", "guest_email", "guest_phone"])
    @pytest.mark.parametrize("payload", ["\u0000", "\r\n", "\u001b", "\u0085", "\u2028", "\u009b"])
    def test_a_control_character_in_a_text_field_is_a_400_on_it(self, world, field, payload):
        value = {"guest_name": "Gr{}ace", "guest_email": "grace{}@example.com", "guest_phone": "+33 6{} 12"}[field].format(payload)
        response = self.put(world, "BODY-1", **{field: value})
        assert response.status_code == 400, response.content
        assert field in [error["field"] for error in response.json()["errors"]]
        assert not ExternalBookingRef.objects.filter(ref="BODY-1").exists()

    def test_a_patch_is_refused_the_same(self, world):
        response = Client().patch(f"/api/v1/bookings/{KNOWN_REF}/", json.dumps({"guest_name": "Eve\u0085Bcc"}),
                                  content_type="application/json", headers={"Authorization": f"Bearer {world['plain_token']}"})
        assert response.status_code == 400
        assert [error["field"] for error in response.json()["errors"]] == ["guest_name"]
        world["booking"].refresh_from_db()
        assert world["booking"].guest_name == "Grace Guest"

    @pytest.mark.parametrize("ref", ["R%C2%85X", "R%E2%80%A8X", "R%C2%9BX"])
    def test_a_reference_with_a_c1_control_or_line_separator_is_a_400(self, world, ref):
        response = self.put(world, ref)
        assert response.status_code == 400
        assert [error["field"] for error in response.json()["errors"]] == ["external_ref"]


# --- the rule itself ----------------------------------------------------------------------------------


class TestTheSharedRule:
    @pytest.mark.parametrize("character", [chr(code) for code in [*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, 0xD800]])
    def test_one_line_refuses_every_control_character(self, character):
        with pytest.raises(ValidationError) as refused:
            validate_single_line_text(f"ab{character}cd")
        assert "(character 3)" in refused.value.messages[0]
        assert f"ab{character}" not in refused.value.messages[0]  # the text itself is never echoed

    @pytest.mark.parametrize("text", ["Zoë 山田", "Ève\u200dSmith", "a\u00a0b", "🙂", "שלום", "x" * 1000, ""])
    def test_one_line_takes_printable_text_of_any_script(self, text):
        validate_single_line_text(text)

    def test_several_lines_take_line_breaks_and_tabs_only(self):
        validate_multiline_text("Hello,\r\n\tworld\nbye\u2028")
        for bad in ("a\x00", "a\x1b", "a\x85", "a\rb", "a\x0b", "a\x0c"):
            with pytest.raises(ValidationError):
                validate_multiline_text(bad)

    @pytest.mark.parametrize("model, field, multiline", [
        (Property, "name", False), (Booking, "guest_name", False), (Booking, "guest_email", False),
        (Booking, "guest_phone", False), (ExternalBookingRef, "ref", False), (MessageTemplate, "name", False),
        (MessageTemplate, "subject", False), (MessageTemplate, "body", True), (MessageDelivery, "recipient", False),
    ])
    def test_models_carry_the_rule(self, model, field, multiline):
        """So the model forms, the admin and the services' full_clean (the API's path) refuse alike."""
        model_field = model._meta.get_field(field)
        rule = validate_multiline_text if multiline else validate_single_line_text
        assert rule in model_field.validators
        assert rule in model_field.formfield().validators  # every form made from the model checks it too

    def test_the_api_token_name_is_one_line(self, world):
        response = logged_in(world["host"]).post("/settings/api-tokens/new/", {"name": "PMS\x1b[2J"})
        assert response.status_code == 400
        assert FIELD_MESSAGE.search(unescape(field_error_block(response.content.decode(), "name")))
        assert not world["host"].api_tokens.filter(name__startswith="PMS\x1b").exists()


# --- what was stored before ---------------------------------------------------------------------------


def email_headers(message) -> dict:
    parsed = message_from_bytes(message.message().as_bytes())
    return {name.lower(): value for name, value in parsed.items()}


class TestStoredBeforeTheRules:
    """Rows written before the rules (the booking form stored CR/LF): sending cannot inject a
    header. Django refuses newlines in headers; these tests check that it holds on our paths."""

    def send_confirmation(self, booking) -> None:
        now = timezone.now()
        messaging.booking_confirmed(booking=booking, now=now)
        token, ids = messaging.claim_due(now=now, booking_id=booking.pk)
        messaging.process_deliveries(delivery_ids=ids, claim_token=token)

    def test_a_guest_name_and_subject_with_crlf_make_one_subject_line(self, world):
        booking = world["booking"]
        Booking.objects.filter(pk=booking.pk).update(guest_name="Eve\r\nBcc: evil@example.com")
        MessageTemplate.objects.filter(pk=world["template"].pk).update(subject="Hi {{guest_name}}\r\nCc: evil2@example.com")
        self.send_confirmation(Booking.objects.get(pk=booking.pk))
        (sent,) = mail.outbox
        headers = email_headers(sent)
        assert "bcc" not in headers and "cc" not in headers
        assert sent.recipients() == ["grace@example.com"]
        assert "\n" not in sent.subject and "\r" not in sent.subject

    def test_a_guest_email_with_crlf_is_never_sent_to_the_injected_address(self, world):
        booking = world["booking"]
        Booking.objects.filter(pk=booking.pk).update(guest_email="grace@example.com\r\nBcc: evil@example.com")
        self.send_confirmation(Booking.objects.get(pk=booking.pk))
        assert all("evil@example.com" not in recipient for sent in mail.outbox for recipient in sent.recipients())
        assert all("bcc" not in email_headers(sent) for sent in mail.outbox)
        delivery = MessageDelivery.objects.get(booking=booking)
        assert delivery.status == DeliveryStatus.FAILED  # refused (BadHeaderError), and the host is told

    def test_a_host_email_about_an_old_guest_name_cannot_inject(self, world):
        booking = world["booking"]
        Booking.objects.filter(pk=booking.pk).update(guest_name="Eve\r\nBcc: evil@example.com")
        now = timezone.now()
        code = AccessCode.objects.create(
            booking=Booking.objects.get(pk=booking.pk), lock=LockAssignment.objects.get(property=world["property"]).lock,
            starts_at=now, ends_at=now + timedelta(days=1), generate_at=now, retry_deadline=now, alert_at=now, last_error="offline",
        )
        assert lock_notifications.code_failed(code)  # sent (it raised BadHeaderError before), on one line
        (sent,) = mail.outbox
        assert sent.subject == "Door code could not be created for Eve Bcc: evil@example.com"
        assert "bcc" not in email_headers(sent)
        assert sent.recipients() == [world["host"].email]

    @pytest.mark.parametrize("app, migration", [("bookings", "0004_text_without_control_characters"),
                                                ("messaging", "0002_text_without_control_characters")])
    def test_the_migration_cleans_what_was_stored(self, world, app, migration):
        Booking.objects.filter(pk=world["booking"].pk).update(guest_name="Eve\r\nBcc: evil@example.com\x1b")
        Property.objects.filter(pk=world["property"].pk).update(name="Flat\t\x07One")
        MessageTemplate.objects.filter(pk=world["template"].pk).update(
            name="Wel\x7fcome", subject="Hi\r\nCc: x", body="Hello\x1b[31m,\r\nbye\x85\tnow"
        )
        module = importlib.import_module(f"{app}.migrations.{migration}")
        module.clean_stored_text(apps, None)
        if app == "bookings":
            assert Booking.objects.get(pk=world["booking"].pk).guest_name == "Eve Bcc: evil@example.com"
            assert Property.objects.get(pk=world["property"].pk).name == "Flat One"
        else:
            template = MessageTemplate.objects.get(pk=world["template"].pk)
            assert (template.name, template.subject) == ("Welcome", "Hi Cc: x")
            assert template.body == "Hello[31m,\r\nbye\tnow"
