# `make run`: set up .venv and run the whole pipeline on data/sample. `make test`: set up and test.
VENV ?= .venv
PYTHON ?= python3
# The CPU wheel keeps the install small; on a GPU machine use e.g. TORCH_SPEC=torch.
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
# The Dagster UI's port (make ui PORT=3001).
PORT ?= 3000

.PHONY: setup run test ui check

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

run: setup
	$(BIN)/rag-ft run --golden-set data/sample_golden.jsonl

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

ui: setup
	$(BIN)/rag-ft ui --port $(PORT)

# What CI checks besides the tests: lint, format and that Dagster loads the definitions.
check: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/dg check defs
