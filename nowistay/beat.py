"""Exactly one Celery beat schedules at a time: a lock in Redis, renewed by the beat holding it.

Two beats would send every periodic task twice (two scheduler passes claiming the same codes,
two keep-alive calls per vendor account). The beat that holds the lock schedules and renews it
at every tick of its loop; another beat stands by, logs which beat holds it and tries again at the
same cadence. The lock expires BEAT_LOCK_TTL_SECONDS after its holder stops renewing it (killed,
frozen, its host gone), so a standing-by or restarted beat takes over; a beat that stops cleanly
releases it at once. Each renewal also writes a heartbeat that `manage.py beat_health` reads.

Without Redis (REDIS_URL unset: the filesystem broker of a single development machine) there is
nothing to hold the lock in: beat schedules as usual and says so once.
"""

import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass

import redis
from celery.beat import PersistentScheduler
from django.conf import settings

logger = logging.getLogger(__name__)

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# Several renewals fit in one lifetime of the lock, so one slow tick does not lose it.
RENEWALS_PER_TTL = 3
# Kept long after the lock expired, so that beat_health can say how stale the last beat is.
HEARTBEAT_KEEP_SECONDS = 7 * 24 * 3600
REDIS_TIMEOUT_SECONDS = 5

# Atomic: take the lock if free, renew it if ours (the heartbeat with it), else name the holder.
HOLD_SCRIPT = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
    if holder == false then return {'acquired', ARGV[1]} end
    return {'renewed', ARGV[1]}
end
return {'held', holder}
"""
# Only the holder releases: an expired lock since taken by another beat stays theirs.
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def lock_redis_url() -> str:
    """The Redis the lock lives in: REDIS_URL, or the broker when that is a Redis; "" without one."""
    if settings.REDIS_URL:
        return settings.REDIS_URL
    broker_url = settings.CELERY_BROKER_URL or ""
    return broker_url if broker_url.startswith(REDIS_SCHEMES) else ""


def lock_key() -> str:
    return f"nowistay:{settings.INSTANCE_ID}:beat:lock"


def heartbeat_key() -> str:
    return f"nowistay:{settings.INSTANCE_ID}:beat:heartbeat"


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, decode_responses=True
    )


def new_holder_name() -> str:
    """Which beat holds the lock, as the logs of both beats name it: host, process and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Hold:
    """The outcome of one attempt: whether this beat holds the lock, and who does."""

    held: bool
    status: str  # "acquired", "renewed" or "held" (by another beat)
    holder: str


@dataclass(frozen=True)
class Heartbeat:
    holder: str
    at: float

    def age(self, now: float) -> float:
        return max(0.0, now - self.at)


class BeatLock:
    """The lock one beat holds. `hold()` takes or renews it; `release()` gives it up."""

    def __init__(self, client: redis.Redis, *, key: str, heartbeat_key: str, ttl_seconds: float, holder: str):
        self.client = client
        self.key = key
        self.heartbeat_key = heartbeat_key
        self.ttl_ms = int(ttl_seconds * 1000)
        self.holder = holder
        self._hold = client.register_script(HOLD_SCRIPT)
        self._release = client.register_script(RELEASE_SCRIPT)

    def hold(self) -> Hold:
        """Take the lock if it is free, renew it if this beat holds it; never take another's."""
        heartbeat = json.dumps({"holder": self.holder, "at": time.time()})
        status, holder = self._hold(
            keys=[self.key, self.heartbeat_key], args=[self.holder, self.ttl_ms, heartbeat, HEARTBEAT_KEEP_SECONDS]
        )
        return Hold(held=holder == self.holder, status=status, holder=holder)

    def release(self) -> bool:
        return bool(self._release(keys=[self.key], args=[self.holder]))


def read_heartbeat(client: redis.Redis, key: str) -> Heartbeat | None:
    """The last heartbeat a beat holding the lock wrote, or None if there is none."""
    raw = client.get(key)
    if raw is None:
        return None
    value = json.loads(raw)
    return Heartbeat(holder=value["holder"], at=float(value["at"]))


