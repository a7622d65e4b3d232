# Two commands a fresh machine needs: `make demo` and `make test`. Each creates .venv when it is
# missing and installs the project with its test extras, so python3 and make are all you need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
REF    ?= ../shared/ref
# one test process per core plus one, each test file whole in one process (its module-scoped stacks built
# once); the extra process fills the time the others wait on sockets and disks (2 cores: 4 min 26 s with 3
# processes, 5 min 06 s with 2, same CPU)
JOBS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')
PYTEST_ARGS ?= -n $(JOBS) --dist loadfile

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml setup.py
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	@$(BIN)/segur demo $(if $(wildcard $(REF)/cda),--pack $(REF)/cda,)

lint: $(STAMP)
	$(BIN)/ruff check .

# The tests' bytecode (Python's, and pytest's assertion-rewritten test and plugin modules) is cached in
# .segur-cache/pycache, even under PYTHONDONTWRITEBYTECODE=1, which would have each test process and each
# Python subprocess of the tests compile and rewrite it all anew (~9 s of CPU per test process); nothing is
# written beside the sources, and `make clean` removes it.
test: export PYTHONPYCACHEPREFIX := $(CURDIR)/.segur-cache/pycache
test: export PYTHONDONTWRITEBYTECODE :=
test: $(STAMP) lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .segur-cache .pytest_cache .ruff_cache evidence
