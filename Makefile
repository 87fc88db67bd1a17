# The two commands of the README: `make run` and `make test`. Everything else they need is here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/qikink-graphql serve --host $(HOST) --port $(PORT)

# The suite runs once per database backend (Tortoise binds models to one dialect a process).
# Without a reachable PostgreSQL its run is skipped with the reason; QKG_REQUIRE_POSTGRES=1
# (set by .ci/run) makes that a failure.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest --db sqlite $(PYTEST_ARGS)
	$(BIN)/python -m pytest --db postgres $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)
	$(BIN)/qikink-graphql migrate

schema: $(STAMP)
	$(BIN)/qikink-graphql export-schema

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
