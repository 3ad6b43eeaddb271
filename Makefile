# The two quick-start commands: `make demo` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# PostgreSQL and Redis the test suite uses; every developer and CI machine runs both on 127.0.0.1.
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
CHROMIUM ?= /usr/bin/chromium
NGINX ?= /usr/sbin/nginx

.PHONY: demo test lint migrations-check test-sqlite test-postgres chromium nginx clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(VENV)/.demo-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[lrs]'
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.demo-deps

demo: $(VENV)/.demo-deps
	$(BIN)/mentor-lti demo

test: $(VENV)/.test-deps chromium nginx lint migrations-check test-sqlite test-postgres

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Models and migrations must agree on both databases (a model change without its migration fails here).
migrations-check: $(VENV)/.test-deps
	@tmp=$$(mktemp -d) && \
	MENTOR_LTI_INSTANCE_PATH=$$tmp $(BIN)/mentor-lti db upgrade >/dev/null 2>&1 && \
	MENTOR_LTI_INSTANCE_PATH=$$tmp $(BIN)/mentor-lti db check && rm -rf $$tmp
	@$(BIN)/python tests/postgres_schema.py $(TEST_DATABASE_URL) -- sh -c \
	'$(BIN)/mentor-lti db upgrade >/dev/null 2>&1 && $(BIN)/mentor-lti db check'

test-sqlite: $(VENV)/.test-deps chromium nginx
	MENTOR_LTI_TEST_REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest

test-postgres: $(VENV)/.test-deps chromium nginx
	MENTOR_LTI_TEST_DATABASE_URL=$(TEST_DATABASE_URL) MENTOR_LTI_TEST_REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest

# Browser tests drive Debian's Chromium; a test tool must never download a browser of its own.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# The production set-up test runs Debian's nginx in front of `mentor-lti serve` (its own config, loopback only).
nginx:
	@if [ ! -x $(NGINX) ]; then \
	  echo "Installing Debian's nginx for the production set-up test"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq nginx >/dev/null; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
