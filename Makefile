# The two commands of the README: `make run` and `make test`. Everything else they need is here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every package and its hash, from `make lock`: what run and test install, on any machine.
LOCK := requirements.lock
# GraphiQL's scripts and styles, served by the service itself (web/static/graphiql/package-lock.json).
GRAPHIQL := web/static/graphiql/node_modules/.package-lock.json
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate schema lock clean graphiql medusa-plugin

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'pip>=24,<26'
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# Without npm the service still runs; its GraphiQL page then says what to install.
$(GRAPHIQL): web/static/graphiql/package-lock.json $(STAMP)
	$(BIN)/python scripts/npm_ci.py web/static/graphiql || echo "GraphiQL's files were not installed: /graphql in a browser will say so."

graphiql: $(GRAPHIQL)

# The Medusa plugin built into medusa-plugin/.medusa (its packages from its lock file), for a
# merchant to copy into their backend; the Medusa tests build it themselves when needed.
medusa-plugin: $(STAMP)
	$(BIN)/python -m scripts.medusa_plugin build

# Refresh the lock from pyproject.toml's ranges (the newest versions they admit).
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'pip>=24,<26' 'pip-tools>=7.4,<8'
	$(BIN)/pip-compile --quiet --upgrade --extra dev --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links --output-file $(LOCK) pyproject.toml

run: $(STAMP) $(GRAPHIQL)
	$(BIN)/qikink-graphql serve --host $(HOST) --port $(PORT)

# The suite runs once per database backend (Tortoise binds models to one dialect a process).
# Without a reachable PostgreSQL its run is skipped with the reason; QKG_REQUIRE_POSTGRES=1
# (set by .ci/run) makes that a failure.
# The twenty slowest tests of each pass are listed at its end; PYTEST_ARGS adds to them.
PYTEST_ARGS ?=
test: $(STAMP) $(GRAPHIQL)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/check_imports.py
	$(BIN)/python -m pytest --db sqlite --durations=20 $(PYTEST_ARGS)
	$(BIN)/python -m pytest --db postgres --durations=20 $(PYTEST_ARGS)

# mypy's files and strictness are in pyproject.toml ([tool.mypy]); the import rules are its
# [tool.importlinter], and no import circle anywhere.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/check_imports.py

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)
	$(BIN)/qikink-graphql migrate

schema: $(STAMP)
	$(BIN)/qikink-graphql export-schema

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache web/static/graphiql/node_modules medusa-plugin/node_modules medusa-plugin/.medusa
