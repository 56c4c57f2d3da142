# autodev's own tasks. `make test` installs what it needs into .venv first, so it works on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install lint test demo demo-scripted clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,local,bench]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check autodev tests benchmarks
	$(BIN)/ruff format --check autodev tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/autodev spec check specs/
	$(BIN)/python -m pytest

# Runs autodev on a copy of examples/words with the bundled local models (CPU, offline).
demo: install
	bash examples/demo.sh

# The same loop without any model: scripted replies (one wrong, one right) on a copy of examples/temperature.
demo-scripted: install
	bash examples/demo-scripted.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
