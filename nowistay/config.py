"""Parsing helpers for settings: kept out of settings.py so they can be tested on their own."""

import base64
import hashlib
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

INSTANCE_ID_PATTERN = re.compile(r"^[a-z0-9]{1,6}$")
# SECRET_KEY when none is set: serves a developer's machine only (production refuses it, nowistay/startup.py).
DEVELOPMENT_SECRET_KEY = "dev-insecure-nowistay-secret-key-change-me"
SAME_SITE_VALUES = {"lax": "Lax", "strict": "Strict", "none": "None"}
SQLITE_BUSY_TIMEOUT_SECONDS = 30
FILESYSTEM_BROKER_URL = "filesystem://localhost/"


def database_settings(config: dict, *, prepare_threshold: int | None = 5) -> dict:
    """Complete a parsed DATABASE_URL; SQLite gets what lets web, worker and beat write at once.

    PostgreSQL gets server-side parameters, and statements a connection runs `prepare_threshold`
    times are prepared (None: never): the server plans each hot statement once per connection,
    and the worker no longer quotes every parameter into the SQL (together a third less CPU per
    created code, benchmarks/lifecycle.py). Behind PgBouncer in transaction mode, prepared statements
    need PgBouncer 1.21+ with max_prepared_statements set, else DATABASE_PREPARE_THRESHOLD empty.
    """
    if config["ENGINE"] == "django.db.backends.sqlite3":
        options = config.setdefault("OPTIONS", {})
        # WAL lets readers run beside one writer; IMMEDIATE takes the write lock at BEGIN, so a
        # transaction never fails half-way on "database is locked"; the timeout makes it wait.
        options.setdefault("init_command", "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL")
        options.setdefault("transaction_mode", "IMMEDIATE")
        options.setdefault("timeout", SQLITE_BUSY_TIMEOUT_SECONDS)
    else:
        config.setdefault("CONN_MAX_AGE", 60)
        config.setdefault("CONN_HEALTH_CHECKS", True)
        options = config.setdefault("OPTIONS", {})
        options.setdefault("server_side_binding", True)
        options.setdefault("prepare_threshold", prepare_threshold)
    return config


def encryption_keys(configured: list[str], secret_key: str) -> list[str]:
    """The Fernet keys, newest first. Without any, one is derived from SECRET_KEY (development)."""
    keys = [key.strip() for key in configured if key.strip()]
    if not keys:
        digest = hashlib.sha256(f"nowistay-field-encryption:{secret_key}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    for key in keys:
        try:
            if len(base64.urlsafe_b64decode(key.encode())) != 32:
                raise ValueError
        except ValueError:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes); "
                "make one with: python manage.py generate_encryption_key"
            ) from None
    return keys


def validate_instance_id(value: str) -> str:
    """Short and plain, because it lives inside vendor code names (Nuki allows 20 characters)."""
    if not INSTANCE_ID_PATTERN.fullmatch(value):
        raise ImproperlyConfigured("INSTANCE_ID must be 1-6 lowercase letters or digits")
    return value


def proxy_ssl_header(value: str) -> tuple[str, str] | None:
    """SECURE_PROXY_SSL_HEADER from "HTTP_X_FORWARDED_PROTO,https"; empty: no proxy is trusted."""
    if not value.strip():
        return None
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != 2 or not parts[0].startswith("HTTP_") or not parts[1]:
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER must be a request header as Django names it and the value that means "
            "HTTPS, e.g. HTTP_X_FORWARDED_PROTO,https (or empty when no proxy sets it)"
        )
    return parts[0], parts[1]


def same_site(name: str, value: str) -> str:
    """A cookie's SameSite attribute: Lax, Strict or None (any case)."""
    try:
        return SAME_SITE_VALUES[value.strip().lower()]
    except KeyError:
        raise ImproperlyConfigured(f"{name} must be Lax, Strict or None") from None


def broker_settings(*, broker_url: str, result_url: str, var_dir: Path) -> dict:
    """Celery broker and results: Redis when configured, else kombu's server-less filesystem."""
    if broker_url:
        return {
            "CELERY_BROKER_URL": broker_url,
            "CELERY_RESULT_BACKEND": result_url or None,
            "CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": 3600},
        }
    queue_dir = var_dir / "broker" / "queue"
    processed_dir = var_dir / "broker" / "processed"
    control_dir = var_dir / "broker" / "control"
    for folder in (queue_dir, processed_dir, control_dir):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        # The folders below are the whole address; the host is named only because kombu warns
        # "No hostname was supplied" on every connection to a URL without one.
        "CELERY_BROKER_URL": FILESYSTEM_BROKER_URL,
        "CELERY_RESULT_BACKEND": result_url or None,
        "CELERY_BROKER_TRANSPORT_OPTIONS": {
            "data_folder_in": str(queue_dir),
            "data_folder_out": str(queue_dir),
            "processed_folder": str(processed_dir),
            "control_folder": str(control_dir),
            "store_processed": False,
        },
    }
