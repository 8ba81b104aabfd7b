"""Helpers shared by the tests of the request limits: the editor's headers,
the SQL a request runs, the refusals' shapes and the computed cost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import GraphQL

# Every table of the catalog and of its history is named `products_...`.
CATALOG_TABLES = "products_"
# Authenticating a bearer token: the token with its user, then the permissions.
AUTHENTICATION_TABLES = ("accounts_apitoken", "auth_permission")


@contextmanager
def sql_of_request() -> Iterator[list[str]]:
    """Collect the SQL the block runs."""
    statements: list[str] = []
    with CaptureQueriesContext(connection) as queries:
        yield statements
    statements.extend(query["sql"] for query in queries.captured_queries)


def assert_only_authentication(statements: list[str], *, authenticated: bool) -> None:
    """The request ran no SQL but the viewer's authentication."""
    assert [sql for sql in statements if CATALOG_TABLES in sql] == []
    expected = len(AUTHENTICATION_TABLES) if authenticated else 0
    assert len(statements) == expected, statements
    for sql, table in zip(statements, AUTHENTICATION_TABLES, strict=False):
        assert table in sql


def assert_input_refused(
    gql: GraphQL,
    query: str,
    variables: dict[str, Any],
    message: str,
    *,
    at_field: str = "products",
    headers: dict[str, str] | None = None,
) -> None:
    """The document is refused for an argument's value, BAD_USER_INPUT at
    `at_field`, before it runs any SQL but the viewer's authentication."""
    with sql_of_request() as statements:
        answer = gql(query, variables, headers=headers)

    assert answer == {
        "data": None,
        "errors": [refusal(message, "BAD_USER_INPUT", at(query, at_field))],
    }
    assert_only_authentication(statements, authenticated=headers is not None)


def cost(nodes: int, depth: int, settings: Any) -> dict[str, Any]:
    """The `extensions` of an answer whose document was measured."""
    return {
        "cost": {
            "nodes": nodes,
            "maxNodes": settings.GRAPHQL_MAX_NODES,
            "depth": depth,
            "maxDepth": settings.GRAPHQL_MAX_DEPTH,
        }
    }


def at(query: str, text: str) -> list[dict[str, int]]:
    """The GraphQL location of the first `text` in a one-line `query`."""
    assert "\n" not in query
    return [{"line": 1, "column": query.index(text) + 1}]


def refusal(message: str, code: str, locations: list[dict[str, int]]) -> dict[str, Any]:
    return {"message": message, "locations": locations, "extensions": {"code": code}}
