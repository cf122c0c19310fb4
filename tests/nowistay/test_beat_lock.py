"""One Celery beat schedules at a time (nowistay/beat.py): the lock in Redis, the scheduler that
sends tasks only while holding it, two real beat processes, and beat's health command."""

import logging
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.core.management import call_command
from django.core.management.base import CommandError
from freezegun import freeze_time

from nowistay import beat
from nowistay.beat import BeatLock, SingleBeatScheduler, beat_health, beat_lock_from_settings
from nowistay.celery import app as nowistay_app
from tests.helpers.processes import free_port, wait_until
from tests.helpers.repository import ROOT

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = [
    pytest.mark.redis,
    pytest.mark.skipif(not REDIS_URL, reason="needs a Redis server: set REDIS_URL"),
]


@pytest.fixture
def instance_id():
    """Keys of this test's own (nowistay:<instance>:beat:*), removed afterwards."""
    instance = "t" + secrets.token_hex(2)
    yield instance
    if REDIS_URL:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"nowistay:{instance}:*"):
            client.delete(key)


@pytest.fixture
def beat_settings(settings, instance_id):
    settings.REDIS_URL = REDIS_URL
    settings.INSTANCE_ID = instance_id
    settings.BEAT_LOCK_TTL_SECONDS = 60
    return settings


def make_lock(instance_id: str, holder: str, ttl_seconds: float = 60) -> BeatLock:
    return BeatLock(
        beat.redis_client(REDIS_URL),
        key=f"nowistay:{instance_id}:beat:lock",
        heartbeat_key=f"nowistay:{instance_id}:beat:heartbeat",
        ttl_seconds=ttl_seconds,
        holder=holder,
    )


def test_celery_beat_uses_the_single_beat_scheduler():
    assert nowistay_app.conf.beat_scheduler == "nowistay.beat:SingleBeatScheduler"


# --- the lock ----------------------------------------------------------------------------------------


class TestBeatLock:
    pytestmark = needs_redis

    def test_a_second_beat_does_not_take_the_lock_the_first_holds(self, instance_id):
        first, second = make_lock(instance_id, "beat-a"), make_lock(instance_id, "beat-b")
        assert first.hold() == beat.Hold(held=True, status="acquired", holder="beat-a")
        assert second.hold() == beat.Hold(held=False, status="held", holder="beat-a")
        assert first.hold() == beat.Hold(held=True, status="renewed", holder="beat-a")
        assert second.hold().held is False

    def test_the_lock_expires_unless_renewed(self, instance_id):
        first = make_lock(instance_id, "beat-a", ttl_seconds=60)
        first.hold()
        remaining_ms = first.client.pttl(first.key)
        assert 0 < remaining_ms <= 60_000  # gone on its own if the holder dies without releasing it

    def test_a_beat_takes_over_once_the_holder_stopped_renewing(self, instance_id):
        dead = make_lock(instance_id, "beat-a", ttl_seconds=0.5)
        standby = make_lock(instance_id, "beat-b", ttl_seconds=0.5)
        assert dead.hold().held
        assert not standby.hold().held
        # `dead` never renews again: its lock runs out and the standby's next try takes it.
        wait_until(lambda: standby.hold().held, "the standby beat to take the expired lock", timeout=10)
        assert dead.hold() == beat.Hold(held=False, status="held", holder="beat-b")  # it does not take it back
        assert dead.release() is False
        assert standby.hold().status == "renewed"

    def test_a_released_lock_is_taken_at_once(self, instance_id):
        first, second = make_lock(instance_id, "beat-a"), make_lock(instance_id, "beat-b")
        first.hold()
        assert first.release() is True
        assert second.hold().status == "acquired"


# --- the scheduler: Celery's, sending only while holding the lock -------------------------------------


class RecordingScheduler(SingleBeatScheduler):
    """Records the entries it would send instead of sending them to a broker."""

    def __init__(self, *args, **kwargs):
        self.sent = []
        super().__init__(*args, **kwargs)

    def apply_entry(self, entry, producer=None):
        self.sent.append(entry.name)


