# therabill: the two commands of the README, and a few more.
# Works on a fresh Debian machine as root (installs what the tests need when missing).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= auto

.PHONY: run test lint typecheck unit bench clean system-deps

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## run: set up and start the program's main job
run: $(STAMP)
	$(BIN)/therabill run

## system-deps: Debian packages the tests need (poppler-utils, chromium), installed when missing
system-deps:
	@bash scripts/system-deps.sh

## test: set up, then ruff, mypy and the whole test suite in parallel
test: $(STAMP) system-deps lint typecheck
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

## bench: benchmarks (not tests); results in bench/results/
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
