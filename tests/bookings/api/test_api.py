"""The PMS API (/api/v1/): token auth and scoping, properties, bookings (idempotent upsert, partial
update, cancel), the code and its PIN, structured 400s, rate limit, pagination, and the OpenAPI
document (a committed snapshot, and every response of these tests validated against it)."""

import json
import os
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_datetime
from freezegun import freeze_time
from ninja.responses import NinjaJSONEncoder

from bookings.api.api import api as ninja_api
from bookings.api.limits import parse_rate
from bookings.api.services import api_token_create, api_token_revoke
from bookings.models import Booking, BookingStatus, ExternalBookingRef
from locks.models import AccessCode, CodeState, LadderStep, LadderStepKind
from tests.helpers.lifecycle import tick
from tests.helpers.openapi import SNAPSHOT, conform

# The snapshot names this server (`servers` comes from settings.SITE_URL, whatever .env says).
SNAPSHOT_SITE_URL = "http://127.0.0.1:8000"
REFRESH = (
    "The OpenAPI document changed. If the change is intended, refresh the snapshot with\n"
    f"  SITE_URL={SNAPSHOT_SITE_URL} .venv/bin/python manage.py export_openapi_schema --api bookings.api.api.api "
    "--indent 2 --sorted --output tests/fixtures/openapi-v1.json\n"
    "(or run this test with UPDATE_OPENAPI_SNAPSHOT=1) and commit it."
)

pytestmark = pytest.mark.django_db


def generated_document() -> dict:
    return json.loads(json.dumps(ninja_api.get_openapi_schema(), cls=NinjaJSONEncoder))


@pytest.fixture
def snapshot_site(settings):
    settings.SITE_URL = SNAPSHOT_SITE_URL


@pytest.fixture(scope="module")
def document() -> schemathesis.BaseSchema:
    """The committed OpenAPI document, which every response below must match."""
    return schemathesis.openapi.from_dict(json.loads(SNAPSHOT.read_text()))


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()  # the throttle's counters live in the cache; ids are reused between tests
    yield
    cache.clear()


