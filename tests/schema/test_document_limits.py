"""Limits on the document over HTTP: depth, aliases, tokens and once-per-
operation fields (login), each just under and just over; a document over a
limit runs no SQL but the viewer's authentication."""

from __future__ import annotations

from typing import Any

import pytest

from products.models import Product
from tests.conftest import GraphQL
from tests.schema.limit_checks import (
    assert_only_authentication,
    at,
    cost,
    refusal,
    sql_of_request,
)

pytestmark = pytest.mark.django_db


# -- depth --------------------------------------------------------------------------


def feed_with_previous(times: int) -> str:
    """The newest version and `times` of its predecessors, one inside the other:
    a document `4 + times` fields deep."""
    chain = "previous { " * times + "historyId" + " }" * times
    return f"{{ productHistory(first: 1) {{ edges {{ node {{ {chain} }} }} }} }}"


def test_a_query_as_deep_as_allowed_runs(
    gql: GraphQL, lamp: Product, as_editor: dict[str, str], settings: Any
) -> None:
    settings.GRAPHQL_MAX_DEPTH = 6
    query = feed_with_previous(2)

    answer = gql(query, headers=as_editor, extensions=True)

    # The newest version's previous is the first one, which has none.
    assert answer == {
        "data": {
            "productHistory": {"edges": [{"node": {"previous": {"previous": None}}}]}
        },
        "extensions": cost(nodes=3, depth=6, settings=settings),
    }


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(feed_with_previous(3), id="fields"),
        pytest.param(
            "{ productHistory(first: 1) { edges { node { ...Older } } } }"
            " fragment Older on HistoricalProduct"
            " { previous { previous { previous { historyId } } } }",
            id="fragment",
        ),
        pytest.param(
            "{ productHistory(first: 1) { edges { node { ... on HistoricalProduct"
            " { previous { previous { previous { historyId } } } } } } } }",
            id="inline-fragment",
        ),
    ],
)
def test_a_query_one_field_too_deep_is_refused_before_it_runs(
    gql: GraphQL, lamp: Product, as_editor: dict[str, str], settings: Any, query: str
) -> None:
    settings.GRAPHQL_MAX_DEPTH = 6

    with sql_of_request() as statements:
        answer = gql(query, headers=as_editor, extensions=True)

    assert answer == {
        "data": None,
        "errors": [
            refusal(
                "The query is 7 fields deep; at most 6 are allowed.",
                "QUERY_TOO_DEEP",
                at(query, "historyId"),
            )
        ],
        "extensions": cost(nodes=4, depth=7, settings=settings),
    }
    assert_only_authentication(statements, authenticated=True)


# -- aliases ------------------------------------------------------------------------


def aliased_counts(count: int) -> str:
    fields = " ".join(
        f"a{n}: products(first: 1) {{ totalCount }}" for n in range(count)
    )
    return f"{{ {fields} }}"


def test_a_query_with_as_many_aliases_as_allowed_runs(
    gql: GraphQL, lamp: Product, settings: Any
) -> None:
    settings.GRAPHQL_MAX_ALIASES = 3

    answer = gql(aliased_counts(3), extensions=True)

    assert answer == {
        "data": {f"a{n}": {"totalCount": 1} for n in range(3)},
        "extensions": cost(nodes=3, depth=2, settings=settings),
    }


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(aliased_counts(4), id="fields"),
        pytest.param(
            "{ a0: products(first: 1) { totalCount } ...Counts }"
            " fragment Counts on Query { a1: products(first: 1) { totalCount }"
            " a2: products(first: 1) { totalCount } a3: products(first: 1)"
            " { totalCount } }",
            id="fragment",
        ),
    ],
)
def test_a_query_with_one_alias_too_many_is_refused_before_it_runs(
    gql: GraphQL, lamp: Product, settings: Any, query: str
) -> None:
    settings.GRAPHQL_MAX_ALIASES = 3

    with sql_of_request() as statements:
        answer = gql(query, extensions=True)

    assert answer == {
        "data": None,
        "errors": [
            refusal(
                "The query has 4 aliases; at most 3 are allowed.",
                "TOO_MANY_ALIASES",
                at(query, "{"),
            )
        ],
        "extensions": cost(nodes=4, depth=2, settings=settings),
    }
    assert_only_authentication(statements, authenticated=False)


# -- tokens -------------------------------------------------------------------------

SIX_TOKENS = "{ products { totalCount } }"


def test_a_query_of_as_many_tokens_as_allowed_runs(
    gql: GraphQL, lamp: Product, settings: Any
) -> None:
    settings.GRAPHQL_MAX_TOKENS = 6

    answer = gql(SIX_TOKENS)

    assert answer == {"data": {"products": {"totalCount": 1}}}


@pytest.mark.parametrize(
    ("query", "column"),
    [
        # The parser stops at the seventh token: here the closing brace.
        pytest.param("{ products { totalCount __typename } }", 38, id="field"),
        # Comments are tokens too: padding a document with them does not help.
        pytest.param(SIX_TOKENS + " # padding", 29, id="comment"),
    ],
)
def test_a_query_of_one_token_too_many_is_refused_before_it_runs(
    gql: GraphQL, lamp: Product, settings: Any, query: str, column: int
) -> None:
    settings.GRAPHQL_MAX_TOKENS = 6

    with sql_of_request() as statements:
        answer = gql(query, extensions=True)

    # Refused by the parser: there is nothing to measure, so no cost.
    assert answer == {
        "data": None,
        "errors": [
            refusal(
                "Syntax Error: Document contains more than 6 tokens. Parsing aborted.",
                "TOO_MANY_TOKENS",
                [{"line": 1, "column": column}],
            )
        ],
    }
    assert_only_authentication(statements, authenticated=False)


# -- once-per-operation fields ------------------------------------------------------

LOGIN = 'login(username: "editor", password: "secret-password") { username }'


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(f"mutation {{ a: {LOGIN} b: {LOGIN} }}", id="aliases"),
        pytest.param(
            f"mutation {{ a: {LOGIN} ...Again }}"
            f" fragment Again on Mutation {{ {LOGIN} }}",
            id="fragment",
        ),
        pytest.param(
            f"mutation {{ a: {LOGIN} ... on Mutation {{ b: {LOGIN} }} }}",
            id="inline-fragment",
        ),
    ],
)
def test_a_second_login_in_one_operation_is_refused(
    gql: GraphQL, editor: Any, query: str
) -> None:
    with sql_of_request() as statements:
        answer = gql(query)

    assert answer == {
        "data": None,
        "errors": [
            refusal(
                "'login' may be selected once per operation; this one selects it "
                "2 times.",
                "REPEATED_FIELD",
                at(query, "mutation"),
            )
        ],
    }
    # No password was checked.
    assert_only_authentication(statements, authenticated=False)


def test_one_login_per_operation_runs(gql: GraphQL, editor: Any) -> None:
    # The same field twice under one response key runs once.
    answer = gql(f"mutation {{ {LOGIN} {LOGIN} }}")

    assert answer == {"data": {"login": {"username": "editor"}}}
