# The two commands of the quick start are `make serve` and `make test`; both install what they
# need into .venv first. `make check` adds lint, types and the import contracts
# (docs/architecture.md).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?= -n auto

.PHONY: install serve test lint types imports check bench mutation clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The demo district (its own SQLite database in ./demo), served on http://127.0.0.1:8000
serve: install
	$(VENV)/bin/mch-service demo --host 127.0.0.1 --port 8000

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check mch_service jobs fhir_mappings tests benchmarks
	$(VENV)/bin/ruff format --check mch_service jobs fhir_mappings tests benchmarks

types: install
	$(VENV)/bin/mypy

# The layering contracts of pyproject.toml [tool.importlinter] (tests/test_layers.py runs them too)
imports: install
	$(VENV)/bin/lint-imports --no-cache

check: lint types imports test

bench: install
	$(PY) -m benchmarks

# Mutation score of the rule and access modules and their surviving mutants (docs/testing.md).
# On demand, not in CI: about an hour; `make mutation MUTATION_ARGS=--quick` for the work lists.
MUTATION_ARGS ?=
mutation: install
	$(PY) -m benchmarks mutation $(MUTATION_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache mutants
