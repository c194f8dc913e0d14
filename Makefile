# The front door: every target is a few lines calling real tools.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-deps fuzz bench bench-smoke bench-deps lint openapi spec-check spectral lock clean model eval-extract eval-extract-sample

install: $(STAMP)

$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## Start PostgreSQL (embedded unless DATABASE_URL is set), migrate, load seeds, serve on 127.0.0.1:8000.
run: install
	$(BIN)/provenance serve --migrate --seed

## The whole suite against a real PostgreSQL (DATABASE_URL, else an embedded one); then every write path, tracing,
## statement search, import, idempotency and audit sealing again through a PgBouncer in transaction mode.
test: install test-deps
	$(BIN)/python -m pytest -q
	PROVENANCE_TEST_THROUGH=pgbouncer $(BIN)/python -m pytest -q $(THROUGH_PGBOUNCER)

THROUGH_PGBOUNCER := tests/test_claims.py tests/test_history.py tests/test_sources.py tests/test_source_edits.py \
	tests/test_reviews.py tests/test_relations.py tests/test_bulk.py tests/test_bulk_copy.py tests/test_idempotency.py \
	tests/test_trace.py tests/test_statement_trace.py tests/test_audit.py tests/test_concurrency.py

## Schemathesis against the served app and its OpenAPI document: every operation, every check, ~5 minutes
## on a throwaway database (DATABASE_URL's server, else an embedded one); schemathesis.toml says how.
fuzz: install
	$(BIN)/python tests/fuzz/run.py

## What tests need beyond Python: Debian's headless chromium (the trace drawing, the workspace's pages),
## Debian's redis-server (each shared rate-limit test starts its own) and axe-core from the npm registry
## (package-lock.json), which the browser tests run in each page, and Debian's pgbouncer (the suite's subset run
## through it in transaction mode, tests/poolers.py).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
test-deps:
	test -x /usr/bin/chromium || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium)
	command -v redis-server >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends redis-server)
	test -x /usr/sbin/pgbouncer || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends pgbouncer)
	test -f node_modules/axe-core/axe.min.js || npm ci --silent --no-audit --no-fund

## The benchmark (bench/README.md): 10,000 and 1,000,000 claims, then extraction and the pages; figures to bench/results/ and bench/README.md.
bench: install bench-deps
	$(BIN)/python -m bench.run --claims 10000 --claims 1000000 --profile
	$(BIN)/python -m bench.extraction
	$(BIN)/python -m bench.pages
	$(BIN)/python -m bench.shape

## The same on 2,000 claims, a few seconds a scenario: fails on errors, never on speed (CI).
bench-smoke: install bench-deps
	$(BIN)/python -m bench.run --smoke
	$(BIN)/python -m bench.extraction --smoke
	$(BIN)/python -m bench.pages --smoke
	$(BIN)/python -m bench.shape --smoke

## What the benchmark needs beyond Python: Debian's wrk (pgbench comes with PostgreSQL or pgserver),
## Debian's pgbouncer (trace by id through it beside direct), redis-server (the whole shape, bench/shape.py)
## and valgrind (bench/instructions.py: instructions a request, code against code).
bench-deps:
	command -v wrk >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends wrk)
	test -x /usr/sbin/pgbouncer || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends pgbouncer)
	command -v redis-server >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends redis-server)
	command -v valgrind >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends valgrind)

## Train the attribution model (models/attribution-en/) from the corpora (where PROVENANCE_CORPORA says,
## see training/corpus.py): spaCy's parser on UD English EWT, then the CRF tagger on PolNeAR train; seeded, about 25 minutes.
model: install
	$(BIN)/python -m training.train

## Score the model on PolNeAR dev (Citron's span metrics, beside Citron) and on the nested gold set; record the figures.
eval-extract: install
	$(BIN)/python -m training.evaluate --record models/attribution-en/scores.json

## The same on the sample committed under tests/extract_sample (CI): fails 3 points below the recorded figures.
eval-extract-sample: install
	$(BIN)/python -m training.evaluate --sample --floor models/attribution-en/scores.json

lint: install
	$(BIN)/ruff format --check service tests alembic bench training
	$(BIN)/ruff check service tests alembic bench training
	$(BIN)/mypy

## Lint the committed OpenAPI document with Spectral (ruleset spectral:oas): no error allowed.
spectral:
	npm ci --silent --no-audit --no-fund
	npx spectral lint openapi/openapi.json --ruleset .spectral.yaml --fail-severity error

## Regenerate the committed OpenAPI document from the app.
openapi: install
	$(BIN)/python -m service.openapi --output openapi/openapi.json

## Fail when the committed OpenAPI document differs from what the app generates.
spec-check: install
	$(BIN)/python -m service.openapi --check openapi/openapi.json

## Re-resolve the locked dependency versions (needs the registry).
lock: install
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --no-header -q -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 --no-header -q -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
