# Two commands matter: `make run` (the product, with the demo) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test venv migrate demo worker beat web clean

venv: $(STAMP)

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

migrate: venv
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

# Web server, Celery worker and beat under honcho (Procfile.dev); Ctrl-C stops all three.
run: demo
	@echo "Nowistay: http://$(HOST):$(PORT)/  (Ctrl-C stops web, worker and beat)"
	HOST=$(HOST) PORT=$(PORT) $(BIN)/honcho -f Procfile.dev start

test: venv
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var db.sqlite3 db.sqlite3-wal db.sqlite3-shm .pytest_cache
