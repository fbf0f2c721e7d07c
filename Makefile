# Two commands matter: `make run` (the main job on the embedded default) and `make test`.
# Both create or reuse .venv and install the project into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# N: samples to take (unset: the source default, 200 synthetic samples)
N ?=

.PHONY: install run run-local test lint bench clean sysdeps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,ocr,dask]'
	touch $(STAMP)

install: $(STAMP)

## The main job: a synthetic SFT run on the embedded default, through a local Prefect server.
run: $(STAMP)
	$(BIN)/python -m flows.local_run $(if $(N),--n $(N))

## The same job as a plain library call, without Prefect.
run-local: $(STAMP)
	$(BIN)/atlas-data run --split sft $(if $(N),--n $(N)) --seed 0 --out data/runs

## System packages the tests use: Debian's chromium renders the HTML report headless.
sysdeps:
	@test -x /usr/bin/chromium || command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	    || echo "sysdeps: apt-get could not install chromium; the browser test will skip"; \
	  else echo "sysdeps: no apt-get here: install chromium yourself (its test skips without it)"; fi; }

## The whole test suite: lint, format check, type check, tests.
test: $(STAMP) sysdeps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
