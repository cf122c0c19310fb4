"""Django settings, read from the environment (see .env.example for every variable)."""

import os
import re
import sys
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from nowistay.config import (
    DEVELOPMENT_SECRET_KEY,
    broker_settings,
    database_settings,
    encryption_keys,
    proxy_ssl_header,
    same_site,
    validate_instance_id,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The insecure default only ever serves a developer's machine: with DEBUG off, the web server, the
# worker and beat refuse to start on it (nowistay/startup.py), as on an empty ALLOWED_HOSTS.
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Django's admin with the default site replaced: staff need a verified second factor (accounts.admin_site).
    "accounts.apps.VerifiedAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",  # serves the API docs' Swagger UI from /static/ (no CDN)
    "axes",  # sign-in throttling (accounts.throttle)
    "django_otp",  # two-factor authentication (accounts.two_factor)
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "nowistay",
    "accounts",
    "bookings",
    "locks",
    "messaging",
    "events",
]

MIDDLEWARE = [
    # First: /healthz and /readyz answer a load balancer probing by IP over plain HTTP, before host
    # validation, the HTTPS redirect, sessions and CSRF, and never set a cookie (nowistay.health).
    "nowistay.health.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A request id on every request: in its log lines, its response and the tasks it enqueues (nowistay.logs).
    "nowistay.logs.RequestIdMiddleware",
    # /metrics for a scraper with METRICS_TOKEN, answered before host validation and sessions (nowistay.metrics).
    "nowistay.metrics.MetricsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before the session: a query string or cookie with NUL or control characters never reaches a query.
    "nowistay.middleware.PlainTextRequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "nowistay.languages.HostLanguageMiddleware",  # after auth: the host's profile language, else the browser's
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): signed in with the second factor
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: ends idle sessions and those ended by "Sign out everywhere" (accounts.sessions).
    "accounts.middleware.SessionSecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a sign-in refused by the throttle into the lock-out page (accounts.throttle).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "nowistay.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

WSGI_APPLICATION = "nowistay.wsgi.application"

