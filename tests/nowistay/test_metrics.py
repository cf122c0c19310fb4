"""/metrics: hidden (404) without the configured bearer token, reachable by any Host like a probe,
with codes by state, vendor call outcomes and latencies, and the last scheduler pass's figures."""

from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from freezegun import freeze_time
from prometheus_client.parser import text_string_to_metric_families

from locks import services
from locks.models import CallOutcome, VendorCall
from locks.providers.exceptions import LockOffline
from tests.helpers.lifecycle import tick

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token: str = TOKEN, **headers):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}", **headers)


def samples(response) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of an exposition."""
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found, name: str, **labels) -> float:
    return found[(name, frozenset(labels.items()))]


class TestHiddenFromThePublic:
    def test_no_token_configured_answers_404_even_to_a_bearer(self, client, settings):
        settings.METRICS_TOKEN = ""
        assert scrape(client, "").status_code == 404
        assert scrape(client, "anything").status_code == 404

    @pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "])
    def test_a_missing_or_wrong_token_answers_404(self, client, metrics_token, authorization):
        headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
        response = client.get("/metrics", **headers)
        assert response.status_code == 404
        assert b"nowistay_" not in response.content

    def test_the_token_opens_it_whatever_the_host_like_a_probe(self, client, metrics_token, settings):
        settings.ALLOWED_HOSTS = ["app.nowistay.example"]
        assert client.get("/accounts/login/", HTTP_HOST="10.0.3.7:8000").status_code == 400  # any other page refuses that host
        response = scrape(client, HTTP_HOST="10.0.3.7:8000")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")
        assert response["Cache-Control"] == "no-store"
        assert response["X-Request-ID"]

    def test_not_redirected_to_https_for_a_scraper_on_the_private_network(self, client, metrics_token, settings):
        settings.SECURE_SSL_REDIRECT = True
        assert client.get("/accounts/login/").status_code == 301
        assert scrape(client).status_code == 200


class TestFigures:
    def test_codes_by_state_and_vendor_calls_with_their_latencies(
        self, client, metrics_token, assigned_property, book, fake_cloud, django_assert_max_num_queries
    ):
        prop = assigned_property()  # Paris, TTLock, lead 5 days
        with freeze_time("2026-06-10 08:00:00") as frozen:
            fake_cloud.after_call = lambda: frozen.tick(0.3)  # each vendor call takes 0.3 s
            active = book(prop, date(2026, 6, 11), date(2026, 6, 13))
            services.booking_created(booking=active)
            tick()
            fake_cloud.fail_next("create_code", LockOffline("Gateway offline"))
            retrying = book(prop, date(2026, 6, 14), date(2026, 6, 15))
            services.booking_created(booking=retrying)
            tick()
            scheduled = book(prop, date(2026, 7, 20), date(2026, 7, 25))
            services.booking_created(booking=scheduled)
            stale = VendorCall.objects.create(provider="ttlock", operation="create_code", outcome=CallOutcome.OK, duration_ms=30)
            VendorCall.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(minutes=6))  # outside the window

            frozen.tick(60)
            with django_assert_max_num_queries(2):  # codes by state, vendor calls: one query each
                found = samples(scrape(client))

        assert value(found, "nowistay_access_codes", state="active") == 1
        assert value(found, "nowistay_access_codes", state="creating") == 1
        assert value(found, "nowistay_access_codes", state="scheduled") == 1
        assert value(found, "nowistay_access_codes", state="revoked") == 0
        ok = {"provider": "ttlock", "operation": "create_code", "outcome": "ok"}
        failed = {"provider": "ttlock", "operation": "create_code", "outcome": "transient"}
        assert value(found, "nowistay_vendor_calls", **ok) == 1
        assert value(found, "nowistay_vendor_calls", **failed) == 1
        assert value(found, "nowistay_vendor_call_duration_seconds_bucket", le="0.25", **ok) == 0
        assert value(found, "nowistay_vendor_call_duration_seconds_bucket", le="0.5", **ok) == 1
        assert value(found, "nowistay_vendor_call_duration_seconds_bucket", le="+Inf", **ok) == 1
        assert value(found, "nowistay_vendor_call_duration_seconds_gsum", **ok) == pytest.approx(0.3, abs=0.002)
        assert value(found, "nowistay_vendor_call_window_seconds") == 300

    def test_the_last_passs_duration_and_due_count(self, client, metrics_token, assigned_property, book, fake_cloud):
        cache.clear()
        assert not any(name.startswith("nowistay_scheduler_pass") for name, _ in samples(scrape(client)))
        prop = assigned_property()
        with freeze_time("2026-06-10 08:00:00") as frozen:
            fake_cloud.after_call = lambda: frozen.tick(2)  # each vendor call takes 2 s
            for arrival in (date(2026, 6, 11), date(2026, 6, 12)):
                services.booking_created(booking=book(prop, arrival, arrival + timedelta(days=2)))
            report = tick()
            finished = timezone.now()
            found = samples(scrape(client))

        assert report.claimed == 2
        assert value(found, "nowistay_scheduler_pass_due_codes") == 2
        assert value(found, "nowistay_missing_codes_pass_planned") == 0
        assert value(found, "nowistay_missing_codes_pass_duration_seconds") >= 0
        assert value(found, "nowistay_scheduler_pass_duration_seconds") == pytest.approx(4.0, abs=0.01)
        assert value(found, "nowistay_scheduler_pass_finished_timestamp_seconds") == finished.timestamp()
