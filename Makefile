# prharvest: `make demo` runs the offline demo, `make test` runs every test.
# Both create .venv/ at the repo root and install what they need on first use.

VENV    := .venv
PY      := $(VENV)/bin/python
PYTEST  := $(VENV)/bin/pytest
STAMP   := $(VENV)/.installed
PYTHON  ?= python3

.PHONY: install demo serve test test-sqlite test-postgres check format bench system-deps clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Debian's Chromium for the browser tests (never a browser download); needs root on a fresh machine.
system-deps:
	@bash scripts/ensure-system-deps

demo: install
	$(PY) scripts/demo.py

# The dashboard on the demo's database and cache (after `make demo`): log in as demo / demo.
serve: install
	env -u DATABASE_URL DJANGO_DEBUG=true SQLITE_PATH=demo.sqlite3 SEEDING_CACHE_DIR=.seeding_cache/demo $(PY) manage.py runserver 127.0.0.1:8000

test: install system-deps
	$(PYTEST)

test-sqlite: install system-deps
	env -u DATABASE_URL $(PYTEST)

test-postgres: install system-deps
	DATABASE_URL=$${DATABASE_URL:-postgres://root@127.0.0.1:5432/test} $(PYTEST)

check: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .seeding_cache .state db.sqlite3 demo.sqlite3 test-artifacts
