# Two commands do everything:  `make run`  and  `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
FLASK := $(VENV)/bin/flask --app wsgi
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
PYTHON ?= python3

.PHONY: run lint test test-sqlite test-postgres test-shifted test-summary install install-dev worker bench clean \
	translations translations-extract translations-update translations-compile

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/activate
	$(PIP) install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed translations-compile
install-dev: $(VENV)/.installed-dev translations-compile

## translations: after adding or changing marked strings (_(), _l(), {{ _('...') }}): extract them
## to crm/translations/messages.pot, merge them into each language's .po (new strings empty,
## changed ones fuzzy: translate both, see tests/test_translations.py), compile the .mo files.
## `make install` compiles (the .mo files are not in git).
TRANSLATIONS := crm/translations
PYBABEL := $(VENV)/bin/pybabel
translations: translations-extract translations-update translations-compile

translations-extract: $(VENV)/.installed
	$(PYBABEL) extract -F babel.cfg -k _l -k lazy_gettext -k N_ --add-location=file --sort-by-file \
		--no-wrap --project "Prospect CRM" --copyright-holder "Prospect CRM contributors" \
		-o $(TRANSLATIONS)/messages.pot .

translations-update: $(VENV)/.installed
	$(PYBABEL) update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-wrap --ignore-obsolete --no-fuzzy-matching

translations-compile: $(VENV)/.installed
	$(PYBABEL) compile -d $(TRANSLATIONS) --statistics

## run: set up, migrate the SQLite file under instance/, seed the demo once, serve with the worker in-process
run: install
	CRM_CONFIG=development $(FLASK) db upgrade
	CRM_CONFIG=development $(FLASK) crm seed-demo
	CRM_CONFIG=development $(FLASK) crm serve --host 127.0.0.1 --port 5000

## worker: the scheduler as its own process (production shape)
worker: install
	$(FLASK) crm worker

# Each test run can keep its output in $(TEST_LOG) (first line: its title), its exit status
# in the same name with .rc instead of .log; `make test-summary` reads them all back.
# $(call logged,TITLE,COMMAND) runs COMMAND that way when TEST_LOG is set, plainly otherwise.
define logged
@echo "== tests on $(1) =="
@if [ -z "$(TEST_LOG)" ]; then $(2); else \
	echo "== tests on $(1) ==" > "$(TEST_LOG)"; rm -f "$(basename $(TEST_LOG)).rc"; \
	if [ -t 1 ]; then export PY_COLORS=1; fi; \
	{ $(2); } 2>&1 | tee -a "$(TEST_LOG)"; rc=$${PIPESTATUS[0]}; \
	echo $$rc > "$(basename $(TEST_LOG)).rc"; exit $$rc; fi
endef

## test: the whole suite on SQLite, then on PostgreSQL (required when CI=true). Both always
## run; both summaries come last; fails if either failed. Logs stay in TEST_LOG_DIR.
test: install-dev
	@logs="$${TEST_LOG_DIR:-$$(mktemp -d "$${TMPDIR:-/tmp}/crm-test-logs.XXXXXX")}"; mkdir -p "$$logs"; \
	$(MAKE) --no-print-directory lint TEST_LOG="$$logs/0-lint.log" || true; \
	$(MAKE) --no-print-directory test-sqlite TEST_LOG="$$logs/1-sqlite.log" || true; \
	if $(PY) -c "import psycopg,sys; psycopg.connect('$(TEST_DATABASE_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		$(MAKE) --no-print-directory test-postgres TEST_LOG="$$logs/2-postgres.log" || true; \
	else \
		if [ "$$CI" = "true" ]; then rc=1; why="unreachable and CI=true: failing"; \
		else rc=skipped; why="unreachable: skipped the PostgreSQL run"; fi; \
		{ echo "== tests on PostgreSQL ($(TEST_DATABASE_URL)) =="; \
		  echo "PostgreSQL at $(TEST_DATABASE_URL) is $$why"; } > "$$logs/2-postgres.log"; \
		tail -n1 "$$logs/2-postgres.log"; \
		echo $$rc > "$$logs/2-postgres.rc"; \
	fi; \
	$(MAKE) --no-print-directory test-summary TEST_LOG_DIR="$$logs"

