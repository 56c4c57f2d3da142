# autodev's own tasks. `make test` installs what it needs into .venv first, so it works on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

# llama.cpp (the `local` extra) is compiled when it is installed; docs/local-models.md says why each setting.
# - for this machine's CPU (llama.cpp's default -march=native), but without AMX: this llama.cpp's AMX code traps
#   (SIGILL) on CPUs that advertise AMX (llama.cpp PR #26954), and autodev never needs it;
# - without the multimodal library (LLAVA_BUILD) and llama.cpp's `common` library, which the Python package never
#   loads (llama-cpp-python forces `common` on; scripts/llama-without-common.cmake turns it off again): half the build;
# - on every core.
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DCMAKE_PROJECT_INCLUDE=$(abspath scripts/llama-without-common.cmake)
LLAMA_CPU_FLAGS ?= $(shell sh scripts/llama-cpu-flags.sh)
CORES := $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)
LLAMA_BUILD_ENV = CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CFLAGS="$(LLAMA_CPU_FLAGS)" CXXFLAGS="$(LLAMA_CPU_FLAGS)" \
	CMAKE_BUILD_PARALLEL_LEVEL=$(CORES)

.PHONY: install lint test demo demo-scripted demo-js demo-rust demo-js-local demo-rust-local clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "installing autodev into $(VENV); the first time this compiles llama.cpp ($(CORES) cores, a few minutes)"
	$(LLAMA_BUILD_ENV) $(BIN)/python -m pip install --quiet -e '.[dev,local,bench]'
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

# The same with a JavaScript project (node --test) and a Rust one (cargo test): node and cargo must be installed.
demo-js: install
	bash examples/demo-scripted.sh slugify-js

demo-rust: install
	bash examples/demo-scripted.sh roman-rs

# JavaScript and Rust on the bundled local models (examples/words-js, examples/roman-rs): what a 0.5B model on a CPU
# makes of them, kept or rolled back.
demo-js-local: install
	bash examples/demo.sh words-js

demo-rust-local: install
	bash examples/demo.sh roman-rs

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
