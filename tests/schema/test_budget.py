"""The database's time budget: a statement timeout on every PostgreSQL
connection, and a statement it cancels answered as a `TIMEOUT` error.

SQLite has no statement timeout: only the settings are tested there.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest
from django.db import connection

from config.settings import database_config
from history import selectors
from products import services
from products.models import Product
from schema import budget as request_budget
from tests.conftest import GraphQL
from tests.factories import ProductFactory
from tests.helpers import gid

HistoricalProduct = Product.history.model

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no statement timeout"
)
BUDGET_MS = 200
PRODUCT = "query($id: ID!) { product(id: $id) { name } }"
CREATE = (
    "mutation($input: CreateProductInput!) "
    "{ createProduct(input: $input) { __typename ... on Product { name } } }"
)
TIMEOUT_MESSAGE = (
    f"The database did not answer within its time budget of {BUDGET_MS} ms; the "
    "statement was cancelled and a change it belonged to rolled back. Ask for "
    "less (a narrower filter, a smaller page, fewer aliases) or try again later."
)


# -- settings ------------------------------------------------------------------


def test_postgresql_connections_start_with_the_budget() -> None:
    config = database_config("postgres://u@db/catalog", statement_timeout_ms=250)

    assert config["OPTIONS"]["options"] == "-c statement_timeout=250"  # type: ignore[index]


def test_the_budget_joins_options_given_in_the_url() -> None:
    config = database_config(
        "postgres://u@db/catalog?options=-c%20search_path%3Dshop",
        statement_timeout_ms=250,
    )

    assert config["OPTIONS"]["options"] == (  # type: ignore[index]
        "-c search_path=shop -c statement_timeout=250"
    )


@pytest.mark.parametrize(
    ("url", "budget"),
    [("postgres://u@db/catalog", 0), ("sqlite:///catalog.sqlite3", 5000)],
    ids=["postgresql-budget-off", "sqlite"],
)
def test_no_statement_timeout_without_a_budget_or_on_sqlite(
    url: str, budget: int
) -> None:
    config = database_config(url, statement_timeout_ms=budget)

    assert "options" not in config["OPTIONS"]  # type: ignore[operator]


@postgresql_only
@pytest.mark.django_db
def test_the_test_connection_has_the_configured_budget(settings: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setting FROM pg_settings WHERE name = 'statement_timeout'"
        )
        (setting,) = cursor.fetchone()

    assert int(setting) == settings.DATABASE_STATEMENT_TIMEOUT_MS


# -- a statement over the budget -----------------------------------------------


@pytest.fixture
def budget(settings: Any, db: None) -> None:
    """A budget of BUDGET_MS on the test's connection (the one requests use);
    the test's transaction undoes the SET."""
    settings.DATABASE_STATEMENT_TIMEOUT_MS = BUDGET_MS
    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {BUDGET_MS}")


def sleep_past_the_budget() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(5)")


def timed_out(query: str, field: str, data: Any) -> dict[str, Any]:
    return {
        "data": data,
        "errors": [
            {
                "message": TIMEOUT_MESSAGE,
                "locations": [{"line": 1, "column": query.index(field) + 1}],
                "path": [field],
                "extensions": {"code": "TIMEOUT"},
            }
        ],
    }


@postgresql_only
@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_slow_query_is_a_timeout_error(
    gql: GraphQL,
    budget: None,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    debug: bool,
) -> None:
    settings.DEBUG = debug
    product = cast(Product, ProductFactory())
    objects_by_pk = selectors.objects_by_pk

    def slow_objects_by_pk(**kwargs: Any) -> Any:
        sleep_past_the_budget()
        return objects_by_pk(**kwargs)

    monkeypatch.setattr(selectors, "objects_by_pk", slow_objects_by_pk)

    answer = gql(PRODUCT, {"id": gid("Product", product.pk)})

    assert answer == timed_out(PRODUCT, "product", {"product": None})
    # Not a bug: no error logged, one warning with the database's reason.
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "canceling statement due to statement timeout" in caplog.text


@postgresql_only
def test_a_mutation_over_the_budget_is_a_timeout_error_and_writes_nothing(
    gql: GraphQL,
    editor: Any,
    budget: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    history_save = services.history_save

    def slow_history_save(**kwargs: Any) -> Any:
        saved = history_save(**kwargs)  # the product and its version, written
        sleep_past_the_budget()
        return saved

    monkeypatch.setattr(services, "history_save", slow_history_save)
    variables = {"input": {"name": "Desk", "price": "120.00", "reason": "new"}}

    answer = gql(CREATE, variables, user=editor)

    assert answer == timed_out(CREATE, "createProduct", None)
    assert not Product.objects.exists()
    assert not HistoricalProduct.objects.exists()
    # The connection is usable again: the same mutation, now fast, succeeds.
    monkeypatch.setattr(services, "history_save", history_save)
    assert gql(CREATE, variables, user=editor) == {
        "data": {"createProduct": {"__typename": "Product", "name": "Desk"}}
    }


# -- the request's total ---------------------------------------------------------


def test_a_request_over_its_total_budget_runs_no_more_statements(
    gql: GraphQL, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each statement is within its own timeout, but together they pass the
    request's budget: the statements after that do not run, and the fields
    that needed them are TIMEOUT errors. Each statement takes 20 ms of a
    budget of 30 on the budget's clock."""
    settings.DATABASE_REQUEST_BUDGET_MS = 30
    products = [cast(Product, ProductFactory()) for _ in range(3)]
    ticks = iter(range(10**6))
    monkeypatch.setattr(request_budget, "perf_counter", lambda: next(ticks) * 0.02)
    query = "query(" + ", ".join(f"$p{n}: ID!" for n in range(3)) + ") { "
    query += " ".join(f"p{n}: product(id: $p{n}) {{ name }}" for n in range(3)) + " }"
    variables = {f"p{n}": gid("Product", p.pk) for n, p in enumerate(products)}

    answer = gql(query, variables)

    assert answer == {
        "data": {
            "p0": {"name": products[0].name},
            "p1": {"name": products[1].name},
            "p2": None,
        },
        "errors": [
            {
                "message": "The request spent its database time budget of 30 ms; "
                "the rest of it did not run and a change it belonged to rolled back. "
                "Ask for less (a narrower filter, a smaller page, fewer aliases) or "
                "try again later.",
                "locations": [{"line": 1, "column": query.index("p2: product") + 1}],
                "path": ["p2"],
                "extensions": {"code": "TIMEOUT"},
            }
        ],
    }


def test_outside_a_request_there_is_no_total_budget(
    db: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DATABASE_REQUEST_BUDGET_MS = 30
    ticks = iter(range(10**6))
    monkeypatch.setattr(request_budget, "perf_counter", lambda: next(ticks) * 0.02)

    assert len([ProductFactory() for _ in range(5)]) == 5
