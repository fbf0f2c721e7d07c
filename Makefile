# Two commands matter: `make run` (the main job on the embedded default) and `make test`.
# Both create or reuse .venv and install the project into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
N ?= 200

.PHONY: install run run-local test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,ocr,dask]'
	touch $(STAMP)

install: $(STAMP)

## The main job: a synthetic SFT run on the embedded default, through a local Prefect server.
run: $(STAMP)
	$(BIN)/python -m flows.local_run --n $(N)

## The same job as a plain library call, without Prefect.
run-local: $(STAMP)
	$(BIN)/atlas-data run --split sft --n $(N) --seed 0 --out data/runs

## The whole test suite: lint, format check, type check, tests.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
