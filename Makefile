# The two commands a new user types are `make setup` and `make test` (see README.md).
# Each step below is also one command of its own: lint, typecheck, pytest, bench.

VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# torch is pinned to the release this project is tested with: on a CPU machine pip takes the
# local CPU wheel, on a GPU machine the normal CUDA build (see constraints.txt).
PIP_INSTALL := $(PY) -m pip install --disable-pip-version-check -c constraints.txt
PACKAGES := -e ".[dev]" -e integrations/langchain -e "trainer[test]"

.PHONY: setup install browser lint typecheck pytest test bench clean

setup: install browser
	$(BIN)/agentshield list

# Debian's Chromium renders report.html in tests/e2e/test_report_browser.py. Without root (or
# apt) this only warns; the test then says how to install it or how to deselect it.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 \
	  || { $$SUDO apt-get update -q >/dev/null 2>&1 && $$SUDO apt-get install -y -q chromium >/dev/null 2>&1; } \
	  || echo "warning: could not install Debian's chromium (apt-get install chromium); the browser test needs it"; }
	@command -v chromium >/dev/null 2>&1 && echo "chromium: $$(command -v chromium)" || true

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

# The OTLP end-to-end test exports to a real MLflow tracking server, which lives in its own
# virtual environment (it pins its own dependencies).
MLFLOW_VENV ?= venv-mlflow
$(MLFLOW_VENV)/bin/mlflow:
	python3 -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install --disable-pip-version-check -q mlflow==3.17.2

pytest: export AGENTSHIELD_MLFLOW_PYTHON = $(abspath $(MLFLOW_VENV))/bin/python
pytest: $(MLFLOW_VENV)/bin/mlflow

test: lint typecheck pytest

bench:
	$(PY) benchmarks/overhead.py
	$(PY) benchmarks/tracing.py
	$(PY) benchmarks/train_throughput.py
	$(PY) benchmarks/eval_throughput.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