_PREPARE_THRESHOLD = env.str("DATABASE_PREPARE_THRESHOLD", default="5").strip()  # empty: never prepare
DATABASES = {
    "default": database_settings(
        env.db_url_config(env.str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")),
        prepare_threshold=int(_PREPARE_THRESHOLD) if _PREPARE_THRESHOLD else None,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
# A sensitive action (accounts.reauth) asks for the password again after this long.
REAUTHENTICATION_MAX_AGE_SECONDS = env.int("REAUTHENTICATION_MAX_AGE_SECONDS", default=600)
# Reset emails sent for one address in an hour (ten times that per client address).
PASSWORD_RESET_REQUESTS_PER_HOUR = env.int("PASSWORD_RESET_REQUESTS_PER_HOUR", default=3)
# How many proxies in front of the app append to X-Forwarded-For (0: trust REMOTE_ADDR only).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Account security: sign-in throttling, two-factor authentication, sessions (accounts/) ------
# The throttle first (it refuses a locked-out sign-in before any password is checked), then the
# user model's backend, which also reads the "sign out everywhere" moment with the user.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "accounts.backends.AccountBackend"]
# Failed sign-ins counted separately per account (the username typed, whether or not it exists)
# and per client address, within SIGN_IN_LOCKOUT_SECONDS; at the limit that account or address is
# locked out for SIGN_IN_LOCKOUT_SECONDS, doubled for each earlier lock-out of it within
# SIGN_IN_LOCKOUT_MEMORY_SECONDS, up to SIGN_IN_LOCKOUT_MAX_SECONDS. Wrong second-factor codes count too.
SIGN_IN_FAILURES_PER_ACCOUNT = env.int("SIGN_IN_FAILURES_PER_ACCOUNT", default=5)
SIGN_IN_FAILURES_PER_ADDRESS = env.int("SIGN_IN_FAILURES_PER_ADDRESS", default=20)
SIGN_IN_LOCKOUT_SECONDS = env.int("SIGN_IN_LOCKOUT_SECONDS", default=900)
SIGN_IN_LOCKOUT_MAX_SECONDS = env.int("SIGN_IN_LOCKOUT_MAX_SECONDS", default=86400)
SIGN_IN_LOCKOUT_MEMORY_SECONDS = env.int("SIGN_IN_LOCKOUT_MEMORY_SECONDS", default=86400)
# How long the second step of a sign-in (the authenticator or recovery code) waits after the password.
SIGN_IN_CODE_TIMEOUT_SECONDS = env.int("SIGN_IN_CODE_TIMEOUT_SECONDS", default=300)
# django-axes (8.3.1): counting and refusing; the growth and the lock-out page are accounts.throttle's.
AXES_HANDLER = "accounts.throttle.SignInThrottleHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # two separate keys, each with its own limit
AXES_FAILURE_LIMIT = "accounts.throttle.failure_limit"
AXES_COOLOFF_TIME = timedelta(seconds=SIGN_IN_LOCKOUT_SECONDS)  # a constant on purpose: see accounts.throttle
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the time the lock-out page names stays true
AXES_CLIENT_IP_CALLABLE = "accounts.client.client_ip_address"
AXES_LOCKOUT_CALLABLE = "accounts.throttle.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are in the security log (accounts.SecurityEvent)
# Never kept in axes' record of a failed attempt's form data.
AXES_SENSITIVE_PARAMETERS = [
    "username", "ip_address", "password", "code", "csrfmiddlewaretoken", "old_password", "new_password1", "new_password2",
]
# django-otp (1.7.5): TOTP authenticator apps and one-time recovery codes.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Nowistay")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows a TOTP secret or a recovery code
# Sessions: signed out after this long without a request, and at the latest SESSION_COOKIE_AGE after signing in.
SESSION_IDLE_TIMEOUT_SECONDS = env.int("SESSION_IDLE_TIMEOUT_SECONDS", default=1800)
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)

# Host pages and emails: the profile's language, else the browser's (nowistay.languages); catalogues in locale/.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("es", "Español"), ("de", "Deutsch"), ("it", "Italiano"), ("pt", "Português")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# With DEBUG off, static files get content-hashed names and gzip copies, built by `collectstatic`
# (the image runs it at build time) and served by WhiteNoise with a year-long immutable cache;
# until a manifest exists (a test run, a fresh checkout) each file keeps its own name
# (nowistay.storage). With DEBUG on (`make run`), runserver serves the source files as they are.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "nowistay.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Email -----------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Nowistay <no-reply@nowistay.example>")
# A hung SMTP server must not hold a message past its claim (10 minutes): it would be sent twice.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# --- Encryption at rest ----------------------------------------------------------------------
# Fernet keys, newest first: new values are encrypted with the first, any of them decrypts.
FIELD_ENCRYPTION_KEYS = encryption_keys(env.list("FIELD_ENCRYPTION_KEYS", default=[]), SECRET_KEY)

# Prefixes our codes' names on locks: two installations sharing a vendor account never mix them up.
INSTANCE_ID = validate_instance_id(env.str("INSTANCE_ID", default="nw"))
# Set by `make run` only: the connect panels then show the sandbox clouds' demo sign-ins.
SANDBOX_URL = env.str("SANDBOX_URL", default="")
from nowistay.channel_settings import *  # noqa: E402, F403 - guest message channels (SMS, WhatsApp)

# --- Vendors (every adapter reads its URLs from here, so tests and the sandbox can redirect) ---
TTLOCK_API_URL = env.str("TTLOCK_API_URL", default="https://euapi.ttlock.com")
TTLOCK_CLIENT_ID = env.str("TTLOCK_CLIENT_ID", default="")
TTLOCK_CLIENT_SECRET = env.str("TTLOCK_CLIENT_SECRET", default="")
TEDEE_API_URL = env.str("TEDEE_API_URL", default="https://api.tedee.com")
TEDEE_AUTH_URL = env.str("TEDEE_AUTH_URL", default="https://tedee.b2clogin.com/tedee.onmicrosoft.com")
TEDEE_CLIENT_ID = env.str("TEDEE_CLIENT_ID", default="")
TEDEE_CLIENT_SECRET = env.str("TEDEE_CLIENT_SECRET", default="")
# Tedee retires API versions; pin the one the adapter was written against.
TEDEE_API_VERSION = env.str("TEDEE_API_VERSION", default="v37")
NUKI_API_URL = env.str("NUKI_API_URL", default="https://api.nuki.io")
NUKI_CLIENT_ID = env.str("NUKI_CLIENT_ID", default="")
NUKI_CLIENT_SECRET = env.str("NUKI_CLIENT_SECRET", default="")
IGLOOHOME_API_URL = env.str("IGLOOHOME_API_URL", default="https://api.igloodeveloper.co/igloohome")
IGLOOHOME_AUTH_URL = env.str("IGLOOHOME_AUTH_URL", default="https://auth.igloohome.co")
VENDOR_HTTP_TIMEOUT_SECONDS = env.float("VENDOR_HTTP_TIMEOUT_SECONDS", default=20.0)
# Any vendor's addresses from the environment (<VENDOR>_API_URL, <VENDOR>_AUTH_URL), each with its public default.
globals().update({name: value for name, value in os.environ.items() if re.fullmatch(r"[A-Z][A-Z0-9]*_(API|AUTH)_URL", name)})
# `make run` (DEBUG, SANDBOX_URL): every vendor on the sandbox's virtual clouds, at the addresses the
# sandbox declares (a vendor added there needs no line here); a setting given in the environment wins.
if DEBUG and SANDBOX_URL:
    from sandbox.demo_sign_ins import vendor_settings

    globals().update({name: value for name, value in vendor_settings(SANDBOX_URL).items() if name not in os.environ})

# --- Code lifecycle timing (settings so tests and benchmarks can compress time) ----------------
LOCKS_RETRY_INTERVAL_SECONDS = env.int("LOCKS_RETRY_INTERVAL_SECONDS", default=3600)
# A worker holds a batch for this long after it last renewed its claim (it renews while it works).
LOCKS_CLAIM_LEASE_SECONDS = env.int("LOCKS_CLAIM_LEASE_SECONDS", default=300)
# How long a queued batch waits for a worker before a pass may claim it again (over a pass period).
LOCKS_QUEUE_LEASE_SECONDS = env.int("LOCKS_QUEUE_LEASE_SECONDS", default=3600)
LOCKS_SWEEP_PERIOD_SECONDS = env.int("LOCKS_SWEEP_PERIOD_SECONDS", default=900)
# Codes claimed per query by the scheduler pass, and per worker task (LOCKS_MESSAGES_PER_CLAIM: at most
# this many task messages per claim, a burst going out in larger batches, locks.tasks.task_batch_size).
LOCKS_CLAIM_BATCH_SIZE = env.int("LOCKS_CLAIM_BATCH_SIZE", default=5000)
LOCKS_TASK_BATCH_SIZE = env.int("LOCKS_TASK_BATCH_SIZE", default=8)
LOCKS_MESSAGES_PER_CLAIM = env.int("LOCKS_MESSAGES_PER_CLAIM", default=128)
# After a "Retry now" on a code, further presses within this many seconds are refused (one vendor call).
LOCKS_RETRY_NOW_COOLDOWN_SECONDS = env.int("LOCKS_RETRY_NOW_COOLDOWN_SECONDS", default=30)
# How often a write that may be on the lock but is not listed yet is looked for again.
LOCKS_LOOK_AGAIN_SECONDS = env.int("LOCKS_LOOK_AGAIN_SECONDS", default=30)
# Unset: each vendor's own listing delay (Capabilities.listing_delay); set (seconds) only where time is compressed.
LOCKS_LISTING_DELAY_SECONDS = env.int("LOCKS_LISTING_DELAY_SECONDS", default=None)
# Read-backs of one lock per day (its listing, access log and health read together; issue 19):
# half spread over the day, the rest before check-ins and after writes (locks.services.read_back_schedule).
LOCKS_READ_BACKS_PER_LOCK_PER_DAY = env.int("LOCKS_READ_BACKS_PER_LOCK_PER_DAY", default=24)
# Vendor API budget per lock account (locks.services.api_budget), counted from the vendor-call audit;
# a vendor missing (or 0) has no cap. TTLock 5,000 a month: the cap its users report (hass-ttlock#104;
# UNVERIFIED, reference addendum §7). Tedee: 700 requests an hour per user. The others document none.
# Override one vendor, e.g. LOCKS_VENDOR_MONTHLY_BUDGET=ttlock=20000 (a paid TTLock developer account).
def _calls_per_vendor(name: str, defaults: dict[str, int]) -> dict[str, int]:
    return {**defaults, **{slug: int(calls) for slug, calls in env.dict(name, default={}).items()}}


LOCKS_VENDOR_MONTHLY_BUDGET = _calls_per_vendor("LOCKS_VENDOR_MONTHLY_BUDGET", {"ttlock": 5000})
LOCKS_VENDOR_DAILY_BUDGET = _calls_per_vendor("LOCKS_VENDOR_DAILY_BUDGET", {"tedee": 700 * 24})

# --- Vendor rate limits (locks/providers/rate_limits.py; counted in Redis, REDIS_URL, by every process) ---
# Per vendor: "app" (our developer app) and "account" (one connected account); `limits` strings ("20/second;…").
# Environment: LOCKS_RATE_LIMIT_<VENDOR>_APP and _ACCOUNT (e.g. LOCKS_RATE_LIMIT_TEDEE_ACCOUNT=650/hour).
# A request over a limit waits (its step is rescheduled at the window's end), never fails.
LOCKS_RATE_LIMITS_ENABLED = env.bool("LOCKS_RATE_LIMITS_ENABLED", default=True)
# Reads (read-backs: listings, access logs, health) use at most this share of each window: writes keep the rest.
LOCKS_RATE_LIMIT_READ_SHARE = env.float("LOCKS_RATE_LIMIT_READ_SHARE", default=0.8)
_VENDOR_RATE_LIMIT_DEFAULTS = {
    # TTLock: per-app call limit (errcode 30006) and monthly quota exist, numbers UNVERIFIED: conservative guesses.
    "ttlock": {"app": "20/second", "account": "5/second"},
    # Tedee: 700 requests per hour per user account, then 429 until the next hour (addendum §7, [TD-RL]); ours a bit under.
    "tedee": {"app": "", "account": "650/hour;5/second"},
    # Nuki: "free and not limited", with spam/abuse protection (addendum §7, [N-PRICE]): stay clear of it.
    "nuki": {"app": "50/second", "account": "10/second"},
    # igloohome and homeit: request limits UNVERIFIED (addendum §7): conservative guesses.
    "igloohome": {"app": "10/second", "account": "5/second"},
    "homeit": {"app": "10/second", "account": "5/second"},
}
LOCKS_VENDOR_RATE_LIMITS = {
    vendor: {kind: env.str(f"LOCKS_RATE_LIMIT_{vendor.upper()}_{kind.upper()}", default=value) for kind, value in kinds.items()}
    for vendor, kinds in _VENDOR_RATE_LIMIT_DEFAULTS.items()
}

# Shared by every process when it is Redis (the API's rate limits and the sign-in throttle count there).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# Requests per host (the PMS API, /api/v1/), all its tokens together, e.g. 120/minute; over it, 429.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="120/minute")
# Failed bearer authentications per client address; over it, that address gets 429 until the window ends.
API_AUTH_FAILURE_LIMIT = env.str("API_AUTH_FAILURE_LIMIT", default="20/10minutes")
# Active (neither revoked nor expired) API tokens a host may hold at once.
API_MAX_TOKENS_PER_HOST = env.int("API_MAX_TOKENS_PER_HOST", default=10)
# This site's public URL (scheme and host, no path): the server the API's OpenAPI document names.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Retention (locks.services.housekeeping, run daily): audit rows, then guests' personal data.
RETENTION_AUDIT_DAYS = env.int("RETENTION_AUDIT_DAYS", default=180)
RETENTION_GUEST_DATA_DAYS = env.int("RETENTION_GUEST_DATA_DAYS", default=365)
# Events (feed, webhooks) kept this long; a delivery retried this long; an endpoint failing this long disabled.
EVENTS_RETENTION_DAYS, WEBHOOK_RETRY_HOURS = env.int("EVENTS_RETENTION_DAYS", default=30), env.int("WEBHOOK_RETRY_HOURS", default=72)
WEBHOOK_DISABLE_AFTER_HOURS = env.int("WEBHOOK_DISABLE_AFTER_HOURS", default=24)

# --- Celery ----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
_broker_url, _result_url = env.str("CELERY_BROKER_URL", default="") or REDIS_URL, env.str("CELERY_RESULT_BACKEND", default="") or REDIS_URL
vars().update(broker_settings(broker_url=_broker_url, result_url=_result_url, var_dir=VAR_DIR))
# Threads-pool workers are I/O bound: a short GIL switch interval keeps answered threads moving.
WORKER_GIL_SWITCH_INTERVAL_SECONDS = env.float("WORKER_GIL_SWITCH_INTERVAL_SECONDS", default=0.001)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Worker and beat log their stdout (`make run`'s console emails) through "celery.redirected" (WARNING by default).
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# One beat at a time (nowistay/beat.py): the running beat renews a lock in Redis; another beat
# stands by and takes over this many seconds after the first stopped renewing it.
BEAT_LOCK_TTL_SECONDS = env.int("BEAT_LOCK_TTL_SECONDS", default=60)
# Two queues per vendor (locks.tasks.vendor_queue), its writes and its read-backs: one vendor's
# backlog never starves another's, and reading locks back never queues in front of writing codes.
LOCKS_VENDOR_QUEUES = ("ttlock", "tedee", "nuki", "igloohome", "homeit")
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue(CELERY_TASK_DEFAULT_QUEUE), *(Queue(f"locks.{v}{k}") for v in LOCKS_VENDOR_QUEUES for k in ("", ".reads"))]
CELERY_BEAT_SCHEDULE = {
    # Creation, hourly retries, updates, revokes and expiry are all due work found by this pass;
    # it runs every 15 minutes so moments in :30 and :45 zones are honoured.
    "locks-scheduler-pass": {"task": "locks.tasks.scheduler_pass", "schedule": float(LOCKS_SWEEP_PERIOD_SECONDS)},
    # Bookings a missed event left without a code (set-based; the pass claims what it plans).
    "locks-missing-codes": {"task": "locks.tasks.missing_codes_pass", "schedule": float(LOCKS_SWEEP_PERIOD_SECONDS)},
    # Lock read-backs (over the day, before check-ins, after writes): a pass of their own.
    "locks-read-back-pass": {"task": "locks.tasks.read_back_pass", "schedule": float(LOCKS_SWEEP_PERIOD_SECONDS)},
    # Keeps idle vendor connections alive (e.g. Tedee refresh tokens expire after 14 days unused).
    "locks-keep-accounts-alive": {"task": "locks.tasks.keep_accounts_alive", "schedule": 6 * 3600.0},
    "prune-old-data": {"task": "nowistay.tasks.prune_old_data", "schedule": 24 * 3600.0},
    # Guest messages that came due (in each property's time zone); codes becoming active also send at once.
    "messaging-send-due-messages": {"task": "messaging.tasks.send_due_messages", "schedule": 300.0},
    # No guest left outside: the escalation ladder's steps (warn, fallback code, remind) and backup codes.
    "locks-ladder": {"task": "locks.tasks.ladder_pass", "schedule": float(LOCKS_SWEEP_PERIOD_SECONDS)},
    "locks-backup-pools": {"task": "locks.tasks.tend_backup_pools", "schedule": 600.0},
    "events-deliver-due": {"task": "events.tasks.deliver_due_webhooks", "schedule": 60.0},
    "events-prune": {"task": "events.tasks.prune_events", "schedule": 24 * 3600.0},
}

# --- Logs, error reporting, metrics ------------------------------------------------------------
# json: one JSON object per line, for production (nowistay.logs); text: readable lines, for `make run`
# and the test suite. Web server, worker and beat alike (nowistay.celery hands Celery its logging).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="") or ("text" if DEBUG or "pytest" in sys.modules else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f'LOG_FORMAT must be "json" or "text", not {LOG_FORMAT!r}.')
LOGGING_CONFIG = "nowistay.logs.configure_logging"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "nowistay.logs.ContextFilter"}},
    "formatters": {"json": {"()": "nowistay.logs.JsonFormatter"}, "text": {"()": "nowistay.logs.TextFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's records reach the root handler only (its default console handler would print them twice).
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True}},
}