## lint: ruff (lint and import order) on all the code, mypy on the services and the bridge
## (both configured in pyproject.toml); part of `make test`
MYPY_PATHS = crm/*/services.py crm/*/inputs.py crm/public.py crm/kit.py planning_bridge
lint: install-dev
	$(call logged,lint (ruff and mypy),$(VENV)/bin/ruff check crm planning_bridge tests bench config.py wsgi.py && $(VENV)/bin/mypy $(MYPY_PATHS))

test-sqlite: install-dev
	$(call logged,SQLite,env -u TEST_DATABASE_URL $(PY) -m pytest $(PYTEST_ARGS))

test-postgres: install-dev
	$(call logged,PostgreSQL ($(TEST_DATABASE_URL)),TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest $(PYTEST_ARGS))

## test-shifted: the suite on SQLite with the SYSTEM clock moved to SHIFT_TO (anything
## `date -d` reads) by Debian's faketime (apt-get install faketime), see .ci/shifted-clock,
## after a one-second check that the shifted clock works. Only pytest runs shifted, not make
## or pip. No browser tests: Chromium and Playwright time out under libfaketime. Own temporary
## directory and SQLite file, so several can run at once; stopped after SHIFTED_TIMEOUT.
SHIFT_TO ?= +200 days
SHIFTED_TIMEOUT ?= 30m
test-shifted: install-dev
	$(call logged,SQLite with the system clock at $(shell date -u -d '$(SHIFT_TO)' '+%Y-%m-%d %H:%M UTC'),timeout 2m .ci/shifted-clock --check '$(SHIFT_TO)' $(PY) && timeout --signal=INT --kill-after=1m $(SHIFTED_TIMEOUT) .ci/shifted-clock '$(SHIFT_TO)' env -u TEST_DATABASE_URL $(PY) -m pytest -p no:cacheprovider -m 'not browser' $(PYTEST_ARGS))

## test-summary: one block per run logged in TEST_LOG_DIR (pytest's last line, or the log's,
## and its FAILED / ERROR lines); fails if any run failed (any non-zero status: 5 "no tests
## ran" too, and a run that left no status)
test-summary:
	@[ -n "$(TEST_LOG_DIR)" ] || { echo "test-summary: set TEST_LOG_DIR"; exit 2; }
	@echo; echo "==================================== summary ===================================="; \
	failed=0; \
	for log in "$(TEST_LOG_DIR)"/*.log; do \
		[ -e "$$log" ] || continue; \
		rc=$$(cat "$${log%.log}.rc" 2>/dev/null || echo none); \
		case "$$rc" in \
			0) verdict="passed" ;; \
			skipped) verdict="skipped" ;; \
			none) verdict="FAILED (did not finish)"; failed=1 ;; \
			5) verdict="FAILED (exit 5: no tests ran)"; failed=1 ;; \
			124|137) verdict="FAILED (timed out, exit $$rc)"; failed=1 ;; \
			*) verdict="FAILED (exit $$rc)"; failed=1 ;; \
		esac; \
		plain=$$(sed 's/\x1b\[[0-9;]*m//g' "$$log"); \
		echo "$$(head -n1 <<<"$$plain" | sed 's/^== tests on //; s/ ==$$//'): $$verdict"; \
		last=$$(grep -E ' in [0-9.]+s( \([0-9:]+\))?( =+)?$$' <<<"$$plain" | tail -n1); \
		[ -n "$$last" ] || last=$$(tail -n1 <<<"$$plain"); \
		sed 's/^=* */    /; s/ *=*$$//' <<<"$$last"; \
		problems=$$(awk '/ short test summary info /{s=1; next} s && /^(FAILED|ERROR) /' <<<"$$plain"); \
		[ -z "$$problems" ] || sed 's/^/    /' <<<"$$problems" | head -n 40; \
		n=$$(grep -c . <<<"$$problems" || true); \
		[ "$$n" -le 40 ] || echo "    ... and $$((n - 40)) more"; \
	done; \
	echo "logs: $(TEST_LOG_DIR)"; \
	exit $$failed

bench: install-dev
	$(PY) bench/import_contacts.py

clean:
	rm -rf $(VENV) instance *.egg-info .pytest_cache
