"""The OpenAPI document as a contract a PMS can use: valid OpenAPI 3.1 (openapi-spec-validator), a
Python client generated from it (openapi-python-client, offline) that works against the API, short
operation ids, the response headers declared, the booking dates' bounds, and the server named from
SITE_URL. The snapshot itself is compared in tests/bookings/api/test_api.py."""

import importlib
import json
import re
import subprocess
import sys
from datetime import date, timedelta

import httpx
import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from freezegun import freeze_time
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from bookings.api.api import api as ninja_api
from bookings.api.checks import site_url_problem
from bookings.api.schemas import BOUNDED_DATE_PATTERN
from bookings.api.services import api_token_create
from bookings.models import FIRST_BOOKING_DATE, LAST_BOOKING_DATE, Booking
from tests.helpers.openapi import SNAPSHOT, conform

pytestmark = pytest.mark.django_db

OPERATION_IDS = {
    ("get", "/api/v1/properties/"): "list_properties",
    ("get", "/api/v1/properties/{property_id}/"): "get_property",
    ("get", "/api/v1/bookings/"): "list_bookings",
    ("get", "/api/v1/bookings/{external_ref}/"): "get_booking",
    ("put", "/api/v1/bookings/{external_ref}/"): "put_booking",
    ("patch", "/api/v1/bookings/{external_ref}/"): "patch_booking",
    ("post", "/api/v1/bookings/{external_ref}/cancel/"): "cancel_booking",
    ("post", "/api/v1/bookings/{external_ref}/rotate-code/"): "rotate_code",
    ("get", "/api/v1/events/"): "list_events",
    ("post", "/api/v1/bookings/{external_ref}/retry-now/"): "retry_code_now",
    ("post", "/api/v1/bookings/{external_ref}/end-access/"): "end_access",
    ("post", "/api/v1/bookings/{external_ref}/restore-access/"): "restore_access",
    ("get", "/api/v1/locks/"): "list_locks",
    ("get", "/api/v1/locks/{lock_id}/"): "get_lock",
    ("get", "/api/v1/assignments/"): "list_assignments",
}
CLIENT_PACKAGE = "nowistay_pms_client"
# The generator runs with every socket connection refused: generating a client needs no network.
# (Its default post-hooks run `ruff` from PATH; the config turns them off, the code is not reformatted.)
OFFLINE_GENERATOR = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("no network while generating the client")
socket.socket.connect = socket.socket.connect_ex = refuse
socket.create_connection = socket.getaddrinfo = refuse
from openapi_python_client.cli import app
sys.exit(app())
"""


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads(SNAPSHOT.read_text())


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


# --- validity ------------------------------------------------------------------------------------


def test_the_committed_document_is_valid_openapi_3_1(committed):
    assert committed["openapi"] == "3.1.0"
    validate(committed, cls=OpenAPIV31SpecValidator)


def test_the_validator_refuses_what_ninja_wrote_before(committed):
    """ninja 1.7.1 copies a schema's `examples` list onto a query parameter, where OpenAPI wants a map."""
    broken = json.loads(json.dumps(committed))
    (arrival_from,) = [p for p in broken["paths"]["/api/v1/bookings/"]["get"]["parameters"] if p["name"] == "arrival_from"]
    assert arrival_from["examples"] == {"example": {"value": "2026-06-20"}}
    arrival_from["examples"] = ["2026-06-20"]
    with pytest.raises(OpenAPIValidationError):
        validate(broken, cls=OpenAPIV31SpecValidator)


