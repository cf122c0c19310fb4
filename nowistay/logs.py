"""Logs: one format for the web server, the Celery worker and beat, chosen by LOG_FORMAT.

`json` (production): one JSON object per line (python-json-logger), with the request id and the
booking, code and account ids as fields. `text` (`make run`, the test suite): readable lines that
end with the same ids. Either way a record carries:

- `request_id`: from the `X-Request-ID` header when it is sane, else generated; echoed in the
  response and carried into the Celery tasks the request enqueues (a message header read back
  before the task runs), so a worker's lines of that task carry it too.
- the fields bound with `log_fields(...)` around a piece of work (a task binds its id arguments and
  its own id and name; a code's lifecycle step its code, booking and account ids).

No field is ever a secret or a guest's contact detail (nowistay.scrub), and objects passed as
`extra` (Django's request, Celery's task context) are left out: only plain values are written.
"""

import contextlib
import contextvars
import inspect
import logging
import logging.config
import re
import uuid
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from nowistay.scrub import FILTERED, is_sensitive_name, scrub_text

REQUEST_ID_HEADER = "X-Request-ID"
# A client's or proxy's id is kept when it is this plain: a UUID, a hex digest, a trace id.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{8,128}")
# The task header that carries the request id from the publishing process to the worker.
TASK_HEADER = "request_id"
# Arguments of a task that become fields of every line the task logs.
TASK_ARGUMENTS_LOGGED = ("booking_id", "code_id", "code_ids", "account_id", "delivery_ids")
# The fields a JSON line starts with after the message, in this order (any other extras follow).
CONTEXT_FIELDS = ("request_id", "task_name", "task_id", "booking_id", "code_id", "code_ids", "account_id", "delivery_ids")
# Those a text line ends with (Celery's own lines already name the task and its id).
TEXT_FIELDS = tuple(name for name in CONTEXT_FIELDS if name not in ("task_name", "task_id"))

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# Read-only default: log_fields() binds a new dict each time, never changes the one it read.
_fields: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("log_fields", default=MappingProxyType({}))


# --- context --------------------------------------------------------------------------------------

def current_request_id() -> str | None:
    return _request_id.get()


def sane_request_id(candidate: object) -> str | None:
    """The candidate if it may be written to logs and headers as it is, else None."""
    if isinstance(candidate, str) and SANE_REQUEST_ID.fullmatch(candidate):
        return candidate
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextlib.contextmanager
def log_fields(**fields: Any) -> Iterator[None]:
    """Every line logged inside the block (in this thread or task) carries these fields."""
    token = _fields.set({**_fields.get(), **fields})
    try:
        yield
    finally:
        _fields.reset(token)


