# coverage-ledger: every command a newcomer needs. Only Python 3.11+ and make are assumed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SIZE   ?= small
# pytest workers in make test: each starts its own throwaway embedded cluster (or its own databases
# on DATABASE_URL's server); 2 halves the suite's time on a 2-core machine, 1 runs it in one process
PYTEST_WORKERS ?= 2

.PHONY: install serve test lint typecheck pytest bench fuzz clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## install: create .venv and install the package with its development tools
install: $(STAMP)

## serve: install if needed, migrate the (embedded) database and serve on :8000
serve: $(STAMP)
	$(BIN)/coverage-ledger serve

## test: what CI runs: ruff, mypy and the test suite against a real PostgreSQL
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

## bench: benchmarks with figures for docs/benchmarks.md (SIZE=small|medium|full)
bench: $(STAMP)
	$(BIN)/python -m bench --size $(SIZE)

## fuzz: the OpenAPI fuzzed longer than in make test (FUZZ_EXAMPLES per operation, default 200)
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),200) $(BIN)/pytest tests/test_fuzz.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
