"""Input objects over HTTP: nesting depth and filter terms are bounded, and
refused before coercion."""

from __future__ import annotations

from typing import Any

import pytest
from graphql.language.parser import MAX_NESTING_DEPTH

from products.models import Product
from tests.conftest import GraphQL
from tests.schema.limit_checks import assert_input_refused, at, refusal

pytestmark = pytest.mark.django_db


# -- input objects ------------------------------------------------------------------


def nested_and(levels: int) -> str:
    """A product filter with `levels` ANDs, one in the other."""
    return "{AND: " * levels + '{name: {exact: "Lamp"}}' + "}" * levels


NESTED_FILTER = "query($f: ProductFilter) { products(filters: $f) { totalCount } }"


def nested_and_value(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"name": {"exact": "Lamp"}}
    for _ in range(levels):
        value = {"AND": value}
    return value


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        pytest.param(
            f"{{ products(filters: {nested_and(2)}) {{ totalCount }} }}",
            {},
            id="literal",
        ),
        pytest.param(NESTED_FILTER, {"f": nested_and_value(2)}, id="variable"),
    ],
)
def test_input_objects_one_level_too_deep_are_refused(
    gql: GraphQL, lamp: Product, settings: Any, query: str, variables: dict[str, Any]
) -> None:
    # The filter, two ANDs, and the name's lookups: 4 input objects deep.
    settings.GRAPHQL_MAX_INPUT_DEPTH = 3

    assert_input_refused(
        gql,
        query,
        variables,
        "Argument 'filters' nests input objects 4 deep; at most 3 are allowed.",
    )


def test_input_objects_as_deep_as_allowed_run(
    gql: GraphQL, lamp: Product, settings: Any
) -> None:
    settings.GRAPHQL_MAX_INPUT_DEPTH = 4

    answer = gql(NESTED_FILTER, {"f": nested_and_value(2)})

    assert answer == {"data": {"products": {"totalCount": 1}}}


def test_a_deeply_nested_variable_is_refused_before_it_is_coerced(
    gql: GraphQL, lamp: Product
) -> None:
    # (The HTTP layer refuses JSON nested deeper than 64.)
    answer = gql(NESTED_FILTER, {"f": nested_and_value(60)})

    assert answer == {
        "data": None,
        "errors": [
            refusal(
                "Argument 'filters' nests input objects 62 deep; at most 10 are "
                "allowed.",
                "BAD_USER_INPUT",
                at(NESTED_FILTER, "products"),
            )
        ],
    }


def or_of_contains(terms: int) -> str:
    """A product filter OR-ing `terms` name containments."""
    value = ""
    for n in range(terms):
        value = (
            f'{{name: {{contains: "w{n}"}}' + (f", OR: {value}" if value else "") + "}"
        )
    return value


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        pytest.param(
            f"{{ products(filters: {or_of_contains(3)}) {{ totalCount }} }}",
            {},
            id="literal",
        ),
        pytest.param(
            NESTED_FILTER,
            {
                "f": {
                    "name": {"contains": "a"},
                    "OR": {
                        "name": {"contains": "b"},
                        "OR": {"name": {"contains": "c"}},
                    },
                }
            },
            id="variable",
        ),
        pytest.param(
            "query($word: String) { products(filters: {name: {contains: $word},"
            ' OR: {name: {contains: $word}, OR: {name: {contains: "c"}}}}) {'
            " totalCount } }",
            {"word": "a"},
            id="variables-in-a-literal",
        ),
    ],
)
def test_a_filter_of_one_term_too_many_is_refused(
    gql: GraphQL, lamp: Product, settings: Any, query: str, variables: dict[str, Any]
) -> None:
    settings.GRAPHQL_MAX_FILTER_TERMS = 2

    assert_input_refused(
        gql, query, variables, "Argument 'filters' has 3 terms; at most 2 are allowed."
    )


def test_a_filter_of_as_many_terms_as_allowed_runs(
    gql: GraphQL, lamp: Product, settings: Any
) -> None:
    settings.GRAPHQL_MAX_FILTER_TERMS = 2
    # A list of values is one term: one IN (...) condition.
    query = (
        '{ products(filters: {name: {inList: ["Lamp", "Desk", "Mug"]},'
        ' OR: {name: {contains: "x"}}}) { totalCount } }'
    )

    answer = gql(query)

    assert answer == {"data": {"products": {"totalCount": 1}}}


def test_terms_are_counted_in_filters_only(
    gql: GraphQL, editor: Any, settings: Any
) -> None:
    """A bulk input holds many values, each bounded by the list limit: they are
    not the terms of a query."""
    settings.GRAPHQL_MAX_FILTER_TERMS = 2
    query = (
        'mutation { importProducts(input: {reason: "import", products: ['
        + ", ".join(f'{{name: "P{n}", price: "1.00"}}' for n in range(3))
        + "]}) { ... on ProductsResult { count } } }"
    )

    answer = gql(query, user=editor)

    assert answer == {"data": {"importProducts": {"count": 3}}}


def too_deep_at(query: str) -> int:
    """The column where the parser gives up: the first brace or bracket nested
    deeper than graphql-core's MAX_NESTING_DEPTH."""
    depth = 0
    for index, char in enumerate(query):
        depth += (char in "{[") - (char in "}]")
        if depth > MAX_NESTING_DEPTH:
            return index + 1
    raise AssertionError("not nested too deeply")


@pytest.mark.parametrize(
    "query",
    [
        # 1,200 nested input objects in under 5,000 tokens.
        pytest.param(
            f"{{ products(filters: {nested_and(1200)}) {{ totalCount }} }}",
            id="input-objects",
        ),
        # 2,000 nested lists.
        pytest.param(
            "{ products(filters: {name: {inList: "
            + "[" * 2000
            + '"x"'
            + "]" * 2000
            + "}}) { totalCount } }",
            id="lists",
        ),
    ],
)
def test_a_literal_nested_past_the_parser_limit_is_a_parse_failure(
    gql: GraphQL, query: str
) -> None:
    answer = gql(query)

    assert answer == {
        "data": None,
        "errors": [
            refusal(
                "Syntax Error: Document is nested too deeply. Parsing aborted.",
                "GRAPHQL_PARSE_FAILED",
                [{"line": 1, "column": too_deep_at(query)}],
            )
        ],
    }