class ContextFilter(logging.Filter):
    """Adds the request id and the bound fields to every record a handler writes (an explicit
    `extra=` of the same name wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _request_id.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        for name, value in _fields.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


# --- formatters -----------------------------------------------------------------------------------

class TextFormatter(logging.Formatter):
    """`2026-05-09 10:00:00,123 INFO locks.providers.http TTLock POST … [request_id=… code_id=5]`."""

    def __init__(self, *args, **kwargs):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = scrub_text(super().formatMessage(record))
        context = " ".join(f"{name}={_plain(getattr(record, name))}" for name in TEXT_FIELDS if hasattr(record, name))
        return f"{line} [{context}]" if context else line

    def formatException(self, ei) -> str:
        return scrub_text(super().formatException(ei))


def _plain(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value)


# Fields every JSON line has, in this order; extras follow, then the traceback.
_CORE_FIELDS = ("timestamp", "level", "logger", "message")
_TRACE_FIELDS = ("exc_info", "stack_info")
_PLAIN_TYPES = (str, int, float, bool, type(None))


class JsonFormatter(_JsonFormatter):
    """`{"timestamp": …, "level": "INFO", "logger": …, "message": …, "request_id": …, "code_id": 5}`.

    Extras are written only when they are plain values (or lists of them), so an object passed
    as `extra` (Django's `request`, whose repr holds the query string) is never dumped; values of
    secret-looking names are replaced; messages and tracebacks are scrubbed (nowistay.scrub)."""

    def __init__(self, *args, **kwargs):
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        celery_data = log_data.pop("data", None)
        if isinstance(celery_data, dict):  # Celery's task lifecycle lines: the task, not its arguments
            log_data.setdefault("task_id", celery_data.get("id"))
            log_data.setdefault("task_name", celery_data.get("name"))
        line = {name: log_data.pop(name) for name in _CORE_FIELDS if name in log_data}
        line["message"] = scrub_text(str(line.get("message", "")))
        trace = {name: scrub_text(str(log_data.pop(name))) for name in _TRACE_FIELDS if name in log_data}
        for name in [*(name for name in CONTEXT_FIELDS if name in log_data), *sorted(set(log_data) - set(CONTEXT_FIELDS))]:
            value = _safe_value(name, log_data[name])
            if value is not _LEFT_OUT:
                line[name] = value
        line.update(trace)
        return line


_LEFT_OUT = object()


def _safe_value(name: str, value: Any) -> Any:
    if is_sensitive_name(name):
        return FILTERED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, _PLAIN_TYPES):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, _PLAIN_TYPES) for item in value):
        return [scrub_text(item) if isinstance(item, str) else item for item in value]
    return _LEFT_OUT


# --- configuration --------------------------------------------------------------------------------

_celery_level: int | str | None = None


def configure_logging(config: dict) -> None:
    """Django's LOGGING_CONFIG. Beat sets up logging (with `--loglevel`) before Django does:
    Django's own set-up afterwards keeps that level."""
    logging.config.dictConfig(config)
    if _celery_level is not None:
        logging.getLogger().setLevel(_celery_level)


def gunicorn_logconfig_dict(config: dict) -> dict:
    """Gunicorn's `logconfig_dict` (in its config file): its own lines ("Booting worker", the access
    log) through the same handler and format as the application's, e.g.
    `logconfig_dict = gunicorn_logconfig_dict(django.conf.settings.LOGGING)`."""
    through_root = {"handlers": [], "propagate": True, "level": "INFO"}
    return {**config, "loggers": {**config.get("loggers", {}), "gunicorn.error": through_root, "gunicorn.access": through_root}}


def _configured_here() -> bool:
    return any(isinstance(found, ContextFilter) for handler in logging.getLogger().handlers for found in handler.filters)


def celery_setup_logging(loglevel=None, **kwargs) -> None:
    """Celery's setup_logging signal: Celery then leaves the root logger to Django's LOGGING (same
    format, same fields) instead of installing its own handler; `--loglevel` still applies."""
    global _celery_level
    if not _configured_here():
        from django.conf import settings

        logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        _celery_level = loglevel
        logging.getLogger().setLevel(loglevel)


def redirect_worker_output(sender=None, instance=None, **kwargs) -> None:
    """celeryd_after_setup: what the worker prints (the console email backend's emails) is logged
    as the "celery.redirected" logger's lines, as Celery does when it sets up logging itself."""
    if instance is not None and instance.redirect_stdouts:
        instance.app.log.redirect_stdouts(instance.redirect_stdouts_level)


def redirect_beat_output(sender=None, **kwargs) -> None:
    """beat_init: the same for beat."""
    app = getattr(sender, "app", None)
    if app is not None and app.conf.worker_redirect_stdouts:
        app.log.redirect_stdouts(app.conf.worker_redirect_stdouts_level)


# --- the request id, in the web process and into tasks ---------------------------------------------

def _forget_request_id(**kwargs) -> None:
    _request_id.set(None)


class RequestIdMiddleware:
    """Gives every request an id: the client's `X-Request-ID` when it is sane (8 to 128 letters,
    digits, `.`, `_`, `:` or `-`), else a new one. Every line logged while handling the request
    carries it; the response echoes it. It is forgotten when the response is closed
    (request_finished), after Django logged the response's status."""

    def __init__(self, get_response):
        from django.core.signals import request_finished

        self.get_response = get_response
        request_finished.connect(_forget_request_id, dispatch_uid="nowistay.logs.forget_request_id")

    def __call__(self, request):
        request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
        _request_id.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def add_request_id_to_task(sender=None, headers=None, **kwargs) -> None:
    """before_task_publish: the message of a task enqueued while handling a request (or by a task
    that has one) carries the request id."""
    request_id = _request_id.get()
    if request_id is not None and headers is not None:
        headers[TASK_HEADER] = request_id


def bind_task_context(sender=None, task_id=None, task=None, args=None, kwargs=None, **extra) -> None:
    """task_prerun: the task's lines carry its request id (from the message), its id and name, and
    its id arguments. A task run eagerly keeps the id of the request it runs in."""
    request = task.request
    tokens = [_fields.set({**_fields.get(), "task_name": task.name, "task_id": task_id, **_id_arguments(task, args, kwargs)})]
    incoming = sane_request_id(getattr(request, TASK_HEADER, None) or (getattr(request, "headers", None) or {}).get(TASK_HEADER))
    if incoming is not None or not request.is_eager:
        tokens.append(_request_id.set(incoming))
    request.nowistay_log_tokens = tokens


def unbind_task_context(sender=None, task=None, **kwargs) -> None:
    """task_postrun: a worker thread's next task starts without this one's context."""
    for token in reversed(getattr(task.request, "nowistay_log_tokens", [])):
        token.var.reset(token)
    task.request.nowistay_log_tokens = []


def _id_arguments(task, args, kwargs) -> dict[str, Any]:
    try:
        bound = inspect.signature(task.run).bind_partial(*(args or ()), **(kwargs or {}))
    except (TypeError, ValueError):
        return {}
    return {name: value for name, value in bound.arguments.items() if name in TASK_ARGUMENTS_LOGGED}
