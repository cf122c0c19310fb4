"""Read-only views of the host's locks and lock assignments (/api/v1/locks/, /api/v1/assignments/).

As the models hold them, from the last refresh: never a vendor call, never a credential or token.
Another host's lock answers 404, like a missing one.
"""

from datetime import datetime
from typing import Literal

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Path, Router, Schema
from ninja.pagination import paginate

from locks.models import CodeSource, Lock, LockAssignment
from locks.providers import registry

MAX_ID = 2**63 - 1


class LockAssignmentRef(Schema):
    property: int = Field(..., description="Id of the property the lock opens.")
    property_name: str


class LockDetailOut(Schema):
    id: int
    name: str
    provider: str = Field(..., description=f"The lock's brand: one of {', '.join(registry.PROVIDER_CLASSES)}.", examples=["ttlock"])
    brand: str = Field(..., examples=["TTLock"])
    account_status: Literal["connected", "needs_reconnect", "disconnecting"] = Field(
        ..., description="The vendor account the lock is reached through."
    )
    supports_remote_codes: bool = Field(..., description="Whether Nowistay can put codes on it.")
    unavailable_reason: str = Field(..., description="Why it cannot take remote codes; empty when it can.")
    online: bool | None = Field(..., description="As the vendor reported it at the last refresh; null when it never said.")
    offline_since: datetime | None = Field(..., description="Since when the vendor reports it offline, UTC.")
    battery_percent: int | None = Field(..., description="As the vendor last reported it; null when unknown.")
    code_capacity: int | None = Field(..., description="How many codes it can hold, when reported.")
    codes_held: int | None = Field(..., description="How many codes it held at the last read-back.")
    time_zone: str = Field(..., description="The lock's own clock zone when it reports one; empty otherwise.")
    last_refreshed_at: datetime | None
    health_checked_at: datetime | None
    assignment: LockAssignmentRef | None = Field(..., description="The property it is assigned to, if any.")

    @staticmethod
    def resolve_provider(obj) -> str:
        return obj.account.provider

    @staticmethod
    def resolve_brand(obj) -> str:
        return obj.account.provider_name

    @staticmethod
    def resolve_account_status(obj) -> str:
        if obj.account.disconnecting:
            return "disconnecting"
        return "needs_reconnect" if obj.account.needs_reconnect else "connected"

    @staticmethod
    def resolve_online(obj) -> bool | None:
        return obj.is_online

    @staticmethod
    def resolve_time_zone(obj) -> str:
        return obj.vendor_time_zone

    @staticmethod
    def resolve_assignment(obj) -> dict | None:
        assignment = getattr(obj, "assignment", None)  # a missing reverse one-to-one is an AttributeError
        if assignment is None:
            return None
        return {"property": assignment.property_id, "property_name": assignment.property.name}


class AssignmentOut(Schema):
    property: int
    property_name: str
    lock: int = Field(..., description="Id of the lock (GET /locks/{lock_id}/).")
    lock_name: str
    lead_days: int = Field(..., description="Codes are made this many days before arrival.")
    margin_minutes: int = Field(..., description="Minutes added before check-in and after check-out.")
    code_source: Literal[tuple(CodeSource.values)] = Field(..., description="How PINs are chosen.")
    notify_first_entry: bool
    notify_unused_code: bool
    warn_host_hours_before: int = Field(
        ..., description="Email the host if the code is not on the lock this many hours before check-in; 0: never."
    )
    send_fallback: bool = Field(..., description="Send the guest an offline or backup code if theirs is late.")
    fallback_hours_before: int
    remind_host_at_check_in: bool
    backup_codes: int = Field(..., description="Backup codes kept on the lock (locks without offline codes).")

    @staticmethod
    def resolve_property(obj) -> int:
        return obj.property_id

    @staticmethod
    def resolve_property_name(obj) -> str:
        return obj.property.name

    @staticmethod
    def resolve_lock(obj) -> int:
        return obj.lock_id

    @staticmethod
    def resolve_lock_name(obj) -> str:
        return obj.lock.name


def locks_of(host) -> QuerySet[Lock]:
    return Lock.objects.filter(account__host=host).select_related("account", "assignment__property").order_by("name", "id")


def assignments_of(host) -> QuerySet[LockAssignment]:
    return LockAssignment.objects.filter(property__host=host).select_related("property", "lock").order_by("property__name", "property_id")


def lock_routers(*, pagination, read_errors: dict, one_errors: dict) -> tuple[Router, Router]:
    """The /locks and /assignments routers, with the API's pagination and error schemas."""
    locks = Router(tags=["locks"])
    assignments = Router(tags=["locks"])

    @locks.get("/", response={200: list[LockDetailOut], **read_errors}, summary="List your locks", operation_id="list_locks")
    @paginate(pagination)
    def list_locks(request: HttpRequest):
        return locks_of(request.auth.host)

    @locks.get("/{lock_id}/", response={200: LockDetailOut, **one_errors}, summary="One of your locks", operation_id="get_lock")
    def get_lock(request: HttpRequest, lock_id: int = Path(..., ge=1, le=MAX_ID)):
        lock = locks_of(request.auth.host).filter(pk=lock_id).first()
        if lock is None:
            raise Http404
        return lock

    @assignments.get(
        "/", response={200: list[AssignmentOut], **read_errors}, summary="Which lock opens each property", operation_id="list_assignments"
    )
    @paginate(pagination)
    def list_assignments(request: HttpRequest):
        return assignments_of(request.auth.host)

    return locks, assignments
