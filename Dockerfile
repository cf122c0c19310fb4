# syntax=docker/dockerfile:1
# Nowistay's image: web (gunicorn), Celery worker and beat, migrations. Runtime dependencies only
# (requirements.txt; the test tools are in requirements-dev.txt), a non-root user, static files
# compiled at build time. The build needs no secret and no database.

# --- build: the runtime dependencies in a virtualenv, from wheels only ---------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-cache-dir --only-binary=:all: -r /tmp/requirements.txt

# --- translations: the catalogues compiled by Django's compilemessages (GNU gettext's msgfmt) ------
FROM build AS translations
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext=0.21-12 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN /opt/venv/bin/python manage.py compilemessages -v 0

# --- runtime ---------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH
RUN groupadd --system --gid 10001 nowistay \
    && useradd --system --uid 10001 --gid nowistay --home-dir /app --no-create-home --shell /usr/sbin/nologin nowistay
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# The code stays root's: the app user can read it, not change it (.dockerignore keeps out .venv,
# .env, databases, var/ and caches).
COPY . .
COPY --from=translations /src/locale /app/locale
# Hashed names and gzip copies (WhiteNoise's manifest storage, DEBUG off). collectstatic is no entry
# point, so production's start-up refusal does not apply: the development SECRET_KEY serves here.
# var/ is the one folder the app writes (beat's schedule file when run without --schedule).
RUN python manage.py collectstatic --noinput \
    && mkdir -p var \
    && chown -R nowistay:nowistay var
# Numeric, so an orchestrator can verify it is not root (Kubernetes runAsNonRoot).
USER 10001:10001
EXPOSE 8000
# Liveness only (no database): a database outage must not get the web container restarted.
# docker-compose.yml gives worker and beat health checks of their own.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "deploy/probe.py", "/healthz"]
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "nowistay.wsgi:application"]
