"""The committed OpenAPI document of the PMS API, and checking a test response against it."""

import requests
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import response_headers_conformance

from tests.helpers.repository import FIXTURES

SNAPSHOT = FIXTURES / "openapi-v1.json"


def conform(document, method: str, path: str, response) -> None:
    """Validate a Django test response against the documented operation: its body, and the headers
    documented for its status (present when required, e.g. Retry-After on 429, and well-formed)."""
    operation = document.find_operation_by_path(method.lower(), path.split("?")[0])
    assert operation is not None, f"{method} {path} is not in the OpenAPI document"
    wrapped = Response(
        status_code=response.status_code,
        headers={name.lower(): [value] for name, value in response.headers.items()},
        content=response.content,
        request=requests.Request(method.upper(), "http://testserver" + path).prepare(),
        elapsed=0.0,
        verify=True,
        encoding="utf-8",
    )
    operation.validate_response(wrapped)
    response_headers_conformance(None, wrapped, operation.Case())