def beat_lock_from_settings() -> BeatLock | None:
    url = lock_redis_url()
    if not url:
        return None
    return BeatLock(
        redis_client(url),
        key=lock_key(),
        heartbeat_key=heartbeat_key(),
        ttl_seconds=settings.BEAT_LOCK_TTL_SECONDS,
        holder=new_holder_name(),
    )


class SingleBeatScheduler(PersistentScheduler):
    """Celery's default scheduler (the schedule's state in a shelve file), sending tasks only while
    this beat holds the beat lock. Configured in nowistay/celery.py (beat_scheduler)."""

    def __init__(self, *args, **kwargs):
        self.beat_lock = beat_lock_from_settings()
        self.renew_interval = settings.BEAT_LOCK_TTL_SECONDS / RENEWALS_PER_TTL
        self._last_hold: Hold | None = None
        super().__init__(*args, **kwargs)
        if self.beat_lock is None:
            # Expected on a development machine (`make run` without Redis); a warning in production.
            logger.log(
                logging.INFO if settings.DEBUG else logging.WARNING,
                "beat lock: no Redis configured (REDIS_URL), so nothing stops a second beat from scheduling too",
            )

    def tick(self, *args, **kwargs) -> float:
        """Schedule as Celery does while holding the lock; else stand by. Either way, come back in
        time to renew (or try for) the lock before it expires."""
        if self.beat_lock is None:
            return super().tick(*args, **kwargs)
        if not self.hold_lock():
            return self.renew_interval
        return min(super().tick(*args, **kwargs), self.renew_interval)

    def hold_lock(self) -> bool:
        try:
            hold = self.beat_lock.hold()
        except redis.RedisError as error:
            # Whether it still holds the lock is unknown: another beat may have it by now.
            logger.warning("beat lock: Redis did not answer (%s); not scheduling until it does", error)
            self._last_hold = None
            return False
        self.log_change(hold)
        self._last_hold = hold
        return hold.held

    def log_change(self, hold: Hold) -> None:
        previous = self._last_hold
        if hold.status == "acquired":
            logger.info("beat lock: acquired by this beat (%s); it schedules the periodic tasks", hold.holder)
        elif hold.held:
            return
        elif previous is not None and previous.held:
            logger.warning("beat lock: lost to %s; this beat stands by", hold.holder)
        elif previous is None or previous.holder != hold.holder:
            logger.info(
                "beat lock: held by another beat (%s); this beat (%s) stands by and takes over when it stops",
                hold.holder,
                self.beat_lock.holder,
            )

    def close(self) -> None:
        """Release the lock on a clean stop, so a standing-by or restarted beat takes over at once.
        Celery's beat can close the scheduler twice on the way out: the second time is a no-op."""
        super().close()
        if self.beat_lock is None or self._last_hold is None or not self._last_hold.held:
            return
        self._last_hold = None
        try:
            if self.beat_lock.release():
                logger.info("beat lock: released by this beat (%s)", self.beat_lock.holder)
        except redis.RedisError as error:
            logger.warning("beat lock: not released (%s); it expires on its own", error)


@dataclass(frozen=True)
class BeatHealth:
    healthy: bool
    message: str


def beat_health(*, max_age_seconds: float, now: float | None = None) -> BeatHealth:
    """Whether a beat holds the lock and renewed it within max_age_seconds (manage.py beat_health)."""
    url = lock_redis_url()
    if not url:
        return BeatHealth(False, "no Redis configured (REDIS_URL): beat holds no lock and writes no heartbeat")
    try:
        heartbeat = read_heartbeat(redis_client(url), heartbeat_key())
    except redis.RedisError as error:
        return BeatHealth(False, f"Redis did not answer: {error}")
    if heartbeat is None:
        return BeatHealth(False, "no beat has held the beat lock yet")
    age = heartbeat.age(time.time() if now is None else now)
    if age > max_age_seconds:
        return BeatHealth(
            False, f"stale: beat {heartbeat.holder} last renewed the beat lock {age:.0f} s ago (limit {max_age_seconds:.0f} s)"
        )
    return BeatHealth(True, f"ok: beat {heartbeat.holder} renewed the beat lock {age:.0f} s ago")
