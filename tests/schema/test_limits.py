"""The limits on one GraphQL document, each with a query just under and one just
over it: depth, aliases, tokens, the worst-case node count and the page size.

A document over a limit is refused before it runs: the only SQL of its request
is the viewer's authentication, never a catalog or history table. The limits are
read from settings on every request, so each test sets the one it is about.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from products import services
from products.models import Product
from tests.conftest import GraphQL, bearer

HistoricalProduct = Product.history.model

pytestmark = pytest.mark.django_db

# Every table of the catalog and of its history is named `products_...`.
CATALOG_TABLES = "products_"
# Authenticating a bearer token: the token with its user, then the permissions.
AUTHENTICATION_TABLES = ("history_apitoken", "auth_permission")


@pytest.fixture
def lamp(editor: Any) -> Product:
    """A product with two versions: created at 20.00, then 25.00."""
    product = services.product_create(
        data={"name": "Lamp", "price": Decimal("20.00"), "quantity": 3},
        actor=editor,
        reason="new",
    )
    return services.product_update(
        pk=product.pk, data={"price": Decimal("25.00")}, actor=editor, reason="dearer"
    )


@pytest.fixture
def as_editor(editor: Any) -> dict[str, str]:
    """Headers authenticating as the editor (made before any query is counted)."""
    return bearer(editor)


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
        # Introspection and typenames cost nothing and add no depth.
        pytest.param(
            "{ __typename __schema { queryType { name } } }", {}, 0, 0, id="meta"
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