@pytest.fixture
def always_due_app():
    test_app = Celery("beat-lock-test", broker="memory://", set_as_current=False)
    test_app.conf.beat_schedule = {"always-due": {"task": "nowistay.tasks.ping", "schedule": 0.0}}
    return test_app


def scheduler(app, tmp_path, name: str) -> RecordingScheduler:
    return RecordingScheduler(app=app, schedule_filename=str(tmp_path / name), lazy=False)


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="needs a Redis server: set REDIS_URL")
def test_the_hook_called_twice_sends_from_one_beat_only(beat_settings, always_due_app, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="nowistay.beat")
    first = scheduler(always_due_app, tmp_path, "first")
    second = scheduler(always_due_app, tmp_path, "second")

    first.tick()
    interval = second.tick()
    first.tick()
    second.tick()

    assert first.sent == ["always-due", "always-due"]
    assert second.sent == []
    assert interval == beat_settings.BEAT_LOCK_TTL_SECONDS / beat.RENEWALS_PER_TTL  # it comes back to try again
    standing_by = [r.getMessage() for r in caplog.records if "stands by" in r.getMessage()]
    assert standing_by == [
        f"beat lock: held by another beat ({first.beat_lock.holder}); this beat ({second.beat_lock.holder}) "
        "stands by and takes over when it stops"
    ]  # once, not at every tick

    first.close()  # a clean stop releases the lock
    second.tick()
    assert second.sent == ["always-due"]
    assert any(f"acquired by this beat ({second.beat_lock.holder})" in r.getMessage() for r in caplog.records)
    second.close()


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="needs a Redis server: set REDIS_URL")
def test_a_holder_comes_back_in_time_to_renew(beat_settings, always_due_app, tmp_path):
    always_due_app.conf.beat_schedule = {"hourly": {"task": "nowistay.tasks.ping", "schedule": 3600.0}}
    holder = scheduler(always_due_app, tmp_path, "holder")
    assert holder.tick() <= beat_settings.BEAT_LOCK_TTL_SECONDS / beat.RENEWALS_PER_TTL
    holder.close()


def test_with_redis_not_answering_beat_sends_nothing(settings, instance_id, always_due_app, tmp_path, caplog):
    """Whether it still holds the lock is unknown then, and another beat may: better late than twice."""
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.INSTANCE_ID = instance_id
    down = scheduler(always_due_app, tmp_path, "down")
    with caplog.at_level(logging.WARNING, logger="nowistay.beat"):
        down.tick()
    assert down.sent == []
    assert any("Redis did not answer" in record.getMessage() for record in caplog.records)


def test_without_redis_beat_schedules_and_says_one_beat_is_not_enforced(settings, always_due_app, tmp_path, caplog):
    settings.REDIS_URL = ""
    settings.CELERY_BROKER_URL = "filesystem://localhost/"  # `make run` without Redis: one machine
    with caplog.at_level(logging.WARNING, logger="nowistay.beat"):
        alone = scheduler(always_due_app, tmp_path, "alone")
    alone.tick()
    assert alone.beat_lock is None
    assert alone.sent == ["always-due"]
    assert any("nothing stops a second beat" in record.getMessage() for record in caplog.records)


def test_the_lock_lives_in_the_broker_when_that_is_the_only_redis(settings):
    settings.REDIS_URL = ""
    settings.CELERY_BROKER_URL = "redis://broker.internal:6379/2"
    assert beat.lock_redis_url() == "redis://broker.internal:6379/2"
    settings.CELERY_BROKER_URL = "filesystem://localhost/"
    assert beat.lock_redis_url() == ""


