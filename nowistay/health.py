"""Probes for load balancers and orchestrators: /healthz (liveness) and /readyz (readiness).

HealthProbeMiddleware answers both first in MIDDLEWARE, before host validation, the HTTPS redirect,
sessions and CSRF: a load balancer probes by IP address over plain HTTP from inside the network,
and a probe never reads or sets a cookie. urls.py routes the same views (reverse("healthz")).
The bodies name checks, never addresses or credentials: anyone can ask; the log has the details.
"""

import logging

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from kombu.exceptions import KombuError

from nowistay.celery import app
from nowistay.middleware import query_string_errors

logger = logging.getLogger(__name__)

LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"
PROBE_METHODS = {"GET", "HEAD"}
OK = "ok"
# A broker that does not answer within this long counts as down; a probe must answer before its own timeout.
BROKER_TIMEOUT_SECONDS = 3
UNAPPLIED_NAMES_SHOWN = 5


def liveness(request: HttpRequest) -> JsonResponse:
    """The process answers. Nothing else is checked: a database outage must not get every web
    process restarted (readiness takes it out of the load balancer instead)."""
    return probe_answer({"status": OK})


def readiness(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and the migrations are ready; else 503 naming what failed."""
    checks = readiness_checks()
    failed = [name for name, result in checks.items() if result != OK]
    if failed:
        return probe_answer({"status": "unavailable", "failed": failed, "checks": checks}, status=503)
    return probe_answer({"status": OK, "checks": checks})


def probe_answer(body: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"  # a cache between the probe and the process would hide the truth
    return response


def readiness_checks() -> dict[str, str]:
    """{"database": "ok" or what is wrong, "broker": ..., "migrations": ...}."""
    database = database_problem()
    broker = broker_problem()
    # Without a database there is no migration table to read.
    migrations = "not checked: the database is unreachable" if database else migrations_problem()
    return {"database": database or OK, "broker": broker or OK, "migrations": migrations or OK}


def database_problem() -> str:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        logger.warning("readiness: the database is unreachable: %s", error)
        return f"unreachable ({type(error).__name__})"
    return ""


def broker_problem() -> str:

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
    except (KombuError, OSError) as error:
        logger.warning("readiness: the Celery broker is unreachable: %s", error)
        return f"unreachable ({type(error).__name__})"
    return ""


def migrations_problem() -> str:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        logger.warning("readiness: the migration state could not be read: %s", error)
        return f"unknown ({type(error).__name__})"
    if not plan:
        return ""
    names = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
    shown = ", ".join(names[:UNAPPLIED_NAMES_SHOWN]) + (", …" if len(names) > UNAPPLIED_NAMES_SHOWN else "")
    return f"{len(names)} unapplied: {shown}"


PROBES = {LIVENESS_PATH: liveness, READINESS_PATH: readiness}


class HealthProbeMiddleware:
    """Answers GET and HEAD on /healthz and /readyz before any other middleware runs.

    First in MIDDLEWARE, so a probe by IP address (not in ALLOWED_HOSTS) over plain HTTP (no
    SECURE_SSL_REDIRECT) is answered, and no session, CSRF or messages middleware sees it: the
    answer never carries a cookie. Every other request passes through untouched."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is None or request.method not in PROBE_METHODS or query_string_errors(request):
            # A query string with control characters is no probe: refused like on any other URL.
            return self.get_response(request)
        return probe(request)
