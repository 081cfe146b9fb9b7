# Recaudo — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HTMX_VERSION := 2.0.11
HTMX := web/static/vendor/htmx.min.js
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast lint bench setup browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall whenever pyproject.toml changes; the stamp keeps repeated runs fast.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

# htmx is pinned and taken from the npm registry's package, then served by the app itself (no CDN).
$(HTMX):
	@command -v npm >/dev/null || { echo "npm is needed once to fetch htmx.org@$(HTMX_VERSION)"; exit 1; }
	mkdir -p var/npm web/static/vendor
	cd var/npm && npm pack --silent htmx.org@$(HTMX_VERSION) >/dev/null
	tar -xzf var/npm/htmx.org-$(HTMX_VERSION).tgz -C var/npm
	cp var/npm/package/dist/htmx.min.js $(HTMX)
	rm -rf var/npm/package

setup: $(VENV)/.installed $(HTMX)

# Links in messages and provider callbacks use RECAUDO_BASE_URL; by default, where we serve.
run: export RECAUDO_BASE_URL ?= http://$(HOST):$(PORT)
run: setup
	$(BIN)/recaudo migrate
	$(BIN)/recaudo demo
	$(BIN)/recaudo serve --host $(HOST) --port $(PORT)

# Debian's chromium drives the browser tests; installed with apt when we are root and it is missing.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian chromium for the browser tests"; \
	  (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) \
	  || echo "could not install chromium: browser tests will be skipped"; \
	fi

test: setup browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# mypy cannot follow the editable install's folder mapping, so it reads a tree of symlinks that
# has the installed shape (recaudo/core -> core/, …).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	rm -rf var/typecheck && mkdir -p var/typecheck/recaudo
	for f in recaudo/*.py; do ln -s "$(CURDIR)/$$f" var/typecheck/recaudo/; done
	for d in core tenants plugins web workers; do ln -s "$(CURDIR)/$$d" var/typecheck/recaudo/$$d; done
	cd var/typecheck && "$(CURDIR)/$(BIN)/mypy" --config-file "$(CURDIR)/pyproject.toml" -p recaudo

bench: setup
	$(BIN)/python bench/portal.py

clean:
	rm -rf $(VENV) var web/static/vendor
