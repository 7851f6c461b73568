# Holidesk: `make run` starts everything, `make test` checks everything
# (`make test-fast`: ruff check and the suite without browser, worker and slow tests).
# They create .venv from the lock file and use PostgreSQL/Redis at DATABASE_URL /
# REDIS_URL when they answer, or start private ones whose data lives outside the
# checkout, in /var/tmp/holidesk-<hash of the checkout path>/ (scripts/services.py).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
SERVICES := eval "$$($(PY) scripts/services.py up)"
# stop/clean work before .venv exists too: the script needs no package for them.
SERVICES_PY = $(if $(wildcard $(PY)),$(PY),$(PYTHON))
export PORT ?= 8000
# Test processes (pytest-xdist); each gets its own test database.
TEST_WORKERS ?= 2
# What `make test-fast` leaves out (markers registered in pyproject.toml).
FAST_MARKERS := not browser and not worker and not slow and not bench

.PHONY: venv run test test-fast bench infra-lint lock services stop clean

$(VENV)/.installed: requirements/dev.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.lock
	touch $@

venv: $(VENV)/.installed

run: $(VENV)/.installed
	@$(SERVICES); \
	export DEBUG=$${DEBUG:-true}; \
	$(PY) manage.py migrate --noinput; \
	$(PY) manage.py seed_demo; \
	mkdir -p .dev; \
	export HOLIDESK_HTTP_PORT=$(PORT) HOLIDESK_URL_PORT=$(PORT); \
	echo "Starting web (http://$${HOLIDESK_BASE_DOMAIN:-localhost}:$(PORT)), worker and beat. Ctrl-C stops all."; \
	exec $(VENV)/bin/honcho -f Procfile.dev start

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	@$(SERVICES); \
	export DEBUG=true HOLIDESK_TESTING=true; \
	$(PY) manage.py makemigrations --check --dry-run; \
	PYTHON=$(PY) bash docker/lint.sh; \
	$(PY) -m pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test-fast: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	@$(SERVICES); \
	export DEBUG=true HOLIDESK_TESTING=true; \
	$(PY) -m pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup \
		-m "$(FAST_MARKERS)" $(PYTEST_ARGS)

bench: $(VENV)/.installed
	@$(SERVICES); \
	export DEBUG=true HOLIDESK_TESTING=true HOLIDESK_BENCH=1; \
	mkdir -p bench-results; \
	$(PY) -m pytest -p no:cacheprovider -s -q $(or $(PYTEST_ARGS),tests/bench)

infra-lint: $(VENV)/.installed
	PYTHON=$(PY) bash docker/lint.sh
	bash docker/checkov.sh

services: $(VENV)/.installed
	@$(PY) scripts/services.py up

stop:
	@$(SERVICES_PY) scripts/services.py stop

lock: $(VENV)/.installed
	$(VENV)/bin/pip install --quiet uv
	$(VENV)/bin/uv pip compile --python-version 3.11 requirements/base.in -o requirements/base.lock
	$(VENV)/bin/uv pip compile --python-version 3.11 requirements/dev.in -o requirements/dev.lock

clean:
	@$(SERVICES_PY) scripts/services.py clean
	rm -rf .dev staticfiles .mypy_cache .ruff_cache
