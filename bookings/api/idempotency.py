"""Idempotency-Key for the API's writes (POST, PUT, PATCH, DELETE), as Stripe and the IETF draft
(draft-ietf-httpapi-idempotency-key-header) describe it.

- The key is 1 to 255 printable ASCII characters (0x20-0x7E); anything else answers 400.
- The first request with a key claims it (a row in IdempotencyKey, unique per host and key) before
  the view runs, and stores the answer once it is made: every answer below 500.
- The same key with the same request (method, path and body) within IDEMPOTENCY_KEY_LIFETIME gets
  the stored answer again, with `Idempotent-Replayed: true`, and nothing is done a second time.
- The same key with another request answers 422; while the first request is still being answered,
  409. A 5xx (or a crash) frees the key, so the request may be sent again.
- A claim older than IN_FLIGHT_LEASE whose answer never came (a worker that died) is taken over.
- Keys are per host (two hosts may use the same one) and pruned after the lifetime (retention job).

Two ninja decorators: `claim_key` wraps the view function (it runs after authentication, so the
host is known), `store_answer` wraps the whole operation (it sees the final HTTP answer).
"""

import functools
import hashlib
import re
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja.errors import HttpError

from bookings.api.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_PATTERN = re.compile(r"[\x20-\x7e]{1,255}")
IDEMPOTENCY_KEY_LIFETIME = timedelta(hours=24)
IN_FLIGHT_LEASE = timedelta(minutes=5)

INVALID_KEY = "Idempotency-Key must be 1 to 255 printable ASCII characters."
OTHER_REQUEST = "This Idempotency-Key was used for another request (method, path or body): use a new key for a new request."
IN_FLIGHT = "A request with this Idempotency-Key is still being answered: retry in a moment."


def fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), request.body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _key_of(request: HttpRequest) -> str | None:
    if request.method not in WRITE_METHODS or HEADER not in request.headers:
        return None
    key = request.headers[HEADER]
    if not KEY_PATTERN.fullmatch(key):
        raise HttpError(400, INVALID_KEY)
    return key


def _claim(request: HttpRequest, key: str, now: datetime) -> IdempotencyKey | HttpResponse:
    """A fresh claim of `key` (the view runs), or the answer to give instead (a stored one)."""
    host, print_ = request.auth.host, fingerprint(request)
    for _ in range(2):  # once more after freeing an expired or abandoned claim
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    host=host, key=key, method=request.method, path=request.path, fingerprint=print_, created_at=now
                )
        except IntegrityError:
            held = IdempotencyKey.objects.filter(host=host, key=key).first()
        if held is None or _free_if_stale(held, now):
            continue
        return _answer_for(held, print_)
    raise HttpError(409, IN_FLIGHT)


def _free_if_stale(held: IdempotencyKey, now: datetime) -> bool:
    expired = held.created_at <= now - IDEMPOTENCY_KEY_LIFETIME
    abandoned = held.status_code is None and held.created_at <= now - IN_FLIGHT_LEASE
    if not (expired or abandoned):
        return False
    # Conditional: of two requests finding it stale, one frees it.
    IdempotencyKey.objects.filter(pk=held.pk, created_at=held.created_at, status_code=held.status_code).delete()
    return True


def _answer_for(held: IdempotencyKey, print_: str) -> HttpResponse:
    if held.fingerprint != print_:
        raise HttpError(422, OTHER_REQUEST)
    if held.status_code is None:
        raise HttpError(409, IN_FLIGHT)
    response = HttpResponse(held.response_body, status=held.status_code, content_type="application/json; charset=utf-8")
    response[REPLAYED] = "true"
    return response


def claim_key(view):
    """View-function decorator (ninja 1.7's mode "operation"): claim the request's key, or answer from the stored one."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        key = _key_of(request)
        if key is None:
            return view(request, *args, **kwargs)
        claimed = _claim(request, key, timezone.now())
        if isinstance(claimed, HttpResponse):
            return claimed
        request._idempotency_claim = claimed
        return view(request, *args, **kwargs)

    return wrapper


def store_answer(run):
    """Whole-operation decorator (ninja 1.7's mode "view"): store the answer of a claimed key, or free
    the key when the answer is a 5xx or the view raised."""

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            response = run(request, *args, **kwargs)
        except BaseException:
            _release(request)
            raise
        claim = getattr(request, "_idempotency_claim", None)
        if claim is not None:
            if response.status_code >= 500:
                _release(request)
            else:
                IdempotencyKey.objects.filter(pk=claim.pk).update(
                    status_code=response.status_code, response_body=response.content.decode(), completed_at=timezone.now()
                )
        return response

    return wrapper


def _release(request: HttpRequest) -> None:
    claim = getattr(request, "_idempotency_claim", None)
    if claim is not None:
        IdempotencyKey.objects.filter(pk=claim.pk, status_code__isnull=True).delete()


def prune_keys(*, now: datetime) -> int:
    """Delete the keys older than their lifetime (the daily retention job)."""
    return IdempotencyKey.objects.filter(created_at__lt=now - IDEMPOTENCY_KEY_LIFETIME).delete()[0]
