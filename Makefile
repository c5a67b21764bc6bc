# Two commands for a newcomer (see README.md):
#   make book   set up .venv if needed, then build the HTML book into _build/html
#   make test   set up .venv if needed, then run every test: library, notebooks, book build, browser
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NOTEBOOKS = $(shell $(BIN)/python scripts/toc_notebooks.py)

.PHONY: setup book lint test test-unit test-notebooks build-strict test-browser test-reader lab clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# The book: executes every chapter (cached between builds), fails on any warning or failing cell.
book: setup
	$(BIN)/jupyter-book build . --all -W --keep-going
	@echo "Open _build/html/index.html in a browser."

# pyflakes rules and syntax errors (pyproject.toml [tool.ruff]) over the library, tests, scripts and chapters
lint: setup
	$(BIN)/ruff check bptt tests benchmarks scripts _ext book/*.ipynb

test: setup
	$(MAKE) lint
	$(BIN)/python scripts/strip_outputs.py --check book/*.ipynb
	$(MAKE) test-unit test-notebooks build-strict test-browser

test-unit: setup
	$(BIN)/python -m pytest tests --ignore=tests/browser -q

test-notebooks: setup
	$(BIN)/python -m pytest --nbmake --nbmake-kernel=python3 --nbmake-timeout=300 -q --durations=0 $(NOTEBOOKS)

build-strict: setup
	$(BIN)/jupyter-book build . --all -W --keep-going

test-browser: setup
	$(BIN)/python -m pytest tests/browser -q -rs

# every reader notebook (_build/reader) run from an empty folder in a Colab-like venv, and every chapter run
# in JupyterLab (test-browser runs two reader notebooks and one chapter in JupyterLab)
test-reader: setup
	BPTT_READER_CHAPTERS=all BPTT_LAB_CHAPTERS=all $(BIN)/python -m pytest tests/browser/test_reader_notebooks.py tests/browser/test_lab_chapters.py -q -rsx

# JupyterLab renders the chapters' MyST (jupyterlab-myst): Run All fills in every number; as root (containers) too
lab: setup
	$(BIN)/jupyter lab $$(test "$$(id -u)" = 0 && echo --allow-root) book/

clean:
	rm -rf _build
