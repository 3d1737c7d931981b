# Two commands for a fresh machine: `make demo` and `make test`. Each builds .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench schemas clean

$(BIN)/buzzwatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/buzzwatch
	$(BIN)/buzzwatch demo

test: $(BIN)/buzzwatch
	$(BIN)/python -m pytest

bench: $(BIN)/buzzwatch
	$(BIN)/python -m benchmarks

schemas: $(BIN)/buzzwatch
	$(BIN)/buzzwatch schema --write docs/schemas
	$(BIN)/buzzwatch ingest --openapi > docs/openapi.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
