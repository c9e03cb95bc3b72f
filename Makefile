# Two commands do all the set-up: `make run` and `make test`. Each creates what is missing
# and is quick when nothing changed (stamp files track what was installed from what).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
RASA_VENV := .venv-rasa
APP_STAMP := $(VENV)/.installed
RASA_STAMP := $(RASA_VENV)/.installed
FRONTLINE := $(VENV)/bin/frontline

.PHONY: setup run test unit lint bench eval clean chromium services

setup: $(APP_STAMP) $(RASA_STAMP)

$(APP_STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null || { \
	  echo "error: Python 3.11 is needed for the hub; install it (e.g. 'pyenv install 3.11') or run 'make PYTHON=/path/to/python3.11'" >&2; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	@# The CPU build of torch first: sentence-transformers would otherwise pull a CUDA build.
	$(VENV)/bin/pip install -q torch==2.13.0
	@# Versions as CI last passed with them (constraints.txt; the Rasa env has its own).
	$(VENV)/bin/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

$(RASA_STAMP): bot/constraints-rasa.txt
	@set -e; py="$${RASA_PYTHON:-}"; \
	if [ -n "$$py" ]; then \
	  "$$py" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null || { \
	    echo "error: RASA_PYTHON=$$py is not a working Python 3.10 (Rasa 3.6 needs 3.8-3.10)" >&2; exit 1; }; \
	else \
	  for c in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	    if "$$c" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then py="$$c"; break; fi; \
	  done; \
	fi; \
	if [ -z "$$py" ]; then \
	  echo "error: Python 3.10 not found. Rasa 3.6 runs on Python 3.8-3.10 only." >&2; \
	  echo "Install it (e.g. 'pyenv install 3.10.13' or 'apt-get install python3.10 python3.10-venv')," >&2; \
	  echo "or point RASA_PYTHON at a python3.10 binary, then run make again." >&2; exit 1; \
	fi; \
	echo "Rasa runtime: $$py"; \
	test -x $(RASA_VENV)/bin/python || "$$py" -m venv $(RASA_VENV); \
	$(RASA_VENV)/bin/pip install -q "pip<24.1"; \
	$(RASA_VENV)/bin/pip install -q -c bot/constraints-rasa.txt rasa==3.6.21
	touch $@

# Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium for the browser tests ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "error: the browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; \
	  fi; \
	fi
	@# A Chinese font, so the Chinese screenshots show characters (Persian: DejaVu Sans has it).
	@if ! fc-list 2>/dev/null | grep -qi "wqy\|cjk"; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null; \
	  else \
	    echo "warning: no Chinese font; the zh screenshots will show boxes: sudo apt-get install fonts-wqy-microhei" >&2; \
	  fi; \
	fi

# Several hubs (tests/cluster, deploy/): Debian's Redis and HAProxy. PostgreSQL comes from
# .ci/postgres.sh. Without them the cluster test skips, saying what is missing.
services:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing="$$missing haproxy"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's$$missing for the cluster test ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	    systemctl disable --now redis-server haproxy >/dev/null 2>&1 || true; \
	  else \
	    echo "warning: the cluster test needs$$missing (sudo apt-get install$$missing); it will skip" >&2; \
	  fi; \
	fi

# The `rasa-webchat` widget (npm), for its browser test against the hub's socket.io channel:
# the package's self-contained browser bundle lib/index.js, pinned by version and checksum.
# `npm pack` fetches just the package (its dependencies are bundled into lib/index.js).
WEBCHAT_VERSION := 1.0.1
WEBCHAT_SHA256 := bfedd788e4bd7df12f64b5bf2963e634f84bac1cb176b6cede60c507d3553f1e
WEBCHAT_DIR := var/webchat/rasa-webchat-$(WEBCHAT_VERSION)
.PHONY: webchat
webchat: $(WEBCHAT_DIR)/lib/index.js

$(WEBCHAT_DIR)/lib/index.js:
	@command -v npm >/dev/null || { \
	  echo "error: the rasa-webchat browser test needs npm: apt-get install npm" >&2; exit 1; }
	mkdir -p $(WEBCHAT_DIR)
	cd var/webchat && npm pack --silent rasa-webchat@$(WEBCHAT_VERSION) >/dev/null
	tar -xzf var/webchat/rasa-webchat-$(WEBCHAT_VERSION).tgz -C $(WEBCHAT_DIR) --strip-components=1 package/lib/index.js package/LICENSE
	echo "$(WEBCHAT_SHA256)  $@" | sha256sum -c --quiet - || { rm -f $@; exit 1; }
	rm -f var/webchat/rasa-webchat-$(WEBCHAT_VERSION).tgz

# axe-core (npm, MPL-2.0), the accessibility checker the help center's browser test runs:
# its single-file build, pinned by version and checksum.
AXE_VERSION := 4.11.0
AXE_SHA256 := e9e5863c33a874f09bc01acd9234b7e3c871479f5eef8802fa582544465e6d01
AXE_JS := var/axe/axe-core-$(AXE_VERSION)/axe.min.js
.PHONY: axe
axe: $(AXE_JS)

$(AXE_JS):
	@command -v npm >/dev/null || { \
	  echo "error: the accessibility check needs npm: apt-get install npm" >&2; exit 1; }
	mkdir -p $(dir $@)
	cd var/axe && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null
	tar -xzf var/axe/axe-core-$(AXE_VERSION).tgz -C $(dir $@) --strip-components=1 package/axe.min.js package/LICENSE
	echo "$(AXE_SHA256)  $@" | sha256sum -c --quiet - || { rm -f $@; exit 1; }
	rm -f var/axe/axe-core-$(AXE_VERSION).tgz

run: setup
	$(FRONTLINE) run

# The README's test command: builds the index when its inputs changed, then (.ci/pytest-two.sh)
# the unit tests beside training the bot when its data changed, validating its data and
# running its test stories, then the integration tests (which start the real Rasa server).
test: setup chromium services webchat axe lint
	$(FRONTLINE) kb build
	.ci/pytest-two.sh

unit: $(APP_STAMP)
	$(VENV)/bin/pytest -m "not integration and not real_model"

lint: $(APP_STAMP)
	$(VENV)/bin/ruff check api bot/actions retrieval handoff tests
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# Accuracy benchmarks, each knowledge base treated as new (prints figures; not part of the
# tests): CLINC150 (FRONTLINE_CLINC150_PATH) and MASSIVE English (FRONTLINE_MASSIVE_PATH); a
# data set that is absent is skipped with a message. Vectors are cached under var/embeddings.
eval: $(APP_STAMP)
	$(FRONTLINE) kb eval --dataset all --ablations
	$(FRONTLINE) kb gaps-eval

# Speed and memory (search at 1k-100k entries, Rasa turns, tickets and queue); prints figures,
# not part of the tests.
bench: setup services
	$(VENV)/bin/python -m tests.bench.bench_search
	$(VENV)/bin/python -m tests.bench.bench_rasa
	@# A bot turn end to end (REST, widget, 1,000 idle + 50 active) beside `rasa init`.
	$(VENV)/bin/python -m tests.bench.bench_turns
	@# Tickets and queue on SQLite, and on a throwaway PostgreSQL (.ci/postgres.sh).
	FRONTLINE_BENCH_DATABASE_URL="$${FRONTLINE_BENCH_DATABASE_URL:-$$(.ci/postgres.sh)}" \
	  $(VENV)/bin/python -m tests.bench.bench_tickets
	@# Several hubs: live-update latency across hubs, one hub vs two (PostgreSQL, Redis, HAProxy).
	FRONTLINE_BENCH_DATABASE_URL="$${FRONTLINE_BENCH_DATABASE_URL:-$$(.ci/postgres.sh)}" \
	  $(VENV)/bin/python -m tests.bench.bench_cluster

# A bounded mixed load with faults against a real hub on 127.0.0.1 (fake Rasa taken down and
# up again, bad frames); prints sent, stored, answered or handed off, lost (must be 0) and
# errors. Not part of the tests.
.PHONY: soak
soak: $(APP_STAMP)
	$(VENV)/bin/python -m tests.soak.soak

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
