# Development commands. `make run` and `make test` set everything up on a fresh
# machine with Python 3.11; DATABASE_URL moves both onto PostgreSQL.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

# Development defaults; production sets DJANGO_DEBUG=0 and DJANGO_SECRET_KEY.
export DJANGO_DEBUG ?= 1

.PHONY: install run manage test lint format schema bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## Create .venv and install the project with its dev tools

run: install  ## Migrate, seed demo data and serve on http://$(HOST):$(PORT)/
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Serving on http://$(HOST):$(PORT)/  (Ctrl+C stops)"
	@echo "    history page  http://$(HOST):$(PORT)/"
	@echo "    GraphQL API   http://$(HOST):$(PORT)/graphql/  (POST; GraphiQL in a browser)"
	@echo "    admin         http://$(HOST):$(PORT)/admin/"
	@echo ""
	@# No proxy runs in front: uvicorn must not take client addresses from
	@# X-Forwarded-For (set FORWARDED_ALLOW_IPS to your proxies if one does).
	@# The app logs one line per request, so uvicorn's access log is off; the
	@# app has no start-up or shutdown work, so no lifespan protocol.
	FORWARDED_ALLOW_IPS="$${FORWARDED_ALLOW_IPS-}" $(BIN)/uvicorn config.asgi:application \
		--host $(HOST) --port $(PORT) --lifespan off --no-access-log

manage: install  ## Run a management command: make manage ARGS="create_api_token alice"
	$(BIN)/python manage.py $(ARGS)

test: install  ## Run the whole test suite
	$(BIN)/pytest

lint: install  ## ruff (check and format) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: install  ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: install  ## Re-export schema.graphql from the code
	$(BIN)/python manage.py export_schema config.schema --path schema.graphql

bench: install  ## Run B1-B6 on a throwaway database (PostgreSQL with DATABASE_URL) and print their table
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* .pytest_cache .mypy_cache .ruff_cache