class Api:
    """The Django test client speaking to /api/v1/ with a bearer token; every answer is checked
    against the committed OpenAPI document."""

    def __init__(self, client, document, token: str | None):
        self.client, self.document, self.token = client, document, token

    def request(
        self, method: str, path: str, body=None, *, token: str | None = "default", raw: str | None = None, headers=None, **params
    ):
        token = self.token if token == "default" else token
        headers = {**({"authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        url = "/api/v1" + path
        if params:
            url += "?" + "&".join(f"{name}={value}" for name, value in params.items())
        kwargs = {"headers": headers}
        if body is not None or raw is not None:
            kwargs.update(data=raw if raw is not None else json.dumps(body), content_type="application/json")
        response = getattr(self.client, method.lower())(url, **kwargs)
        conform(self.document, method, url, response)
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.request("PATCH", path, body, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body, **kwargs)


@pytest.fixture
def token(host) -> str:
    return api_token_create(host=host, name="PMS")[1]


@pytest.fixture
def pin_token(host) -> str:
    return api_token_create(host=host, name="PMS with PINs", read_pins=True)[1]


@pytest.fixture
def api(client, document, token) -> Api:
    return Api(client, document, token)


@pytest.fixture
def prop(make_property):
    return make_property(name="Seaside Flat")


def booking_body(prop, **overrides) -> dict:
    body = {
        "property": prop.pk,
        "guest_name": "Grace Guest",
        "guest_email": "grace@example.com",
        "guest_phone": "+33 6 12 34 56 78",
        "arrival_date": "2026-06-20",
        "departure_date": "2026-06-22",
        "status": "confirmed",
    }
    body.update(overrides)
    return body


def errors_of(response) -> dict[str | None, str]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["detail"] == "Invalid request."
    return {error["field"]: error["message"] for error in body["errors"]}


# --- the document ------------------------------------------------------------------------------


class TestDocument:
    def test_generated_document_matches_the_committed_snapshot(self, snapshot_site):
        generated = generated_document()
        if os.environ.get("UPDATE_OPENAPI_SNAPSHOT"):
            SNAPSHOT.write_text(json.dumps(generated, indent=2, sort_keys=True, ensure_ascii=False))  # as the command writes it
        assert json.loads(SNAPSHOT.read_text()) == generated, REFRESH

    def test_schema_is_served_as_openapi_3(self, client, snapshot_site):
        response = client.get("/api/v1/schema/")
        assert response.status_code == 200
        served = response.json()
        assert served["openapi"].startswith("3.")
        assert served == generated_document()
        assert set(served["paths"]) == {
            "/api/v1/properties/",
            "/api/v1/properties/{property_id}/",
            "/api/v1/bookings/",
            "/api/v1/bookings/{external_ref}/",
            "/api/v1/bookings/{external_ref}/cancel/",
            "/api/v1/bookings/{external_ref}/rotate-code/",
            "/api/v1/events/",
            "/api/v1/bookings/{external_ref}/retry-now/",
            "/api/v1/bookings/{external_ref}/end-access/",
            "/api/v1/bookings/{external_ref}/restore-access/",
            "/api/v1/locks/",
            "/api/v1/locks/{lock_id}/",
            "/api/v1/assignments/",
        }
        assert served["components"]["securitySchemes"] == {"TokenAuth": {"type": "http", "scheme": "bearer"}}

    def test_pagination_is_documented(self, document):
        parameters = {p["name"] for p in document.raw_schema["paths"]["/api/v1/bookings/"]["get"]["parameters"]}
        assert {"page", "page_size", "property", "status", "arrival_from", "arrival_to", "external_ref"} <= parameters
        paged = document.raw_schema["components"]["schemas"]["PagedBookingOut"]
        assert set(paged["required"]) == {"items", "count"}

    def test_docs_page_loads_swagger_from_local_static_files(self, client):
        response = client.get("/api/v1/docs/")
        assert response.status_code == 200
        html = response.content.decode()
        scripts = re.findall(r'<script src="([^"]+)"', html)
        assert scripts == ["/static/ninja/swagger-ui-bundle.js", "/static/ninja/swagger-ui-init.js"]
        assert '/static/ninja/swagger-ui.css' in html
        assert "cdn" not in html.lower() and "https://" not in html
        for name in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js", "ninja/swagger-ui.css"):
            assert finders.find(name), f"{name} is not served by the staticfiles finders"


# --- authentication ------------------------------------------------------------------------------


class TestAuthentication:
    @pytest.mark.parametrize("header", [None, "Bearer", "Bearer nwk_unknown", "Basic dXNlcjpwYXNz", "nwk_no_scheme"])
    def test_missing_or_unknown_token_is_401(self, client, document, header):
        headers = {"authorization": header} if header else {}
        response = client.get("/api/v1/properties/", headers=headers)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert "detail" in response.json()
        conform(document, "GET", "/api/v1/properties/", response)

    def test_revoked_token_is_401_at_once(self, api, host, token):
        assert api.get("/properties/").status_code == 200
        (stored,) = host.api_tokens.all()
        api_token_revoke(token=stored)
        assert api.get("/properties/").status_code == 401

    def test_token_of_a_deactivated_host_is_401(self, api, host):
        host.is_active = False
        host.save()
        assert api.get("/properties/").status_code == 401

    def test_use_is_recorded(self, api, host):
        assert host.api_tokens.get().last_used_at is None
        api.get("/properties/")
        assert host.api_tokens.get().last_used_at is not None

    def test_every_operation_needs_a_token(self, api, prop):
        api.put("/bookings/R1/", booking_body(prop))
        for method, path in [
            ("GET", "/properties/"), ("GET", f"/properties/{prop.pk}/"), ("GET", "/bookings/"), ("GET", "/bookings/R1/"),
            ("PUT", "/bookings/R1/"), ("PATCH", "/bookings/R1/"), ("POST", "/bookings/R1/cancel/"),
            ("POST", "/bookings/R1/rotate-code/"), ("POST", "/bookings/R1/retry-now/"), ("POST", "/bookings/R1/end-access/"),
            ("POST", "/bookings/R1/restore-access/"), ("GET", "/locks/"), ("GET", "/locks/1/"), ("GET", "/assignments/"),
        ]:
            response = api.request(method, path, {"guest_name": "X"} if method in ("PUT", "PATCH") else None, token=None)
            assert response.status_code == 401, (method, path)
        assert Booking.objects.get().guest_name == "Grace Guest"


# --- properties ----------------------------------------------------------------------------------


class TestProperties:
    def test_list_shows_only_the_hosts_properties(self, api, make_property, other_host, assigned_property):
        plain = make_property(name="B Plain", default_check_in_time=time(16, 0), default_check_out_time=time(10, 30))
        locked = assigned_property(vendor_lock_id="L1")  # "Flat L1", TTLock
        make_property(name="A Other's", host=other_host)
        ineligible = make_property(name="C Direct", pms_source="direct_ota")

        response = api.get("/properties/")

        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 3
        by_name = {item["name"]: item for item in body["items"]}
        assert list(by_name) == ["B Plain", "C Direct", "Flat L1"]
        assert by_name["B Plain"] == {
            "id": plain.pk,
            "name": "B Plain",
            "time_zone": "Europe/Paris",
            "default_check_in_time": "16:00",
            "default_check_out_time": "10:30",
            "eligible_for_smart_lock": True,
            "lock": None,
        }
        assert by_name["Flat L1"]["lock"] == {"provider": "ttlock", "brand": "TTLock", "name": "Door L1"}
        assert by_name["Flat L1"]["id"] == locked.pk
        assert (by_name["Flat L1"]["default_check_in_time"], by_name["Flat L1"]["default_check_out_time"]) == ("15:00", "11:00")
        assert by_name["C Direct"]["eligible_for_smart_lock"] is False
        assert by_name["C Direct"]["id"] == ineligible.pk

    def test_detail(self, api, prop):
        response = api.get(f"/properties/{prop.pk}/")
        assert response.status_code == 200
        assert response.json()["name"] == "Seaside Flat"

    def test_another_hosts_property_is_404_like_a_missing_one(self, api, make_property, other_host):
        theirs = make_property(host=other_host)
        for property_id in (theirs.pk, theirs.pk + 1000):
            response = api.get(f"/properties/{property_id}/")
            assert response.status_code == 404
            assert response.json() == {"detail": "Not found."}

    def test_bad_id_is_400(self, api):
        assert set(errors_of(api.get("/properties/0/"))) == {"property_id"}

    def test_pagination(self, api, make_property):
        for number in range(5):
            make_property(name=f"Flat {number}")
        first = api.get("/properties/", page_size=2).json()
        third = api.get("/properties/", page=3, page_size=2).json()
        beyond = api.get("/properties/", page=9, page_size=2).json()
        assert first["count"] == third["count"] == beyond["count"] == 5
        assert [item["name"] for item in first["items"]] == ["Flat 0", "Flat 1"]
        assert [item["name"] for item in third["items"]] == ["Flat 4"]
        assert beyond["items"] == []
        assert len(api.get("/properties/").json()["items"]) == 5  # default page size 20

    @pytest.mark.parametrize("params, field", [({"page": 0}, "page"), ({"page_size": 101}, "page_size"), ({"page": "x"}, "page")])
    def test_bad_pagination_is_400(self, api, params, field):
        assert set(errors_of(api.get("/properties/", **params))) == {field}


# --- bookings: upsert --------------------------------------------------------------------------------


class TestUpsert:
    def test_put_creates_then_updates(self, api, prop):
        created = api.put("/bookings/HM-1001/", booking_body(prop, check_in_time="14:00"))
        assert created.status_code == 201, created.content
        body = created.json()
        booking = Booking.objects.get()
        assert body["id"] == booking.pk
        assert body["external_ref"] == "HM-1001"
        assert body["property"] == prop.pk
        assert (body["arrival_date"], body["departure_date"], body["status"]) == ("2026-06-20", "2026-06-22", "confirmed")
        assert (body["check_in_time"], body["check_out_time"]) == ("14:00", None)
        assert booking.check_in_time == time(14, 0)

        updated = api.put("/bookings/HM-1001/", booking_body(prop, guest_name="Grace Hopper"))
        assert updated.status_code == 200
        assert updated.json()["guest_name"] == "Grace Hopper"
        assert updated.json()["check_in_time"] is None  # PUT replaces: left out → cleared
        assert Booking.objects.count() == 1
        assert Booking.objects.get().check_in_time is None

    def test_same_put_twice_makes_one_booking_and_one_code(self, api, assigned_property):
        prop = assigned_property()
        with freeze_time("2026-06-10 08:00:00"):
            first = api.put("/bookings/R-7/", booking_body(prop, arrival_date="2026-06-11", departure_date="2026-06-13"))
            second = api.put("/bookings/R-7/", booking_body(prop, arrival_date="2026-06-11", departure_date="2026-06-13"))
        assert (first.status_code, second.status_code) == (201, 200)
        assert Booking.objects.count() == ExternalBookingRef.objects.count() == AccessCode.objects.count() == 1
        assert first.json()["id"] == second.json()["id"]
        assert second.json()["code"]["state"] == "scheduled"

    def test_refs_are_per_host(self, api, prop, make_property, other_host):
        theirs = make_property(host=other_host)
        other = Api(api.client, api.document, api_token_create(host=other_host, name="Theirs")[1])
        assert other.put("/bookings/SHARED/", booking_body(theirs, guest_name="Theirs")).status_code == 201
        assert api.get("/bookings/SHARED/").status_code == 404
        assert api.put("/bookings/SHARED/", booking_body(prop)).status_code == 201
        assert Booking.objects.count() == 2
        assert other.get("/bookings/SHARED/").json()["guest_name"] == "Theirs"

    def test_property_of_another_host_or_unknown_is_400_on_property(self, api, make_property, other_host):
        theirs = make_property(host=other_host)
        for property_id in (theirs.pk, theirs.pk + 1000):
            assert errors_of(api.put("/bookings/R1/", booking_body(theirs, property=property_id))) == {"property": "No such property."}
        assert not Booking.objects.exists()

    def test_departure_before_arrival_is_400(self, api, prop):
        errors = errors_of(api.put("/bookings/R1/", booking_body(prop, arrival_date="2026-06-22", departure_date="2026-06-20")))
        assert errors == {"departure_date": "The departure must be after the arrival."}

    def test_bad_phone_and_email_are_400_naming_each_field(self, api, prop):
        errors = errors_of(api.put("/bookings/R1/", booking_body(prop, guest_phone="call me", guest_email="not-an-email")))
        assert set(errors) == {"guest_phone", "guest_email"}
        assert "digits" in errors["guest_phone"]

    def test_missing_fields_on_create_are_400(self, api, prop):
        errors = errors_of(api.put("/bookings/R1/", {"property": prop.pk}))
        assert errors == {name: "This field is required." for name in ("guest_name", "arrival_date", "departure_date", "status")}

    @pytest.mark.parametrize(
        "field, value",
        [
            ("property", "12"),
            ("property", True),
            ("property", 0),
            ("guest_name", 42),
            ("guest_name", ""),
            ("guest_name", "Grace\x00"),
            ("guest_name", "x" * 201),
            ("arrival_date", 20260620),
            ("arrival_date", "20/06/2026"),
            ("arrival_date", "2026-02-30"),
            ("arrival_date", "1999-12-31"),
            ("arrival_date", "2026-06-20T00:00:00"),
            ("status", "maybe"),
            ("check_in_time", "15:00+02:00"),
            ("check_in_time", "25:00"),
            ("check_in_time", 15),
            ("unexpected", "x"),
        ],
    )
    def test_wrong_types_and_values_are_400_on_the_field(self, api, prop, field, value):
        assert set(errors_of(api.put("/bookings/R1/", booking_body(prop, **{field: value})))) == {field}
        assert not Booking.objects.exists()

    def test_blank_name_is_refused_by_the_model(self, api, prop):
        assert set(errors_of(api.put("/bookings/R1/", booking_body(prop, guest_name="   ")))) == {"guest_name"}

    @pytest.mark.parametrize("raw", ["{not json", "[]", '"a string"'])
    def test_a_body_that_is_not_an_object_is_400(self, api, prop, raw):
        response = api.put("/bookings/R1/", raw=raw)
        assert response.status_code == 400
        assert response.json()["errors"]

    def test_a_missing_body_is_400(self, api):
        assert errors_of(api.put("/bookings/R1/")) == {None: "A JSON object is required as the request body."}

    def test_no_csrf_token_is_needed_with_a_bearer_token(self, document, token, prop):
        from django.test import Client

        strict = Api(Client(enforce_csrf_checks=True), document, token)
        assert strict.put("/bookings/R1/", booking_body(prop)).status_code == 201
        assert strict.post("/bookings/R1/cancel/").status_code == 200

    @pytest.mark.parametrize("ref", ["-starts-with-dash", "a" * 101, "trailing%20"])
    def test_bad_reference_is_400(self, api, prop, ref):
        assert set(errors_of(api.put(f"/bookings/{ref}/", booking_body(prop)))) == {"external_ref"}

    def test_booking_change_reaches_the_lock(self, api, assigned_property, fake_cloud):
        prop = assigned_property()  # Paris, lead 5, margin 30
        with freeze_time("2026-06-10 08:00:00"):
            api.put("/bookings/R-9/", booking_body(prop, arrival_date="2026-06-11", departure_date="2026-06-13"))
            tick()
            (issued,) = fake_cloud.codes_on("L1")
            assert issued.starts_at == datetime.fromisoformat("2026-06-11T12:30:00+00:00")

            moved = api.put("/bookings/R-9/", booking_body(prop, arrival_date="2026-06-12", departure_date="2026-06-15"))
            assert moved.status_code == 200
            assert moved.json()["code"]["state"] == "updating"
            tick()
            (issued,) = fake_cloud.codes_on("L1")
            # 15:00 CEST - 30 min on 12 June; 11:00 CEST + 30 min on 15 June.
            assert (issued.starts_at, issued.ends_at) == (
                datetime.fromisoformat("2026-06-12T12:30:00+00:00"),
                datetime.fromisoformat("2026-06-15T09:30:00+00:00"),
            )
            code = api.get("/bookings/R-9/").json()["code"]
            assert code["state"] == "active"
            assert (code["valid_from"], code["valid_until"]) == ("2026-06-12T12:30:00Z", "2026-06-15T09:30:00Z")
            assert (code["valid_from_local"], code["valid_until_local"]) == ("2026-06-12T14:30:00+02:00", "2026-06-15T11:30:00+02:00")
            assert code["time_zone"] == "Europe/Paris"

            cancelled = api.post("/bookings/R-9/cancel/")
            assert cancelled.status_code == 200
            assert cancelled.json()["status"] == "cancelled"
            tick()
        assert fake_cloud.codes_on("L1") == []
        assert AccessCode.objects.get().state == CodeState.REVOKED
        assert api.get("/bookings/R-9/").json()["code"]["state"] == "revoked"

    @pytest.mark.parametrize("revoked_first", [True, False], ids=["revoked-then-confirmed", "confirmed-before-the-revoke-ran"])
    def test_a_cancelled_booking_confirmed_again_gets_a_new_code(self, api, assigned_property, fake_cloud, revoked_first):
        """Documented on PUT and PATCH: the revoked code never comes back; a new one is made."""
        prop = assigned_property()
        stay = {"arrival_date": "2026-06-11", "departure_date": "2026-06-13"}
        with freeze_time("2026-06-10 08:00:00"):
            api.put("/bookings/R-9/", booking_body(prop, **stay))
            tick()
            (first,) = fake_cloud.codes_on("L1")
            api.post("/bookings/R-9/cancel/")
            if revoked_first:
                tick()
                assert fake_cloud.codes_on("L1") == []

            again = api.patch("/bookings/R-9/", {"status": "confirmed"})
            assert again.status_code == 200
            assert again.json()["status"] == "confirmed" and again.json()["code"]["state"] in ("scheduled", "creating")
            tick()

            old, new = AccessCode.objects.order_by("id")
            assert (old.state, old.is_current) == (CodeState.REVOKED, False)
            assert (new.state, new.is_current) == (CodeState.ACTIVE, True)
            (issued,) = fake_cloud.codes_on("L1")
            assert issued.vendor_code_id == new.vendor_code_id != first.vendor_code_id
            assert issued.starts_at == first.starts_at and issued.ends_at == first.ends_at
            assert api.get("/bookings/R-9/").json()["code"]["state"] == "active"


# --- bookings: read, patch, cancel ------------------------------------------------------------------


class TestBookings:
    def test_get_by_reference(self, api, prop):
        api.put("/bookings/R1/", booking_body(prop))
        response = api.get("/bookings/R1/")
        assert response.status_code == 200
        body = response.json()
        assert body["external_ref"] == "R1" and body["guest_email"] == "grace@example.com"
        assert body["code"] == {
            "state": "no_code",
            "description": "no code: no lock is assigned to this property",
            "valid_from": None,
            "valid_until": None,
            "valid_from_local": None,
            "valid_until_local": None,
            "time_zone": "Europe/Paris",
            "usage_note": "",
            "pin": None,
            "confirmed_on_lock_at": None,
            "first_used_at": None,
            "last_used_at": None,
            "fallback": None,
            "clock_warning": "",
            "errors": [],
            "warnings": [],
        }
        assert body["clock_change"] is None

    def test_the_ladders_steps_are_listed_in_plain_words(self, api, prop):
        api.put("/bookings/R1/", booking_body(prop))
        assert api.get("/bookings/R1/").json()["ladder"] == []
        booking = Booking.objects.get(external_ref__ref="R1")
        LadderStep.objects.create(booking=booking, kind=LadderStepKind.HOST_WARNED, detail="The host was emailed.")
        (step,) = api.get("/bookings/R1/").json()["ladder"]
        assert (step["kind"], step["detail"]) == ("host_warned", "The host was emailed.") and step["at"]

    def test_unknown_reference_is_404(self, api):
        for method in ("GET", "PATCH", "POST"):
            path = "/bookings/NOPE/cancel/" if method == "POST" else "/bookings/NOPE/"
            response = api.request(method, path, {} if method == "PATCH" else None)
            assert response.status_code == 404, method

    def test_another_hosts_booking_is_404_and_untouched(self, api, make_property, other_host, book):
        theirs = book(make_property(host=other_host), date(2026, 6, 20), date(2026, 6, 22))
        ExternalBookingRef.objects.create(host=other_host, ref="THEIRS", booking=theirs)
        assert api.get("/bookings/THEIRS/").status_code == 404
        assert api.patch("/bookings/THEIRS/", {"guest_name": "Mallory"}).status_code == 404
        assert api.post("/bookings/THEIRS/cancel/").status_code == 404
        assert api.get("/bookings/").json()["count"] == 0
        theirs.refresh_from_db()
        assert (theirs.guest_name, theirs.status) == ("Grace Guest", BookingStatus.CONFIRMED)

    def test_list_filters(self, api, prop, make_property, book):
        second = make_property(name="Mountain Hut")
        api.put("/bookings/A/", booking_body(prop, arrival_date="2026-06-01", departure_date="2026-06-03"))
        api.put("/bookings/B/", booking_body(prop, arrival_date="2026-06-10", departure_date="2026-06-12", status="pending"))
        api.put("/bookings/C/", booking_body(second, arrival_date="2026-06-20", departure_date="2026-06-22"))
        book(prop, date(2026, 6, 5), date(2026, 6, 6))  # made on the dashboard: no reference

        def refs(**params):
            response = api.get("/bookings/", **params)
            assert response.status_code == 200, (params, response.content)
            return [item["external_ref"] for item in response.json()["items"]]

        assert refs() == ["A", None, "B", "C"]
        assert refs(property=second.pk) == ["C"]
        assert refs(status="pending") == ["B"]
        assert refs(arrival_from="2026-06-05", arrival_to="2026-06-10") == [None, "B"]
        assert refs(external_ref="C") == ["C"]
        assert refs(external_ref="ZZZ") == []
        assert refs(page=2, page_size=3) == ["C"]
        assert set(errors_of(api.get("/bookings/", status="maybe", arrival_from="June"))) == {"status", "arrival_from"}

    def test_patch_changes_only_the_fields_sent(self, api, prop):
        api.put("/bookings/R1/", booking_body(prop, check_in_time="13:00"))
        response = api.patch("/bookings/R1/", {"guest_name": "Ada", "check_out_time": "12:30"})
        assert response.status_code == 200
        body = response.json()
        assert (body["guest_name"], body["check_in_time"], body["check_out_time"]) == ("Ada", "13:00", "12:30")
        assert body["guest_email"] == "grace@example.com"
        cleared = api.patch("/bookings/R1/", {"check_in_time": None}).json()
        assert cleared["check_in_time"] is None and cleared["check_out_time"] == "12:30"
        assert api.patch("/bookings/R1/", {}).status_code == 200

    def test_patch_validates_like_put(self, api, prop, make_property, other_host):
        api.put("/bookings/R1/", booking_body(prop))
        assert errors_of(api.patch("/bookings/R1/", {"departure_date": "2026-06-19"})) == {
            "departure_date": "The departure must be after the arrival."
        }
        assert set(errors_of(api.patch("/bookings/R1/", {"guest_name": None, "status": None}))) == {"guest_name", "status"}
        theirs = make_property(host=other_host)
        assert errors_of(api.patch("/bookings/R1/", {"property": theirs.pk})) == {"property": "No such property."}
        assert set(errors_of(api.patch("/bookings/R1/", {"guest_phone": "abc"}))) == {"guest_phone"}
        assert Booking.objects.get().departure_date == date(2026, 6, 22)

    def test_cancel_twice_is_harmless(self, api, prop):
        api.put("/bookings/R1/", booking_body(prop))
        assert api.post("/bookings/R1/cancel/").json()["status"] == "cancelled"
        again = api.post("/bookings/R1/cancel/")
        assert again.status_code == 200 and again.json()["status"] == "cancelled"


# --- the PIN --------------------------------------------------------------------------------------


class TestPins:
    @pytest.fixture
    def active_booking(self, api, assigned_property):
        prop = assigned_property()
        with freeze_time("2026-06-10 08:00:00"):
            api.put("/bookings/R1/", booking_body(prop, arrival_date="2026-06-11", departure_date="2026-06-13"))
            tick()
        code = AccessCode.objects.get()
        assert code.state == CodeState.ACTIVE and code.pin
        return code

    def test_token_without_read_pins_never_sees_the_pin(self, api, active_booking):
        with freeze_time("2026-06-10 09:00:00"):
            responses = [api.get("/bookings/R1/"), api.get("/bookings/"), api.patch("/bookings/R1/", {"guest_name": "Ada"})]
        for response in responses:
            assert active_booking.pin not in response.content.decode()
        code = responses[0].json()["code"]
        assert code["state"] == "active" and code["pin"] is None
        assert code["description"].startswith("active: PIN hidden, 14:30 11 Jun → 11:30 13 Jun")

    def test_token_without_read_pins_never_sees_the_door_link_either(self, api, active_booking):
        link = "https://open.example/k/secret-link-7f3a"
        AccessCode.objects.filter(pk=active_booking.pk).update(access_link=link)
        with freeze_time("2026-06-10 09:00:00"):
            responses = [api.get("/bookings/R1/"), api.get("/bookings/")]
        for response in responses:
            assert link not in response.content.decode()
        assert ", link: hidden" in responses[0].json()["code"]["description"]

    def test_token_with_read_pins_sees_it(self, client, document, pin_token, active_booking):
        with_pins = Api(client, document, pin_token)
        with freeze_time("2026-06-10 09:00:00"):
            code = with_pins.get("/bookings/R1/").json()["code"]
            listed = with_pins.get("/bookings/").json()["items"][0]["code"]
        assert code["pin"] == listed["pin"] == active_booking.pin
        assert code["description"].startswith(f"active: {active_booking.pin}, ")


# --- read back from the lock (issue 19) -------------------------------------------------------------


class TestReadBack:
    def test_confirmation_and_uses_in_utc_for_every_token(self, api, assigned_property):
        prop = assigned_property()
        with freeze_time("2026-06-10 08:00:00"):
            api.put("/bookings/R1/", booking_body(prop, arrival_date="2026-06-11", departure_date="2026-06-13"))
            tick()
            code = api.get("/bookings/R1/").json()["code"]
        assert code["state"] == "active"
        assert (code["confirmed_on_lock_at"], code["first_used_at"], code["last_used_at"]) == (None, None, None)
        paris = ZoneInfo("Europe/Paris")
        AccessCode.objects.update(
            confirmed_on_lock_at=datetime(2026, 6, 10, 8, 1, tzinfo=UTC),
            first_used_at=datetime(2026, 6, 11, 15, 42, tzinfo=paris),
            last_used_at=datetime(2026, 6, 12, 9, 5, tzinfo=paris),
        )
        with freeze_time("2026-06-12 10:00:00"):
            code = api.get("/bookings/R1/").json()["code"]
            listed = api.get("/bookings/").json()["items"][0]["code"]
        assert code["pin"] is None  # a token without read_pins: the uses are not secrets
        assert parse_datetime(code["confirmed_on_lock_at"]) == datetime(2026, 6, 10, 8, 1, tzinfo=UTC)
        assert parse_datetime(code["first_used_at"]).utcoffset() == timedelta(0)
        assert parse_datetime(code["first_used_at"]) == datetime(2026, 6, 11, 13, 42, tzinfo=UTC)
        assert parse_datetime(code["last_used_at"]) == datetime(2026, 6, 12, 7, 5, tzinfo=UTC)
        assert listed["first_used_at"] == code["first_used_at"]


# --- rate limit --------------------------------------------------------------------------------------


class TestRateLimit:
    def test_over_the_limit_is_429_with_retry_after(self, api, settings, client, document, host, other_host):
        settings.API_RATE_LIMIT = "3/minute"
        with freeze_time("2026-06-10 08:00:15"):
            assert [api.get("/properties/").status_code for _ in range(3)] == [200, 200, 200]
            limited = api.get("/properties/")
            assert limited.status_code == 429
            assert limited["Retry-After"] == "45"
            assert "detail" in limited.json()
            # Per host: another token of the same host is limited too (tests/bookings/api/test_limits.py);
            # another host's token is not.
            same_host = Api(client, document, api_token_create(host=host, name="Other")[1])
            assert same_host.get("/properties/").status_code == 429
            other = Api(client, document, api_token_create(host=other_host, name="Theirs")[1])
            assert other.get("/properties/").status_code == 200
        with freeze_time("2026-06-10 08:01:00"):
            assert api.get("/properties/").status_code == 200

    def test_writes_count_too(self, api, settings, prop):
        settings.API_RATE_LIMIT = "1/hour"
        assert api.put("/bookings/R1/", booking_body(prop)).status_code == 201
        assert api.put("/bookings/R2/", booking_body(prop)).status_code == 429
        assert Booking.objects.count() == 1

    @pytest.mark.parametrize(
        "rate, parsed",
        [("120/minute", (120, 60)), ("10/s", (10, 1)), ("1000/hours", (1000, 3600)), ("5/day", (5, 86400)), ("50/5m", (50, 300))],
    )
    def test_rate_setting_format(self, rate, parsed):
        assert parse_rate(rate) == parsed

    @pytest.mark.parametrize("rate", ["120", "0/minute", "120/fortnight", "many/minute"])
    def test_bad_rate_setting_is_a_configuration_error(self, rate):
        with pytest.raises(ImproperlyConfigured):
            parse_rate(rate)


# --- found elsewhere ---------------------------------------------------------------------------------


@pytest.mark.parametrize("arrival, departure", [(date(1, 1, 1), date(1, 1, 3)), (date(9999, 12, 29), date(9999, 12, 31))])
def test_services_refuse_dates_the_lifecycle_cannot_handle(host, assigned_property, arrival, departure):
    from django.core.exceptions import ValidationError

    from bookings import services

    prop = assigned_property()
    data = {"property": prop.pk, "guest_name": "G", "arrival_date": arrival, "departure_date": departure, "status": "confirmed"}
    with pytest.raises(ValidationError):
        services.booking_create(host=host, data=data)


def test_a_repeated_identical_push_changes_nothing(host, assigned_property):
    from bookings import services
    from bookings.models import Booking

    prop = assigned_property()
    data = {
        "property": prop.pk, "guest_name": "Gus", "arrival_date": date(2026, 7, 1), "departure_date": date(2026, 7, 3),
        "status": "confirmed",
    }
    booking, created = services.booking_upsert_external(host=host, ref="PMS-77", data=data)
    stamp = Booking.objects.get(pk=booking.pk).updated_at
    again, created_again = services.booking_upsert_external(host=host, ref="PMS-77", data=data)
    assert created and not created_again and again.pk == booking.pk
    assert Booking.objects.get(pk=booking.pk).updated_at == stamp
