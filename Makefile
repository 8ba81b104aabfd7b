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

.PHONY: install run test lint format schema bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## Create .venv and install the project with its dev tools

run: install  ## Migrate, seed demo data and serve the page at / and GraphiQL at /graphql/
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Version history: http://$(HOST):$(PORT)/  GraphQL and GraphiQL: http://$(HOST):$(PORT)/graphql/  admin: http://$(HOST):$(PORT)/admin/"
	# No proxy runs in front: uvicorn must not take client addresses from
	# X-Forwarded-For (set FORWARDED_ALLOW_IPS to your proxies if one does).
	FORWARDED_ALLOW_IPS="$${FORWARDED_ALLOW_IPS-}" $(BIN)/uvicorn config.asgi:application --host $(HOST) --port $(PORT)

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

bench: install  ## Print performance figures (ratios measured in one run)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* .pytest_cache .mypy_cache .ruff_cache
