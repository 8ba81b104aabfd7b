"""The worst-case node count over HTTP (refused above the limit, before any
SQL) and the page size."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from history.diff import MAX_SEGMENTS
from history.tracking import (
    MAX_CHANGES,
    MAX_TEXT_FIELDS,
)
from products import services
from products.models import MAX_TAGS, Product
from tests.conftest import GraphQL
from tests.schema.limit_checks import (
    assert_only_authentication,
    at,
    cost,
    refusal,
    sql_of_request,
)

HistoricalProduct = Product.history.model

pytestmark = pytest.mark.django_db


# -- worst-case nodes ---------------------------------------------------------------

# One page of products, its size given three ways.
PAGES = {
    "first": "{ products(first: PAGE) { edges { node { name } } } }",
    "last": "{ products(last: PAGE) { edges { node { name } } } }",
    "variable": "query($n: Int) { products(first: $n) { edges { node { name } } } }",
}


def paged(kind: str, page: int) -> tuple[str, dict[str, int]]:
    """The document and variables of a `PAGES` query asking for `page` products."""
    template = PAGES[kind]
    if "$n" in template:
        return template, {"n": page}
    return template.replace("PAGE", str(page)), {}


@pytest.mark.parametrize("kind", list(PAGES))
def test_a_query_of_as_many_nodes_as_allowed_runs(
    gql: GraphQL, lamp: Product, settings: Any, kind: str
) -> None:
    settings.GRAPHQL_MAX_NODES = 10
    query, variables = paged(kind, 10)

    answer = gql(query, variables, extensions=True)

    assert answer == {
        "data": {"products": {"edges": [{"node": {"name": "Lamp"}}]}},
        "extensions": cost(nodes=10, depth=4, settings=settings),
    }


@pytest.mark.parametrize("kind", list(PAGES))
def test_a_query_of_one_node_too_many_is_refused_before_it_runs(
    gql: GraphQL, lamp: Product, settings: Any, kind: str
) -> None:
    settings.GRAPHQL_MAX_NODES = 10
    query, variables = paged(kind, 11)

    with sql_of_request() as statements:
        answer = gql(query, variables, extensions=True)

    assert answer == {
        "data": None,
        "errors": [
            refusal(
                "The query could return 11 nodes; at most 10 are allowed. Ask for "
                "smaller pages (first/last) or fewer nested connections.",
                "TOO_MANY_NODES",
                at(query, "query" if variables else "{"),
            )
        ],
        "extensions": cost(nodes=11, depth=4, settings=settings),
    }
    assert_only_authentication(statements, authenticated=False)


NESTED = (
    "query($products: Int, $versions: Int) {"
    " products(first: $products) { edges { node { name"
    " history(first: $versions) { edges { node { historyId"
    " previous { historyId } next { historyId } revertedFrom { historyId }"
    " product { name } } } } } } } }"
)


@pytest.mark.parametrize(
    ("query", "variables", "nodes", "depth"),
    [
        # No first/last: a connection counts a whole page (100).
        pytest.param("{ products { totalCount } }", {}, 100, 2, id="default-page"),
        pytest.param(
            "{ products(first: 3) { edges { node { name } } } }", {}, 3, 4, id="first"
        ),
        # 5 products, 3 versions each, and 4 fetched objects per version.
        pytest.param(
            NESTED, {"products": 5, "versions": 3}, 5 + 15 + 4 * 15, 8, id="variables"
        ),
        # A connection without a page size counts 100 under each of its parents.
        pytest.param(
            NESTED, {"products": 2}, 2 + 200 + 4 * 200, 8, id="nested-default-page"
        ),
        # Counted once per spread, like the fields it stands for.
        pytest.param(
            "{ a: products(first: 2) { ...P } b: products(first: 3) { ...P } }"
            " fragment P on ProductConnection { edges { node { name } } }",
            {},
            5,
            4,
            id="fragments",
        ),
        # Introspection counts like any field: the schema and its query type
        # are an object each; a typename is a scalar, costing no node.
        pytest.param(
            "{ __typename __schema { queryType { name } } }", {}, 2, 3, id="meta"
        ),
        # A named type has no ofType: below it nothing runs, nor counts.
        pytest.param(
            '{ __type(name: "Query") { name ofType { ofType { name } } } }',
            {},
            1,
            2,
            id="named-type-of-type",
        ),
        # A product's tags are a list of at most MAX_TAGS objects.
        pytest.param(
            "{ products(first: 10) { edges { node { tags { name } } } } }",
            {},
            10 + 10 * MAX_TAGS,
            5,
            id="tags",
        ),
        # 2 versions, each with MAX_TAGS tags and MAX_CHANGES changes; of
        # these, only the MAX_TEXT_FIELDS of text fields have segments,
        # MAX_SEGMENTS each.
        pytest.param(
            "{ productHistory(first: 2) { edges { node { tags { name }"
            " changes { segments { text } } } } } }",
            {},
            2 + 2 * MAX_TAGS + 2 * MAX_CHANGES + 2 * MAX_TEXT_FIELDS * MAX_SEGMENTS,
            6,
            id="version-lists",
        ),
        # Any field returning an object counts one per parent.
        pytest.param(
            "{ me { username } products(first: 2) { edges { node {"
            " category { name } history(first: 3) { edges { node"
            " { historyUser { username } } } } } } } }",
            {},
            1 + 2 + 2 + 6 + 6,
            8,
            id="objects",
        ),
        # The payload, then 1000 products (MAX_BULK) or 1000 messages.
        pytest.param(
            'mutation { importProducts(input: {products: [], reason: "none"}) {'
            " ... on ProductsResult { products { name } }"
            " ... on OperationInfo { messages { message } } } }",
            {},
            1 + 1000 + 1000,
            3,
            id="mutation-lists",
        ),
    ],
)
def test_the_computed_cost_is_reported(
    gql: GraphQL,
    lamp: Product,
    as_editor: dict[str, str],
    settings: Any,
    query: str,
    variables: dict[str, Any],
    nodes: int,
    depth: int,
) -> None:
    settings.GRAPHQL_MAX_PAGE_SIZE = 100

    answer = gql(query, variables, headers=as_editor, extensions=True)

    assert "errors" not in answer, answer
    assert answer["extensions"] == cost(nodes=nodes, depth=depth, settings=settings)


# products(first: 100) holds 100 products, each with 100 versions (10,000), each
# fetching its previous and its next: 30,100 nodes, over the default 25,000.
NESTED_HISTORY = (
    "{ products(first: 100) { edges { node {"
    " history(first: 100) { edges { node { previous { next { id } } } } } } } } }"
)
# The same shape with one fetch per version and a second page of 49 versions
# costs 100 + 10,000 + 10,000 + 4,900: exactly the default limit.
AT_THE_DEFAULT_LIMIT = (
    "{ products(first: 100) { edges { node {"
    " history(first: 100) { edges { node { previous { historyId } } } }"
    " more: history(first: 49) { totalCount } } } } }"
)


def test_a_query_at_the_default_node_limit_runs(
    gql: GraphQL, lamp: Product, as_editor: dict[str, str], settings: Any
) -> None:
    settings.GRAPHQL_MAX_NODES = 25_000
    first = HistoricalProduct.objects.order_by("history_id").first()
    assert first is not None

    answer = gql(AT_THE_DEFAULT_LIMIT, headers=as_editor, extensions=True)

    history = [
        {"node": {"previous": {"historyId": first.history_id}}},
        {"node": {"previous": None}},
    ]
    assert answer == {
        "data": {
            "products": {
                "edges": [
                    {"node": {"history": {"edges": history}, "more": {"totalCount": 2}}}
                ]
            }
        },
        "extensions": cost(nodes=25_000, depth=8, settings=settings),
    }


def test_the_nested_history_query_is_refused_before_it_touches_the_database(
    gql: GraphQL, lamp: Product, as_editor: dict[str, str], settings: Any
) -> None:
    settings.GRAPHQL_MAX_NODES = 25_000
    # Data that running it would read from the catalog and history tables.
    for n in range(3):
        services.product_create(
            data={"name": f"Desk {n}", "price": Decimal("1.00")}, actor=None
        )

    with sql_of_request() as statements:
        answer = gql(NESTED_HISTORY, headers=as_editor, extensions=True)

    assert answer == {
        "data": None,
        "errors": [
            refusal(
                "The query could return 30100 nodes; at most 25000 are allowed. Ask "
                "for smaller pages (first/last) or fewer nested connections.",
                "TOO_MANY_NODES",
                at(NESTED_HISTORY, "{"),
            )
        ],
        "extensions": cost(nodes=30_100, depth=9, settings=settings),
    }
    assert_only_authentication(statements, authenticated=True)


# -- page size ----------------------------------------------------------------------
# The page size is not read per request (strawberry takes it when the schema is
# built): these use the default, 100.


@pytest.mark.parametrize("kind", list(PAGES))
def test_a_page_of_the_largest_size_is_served(
    gql: GraphQL, lamp: Product, kind: str
) -> None:
    query, variables = paged(kind, 100)

    answer = gql(query, variables)

    assert answer == {"data": {"products": {"edges": [{"node": {"name": "Lamp"}}]}}}


@pytest.mark.parametrize("kind", list(PAGES))
def test_a_page_one_larger_is_refused_before_it_runs(
    gql: GraphQL, lamp: Product, kind: str
) -> None:
    query, variables = paged(kind, 101)
    argument = "last" if kind == "last" else "first"

    with sql_of_request() as statements:
        answer = gql(query, variables)

    assert answer == {
        "data": None,
        "errors": [
            {
                "message": f"Argument '{argument}' cannot be higher than 100.",
                "locations": at(query, "products"),
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }
    assert_only_authentication(statements, authenticated=False)


def test_a_nested_page_one_larger_is_refused_before_reading_history(
    gql: GraphQL, lamp: Product, as_editor: dict[str, str]
) -> None:
    query = (
        "{ products(first: 1) { edges { node { name"
        " history(first: 101) { totalCount } } } } }"
    )

    with sql_of_request() as statements:
        answer = gql(query, headers=as_editor)

    assert answer == {
        "data": None,
        "errors": [
            {
                "message": "Argument 'first' cannot be higher than 100.",
                "locations": at(query, "history"),
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }
    # The page size is checked when the connection resolves: the products
    # around it were read, their versions never.
    assert [sql for sql in statements if "products_historical" in sql] == []
