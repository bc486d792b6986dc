# GridGuard: `make demo` runs the demo city on http://127.0.0.1:8000; `make test` runs every check.
SHELL := /bin/bash
PY := .venv/bin/python
BIN := .venv/bin
STAMP := .venv/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
VENDOR := src/gridguard/static/vendor
DEMO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: demo test lint pytest pytest-pg bench static install browser messages clean-db

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	rm -f .venv/.installed-* && touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(VENDOR)/.stamp: node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	cp node_modules/jsqr/dist/jsQR.js $(VENDOR)/
	touch $@

messages: $(STAMP)
	cd src/gridguard && ../../$(BIN)/gridguard compilemessages -v0

static: $(STAMP) $(VENDOR)/.stamp messages
	$(BIN)/gridguard collectstatic --noinput -v0

# Debian's chromium for the browser tests (root on CI and the dev machines).
browser:
	@command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk; }

demo: static
	$(BIN)/gridguard migrate -v0
	$(BIN)/gridguard demo --reset $(DEMO_ARGS)
	$(BIN)/gridguard serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

pytest: static browser
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

pytest-pg: static browser
	@if [ -n "$$GRIDGUARD_TEST_DATABASE_URL" ]; then \
	  echo "== pytest on PostgreSQL =="; \
	  DATABASE_URL="$$GRIDGUARD_TEST_DATABASE_URL" $(BIN)/pytest -n 2 $(PYTEST_ARGS); \
	else echo "GRIDGUARD_TEST_DATABASE_URL not set: PostgreSQL suite skipped"; fi

test: lint pytest pytest-pg

bench: static
	@for b in bench/*.py; do case $${b##*/} in report.py|_*) continue;; esac; \
	  echo "== $$b"; $(PY) $$b $(BENCH_ARGS) || exit 1; done
	$(PY) bench/report.py

clean-db:
	rm -f var/gridguard.sqlite3*
