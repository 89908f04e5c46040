# The two commands of the README. Each installs what it needs into .venv, then runs.
#   make serve   install Parity with the embedded local model and start the gateway
#   make test    install everything (dev tools too) and run lint, type check and the tests
SHELL  := /bin/bash
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# llama-cpp-python compiles from source once; pip's wheel cache keeps the result.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
# Portable x86-64 build (AVX2/FMA/F16C) without llama.cpp's AMX kernels: with -march=native on
# Sapphire Rapids CPUs, ggml_backend_amx_mul_mat segfaults on every prompt longer than one
# token (seen here with llama-cpp-python 0.3.36 and SmolLM2's Q4_1 weights).
ifeq ($(shell uname -m),x86_64)
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
endif

# make serve PORT=9000 HOST=0.0.0.0   (or PARITY_PORT=9000 make serve; a flag beats the env)
PORT ?=
HOST ?=
SERVE_FLAGS := $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST))
# What of pip's verbose build log is shown: the compiler's steps ([12/150] or [ 42%]) and pip's own.
PROGRESS := ^ *\[ *[0-9]+(%|/[0-9]+)\]|^(Collecting|Downloading|Building wheel|Successfully|Created wheel|Using cached|Processing|ERROR|error:)
# The llama-cpp-python requirement, read from pyproject.toml so that it is written once.
LLAMA_SPEC := $(shell $(PYTHON) -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb')); print(next(s for s in d['project']['optional-dependencies']['local'] if s.startswith('llama-cpp-python')))")

.PHONY: serve test lint typecheck pytest bench clean

$(BIN)/python:
	@echo "==> [1/3] creating $(VENV) with $$($(PYTHON) --version)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip wheel

# The slow step, alone and verbose: the compiler's progress ([ 42%] Building ...) is printed.
$(VENV)/.llama-installed: pyproject.toml | $(BIN)/python
	@echo "==> [2/3] building $(LLAMA_SPEC): compiles llama.cpp from source the first time,"
	@echo "    about 17-19 minutes on 2 cores (pip's wheel cache keeps the result; later runs take seconds)"
	set -o pipefail; $(BIN)/pip install --verbose '$(LLAMA_SPEC)' 2>&1 | tee $(VENV)/llama-build.log \
	  | { grep --line-buffered -E '$(PROGRESS)' || true; } \
	  || { echo "==> the build failed; its whole log is $(VENV)/llama-build.log" >&2; exit 1; }
	touch $@

# parity tune export runs llama.cpp's GGUF converters from the llama-cpp-python sdist (they are
# not in the wheel): keep the sdist beside the venv, so exports work offline.
LLAMA_SDIST_DIR := $(VENV)/share/parity

$(VENV)/.llama-sdist: | $(BIN)/python
	$(BIN)/pip download --quiet --no-deps --no-binary :all: -d $(LLAMA_SDIST_DIR) '$(LLAMA_SPEC)'
	touch $@

$(VENV)/.serve-installed: pyproject.toml $(VENV)/.llama-installed | $(BIN)/python $(VENV)/.llama-sdist
	@echo "==> [3/3] installing Parity and its serve extras (local, privacy, ml, report)"
	$(BIN)/pip install --progress-bar on -e '.[local,privacy,ml,report]'
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.llama-installed | $(BIN)/python $(VENV)/.llama-sdist
	@echo "==> [3/3] installing Parity with every extra and the dev tools (torch included: large)"
	$(BIN)/pip install --progress-bar on -e '.[all,dev]'
	touch $@ $(VENV)/.serve-installed

serve: $(VENV)/.serve-installed
	@echo "==> starting the gateway: parity serve $(SERVE_FLAGS) (Ctrl-C stops it)"
	$(BIN)/parity serve $(SERVE_FLAGS)

lint: $(VENV)/.test-installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

pytest: $(VENV)/.test-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(VENV)/.test-installed
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
