# Two commands do everything:  `make run`  and  `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
FLASK := $(VENV)/bin/flask --app wsgi
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
PYTHON ?= python3

.PHONY: run test test-sqlite test-postgres install install-dev worker bench clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: set up, migrate the SQLite file under instance/, seed the demo once, serve with the worker in-process
run: install
	CRM_CONFIG=development $(FLASK) db upgrade
	CRM_CONFIG=development $(FLASK) crm seed-demo
	CRM_CONFIG=development $(FLASK) crm serve --host 127.0.0.1 --port 5000

## worker: the scheduler as its own process (production shape)
worker: install
	$(FLASK) crm worker

## test: the whole suite on SQLite, then on PostgreSQL (required when CI=true)
test: install-dev
	$(MAKE) --no-print-directory test-sqlite
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(TEST_DATABASE_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		$(MAKE) --no-print-directory test-postgres; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL at $(TEST_DATABASE_URL) is unreachable and CI=true: failing"; exit 1; \
	else \
		echo "PostgreSQL at $(TEST_DATABASE_URL) is unreachable: skipped the PostgreSQL run"; \
	fi

test-sqlite: install-dev
	@echo "== tests on SQLite =="
	env -u TEST_DATABASE_URL $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install-dev
	@echo "== tests on PostgreSQL ($(TEST_DATABASE_URL)) =="
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest $(PYTEST_ARGS)

bench: install-dev
	$(PY) bench/import_contacts.py

clean:
	rm -rf $(VENV) instance *.egg-info .pytest_cache
