# Pathway — developer entry points. Only Python 3.11+ and make are needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv run demo test lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

run: venv
	$(BIN)/python -m desktop $(if $(DEMO),--demo) $(ARGS)

demo: venv
	$(BIN)/python -m desktop --demo

test: venv
	$(BIN)/ruff check desktop tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check desktop tests bench
	$(BIN)/ruff format --check desktop tests bench
	$(BIN)/mypy

bench: venv
	-$(BIN)/python bench/validate.py
	-$(BIN)/python bench/store.py
	-$(BIN)/python bench/ui.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