# Error reports to Sentry (or a Sentry-compatible service) when SENTRY_DSN is set: web requests and
# Celery tasks, scrubbed of PINs, tokens, passwords and guests' contact details (nowistay.error_reporting).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from nowistay.error_reporting import error_reporting_start

    error_reporting_start(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)

# Prometheus metrics at /metrics for "Authorization: Bearer <METRICS_TOKEN>"; no token: 404 (nowistay.metrics).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Vendor calls are counted over this many seconds before each scrape (from the VendorCall audit rows).
METRICS_VENDOR_CALL_WINDOW_SECONDS = env.int("METRICS_VENDOR_CALL_WINDOW_SECONDS", default=300)
# A scraper inside the private network speaks plain http: no redirect to https for /metrics.
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]

# --- HTTPS, cookies and security headers -----------------------------------------------------
# Cookies HTTPS-only with DEBUG off. Redirects and HSTS off until set (deploy/production.env.example):
# a redirect behind a TLS proxy that does not say so loops; HSTS cannot be taken back.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Only behind a proxy that sets this header on every request (and drops a client's own).
SECURE_PROXY_SSL_HEADER = proxy_ssl_header(env.str("SECURE_PROXY_SSL_HEADER", default=""))
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE  # the language a visitor chose before signing in
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# Lax, not Strict: the vendors' sign-in pages (Tedee, Nuki) redirect back to a page that needs the session.
SESSION_COOKIE_SAMESITE = same_site("SESSION_COOKIE_SAMESITE", env.str("SESSION_COOKIE_SAMESITE", default="Lax"))
CSRF_COOKIE_SAMESITE = same_site("CSRF_COOKIE_SAMESITE", env.str("CSRF_COOKIE_SAMESITE", default="Lax"))
# Pages send the CSRF token from the template (base.html's hx-headers), so no script reads the cookie.
CSRF_COOKIE_HTTPONLY = env.bool("CSRF_COOKIE_HTTPONLY", default=True)
SECURE_REFERRER_POLICY = env.str("SECURE_REFERRER_POLICY", default="same-origin")
# Fixed, not read from the environment: nothing this product serves needs them weaker.
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
