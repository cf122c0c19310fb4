"""Settings of the sandbox lock clouds: a process of its own, never mounted by the product."""

from pathlib import Path

import environ

from nowistay.config import database_settings

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = env.bool("SANDBOX_DEBUG", default=False)
SECRET_KEY = env.str("SANDBOX_SECRET_KEY", default="sandbox-only-not-a-secret")
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.messages", "django.contrib.sessions", "sandbox"]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "sandbox.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": ["django.template.context_processors.request", "django.contrib.messages.context_processors.messages"],
        },
    }
]
DATABASES = {
    "default": database_settings(
        env.db_url_config(env.str("SANDBOX_DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'sandbox.sqlite3'}"))
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"
# Tokens the sandbox issues live this long, so refresh paths are exercised in a demo session.
SANDBOX_TOKEN_LIFETIME_SECONDS = env.int("SANDBOX_TOKEN_LIFETIME_SECONDS", default=7200)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
