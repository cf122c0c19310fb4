"""The PMS booking API, /api/v1/ (django-ninja).

Thin views: they authenticate the token, read through `selectors`, and write only through
bookings.services (full_clean, then the code lifecycle). Everything is scoped to the token's host;
another host's object answers 404, exactly like a missing one.
"""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Path, Query, Router
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError as NinjaValidationError
from ninja.openapi.docs import Swagger
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from bookings import services
from bookings.api import selectors
from bookings.api.description import DESCRIPTION
from bookings.api.idempotency import claim_key, store_answer
from bookings.api.lock_api import lock_routers
from bookings.api.openapi import finish_document
from bookings.api.schemas import (
    MAX_ID,
    REF_MAX_LENGTH,
    REF_PATTERN,
    BookingFilters,
    BookingIn,
    BookingOut,
    BookingPatch,
    ErrorOut,
    PropertyOut,
    ValidationErrorOut,
)
from bookings.api.security import HostRateThrottle, TokenAuth
from bookings.models import Booking, BookingStatus
from locks.models import RotationSource
from locks.services import RotationRefused

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000


class PageQuery(PageNumberPagination.Input):
    page: int = Query(1, ge=1, le=MAX_PAGE, description="Page number, from 1.")
    page_size: int = Query(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Items per page.")


class Pagination(PageNumberPagination):
    """ninja's page-number pagination with bounded numbers (an unbounded page overflows OFFSET)."""

    Input = PageQuery

    def __init__(self, **kwargs):
        super().__init__(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE, **kwargs)


class BookingApi(NinjaAPI):
    """ninja's API, whose OpenAPI document also names the server (settings.SITE_URL, read when the
    document is made) and the response headers (bookings.api.openapi)."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict | None = None):
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return finish_document(document, site_url=settings.SITE_URL)


api = BookingApi(
    title="Nowistay PMS API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api_v1",
    openapi_url="/schema/",
    docs=Swagger(settings={"persistAuthorization": True}),
    docs_url="/docs/",
    auth=TokenAuth(),
    throttle=[HostRateThrottle()],
)

# --- errors --------------------------------------------------------------------------------------

AUTH_ERRORS = {401: ErrorOut, 429: ErrorOut}
READ_ERRORS = {400: ValidationErrorOut, **AUTH_ERRORS}
ONE_ERRORS = {**READ_ERRORS, 404: ErrorOut}


def _errors(request: HttpRequest, errors: list[dict]) -> HttpResponse:
    return api.create_response(request, {"detail": "Invalid request.", "errors": errors}, status=400)


def _field_of(location) -> str | None:
    # ninja locations look like ("body", "payload", "departure_date") or ("query", "page").
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        source, parts = parts[0], parts[1:]
        if source == "body" and parts and parts[0] == "payload":
            parts = parts[1:]
    return ".".join(parts) or None


@api.exception_handler(NinjaValidationError)
def request_invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    """Request-schema errors: 400 (not ninja's 422), one entry per field."""
    errors = []
    for error in exc.errors:
        message = error.get("msg", "Invalid value.")
        field = _field_of(error.get("loc", ()))
        if error.get("type") == "missing":
            message = "This field is required." if field else "A JSON object is required as the request body."
        elif error.get("type") == "extra_forbidden":
            message = "Unknown field."
        errors.append({"field": field, "message": message.removeprefix("Value error, ")})
    return _errors(request, errors)


@api.exception_handler(DjangoValidationError)
def model_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    """The services' full_clean errors: 400 with the same field names as the request."""
    if hasattr(exc, "error_dict"):
        errors = [
            {"field": None if field == "__all__" else field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        errors = [{"field": None, "message": message} for message in exc.messages]
    return _errors(request, errors)


@api.exception_handler(AuthenticationError)
def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(request, {"detail": "A valid API token is required (Authorization: Bearer <token>)."}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(Throttled)
def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    response = api.create_response(request, {"detail": "Too many requests: slow down and retry after the given seconds."}, status=429)
    response["Retry-After"] = str(getattr(request, "_api_retry_after", 60))
    return response


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # e.g. a body that is not JSON
        return _errors(request, [{"field": None, "message": str(exc)}])
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


# --- properties ----------------------------------------------------------------------------------

properties = Router(tags=["properties"])


@properties.get("/", response={200: list[PropertyOut], **READ_ERRORS}, summary="List your properties", operation_id="list_properties")
@paginate(Pagination)
def list_properties(request: HttpRequest):
    return selectors.properties_of(request.auth.host)


@properties.get(
    "/{property_id}/", response={200: PropertyOut, **ONE_ERRORS}, summary="One of your properties", operation_id="get_property"
)
def get_property(request: HttpRequest, property_id: int = Path(..., ge=1, le=MAX_ID)):
    return selectors.property_of(request.auth.host, property_id)


# --- bookings ------------------------------------------------------------------------------------

bookings = Router(tags=["bookings"])
# ninja 1.7: "operation" wraps the view function (after authentication), "view" the whole operation.
bookings.add_decorator(claim_key, mode="operation")  # Idempotency-Key (bookings.api.idempotency)
bookings.add_decorator(store_answer, mode="view")

# Allowed on purpose: a PMS undoes a cancellation this way. The lifecycle never revives a retired
# code: reconciling the confirmed booking plans a new one (locks.services.codes.booking_reconcile).
RECONFIRMING = (
    "**Cancelled → confirmed** is allowed (a cancellation undone in the PMS). The code retired at the cancellation "
    "never comes back: it was revoked (a lock that cannot revoke codes, such as igloohome's algoPINs, keeps it until "
    "its end). A new code is planned for the stay, with a PIN chosen afresh like any new code's, and made on the "
    "usual schedule. A booking whose access the host ended early (\"End access now\") gets no new code from a "
    "status change: only the host's \"Restore access\" undoes that."
)

ExternalRef = Path(..., min_length=1, max_length=REF_MAX_LENGTH, pattern=REF_PATTERN, description="Your PMS's reference of the booking.")


@bookings.get("/", response={200: list[BookingOut], **READ_ERRORS}, summary="List your bookings", operation_id="list_bookings")
@paginate(Pagination)
def list_bookings(
    request: HttpRequest,
    filters: Query[BookingFilters],
):
    return selectors.bookings_of(
        request.auth.host,
        property_id=filters.property,
        status=filters.status,
        arrival_from=filters.arrival_from,
        arrival_to=filters.arrival_to,
        external_ref=filters.external_ref,
    )


@bookings.get(
    "/{external_ref}/", response={200: BookingOut, **ONE_ERRORS}, summary="One booking, by your reference", operation_id="get_booking"
)
def get_booking(request: HttpRequest, external_ref: str = ExternalRef):
    return selectors.booking_by_ref(request.auth.host, external_ref)


@bookings.put(
    "/{external_ref}/",
    response={200: BookingOut, 201: BookingOut, **READ_ERRORS},
    summary="Create or replace a booking (idempotent)",
    description="201 when the reference is new (the booking is created), 200 when it existed (the booking is replaced "
    "by this one). Fields left out are cleared (optional ones) or refused (required ones).\n\n" + RECONFIRMING,
    operation_id="put_booking",
)
def put_booking(request: HttpRequest, payload: BookingIn, external_ref: str = ExternalRef):
    host = request.auth.host
    booking, created = services.booking_upsert_external(host=host, ref=external_ref, data=payload.model_dump())
    return Status(201 if created else 200, selectors.booking_of(host, booking.pk))


@bookings.patch(
    "/{external_ref}/",
    response={200: BookingOut, **ONE_ERRORS},
    summary="Change some fields of a booking",
    description="Fields left out keep their value; the door code follows the change.\n\n" + RECONFIRMING,
    operation_id="patch_booking",
)
def patch_booking(request: HttpRequest, payload: BookingPatch, external_ref: str = ExternalRef):
    host = request.auth.host
    booking = selectors.booking_by_ref(host, external_ref)
    data = payload.model_dump(exclude_unset=True)
    nulls = [name for name, value in data.items() if value is None and name not in ("check_in_time", "check_out_time")]
    if nulls:
        raise DjangoValidationError({name: "This field cannot be null." for name in nulls})
    if data:
        services.booking_update(booking=booking, data=data)
    return selectors.booking_of(host, booking.pk)


@bookings.post(
    "/{external_ref}/cancel/", response={200: BookingOut, **ONE_ERRORS}, summary="Cancel a booking", operation_id="cancel_booking"
)
def cancel_booking(request: HttpRequest, external_ref: str = ExternalRef):
    """The guest's code is revoked from the lock. Cancelling a cancelled booking changes nothing.
    To undo a cancellation, set the status back to `confirmed` (PUT or PATCH): a new code is made."""
    host = request.auth.host
    booking = selectors.booking_by_ref(host, external_ref)
    if booking.status != BookingStatus.CANCELLED:
        services.booking_set_status(booking=booking, status=BookingStatus.CANCELLED)
    return selectors.booking_of(host, booking.pk)


ROTATE_CODE = (
    "For a PIN that leaked, in one action: a new code with a new PIN is created on the lock, the old code is "
    "revoked (a lock that cannot revoke codes, such as igloohome's algoPINs, keeps it until its end: `old_code` says "
    "until when), and once the new code is on the lock the guest is sent it: with your door code change message, or "
    "Nowistay's default one when you have none (only a guest who was sent a door code by message is sent a change). "
    "The answer (202) is the booking: `code_rotation` tracks the three steps; read the booking again to follow them.\n\n"
    "**Safe to retry**: sent with an `Idempotency-Key`, a repeat gets the first answer again. Without one: while a "
    "rotation's lock steps are under way, and for two minutes after it was asked for, "
    "another rotation is refused with 409 and nothing changes, so a request sent again after a lost answer never "
    "rotates twice. Also 409, with the reason in `detail`: a booking that is not confirmed, whose access was ended, "
    "whose stay is over, or whose code is not on the lock yet."
)


@bookings.post(
    "/{external_ref}/rotate-code/",
    response={202: BookingOut, 409: ErrorOut, **ONE_ERRORS},
    summary="Rotate the guest's door code",
    description=ROTATE_CODE,
    operation_id="rotate_code",
)
def rotate_code(request: HttpRequest, external_ref: str = ExternalRef):
    host = request.auth.host
    booking = selectors.booking_by_ref(host, external_ref)
    try:
        services.booking_rotate_code(booking=booking, via=RotationSource.API)
    except RotationRefused as refusal:
        raise HttpError(409, str(refusal)) from None
    return Status(202, selectors.booking_of(host, booking.pk))


# --- actions on the guest's access --------------------------------------------------------------


def _act(request: HttpRequest, external_ref: str, action) -> Booking:
    """Run `action(booking)` on the host's booking; 409 with the reason when it is refused."""
    host = request.auth.host
    booking = selectors.booking_by_ref(host, external_ref)
    try:
        action(booking)
    except services.ActionRefused as refusal:
        raise HttpError(409, str(refusal)) from None
    return selectors.booking_of(host, booking.pk)


ACTION_RESPONSES = {200: BookingOut, 409: ErrorOut, **ONE_ERRORS}


@bookings.post(
    "/{external_ref}/retry-now/",
    response=ACTION_RESPONSES,
    summary="Retry the guest's code now",
    description="The dashboard's \"Retry now\": a code waiting for its next try, or one that failed, is tried at once "
    "(when the vendor asked to wait, as soon as the wait ends). 409 with the reason when there is nothing to retry, a "
    "worker holds the code right now, or it was retried a moment ago (a short cool-down). Answers the booking.",
    operation_id="retry_code_now",
)
def retry_now(request: HttpRequest, external_ref: str = ExternalRef):
    return _act(request, external_ref, lambda booking: services.booking_retry_code(booking=booking))


@bookings.post(
    "/{external_ref}/end-access/",
    response=ACTION_RESPONSES,
    summary="End the guest's access now",
    description="Early departure: the guest's code is revoked at once, even mid-stay, and no new one is made until access "
    "is restored (`access_ended_at` is set). 409 for a booking that is not confirmed or whose access already ended.",
    operation_id="end_access",
)
def end_access(request: HttpRequest, external_ref: str = ExternalRef):
    return _act(request, external_ref, lambda booking: services.booking_end_access_checked(booking=booking))


@bookings.post(
    "/{external_ref}/restore-access/",
    response=ACTION_RESPONSES,
    summary="Restore the guest's access",
    description="Undo an early end of access: a confirmed booking whose stay is not over gets a new code (the revoked one "
    "never comes back), on the usual schedule. 409 when its access was not ended.",
    operation_id="restore_access",
)
def restore_access(request: HttpRequest, external_ref: str = ExternalRef):
    return _act(request, external_ref, lambda booking: services.booking_restore_access_checked(booking=booking))


locks, assignments = lock_routers(pagination=Pagination, read_errors=READ_ERRORS, one_errors=ONE_ERRORS)
api.add_router("/properties", properties)
api.add_router("/bookings", bookings)
api.add_router("/locks", locks)
api.add_router("/assignments", assignments)
api.add_router("/events", "events.api.router")
