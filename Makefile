# LeadApp: `make run` starts everything, `make test` runs the whole suite. Both install what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
TOOLS       := .tools
BUN_VERSION := 1.4.5
SCALE       ?= 1
REQ_STAMP   := $(VENV)/.requirements-$(shell sha1sum requirements.txt 2>/dev/null | cut -c1-12)
BUN         := $(TOOLS)/node_modules/.bin/bun
export PATH := $(CURDIR)/$(TOOLS)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export REFLEX_USE_SYSTEM_BUN := 1
export REFLEX_TELEMETRY_ENABLED := false
# Debian packages are installed as root, or through sudo when not root (and sudo exists).
SUDO        := $(shell [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null && echo sudo)
apt_install = ($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1)) >/dev/null

.PHONY: caddy help setup run test test-unit e2e admin migrate seed bench lint format freeze services chromium clean

help:
	@echo "make run                      install what is missing, migrate, seed, start web + worker + voice bridge"
	@echo "make run SCALE=2              the same with 2 web backends and 2 voice bridges behind Caddy"
	@echo "make test                     install test needs, start services, run the whole suite"
	@echo "make e2e [BASE_URL=http://…]  browser suite (default: starts the app locally; with BASE_URL: only Chromium)"
	@echo "make admin EMAIL=… PASSWORD=… create (or promote) an admin"
	@echo "make bench                    benchmarks (print their figures)"
	@echo "make freeze [UPGRADE=1]         compile requirements.in to the pinned requirements.txt"
	@echo "make lint | format | migrate | seed"

# --- installation -------------------------------------------------------------------------------
# Stock Debian's python3 has no ensurepip (so no `-m venv`) until python3-venv is installed. A venv
# left without pip by such a failed attempt is made again.
$(REQ_STAMP): requirements.txt
	@if ! $(PY) -m pip --version >/dev/null 2>&1; then \
	  $(PYTHON) -c 'import ensurepip' 2>/dev/null || { echo "Installing python3-venv from Debian…"; \
	    $(call apt_install,python3-venv); }; \
	  $(PYTHON) -m venv --clear $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.requirements-* && touch $@

$(BUN):
	npm install --silent --no-audit --no-fund --prefix $(TOOLS) bun@$(BUN_VERSION)

setup: $(REQ_STAMP) $(BUN)
	@if [ -z "$$REDIS_URL" ] && ! command -v redis-server >/dev/null; then \
	  echo "Installing redis-server from Debian…"; $(call apt_install,redis-server); fi

# The browser: Debian's Chromium (never a downloaded one).
chromium:
	@command -v chromium >/dev/null || { echo "Installing Chromium from Debian…"; $(call apt_install,chromium); }

# The reverse proxy of a scaled-out run (SCALE=2): Caddy from Debian.
caddy:
	@command -v caddy >/dev/null || { echo "Installing Caddy from Debian…"; $(call apt_install,caddy); }

# Test needs: Chromium from Debian, PostgreSQL and Redis running (started when installed but down).
services: chromium caddy
	@command -v redis-server >/dev/null || { echo "Installing redis-server from Debian…"; \
	  $(call apt_install,redis-server); }
	@bash .ci/postgres.sh

# --- everyday commands --------------------------------------------------------------------------
run: setup $(if $(filter-out 1,$(SCALE)),caddy,)
	$(PY) -m leadapp.launch $(if $(filter dev,$(MODE)),--dev,) --scale $(SCALE)

# The browser suite runs in its own pytest process: Playwright's sync API keeps an event loop running
# for the rest of a session, which async tests after it cannot share. The rest runs on every core
# (pytest-xdist). Every run takes its tests in a new order (pytest-randomly), from the seed printed first:
# `make test SEED=N` runs that order again. The browser suite shares one running stack per pass, so it
# runs in one process, in a new order too.
TEST_WORKERS ?= auto
SEED        ?= $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
SEED        := $(SEED)
test: setup services lint
	@echo "Test order seed: $(SEED) (make test SEED=$(SEED) repeats it)"
	$(PY) -m pytest tests -q --ignore=tests/e2e -n $(TEST_WORKERS) --randomly-seed=$(SEED) --durations=10
	@echo "Browser suite (SQLite):"
	$(PY) -m pytest tests/e2e -q --randomly-seed=$(SEED)
	@echo "Browser suite again: PostgreSQL, scaled out as \`make run SCALE=2\` (2 web backends, 2 bridges, Caddy):"
	E2E_DATABASE=postgres E2E_SCALE=2 REFLEX_STATE_IN_REDIS=true $(PY) -m pytest tests/e2e -q --randomly-seed=$(SEED)

test-unit: setup
	$(PY) -m pytest tests/unit tests/migrations -q

# Against a deployment (BASE_URL) only the Python packages and Chromium are needed: no local services.
e2e: $(if $(BASE_URL),$(REQ_STAMP) chromium,setup services)
	BASE_URL="$(BASE_URL)" $(PY) -m pytest tests/e2e -q

admin: setup
	@test -n "$(EMAIL)" -a -n "$(PASSWORD)" || { echo "usage: make admin EMAIL=you@example.com PASSWORD=…"; exit 2; }
	$(PY) -m leadapp.cli migrate
	$(PY) -m leadapp.cli admin --email "$(EMAIL)" --password "$(PASSWORD)"

migrate: setup
	$(PY) -m leadapp.cli migrate

seed: setup
	$(PY) -m leadapp.cli seed

bench: setup services
	$(PY) -m bench.pipeline --leads 600 --rate 10 --db sqlite
	$(PY) -m bench.pipeline --leads 600 --rate 10 --db postgres
	$(PY) -m bench.pipeline --find-max --db postgres --workers 1,2,4
	$(PY) -m bench.live --events 100 --tabs 4
	$(PY) -m bench.live --events 100 --tabs 4 --backends 2
	$(PY) -m bench.dashboard --leads 10000
	$(PY) -m bench.rls --leads 10000
	$(PY) -m bench.bridge --calls 50 --seconds 10
	$(PY) -m bench.bridge --calls 150 --rounds 3
	$(PY) -m bench.bridge --calls 150 --rounds 3 --load outside --delta-ms 40
	$(PY) -m bench.bridge --calls 150 --rounds 3 --load outside
	$(PY) -m bench.quality_meter
	$(PY) -m bench.faults
	$(PY) -m bench.attacks

lint: $(REQ_STAMP)
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m ruff check .
	$(PY) -m ruff format --check leadapp worker voice_bridge tests bench rxconfig.py

format: $(REQ_STAMP)
	$(PY) -m ruff format leadapp worker voice_bridge tests bench rxconfig.py
	$(PY) -m ruff check --fix .

# requirements.in (direct dependencies) compiled to the pinned requirements.txt; pins kept unless UPGRADE=1.
freeze: $(REQ_STAMP)
	$(PY) -m pip install --quiet pip-tools
	CUSTOM_COMPILE_COMMAND="make freeze" $(PY) -m piptools compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
	  $(if $(UPGRADE),--upgrade,) -o requirements.txt requirements.in

clean:
	rm -rf .web .states var/*.db
