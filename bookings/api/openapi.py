"""What the OpenAPI document says beyond what django-ninja 1.7.1 writes: the server it is served
from, the response headers, and parameter examples in the form OpenAPI requires.

Pure functions on the document (a dict), applied by `api.BookingApi.get_openapi_schema`; ninja has
no way to declare response headers or a server read from the settings at request time.
"""

import copy
from collections.abc import Callable
from typing import Any

# The headers the API's own error handlers always send (bookings.api.api: unauthorized, throttled).
RESPONSE_HEADERS = {
    "WWW-Authenticate": {
        "description": 'The scheme the API expects: `Bearer realm="api"`.',
        "required": True,
        "schema": {"type": "string", "pattern": "^Bearer( |$)"},
    },
    "Retry-After": {
        "description": "Whole seconds to wait before sending another request.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
}
HEADERS_BY_STATUS = {"401": ("WWW-Authenticate",), "429": ("Retry-After",)}
RESPONSE_HEADERS["Idempotent-Replayed"] = {
    "description": "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
    "required": False,
    "schema": {"type": "string", "enum": ["true"]},
}
WRITE_METHODS = ("post", "put", "patch", "delete")
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes the request safe to send again (see the API description): 1 to 255 printable ASCII characters.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
}
# The answers the key itself may cause (bookings.api.idempotency).
IDEMPOTENCY_ERRORS = {
    "409": "Refused in the present state, or a request with the same Idempotency-Key is still being answered.",
    "422": "The Idempotency-Key was used for another request.",
}


# Sections other apps add to the document (the events app: its webhooks), registered when the module
# holding their router is imported; this module never imports them.
_EXTENSIONS: list[Callable[[dict[str, Any]], None]] = []


def extend_document(extension: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    _EXTENSIONS.append(extension)
    return extension


def finish_document(document: dict[str, Any], *, site_url: str) -> dict[str, Any]:
    """Complete ninja's document in place (and return it)."""
    for extension in _EXTENSIONS:
        extension(document)
    document["servers"] = [{"url": site_url.rstrip("/"), "description": "This Nowistay installation."}]
    document.setdefault("components", {})["headers"] = copy.deepcopy(RESPONSE_HEADERS)
    for method, operation in _operations(document):
        if method in WRITE_METHODS:
            _declare_idempotency(operation)
        _declare_response_headers(operation)
        for parameter in operation.get("parameters", []):
            _examples_as_a_map(parameter)
    return document


def _operations(document: dict[str, Any]):
    for path_item in document.get("paths", {}).values():
        yield from path_item.items()


def _declare_idempotency(operation: dict[str, Any]) -> None:
    operation.setdefault("parameters", []).append(copy.deepcopy(IDEMPOTENCY_KEY))
    responses = operation.setdefault("responses", {})
    for status, description in IDEMPOTENCY_ERRORS.items():
        error = {"$ref": "#/components/schemas/ErrorOut"}
        responses.setdefault(status, {"description": description, "content": {"application/json": {"schema": error}}})
    for status, response in responses.items():
        if str(status).startswith("2"):
            response.setdefault("headers", {})["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}


def _declare_response_headers(operation: dict[str, Any]) -> None:
    for status, response in operation.get("responses", {}).items():
        for name in HEADERS_BY_STATUS.get(str(status), ()):
            response.setdefault("headers", {})[name] = {"$ref": f"#/components/headers/{name}"}


def _examples_as_a_map(parameter: dict[str, Any]) -> None:
    """ninja copies a schema's `examples` (a JSON Schema list) onto the parameter, where OpenAPI
    wants a map of Example Objects: a list there makes the document invalid (openapi-python-client
    and openapi-spec-validator refuse it). The schema keeps its list."""
    examples = parameter.get("examples")
    if isinstance(examples, list):
        parameter["examples"] = {
            ("example" if index == 0 else f"example_{index + 1}"): {"value": value} for index, value in enumerate(examples)
        }