# --- a generated client ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client_package(tmp_path_factory):
    """The Python client a PMS would generate from the committed document, importable."""
    work = tmp_path_factory.mktemp("client")
    config = work / "config.json"
    config.write_text(json.dumps({"post_hooks": []}))
    command = ["generate", "--path", str(SNAPSHOT), "--output-path", str(work / CLIENT_PACKAGE), "--meta", "none"]
    command += ["--config", str(config), "--fail-on-warning"]
    result = subprocess.run([sys.executable, "-c", OFFLINE_GENERATOR, *command], cwd=work, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(CLIENT_PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [name for name in sys.modules if name == CLIENT_PACKAGE or name.startswith(CLIENT_PACKAGE + ".")]:
            del sys.modules[name]


def test_the_generated_client_has_every_operation_under_its_short_name(client_package):
    for (_method, path), operation_id in OPERATION_IDS.items():
        tag = path.split("/")[3]  # /api/v1/<tag>/...
        tag = "locks" if tag == "assignments" else tag  # one tag for the lock views
        module = importlib.import_module(f"{CLIENT_PACKAGE}.api.{tag}.{operation_id}")
        for function in ("sync", "sync_detailed", "asyncio", "asyncio_detailed"):
            assert callable(getattr(module, function)), f"{operation_id}.{function}"
    models = importlib.import_module(f"{CLIENT_PACKAGE}.models")
    for name in ("BookingIn", "BookingPatch", "BookingOut", "PropertyOut", "ErrorOut", "ValidationErrorOut"):
        assert hasattr(models, name), name


@pytest.fixture
def test_connection_kept():
    """The WSGI handler closes "old" connections around each request: that would close the test's
    own connection (see tests/bookings/api/test_fuzz.py)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def test_the_generated_client_books_reads_and_cancels(client_package, test_connection_kept, host, make_property):
    """The generated client used as a PMS would, against the application (in-process WSGI, no network)."""
    cache.clear()
    prop = make_property(name="Seaside Flat")
    token = api_token_create(host=host, name="Generated client")[1]
    models = importlib.import_module(f"{CLIENT_PACKAGE}.models")
    put_booking = importlib.import_module(f"{CLIENT_PACKAGE}.api.bookings.put_booking")
    patch_booking = importlib.import_module(f"{CLIENT_PACKAGE}.api.bookings.patch_booking")
    cancel_booking = importlib.import_module(f"{CLIENT_PACKAGE}.api.bookings.cancel_booking")
    list_bookings = importlib.import_module(f"{CLIENT_PACKAGE}.api.bookings.list_bookings")
    get_booking = importlib.import_module(f"{CLIENT_PACKAGE}.api.bookings.get_booking")
    pms = client_package.AuthenticatedClient(
        base_url="http://testserver", token=token, httpx_args={"transport": httpx.WSGITransport(app=get_wsgi_application())}
    )
    arrival = date(2026, 6, 20)
    body = models.BookingIn(
        property_=prop.pk,
        guest_name="Grace Guest",
        arrival_date=arrival,
        departure_date=arrival + timedelta(days=2),
        status=models.BookingInStatus.CONFIRMED,
    )

    created = put_booking.sync_detailed(external_ref="PMS-1", client=pms, body=body)
    assert created.status_code == 201
    assert isinstance(created.parsed, models.BookingOut) and created.parsed.external_ref == "PMS-1"
    assert created.parsed.arrival_date == arrival

    cancelled = cancel_booking.sync(external_ref="PMS-1", client=pms)
    assert cancelled.status.value == "cancelled"
    confirmed = patch_booking.sync(external_ref="PMS-1", client=pms, body=models.BookingPatch(status=models.BookingPatchStatus.CONFIRMED))
    assert confirmed.status.value == "confirmed"
    page = list_bookings.sync(client=pms, arrival_from=arrival, arrival_to=arrival)
    assert [item.external_ref for item in page.items] == ["PMS-1"] and page.count == 1
    missing = get_booking.sync_detailed(external_ref="NOPE", client=pms)
    assert missing.status_code == 404 and isinstance(missing.parsed, models.ErrorOut)
    too_late = models.BookingIn.from_dict({**body.to_dict(), "arrival_date": "2100-01-01"})
    refused = put_booking.sync_detailed(external_ref="PMS-2", client=pms, body=too_late)
    assert refused.status_code == 400 and refused.parsed.errors[0].field == "arrival_date"
    assert Booking.objects.count() == 1


# --- what the document says ------------------------------------------------------------------------


def test_operation_ids_are_short_and_stable(committed):
    assert {(method, path): operation["operationId"] for method, path, operation in operations(committed)} == OPERATION_IDS


def test_401_and_429_declare_their_headers(committed):
    headers = committed["components"]["headers"]
    assert headers["Retry-After"]["schema"] == {"type": "integer", "minimum": 1} and headers["Retry-After"]["required"]
    assert headers["WWW-Authenticate"]["required"]
    replayed = {"Idempotent-Replayed": {"$ref": "#/components/headers/Idempotent-Replayed"}}
    for method, path, operation in operations(committed):
        responses = operation["responses"]
        assert responses["401"]["headers"] == {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}}, path
        assert responses["429"]["headers"] == {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}, path
        for status, response in responses.items():
            if status in ("401", "429"):
                continue
            # A write's success may be a replayed answer (Idempotency-Key); nothing else declares a header.
            expected = replayed if method in ("post", "put", "patch", "delete") and status.startswith("2") else None
            assert response.get("headers") == expected, (method, path, status)


def test_the_answers_send_the_declared_headers(client, host, settings):
    """Both ways to a 429 (a host over its rate, an address over its failed authentications) and the
    401 carry the headers, and a response without them does not conform to the document."""
    document = schemathesis.openapi.from_path(SNAPSHOT)
    settings.API_RATE_LIMIT, settings.API_AUTH_FAILURE_LIMIT = "1/minute", "1/minute"
    cache.clear()
    token = api_token_create(host=host, name="PMS")[1]
    url = "/api/v1/properties/"

    with freeze_time("2026-06-10 08:00:20"):  # one window for every request
        unauthorized = client.get(url, headers={"authorization": "Bearer nwk_unknown"}, REMOTE_ADDR="203.0.113.9")
        address_blocked = client.get(url, headers={"authorization": f"Bearer {token}"}, REMOTE_ADDR="203.0.113.9")
        assert client.get(url, headers={"authorization": f"Bearer {token}"}).status_code == 200
        host_limited = client.get(url, headers={"authorization": f"Bearer {token}"})
    cache.clear()

    assert unauthorized.status_code == 401 and unauthorized["WWW-Authenticate"] == 'Bearer realm="api"'
    for limited in (address_blocked, host_limited):
        assert limited.status_code == 429 and limited["Retry-After"] == "40"
    for response in (unauthorized, address_blocked, host_limited):
        conform(document, "GET", url, response)
        name = "WWW-Authenticate" if response.status_code == 401 else "Retry-After"
        del response[name]
        with pytest.raises(AssertionError, match=name):
            conform(document, "GET", url, response)


def test_booking_dates_carry_the_models_bounds(committed):
    schemas = committed["components"]["schemas"]
    date_fields = [
        (schemas[model]["properties"], name) for model in ("BookingIn", "BookingPatch") for name in ("arrival_date", "departure_date")
    ]
    date_fields += [(schemas["BookingFilters"]["properties"], name) for name in ("arrival_from", "arrival_to")]
    for properties, name in date_fields:
        field = properties[name]
        assert (field["format"], field["pattern"]) == ("date", BOUNDED_DATE_PATTERN), name
        assert f"from {FIRST_BOOKING_DATE} to {LAST_BOOKING_DATE}" in field["description"], name


def test_the_date_pattern_accepts_exactly_the_models_years():
    """Every real day from 1990 to 2110: the pattern matches it exactly when the model accepts it."""
    pattern = re.compile(BOUNDED_DATE_PATTERN)
    day, last = date(1990, 1, 1), date(2110, 12, 31)
    while day <= last:
        assert bool(pattern.fullmatch(day.isoformat())) == (FIRST_BOOKING_DATE <= day <= LAST_BOOKING_DATE), day
        day += timedelta(days=1)


def test_reconfirming_a_cancelled_booking_is_documented(committed):
    for method in ("put", "patch"):
        assert "**Cancelled → confirmed** is allowed" in committed["paths"]["/api/v1/bookings/{external_ref}/"][method]["description"]
    for model in ("BookingIn", "BookingPatch"):
        status = committed["components"]["schemas"][model]["properties"]["status"]
        assert "A cancelled booking may be confirmed again" in status["description"]


# --- the server ------------------------------------------------------------------------------------


def test_the_server_is_the_configured_site_url(client, settings):
    settings.SITE_URL = "https://pms-api.example.org"
    served = client.get("/api/v1/schema/").json()
    assert served["servers"] == [{"url": "https://pms-api.example.org", "description": "This Nowistay installation."}]
    assert ninja_api.get_openapi_schema()["servers"][0]["url"] == "https://pms-api.example.org"


def test_the_committed_document_names_the_development_server(committed):
    assert [server["url"] for server in committed["servers"]] == ["http://127.0.0.1:8000"]


@pytest.mark.parametrize(
    "value, problem",
    [
        ("http://127.0.0.1:8000", None),
        ("https://app.nowistay.example", None),
        ("https://app.nowistay.example/", None),
        ("app.nowistay.example", "must start with http:// or https://"),
        ("ftp://app.nowistay.example", "must start with http:// or https://"),
        ("https://", "must start with http:// or https://"),
        ("https://app.nowistay.example:99999", "must start with http:// or https://"),
        ("https://app.nowistay.example/api/v1", "only a scheme and a host"),
        ("https://app.nowistay.example?x=1", "only a scheme and a host"),
        ("https://user:secret@app.nowistay.example", "only a scheme and a host"),
    ],
)
def test_a_malformed_site_url_stops_manage_py_check(value, problem):
    found = site_url_problem(value)
    assert (found is None) if problem is None else (problem in found)


def test_the_site_url_check_is_registered(settings):
    from django.core.checks import run_checks

    settings.SITE_URL = "app.nowistay.example"
    assert [error.id for error in run_checks() if error.id.startswith("bookings.")] == ["bookings.E003"]
