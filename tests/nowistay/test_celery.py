"""Celery: the ping task eagerly, and a real round trip through Redis and an embedded worker."""

import os

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from nowistay.celery import app
from nowistay.tasks import ping


@pytest.fixture
def eager_celery():
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_eager_propagates")}
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    try:
        yield app
    finally:
        app.conf.update(saved)


def test_app_is_configured_from_django_settings():
    assert app.main == "nowistay"
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert "nowistay.tasks.ping" in app.tasks


@pytest.mark.django_db
def test_ping_eager(eager_celery, make_property):
    assert ping.delay().get(timeout=5) == {"pong": True, "properties": 0}
    make_property()
    make_property(name="Second")
    result = ping.delay()
    assert result.successful()
    assert result.get(timeout=5) == {"pong": True, "properties": 2}


def test_eager_fixture_restores_configuration():
    assert app.conf.task_always_eager is settings.CELERY_TASK_ALWAYS_EAGER


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis server: set REDIS_URL")
@pytest.mark.django_db(transaction=True)
def test_ping_through_redis_and_a_real_worker(make_property):
    redis_url = os.environ["REDIS_URL"]
    assert app.conf.broker_url == redis_url
    assert app.conf.result_backend == redis_url
    assert not app.conf.task_always_eager
    make_property()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        result = ping.delay()
        assert result.get(timeout=30) == {"pong": True, "properties": 1}
    assert result.successful()
