# Two commands matter: `make run` (the product, with the demo) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
# make run's process manager, pinned in requirements-dev.txt with the other development tools.
HONCHO := $(shell grep -m1 '^honcho==' requirements-dev.txt)
HOST ?= 127.0.0.1
PORT ?= 8000
SANDBOX_PORT ?= 8100
SANDBOX := http://127.0.0.1:$(SANDBOX_PORT)

.PHONY: run test lint browser venv migrate demo worker beat web clean messages translations gettext

# requirements.txt: what production runs (and all the image installs); requirements-dev.txt: that
# and the development and test tools. `make test` installs both; `make run` the runtime and honcho.
venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP) $(RUN_STAMP)

$(RUN_STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt '$(HONCHO)'
	touch $(RUN_STAMP)

migrate: $(RUN_STAMP) messages
	$(BIN)/python manage.py migrate --noinput

# The translations (locale/*/LC_MESSAGES/django.po) compiled for Django: `make run`, `make test` and
# the image build compile them; `make translations` updates the catalogues after text changed.
messages: $(RUN_STAMP) gettext
	$(BIN)/python manage.py compilemessages --ignore .venv --ignore 'node_modules' -v 0

translations: $(RUN_STAMP) gettext
	$(BIN)/python manage.py update_translations

# GNU gettext (msgfmt, xgettext), which Django's compilemessages and makemessages run.
gettext:
	@command -v msgfmt >/dev/null || { echo "installing GNU gettext"; $(APT_GET) install -y -qq gettext >/dev/null 2>&1 \
	  || { $(APT_GET) update -qq && $(APT_GET) install -y -qq gettext >/dev/null; }; }

demo: migrate
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py seed_demo_messages

# The demo runs in development mode (DEBUG on: production's start-up refusals and the demo-only
# commands' refusals do not apply) and points every vendor at the sandbox lock clouds (a process
# of their own). Target-specific, so `demo` and `migrate` get them too when `run` builds them.
run: export DEBUG = true
run: export SANDBOX_URL = $(SANDBOX)
# The site's own address: the SMS emulator posts Twilio-style status callbacks to it, signed over it.
run: export SITE_URL = http://$(HOST):$(PORT)

# Sandbox, web server, Celery worker and beat under honcho (Procfile.dev); Ctrl-C stops them all.
run: demo
	$(BIN)/python manage.py seed_api_token --url http://$(HOST):$(PORT)
	@echo "Nowistay: http://$(HOST):$(PORT)/   sandbox lock clouds and door pages: $(SANDBOX)/   (URLs and logins are printed again once everything is up)"
	WEB_HOST=$(HOST) WEB_PORT=$(PORT) SANDBOX_PORT=$(SANDBOX_PORT) $(BIN)/honcho -f Procfile.dev start

test: venv messages
	$(BIN)/pytest

# ruff, configured in pyproject.toml: every rule on the whole tree; the formatter only on the paths
# already written its way (the older modules keep several arguments a line, which it would spread
# one a line). Add a package here once it is formatted.
FORMATTED := manage.py deploy accounts/management bookings/management nowistay/management tests/helpers
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $(FORMATTED)

# Debian's Chromium for the browser tests (tests/browser, skipped without it); apt-get needs root, else sudo.
# Quiet; `apt-get update` only when the install fails without it. .ci/run calls this too.
CHROMIUM := /usr/bin/chromium
APT_GET := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "installing Debian's chromium (for the browser tests)"; \
	  $(APT_GET) install -y -qq chromium >/dev/null 2>&1 \
	    || { $(APT_GET) update -qq && $(APT_GET) install -y -qq chromium >/dev/null; }; \
	fi
	@$(CHROMIUM) --version 2>/dev/null

clean:
	find locale -name '*.mo' -delete
	rm -rf $(VENV) var db.sqlite3 db.sqlite3-wal db.sqlite3-shm .pytest_cache staticfiles
