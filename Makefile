# The two commands a new user types are `make setup` and `make test` (see README.md).
# Each step below is also one command of its own: lint, typecheck, pytest, bench.

VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# torch is pinned to the release this project is tested with: on a CPU machine pip takes the
# local CPU wheel, on a GPU machine the normal CUDA build (see constraints.txt).
PIP_INSTALL := $(PY) -m pip install --disable-pip-version-check -c constraints.txt
PACKAGES := -e ".[dev]"

.PHONY: setup install lint typecheck pytest test bench clean

setup: install
	$(BIN)/agentshield list

install: $(PY)
	$(PIP_INSTALL) $(PACKAGES)

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade "pip>=24"

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest

test: lint typecheck pytest

bench:
	$(PY) benchmarks/overhead.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
