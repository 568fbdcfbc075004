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

.PHONY: install run lint test bench soak mutate lock clean

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
## The samples are up to three years old: the back-catalogue window (ALERT_BACKFILL_HOURS) is widened so they alert.
run: $(STAMP)
	@mkdir -p var
	$(CNAI) db upgrade
	$(CNAI) feeds import config/samples/feeds.yaml
	FETCH_ALLOW_FILE_URLS=true ALERT_BACKFILL_HOURS=$${ALERT_BACKFILL_HOURS:-100000} $(CNAI) poll --all

## lint: ruff (lint and format check) and mypy, as configured in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## test: lint, then the whole suite against the real local PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL).
test: $(STAMP) $(TOOLS_STAMP) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## mutate: mutation testing (mutmut, config in pyproject.toml [tool.mutmut]) of the core, one scope at a time,
## niced; then the kill rate per scope (fails below 90%). MUTATE_SCOPES=... narrows it, e.g. to one module.
# Bounded scopes (functions) so a run fits a loaded 2-core machine: the decisions the five deliberate bugs and the
# listed modules hinge on (canonical URLs, address policy and transport, entry keys and dedup, story similarity,
# subscription matching, retry backoff, priority). MUTATE_SCOPES='services.ingest.stories.*' widens it; the delivery
# state machine (services.alerts.deliver.x_claim_next* ...) needs the database tests of tests/alerts in
# [tool.mutmut] and about an hour on two cores.
MUTATE_SCOPES ?= \
	services.ingest.normalise.x_canonical_url* \
	services.ingest.addresses.* \
	services.ingest.transport.xǁGuardedBackendǁconnect_tcp* \
	services.ingest.transport.xǁGuardedBackendǁ_resolve* \
	services.alerts.outbox.x_subscription_matches* \
	services.ingest.parse.x_entry_key* \
	services.ingest.stories.x_same_story* \
	services.ingest.stories.x_similarity* \
	services.alerts.deliver.x_backoff_seconds* \
	services.ingest.normalise.x_fingerprint* \
	services.alerts.outbox.x_language_matches* \
	services.alerts.outbox.x_source_matches* \
	services.ingest.stories.x_band_keys* \
	services.ingest.normalise.x_fold_for_fingerprint* \
	services.classify.priority.* \
	services.ingest.store.x_store_entries*
MUTATE_CHILDREN ?= 2
mutate: $(STAMP)
	@set -e; export CNAI_SHARED_DIR="$${CNAI_SHARED_DIR:-$(abspath ..)/shared}"; \
	for scope in $(MUTATE_SCOPES); do echo "== mutmut run $$scope"; \
	  nice -n 10 $(BIN)/mutmut run --max-children $(MUTATE_CHILDREN) "$$scope" | tail -n 3; done
	$(BIN)/python -m tests.support.mutation_report $(foreach s,$(MUTATE_SCOPES),'$(s)')

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
	rm -rf $(VENV) $(TOOLS_VENV) var .pytest_cache mutants
