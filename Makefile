# Two commands do everything on a fresh clone: `make run` and `make test` (see README).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
# The integration half of `make test` runs on real services (CI starts them with .ci/run).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/soar
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test test-unit test-integration install install-dev lint clean

# Runtime packages only (what `make run` and a real deployment need) ...
$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# ... and the test and lint tools on top (Playwright, schemathesis, pytest, ruff, import-linter, mypy, pip-audit).
$(VENV)/.installed: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime

install-dev: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py load_demo_data
	# The development server only: /metrics for a Prometheus on this machine (it is closed by default).
	SOAR_METRICS_ALLOWLIST="$${SOAR_METRICS_ALLOWLIST-127.0.0.1/32,::1/128}" $(PY) manage.py runserver $(HOST):$(PORT)

test: install-dev
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory test-integration

# Both halves run in TEST_PROCESSES pytest-xdist processes (one per core of the CI machine): the
# unit tests are CPU-bound, the integration tests mostly wait for subprocesses and browsers.
# Each process has its own test database (pytest-django adds _gw0, _gw1), queues and service logs
# (tests/integration/conftest.py). TEST_PROCESSES=0 runs them in this process.
TEST_PROCESSES ?= 2

# Embedded stack: SQLite, Celery tasks in-process.
test-unit: install-dev
	env -u DATABASE_URL -u CELERY_BROKER_URL SOAR_VAR_DIR=$(CURDIR)/var/test \
		$(PY) -m pytest -m "not integration" -q -n $(TEST_PROCESSES) $(PYTEST_ARGS)

# Real PostgreSQL, Redis and Celery worker processes; refuses to skip. A module's tests stay in one
# process (--dist loadfile): several share a module-scoped server (slapd, Dovecot, Prometheus).
test-integration: install-dev
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) SOAR_REQUIRE_INTEGRATION=1 \
		SOAR_CELERY_QUEUE=test-$$$$ \
		$(PY) -m pytest -m integration -q -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

# pip-audit asks PyPI's JSON API (https://pypi.org/pypi/NAME/VERSION/json) about every installed
# package. Without that service (offline, or a mirror that has only part of PyPI) it would skip
# every package and still say "No known vulnerabilities found": lint says it is skipped
# instead. The probe: an old Django release, whose JSON lists known vulnerabilities. When the
# service answers, a vulnerability or a package that could not be audited fails lint.
PYPI_JSON_PROBE := https://pypi.org/pypi/Django/1.11/json
PROBE_VULNERABILITY_SERVICE := import json, sys, urllib.request; \
	sys.exit(not json.load(urllib.request.urlopen(sys.argv[1], timeout=10)).get("vulnerabilities"))

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	@if $(PY) -c '$(PROBE_VULNERABILITY_SERVICE)' "$(PYPI_JSON_PROBE)" 2>/dev/null; then \
		$(VENV)/bin/pip-audit --strict --progress-spinner off; \
	else \
		echo "pip-audit SKIPPED: the vulnerability service ($(PYPI_JSON_PROBE)) cannot be reached;" \
			"run 'make lint' with access to pypi.org to audit the dependencies." >&2; \
	fi

clean:
	rm -rf $(VENV) var .pytest_cache
