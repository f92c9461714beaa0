# The two commands a newcomer needs: `make run` (the whole main job on SQLite) and
# `make test` (every test, on SQLite and on PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/banditore

.PHONY: run test install install-test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

run: install
	$(BIN)/banditore run

test: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q -m "not nodb"

bench: install-test
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var build src/*.egg-info
