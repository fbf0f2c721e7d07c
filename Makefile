# Two commands matter: `make run` (the main job on the embedded default) and `make test`.
# Both create or reuse .venv and install the project into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# N: samples to take (unset: the source default, 200 synthetic samples)
N ?=

# The trainer checks' environments: each trainer's own code, CPU only (see requirements/).
TRL_VENV ?= .venv-trl
LF_VENV ?= .venv-lf

.PHONY: install run run-local test test-unit test-trainers lint bench clean sysdeps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dask]'
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

## The whole test suite: lint, format check, type check, tests, then the trainer checks.
test: test-unit test-trainers

test-unit: $(STAMP) sysdeps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# One environment per trainer family (LLaMA-Factory pins an older TRL). The project is
# installed into each as a user would: atlas-data next to the trainer.
# uv installs them from one cache inside the checkout and hard-links its files, so the
# torch stack both pin identically is on disk once (about 9 GB in all instead of 17).
UV := $(BIN)/uv
UV_CACHE ?= .uv-cache
UV_PIP := $(UV) pip install --quiet --link-mode hardlink --cache-dir $(UV_CACHE)

$(TRL_VENV)/.installed: requirements/trainers-trl.txt pyproject.toml $(STAMP)
	test -x $(TRL_VENV)/bin/python || $(PYTHON) -m venv --without-pip $(TRL_VENV)
	$(UV_PIP) --python $(TRL_VENV)/bin/python -r requirements/trainers-trl.txt
	$(UV_PIP) --python $(TRL_VENV)/bin/python -e '.[train]'
	touch $@

$(LF_VENV)/.installed: requirements/trainers-llamafactory.txt pyproject.toml $(STAMP)
	test -x $(LF_VENV)/bin/python || $(PYTHON) -m venv --without-pip $(LF_VENV)
	$(UV_PIP) --python $(LF_VENV)/bin/python -r requirements/trainers-llamafactory.txt
	$(UV_PIP) --python $(LF_VENV)/bin/python -e .
	touch $@

## Each trainer's own loader and two training steps (or its reward manager) on our exports.
test-trainers: $(TRL_VENV)/.installed $(LF_VENV)/.installed
	$(TRL_VENV)/bin/python -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning \
	  trainer_tests/test_trl.py
	# its own process: verl forks dataset workers, which must not inherit TRL's torch threads
	$(TRL_VENV)/bin/python -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning \
	  trainer_tests/test_verl.py
	$(LF_VENV)/bin/python -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning \
	  trainer_tests/test_llamafactory.py

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) $(TRL_VENV) $(LF_VENV) $(UV_CACHE) .pytest_cache .mypy_cache .ruff_cache
