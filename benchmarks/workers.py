"""Embedded Celery workers for the scale benchmarks: processes forked from the benchmark, each a
worker (threads pool) on the broker of REDIS_URL, optionally on a fake lock cloud of its own.

Each process counts its SQL statements and CPU time and, through Celery's `task_postrun` signal,
tells the benchmark when a scheduler pass ran (with its summary) and how many codes its batches
skipped (a claim it no longer held: taken over after the lease ran out, or held by another task).
The workers consume every queue of `task_queues` when the app declares them (else the default
queue); BENCH_QUEUES (comma-separated) names them instead, for queues created on the fly by routes.
"""

import multiprocessing
import os
import threading
import time

QUEUES = [name for name in os.environ.get("BENCH_QUEUES", "").split(",") if name]
# Four processes per core, each of C / processes threads: what README's "Scaling out" recommends
# (one process of many threads loses a quarter of its rate to waiting for the GIL).
WORKER_PROCESSES = int(os.environ.get("BENCH_WORKER_PROCESSES", 4 * (os.cpu_count() or 1)))


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


class QueryCounter:
    """Counts SQL statements from every thread of this process, by wrapping Django's cursor."""

    def __init__(self):
        self.count = 0
        self._mutex = threading.Lock()

    def install(self) -> None:
        from django.db.backends import utils

        counter = self
        original_execute, original_many = utils.CursorWrapper.execute, utils.CursorWrapper.executemany

        def execute(self, *args, **kwargs):
            counter.bump()
            return original_execute(self, *args, **kwargs)

        def executemany(self, *args, **kwargs):
            counter.bump()
            return original_many(self, *args, **kwargs)

        utils.CursorWrapper.execute, utils.CursorWrapper.executemany = execute, executemany

    def bump(self) -> None:
        with self._mutex:
            self.count += 1


def server_cpu_seconds(names=("postgres", "redis-server")) -> dict[str, float]:
    """CPU seconds used so far by this machine's database and broker server processes (Linux /proc;
    zero where they run elsewhere), to put their share of the work next to the workers'."""
    tick = os.sysconf("SC_CLK_TCK")
    used = dict.fromkeys(names, 0.0)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)
        except OSError:  # gone meanwhile
            continue
        name = fields[0].split("(", 1)[-1]
        if name in used:
            values = fields[1].split()
            # utime and stime, with cutime and cstime: the server's exited processes (a closed
            # connection's backend) count in their parent's.
            used[name] += sum(int(value) for value in values[11:15]) / tick
    return used


def install_fake_cloud(lock_ids: list[str], latency: float, slug: str = "ttlock"):
    """The fake cloud (locks/providers/fake.py) standing in for `slug`, with these locks."""
    from locks.providers import registry
    from locks.providers.fake import FakeCloud, fake_provider_class

    cloud = FakeCloud()
    cloud.latency = latency
    for vendor_lock_id in lock_ids:
        cloud.add_lock(vendor_lock_id)
    registry.PROVIDER_CLASSES[slug] = fake_provider_class(slug, cloud)
    return cloud


class Workers:
    """`processes` worker processes sharing `concurrency` threads; `fake_locks` None: the real adapters."""

    def __init__(self, *, processes: int, concurrency: int, fake_locks: list[str] | None = None, latency: float = 0.0):
        context = multiprocessing.get_context("fork")
        self.processes, self.threads = processes, max(1, concurrency // processes)
        self.fake_locks, self.latency = fake_locks, latency
        self._ready, self._reports, self.events = context.Queue(), context.Queue(), context.Queue()
        self._stop = context.Event()
        self.skipped = context.Value("l", 0)
        self._context, self._children = context, []

    def start(self, timeout: float = 180) -> None:
        from django.db import connections

        connections.close_all()  # never share the parent's connections across fork
        self._children = [
            self._context.Process(target=self._main, daemon=True) for _ in range(self.processes)
        ]
        for child in self._children:
            child.start()
        for _ in self._children:
            self._ready.get(timeout=timeout)

    def stop(self, timeout: float = 120) -> dict:
        """Stop the workers; their summed figures: queries, cpu (s), calls (fake cloud, by operation)."""
        self._stop.set()
        reports = [self._reports.get(timeout=timeout) for _ in self._children]
        for child in self._children:
            child.join(timeout=timeout)
        calls: dict[str, int] = {}
        for report in reports:
            for operation, count in report["calls"].items():
                calls[operation] = calls.get(operation, 0) + count
        return {"queries": sum(r["queries"] for r in reports), "cpu": sum(r["cpu"] for r in reports), "calls": calls}

    def _main(self) -> None:
        from celery.contrib.testing.worker import start_worker
        from celery.signals import task_postrun
        from django.db import connections

        from nowistay.celery import app

        cloud = install_fake_cloud(self.fake_locks, self.latency) if self.fake_locks is not None else None
        counter = QueryCounter()
        counter.install()

        def on_postrun(sender=None, retval=None, **_):
            if sender is not None and sender.name.endswith("scheduler_pass"):
                self.events.put(("pass", time.time(), str(retval)))
                return
            actions = retval if isinstance(retval, list) else [retval]
            skipped = sum(1 for action in actions if action == "skipped")
            if skipped:
                with self.skipped.get_lock():
                    self.skipped.value += skipped

        task_postrun.connect(on_postrun, weak=False)
        # Every queue the app declares (per-vendor queues included), unless BENCH_QUEUES names them.
        queues = QUEUES or [queue.name for queue in app.conf.task_queues or []]
        extra = {"queues": queues} if queues else {}
        with start_worker(app, pool="threads", concurrency=self.threads, perform_ping_check=False, shutdown_timeout=120, **extra):
            cpu_before = time.process_time()
            self._ready.put(True)
            self._stop.wait()
            cpu = time.process_time() - cpu_before
        self._reports.put({"queries": counter.count, "cpu": cpu, "calls": dict(cloud.calls) if cloud else {}})
        connections.close_all()


def broker_backlog() -> int:
    """Messages waiting in the broker (every Redis list of the broker's database: any queue name)."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    return sum(client.llen(key) for key in client.scan_iter(count=1000) if client.type(key) == b"list")


def flush_broker() -> None:
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


class Publishes:
    """Counts (and times) the task messages this process publishes, whatever the task or queue."""

    def __init__(self):
        self.count, self.seconds = 0, 0.0

    def install(self) -> None:
        from celery.app.task import Task

        original, publishes = Task.apply_async, self

        def apply_async(task, *args, **kwargs):
            started = time.perf_counter()
            try:
                return original(task, *args, **kwargs)
            finally:
                publishes.count += 1
                publishes.seconds += time.perf_counter() - started

        Task.apply_async = apply_async
