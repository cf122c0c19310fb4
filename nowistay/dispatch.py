"""The seam between services and task queues: services name the work to hand to a worker, the
tasks modules say how it is sent. Tasks import services, never the other way round.

Each tasks module registers its senders when it is imported (by Celery's autodiscovery in a
worker, and by its app's `ready()` in every process, the web server's included).
"""

from collections.abc import Callable

from django.db import transaction

_senders: dict[str, Callable[..., None]] = {}


def register(name: str, sender: Callable[..., None]) -> None:
    """`sender(*args, **options)` hands the work `name` to a worker."""
    _senders[name] = sender


def enqueue_on_commit(name: str, *args, robust: bool = False, **options) -> None:
    """Hand the work to a worker once the surrounding transaction has committed (at once outside
    one). `robust`: a sender that fails (a broker that is down) is logged, not raised."""
    sender = _sender(name)
    transaction.on_commit(lambda: sender(*args, **options), robust=robust)


def _sender(name: str) -> Callable[..., None]:
    try:
        return _senders[name]
    except KeyError:
        raise LookupError(f"no task is registered for {name!r}: is its app's tasks module imported?") from None
