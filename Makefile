# Pathway — developer entry points. Only Python 3.11+ and make are needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
APP    := $(shell sed -n 's/^APP_NAME = "\(.*\)"/\1/p' desktop/__init__.py)
BENCHES = $(filter-out bench/report.py bench/dist.py,$(sort $(wildcard bench/*.py)))

.PHONY: venv run demo test lint bench clean dist dist-test

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
	$(MAKE) dist-test

lint: venv
	$(BIN)/ruff check desktop tests bench
	$(BIN)/ruff format --check desktop tests bench
	$(BIN)/mypy

# Every bench/*.py writes bench/out/<name>.json; report.py makes bench/RESULTS.md and the
# README's table from them. A benchmark that misses its target does not stop the others.
bench: venv dist
	rm -rf bench/out
	-for b in $(BENCHES); do $(BIN)/python $$b || echo "$$b: missed a target or failed"; done
	-PATHWAY_BENCH_DATASET=secure-r $(BIN)/python bench/ui.py
	-$(BIN)/python bench/dist.py
	$(BIN)/python bench/report.py --readme

# The application built with PyInstaller (build.spec): dist/$(APP)/$(APP).
# PATHWAY_ONEFILE=1 builds one file instead; PATHWAY_DEBUG_BUILD=1 keeps a console window.
$(VENV)/.dist-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,dev,dist]'
	touch $@

dist: $(VENV)/.dist-installed
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller build.spec
	@du -sh dist/$(APP)* | tail -1

# The built application checks itself (stores, validation, export, window) offscreen.
dist-test: dist
	test "$$(dist/$(APP)/$(APP) --version)" = "$$($(BIN)/python -m desktop --version)"
	QT_QPA_PLATFORM=offscreen dist/$(APP)/$(APP) --self-test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist bench/out
