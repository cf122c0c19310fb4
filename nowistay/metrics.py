"""Prometheus metrics at /metrics, computed from the database when scraped.

Every figure is read at scrape time from what the processes already write, so web, worker and beat
processes (in as many containers as one likes) need no shared metrics directory and no port of
their own, and a restart loses nothing:

- codes by state: one GROUP BY over the access codes;
- vendor calls by provider, operation and outcome, with their latencies: from the VendorCall rows
  (one per request, written by `audited_call`) of the last METRICS_VENDOR_CALL_WINDOW_SECONDS. These
  are gauges ("in the last 5 minutes"), not counters: the audit rows are pruned by retention, so a
  total would fall back and read as a counter reset;
- the scheduler pass's duration and due count: the last pass's figures, which the pass stores in
  the shared cache (locks.services.scheduler).

Only a scraper with METRICS_TOKEN sees them; to everyone else, and to everyone when no token is
set, /metrics does not exist (404). Any Host header is accepted, as for a health probe.
"""

import hashlib
import hmac
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily

from locks.models import AccessCode, CodeState, VendorCall
from locks.services.missing_codes import last_missing_codes_pass
from locks.services.scheduler import last_pass

METRICS_PATH = "/metrics"
# Vendor call latency buckets, in seconds (the HTTP seam's timeout is 20 s by default).
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)


class DatabaseCollector:
    """The product's figures, queried when Prometheus scrapes (three small queries and a cache read)."""

    def collect(self):
        yield codes_by_state()
        yield from vendor_calls(window=timedelta(seconds=settings.METRICS_VENDOR_CALL_WINDOW_SECONDS))
        yield from scheduler_pass()


def codes_by_state() -> GaugeMetricFamily:

    counts = dict(AccessCode.objects.order_by().values_list("state").annotate(count=Count("id")))
    family = GaugeMetricFamily("nowistay_access_codes", "Access codes by state.", labels=["state"])
    for state in CodeState.values:
        family.add_metric([state], counts.get(state, 0))
    return family


def vendor_calls(*, window: timedelta):

    seconds = int(window.total_seconds())
    buckets = {f"le_{index}": Count("id", filter=Q(duration_ms__lte=bound * 1000)) for index, bound in enumerate(DURATION_BUCKETS)}
    rows = (
        VendorCall.objects.filter(created_at__gte=timezone.now() - window)
        .order_by()
        .values("provider", "operation", "outcome")
        .annotate(count=Count("id"), total_ms=Sum("duration_ms"), **buckets)
    )
    calls = GaugeMetricFamily(
        "nowistay_vendor_calls", f"Vendor calls in the last {seconds} seconds, by outcome.", labels=["provider", "operation", "outcome"]
    )
    durations = GaugeHistogramMetricFamily(
        "nowistay_vendor_call_duration_seconds",
        f"Durations of the vendor calls of the last {seconds} seconds.",
        labels=["provider", "operation", "outcome"],
    )
    for row in rows:
        labels = [row["provider"], row["operation"], row["outcome"]]
        calls.add_metric(labels, row["count"])
        cumulative = [(str(bound), row[f"le_{index}"]) for index, bound in enumerate(DURATION_BUCKETS)]
        durations.add_metric(labels, [*cumulative, ("+Inf", row["count"])], gsum_value=(row["total_ms"] or 0) / 1000)
    window_gauge = GaugeMetricFamily("nowistay_vendor_call_window_seconds", "The window the vendor call figures cover.")
    window_gauge.add_metric([], seconds)
    return [calls, durations, window_gauge]


def scheduler_pass():

    figures = last_pass()
    if figures is None:  # no pass since the cache was emptied
        return []
    described = {
        "nowistay_scheduler_pass_duration_seconds": ("How long the last scheduler pass took.", figures.duration_seconds),
        "nowistay_scheduler_pass_due_codes": ("Codes the last scheduler pass found due and claimed.", figures.due),
        "nowistay_scheduler_pass_finished_timestamp_seconds": (
            "When the last scheduler pass finished (Unix time).", figures.finished_at.timestamp()
        ),
    }
    missing = last_missing_codes_pass()
    if missing is not None:
        described |= {
            "nowistay_missing_codes_pass_planned": ("Codes the last missing codes pass planned for bookings without one.", missing.planned),
            "nowistay_missing_codes_pass_duration_seconds": ("How long the last missing codes pass took.", missing.duration_seconds),
        }
    families = []
    for name, (documentation, value) in described.items():
        family = GaugeMetricFamily(name, documentation)
        family.add_metric([], value)
        families.append(family)
    return families


def metrics_text() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return generate_latest(registry)


def scraper_allowed(request: HttpRequest) -> bool:
    """A token is configured and the request's bearer token is that token (compared in constant time)."""
    expected = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(_digest(given.strip()), _digest(expected))


def _digest(token: str) -> bytes:
    # Equal lengths, so the comparison's time says nothing about the token's length either.
    return hashlib.sha256(token.encode()).digest()


def metrics(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD") or not scraper_allowed(request):
        return HttpResponseNotFound(b"Not Found", content_type="text/plain")
    response = HttpResponse(metrics_text(), content_type=CONTENT_TYPE_PLAIN_0_0_4)  # the text format every Prometheus reads
    response["Cache-Control"] = "no-store"
    return response


class MetricsMiddleware:
    """Answers /metrics before host validation and sessions, like a health probe: a scraper
    addresses the container by IP or service name, which ALLOWED_HOSTS rightly does not list."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == METRICS_PATH:
            return metrics(request)
        return self.get_response(request)
