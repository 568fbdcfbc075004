# cnai-monitor: `make run` shows the monitor end to end; `make test` runs the whole suite.
# Both need only Python >= 3.11 on the machine: they create .venv and install from requirements.lock.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CNAI := $(BIN)/cnai
STAMP := $(VENV)/.installed
# hadolint, kubernetes-validate and checkov pin dependencies that clash with ours: they get a venv of their own.
TOOLS_VENV := .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed

.PHONY: install run lint test bench soak lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

$(TOOLS_STAMP): deploy/tools-requirements.txt
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet -r deploy/tools-requirements.txt
	touch $(TOOLS_STAMP)

install: $(STAMP)

## run: migrate a local SQLite database, load the bundled sample feeds, run one full cycle in process.
run: $(STAMP)
	@mkdir -p var
	$(CNAI) db upgrade
	$(CNAI) feeds import config/samples/feeds.yaml
	FETCH_ALLOW_FILE_URLS=true $(CNAI) poll --all

## lint: ruff (lint and format check) and mypy, as configured in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## test: lint, then the whole suite against the real local PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL).
test: $(STAMP) $(TOOLS_STAMP) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: every benchmark; each prints a {"bench": ...} JSON object as its last line.
bench: $(STAMP)
	@set -e; for script in bench/*.py; do [ "$$script" = bench/soak.py ] && continue; echo "== $$script"; $(BIN)/python $$script; done

## soak: the chaos soak (bench/soak.py): workers killed, Redis and PostgreSQL restarted; SOAK_SECONDS (600).
SOAK_SECONDS ?= 600
soak: $(STAMP)
	SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/python bench/soak.py

## lock: re-pin every dependency after changing pyproject.toml.
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > requirements.lock

clean:
	rm -rf $(VENV) $(TOOLS_VENV) var .pytest_cache