# --- beat's health: the heartbeat age ---------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="needs a Redis server: set REDIS_URL")
class TestBeatHealth:
    def test_no_beat_has_held_the_lock(self, beat_settings):
        with pytest.raises(CommandError, match="no beat has held the beat lock yet"):
            call_command("beat_health")

    def test_fresh_then_stale(self, beat_settings, capsys):
        lock = beat_lock_from_settings()
        with freeze_time("2026-07-01 12:00:00") as frozen:
            lock.hold()
            frozen.tick(59)
            call_command("beat_health")
            assert f"ok: beat {lock.holder} renewed the beat lock 59 s ago" in capsys.readouterr().out
            frozen.tick(2)
            with pytest.raises(CommandError, match=rf"stale: beat {lock.holder} last renewed the beat lock 61 s ago \(limit 60 s\)"):
                call_command("beat_health")
            with pytest.raises(CommandError, match="stale"):
                call_command("beat_health", max_age=30)
            lock.hold()  # the next renewal
            call_command("beat_health")

    def test_a_standby_beat_keeps_the_heartbeat_of_the_holder(self, beat_settings):
        holder, standby = beat_lock_from_settings(), beat_lock_from_settings()
        with freeze_time("2026-07-01 12:00:00") as frozen:
            holder.hold()
            frozen.tick(61)
            standby.hold()  # does not hold it: writes no heartbeat of its own
            assert not beat_health(max_age_seconds=60).healthy


def test_beat_health_without_redis(settings):
    settings.REDIS_URL = ""
    settings.CELERY_BROKER_URL = "filesystem://localhost/"
    with pytest.raises(CommandError, match=r"no Redis configured \(REDIS_URL\)"):
        call_command("beat_health")


# --- two real beat processes ---------------------------------------------------------------------------

# Only what a process needs (see tests/nowistay/test_production_settings.py): nothing else of the test run.
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
TAKE_OVER_TTL_SECONDS = 3


def beat_process(tmp_path, name: str, instance_id: str) -> tuple[subprocess.Popen, Path]:
    env = {key: os.environ[key] for key in INHERITED_VARIABLES if key in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="nowistay.settings",
        DEBUG="true",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_BROKER_URL="memory://",  # nothing it sends reaches another test's worker
        REDIS_URL=REDIS_URL,
        INSTANCE_ID=instance_id,
        BEAT_LOCK_TTL_SECONDS=str(TAKE_OVER_TTL_SECONDS),
        SANDBOX_URL="",
    )
    log = tmp_path / f"{name}.log"
    command = [sys.executable, "-m", "celery", "-A", "nowistay", "beat", "--loglevel", "INFO", "--schedule", str(tmp_path / name)]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    return process, log


def holder_named(log: Path) -> str:
    """The holder a beat's "acquired" line names (host:pid:nonce)."""
    return log.read_text().split("acquired by this beat (", 1)[1].split(")", 1)[0]


def stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="needs a Redis server: set REDIS_URL")
def test_two_beat_processes_one_schedules_the_other_takes_over_when_it_dies(tmp_path, instance_id):
    first, first_log = beat_process(tmp_path, "first", instance_id)
    second = None
    try:
        wait_until(lambda: "beat lock: acquired by this beat" in first_log.read_text(), "the first beat to take the lock", timeout=60)
        second, second_log = beat_process(tmp_path, "second", instance_id)
        wait_until(lambda: "stands by" in second_log.read_text(), "the second beat to stand by", timeout=60)
        assert second.poll() is None  # idles, does not exit
        first_holder = holder_named(first_log)
        assert f"held by another beat ({first_holder})" in second_log.read_text()

        stop(first, signal.SIGKILL)  # dies without releasing: only the expiry frees the lock
        wait_until(lambda: "beat lock: acquired by this beat" in second_log.read_text(), "the second beat to take over", timeout=60)
        assert holder_named(second_log) != first_holder
    finally:
        stop(first, signal.SIGKILL)
        if second is not None:
            stop(second)
    assert "beat lock: released by this beat" in second_log.read_text()  # a clean stop hands it on at once
