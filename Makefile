# Two commands on a fresh clone: `make run` builds the default index, `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
SPEC ?= weights/beijing_tfdi.yaml
TEST_WORKERS ?= auto

.PHONY: run test install clean bench

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (or run: make PYTHON=python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# `make run` installs the package and what it needs only; `make test` adds the test extras
# (pytest, pytest-xdist, hypothesis, playwright, dask). `make test TEST_WORKERS=0` runs the suite in one process.
$(STAMP): $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(TEST_STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/index-engine build $(SPEC) --audit --uncertainty 1000
	@echo "index-engine is in $(VENV)/bin: run $(VENV)/bin/index-engine --help, or first: . $(VENV)/bin/activate"

# PYTHONDONTWRITEBYTECODE is cleared for the suite: each worker then reads the test modules with their
# asserts rewritten (and the package) from __pycache__ instead of compiling them again (about 6 s of CPU a worker)
test: $(TEST_STAMP)
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -n $(TEST_WORKERS)

bench: $(STAMP)
	$(PY) bench/build.py
	$(PY) bench/report.py
	$(PY) bench/scale.py
	$(PY) bench/speed.py

clean:
	rm -rf $(VENV) outputs .pytest_cache
