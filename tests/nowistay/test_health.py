"""/healthz (liveness) and /readyz (readiness), as a load balancer probes them: by IP address, over
plain HTTP, without cookies; readiness answers 503 naming what failed (database, broker, migrations)."""

import json
import subprocess
import sys

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from nowistay.celery import app
from tests.helpers.processes import free_port
from tests.helpers.repository import ROOT

PROBE_HOST = "10.0.3.7:8000"  # a load balancer's health check by the instance's address


@pytest.fixture
def production_hosts(settings):
    settings.ALLOWED_HOSTS = ["app.nowistay.example"]
    return settings


def probe(client, path, method="get", **headers):
    return getattr(client, method)(path, HTTP_HOST=PROBE_HOST, **headers)


# --- liveness -------------------------------------------------------------------------------------


def test_liveness_answers_a_probe_by_ip_address(client, production_hosts):
    response = probe(client, "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_liveness_needs_no_database(client, production_hosts):
    """No `db` fixture: pytest-django fails any query, so answering proves none was made."""
    assert probe(client, "/healthz").status_code == 200


def test_a_probe_over_plain_http_is_not_redirected_to_https(client, production_hosts):
    production_hosts.SECURE_SSL_REDIRECT = True
    assert probe(client, "/healthz").status_code == 200
    assert client.get("/accounts/login/", HTTP_HOST="app.nowistay.example").status_code == 301  # the rest still is


def test_other_pages_still_refuse_an_unknown_host(client, production_hosts):
    assert probe(client, "/accounts/login/").status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_never_touch_the_session_or_set_a_cookie(client, host, production_hosts, path):
    production_hosts.SESSION_SAVE_EVERY_REQUEST = True  # every request through the session middleware sets its cookie
    production_hosts.ALLOWED_HOSTS = ["testserver"]
    client.force_login(host)
    assert client.get("/accounts/login/").cookies  # the session middleware does set it on a page

    response = client.get(path)
    assert response.status_code == 200
    assert not response.cookies
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.get("Vary", "")


@pytest.mark.django_db
def test_head_is_answered_too(client, production_hosts):
    assert probe(client, "/healthz", method="head").status_code == 200
    assert probe(client, "/readyz", method="head").status_code == 200


# --- readiness ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_readiness_checks_database_broker_and_migrations(client, production_hosts):
    response = probe(client, "/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "migrations": "ok"}}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readiness_names_a_broker_that_does_not_answer(client, production_hosts, monkeypatch):
    closed_port = free_port()
    monkeypatch.setitem(app.conf, "broker_url", f"redis://127.0.0.1:{closed_port}/0")
    response = probe(client, "/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["broker"]
    assert body["checks"]["broker"].startswith("unreachable (")
    assert (body["checks"]["database"], body["checks"]["migrations"]) == ("ok", "ok")
    assert str(closed_port) not in response.content.decode()  # no address: anyone may probe


@pytest.mark.django_db
def test_readiness_names_unapplied_migrations(client, production_hosts):
    MigrationRecorder(connection).record_unapplied("sessions", "0001_initial")  # rolled back with the test
    response = probe(client, "/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["migrations"]
    assert body["checks"]["migrations"] == "1 unapplied: sessions.0001_initial"


READINESS_WITH_NOTHING_UP = """
import json, django
django.setup()
from django.test import Client
response = Client().get("/readyz", HTTP_HOST="10.0.3.7")
print(json.dumps({"status": response.status_code, "body": response.json(), "cookies": list(response.cookies)}))
"""


def test_readiness_names_a_database_that_does_not_answer(tmp_path):
    """A process of its own, pointed at a PostgreSQL and a Redis on closed ports (as when both are down)."""
    closed_port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "nowistay.settings",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "app.nowistay.example",
        "DATABASE_URL": f"postgres://nowistay:a-password@127.0.0.1:{closed_port}/nowistay",
        "REDIS_URL": f"redis://127.0.0.1:{closed_port}/0",
    }
    result = subprocess.run(
        [sys.executable, "-c", READINESS_WITH_NOTHING_UP], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["cookies"] == []
    body = answer["body"]
    assert body["failed"] == ["database", "broker", "migrations"]
    assert body["checks"]["database"].startswith("unreachable (")
    assert body["checks"]["migrations"] == "not checked: the database is unreachable"
    assert "a-password" not in json.dumps(body) and str(closed_port) not in json.dumps(body)
