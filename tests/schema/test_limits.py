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
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql import GraphQLInterfaceType, GraphQLObjectType, get_introspection_query
from graphql.language.parser import MAX_NESTING_DEPTH

from history.diff import MAX_SEGMENTS
from history.tracking import (
    MAX_CHANGES,
    MAX_M2M_ITEMS,
    MAX_TEXT_FIELDS,
    is_text,
    tracked_fields,
)
from products import services
from products.models import MAX_TAGS, Product
from schema import limits, root
from tests.conftest import GraphQL, bearer

HistoricalProduct = Product.history.model

pytestmark = pytest.mark.django_db

# Every table of the catalog and of its history is named `products_...`.
CATALOG_TABLES = "products_"
# Authenticating a bearer token: the token with its user, then the permissions.
AUTHENTICATION_TABLES = ("accounts_apitoken", "auth_permission")


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


# -- fragments ----------------------------------------------------------------------


def doubling_fragments(count: int, bottom: str) -> str:
    """`count` fragments each spreading the one before twice, over `bottom`: the
    expanded document holds `bottom` 2 ** count times."""
    spreads = " ".join(
        f"fragment F{n} on Query {{ ...F{n - 1} ...F{n - 1} }}"
        for n in range(1, count + 1)
    )
    return f"{{ ...F{count} }} fragment F0 on Query {{ {bottom} }} {spreads}"


@pytest.fixture
def walked_selection_sets(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the selection sets the limits walker measures; past 10,000 it
    stops the walk (an exponential walk would never end)."""
    calls: list[int] = []
    measure = limits._Walker._selections

    def counted(self: Any, *args: Any) -> Any:
        calls.append(1)
        if len(calls) > 10_000:
            raise AssertionError("the walk is not linear in the document")
        return measure(self, *args)

    monkeypatch.setattr(limits._Walker, "_selections", counted)
    return calls


def test_fragments_spread_at_every_level_are_measured_once(
    gql: GraphQL, walked_selection_sets: list[int], settings: Any
) -> None:
    query = doubling_fragments(60, "a: products(first: 1) { totalCount }")

    with sql_of_request() as statements:
        answer = gql(query, extensions=True)

    expanded = 2**60
    assert answer == {
        "data": None,
        "errors": [
            refusal(
                f"The query has {expanded} aliases; at most 20 are allowed.",
                "TOO_MANY_ALIASES",
                at(query, "{"),
            ),
            refusal(
                f"The query could return {expanded} nodes; at most 25000 are "
                "allowed. Ask for smaller pages (first/last) or fewer nested "
                "connections.",
                "TOO_MANY_NODES",
                at(query, "{"),
            ),
        ],
        "extensions": cost(nodes=expanded, depth=2, settings=settings),
    }
    # The operation, each of the 61 fragments once, `products` and `totalCount`.
    assert len(walked_selection_sets) == 1 + 61 + 2
    assert_only_authentication(statements, authenticated=False)


def test_doubling_fragments_within_the_limits_run(
    gql: GraphQL, lamp: Product, walked_selection_sets: list[int], settings: Any
) -> None:
    settings.GRAPHQL_MAX_NODES = 2**4
    query = doubling_fragments(4, "products(first: 1) { totalCount }")

    answer = gql(query, extensions=True)

    # Fields of one response key run once; the cost counts each as written.
    assert answer == {
        "data": {"products": {"totalCount": 1}},
        "extensions": cost(nodes=2**4, depth=2, settings=settings),
    }
    assert len(walked_selection_sets) == 1 + 5 + 2


def test_a_fragment_cycle_is_refused_without_looping(gql: GraphQL) -> None:
    query = (
        "{ ...A } fragment A on Query { products(first: 1) { totalCount } ...B }"
        " fragment B on Query { ...A }"
    )

    answer = gql(query)

    assert answer == {
        "data": None,
        "errors": [
            {
                "message": "Cannot spread fragment 'A' within itself via 'B'.",
                "locations": [
                    {"line": 1, "column": query.index("...B") + 1},
                    {"line": 1, "column": query.rindex("...A") + 1},
                ],
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ],
    }


# -- introspection ------------------------------------------------------------------


def answer_depth(value: Any) -> int:
    """How many fields deep an answer's data goes."""
    if isinstance(value, list):
        return max((answer_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return max((1 + answer_depth(item) for item in value.values()), default=0)
    return 0


def answer_objects(value: Any) -> int:
    """How many objects an answer's data holds (the data itself left out)."""
    if isinstance(value, list):
        return sum(answer_objects(item) for item in value)
    if isinstance(value, dict):
        return sum(
            int(isinstance(item, dict)) + answer_objects(item)
            for item in value.values()
        )
    return 0


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(get_introspection_query(descriptions=True), id="graphiql"),
        pytest.param(
            get_introspection_query(descriptions=True, input_value_deprecation=True),
            id="input-value-deprecation",
        ),
    ],
)
def test_graphiql_introspection_runs_with_the_default_limits(
    gql: GraphQL, query: str
) -> None:
    answer = gql(query, extensions=True)

    assert "errors" not in answer, answer
    assert answer["data"]["__schema"]["queryType"] == {
        "name": "Query",
        "kind": "OBJECT",
    }
    measured = answer["extensions"]["cost"]
    assert (measured["maxNodes"], measured["maxDepth"]) == (25_000, 12)
    # A sound bound of the answer, and under the default limits.
    assert answer_objects(answer["data"]) <= measured["nodes"] <= 25_000
    assert answer_depth(answer["data"]) <= measured["depth"] <= 12


def test_many_aliases_of_the_schema_are_refused(gql: GraphQL, settings: Any) -> None:
    query = (
        "{ "
        + " ".join(f"a{n}: __schema {{ types {{ name }} }}" for n in range(400))
        + " }"
    )

    with sql_of_request() as statements:
        answer = gql(query, extensions=True)

    # Each alias answers the schema and every one of its types.
    nodes = 400 * (1 + len(root.schema._schema.type_map))
    assert answer == {
        "data": None,
        "errors": [
            refusal(
                "The query has 400 aliases; at most 20 are allowed.",
                "TOO_MANY_ALIASES",
                at(query, "{"),
            ),
            refusal(
                f"The query could return {nodes} nodes; at most 25000 are allowed. "
                "Ask for smaller pages (first/last) or fewer nested connections.",
                "TOO_MANY_NODES",
                at(query, "{"),
            ),
        ],
        "extensions": cost(nodes=nodes, depth=3, settings=settings),
    }
    assert_only_authentication(statements, authenticated=False)


def test_nested_introspection_lists_are_refused(gql: GraphQL, settings: Any) -> None:
    # graphql-core itself refuses `fields` nested three deep.
    query = (
        "{ "
        + " ".join(
            f"a{n}: __schema {{ types {{ fields {{ type {{ fields {{ type {{ name }}"
            " } } } } }"
            for n in range(20)
        )
        + " }"
    )

    answer = gql(query, extensions=True)

    # Below `types`, all types' fields; below a field's type, the fields of any
    # one type: at most as many as the type with the most fields has.
    type_map = root.schema._schema.type_map.values()
    field_counts = [
        len(t.fields)
        for t in type_map
        if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)
    ]
    all_fields, most = sum(field_counts), max(field_counts)
    per_alias = 1 + len(type_map) + 2 * all_fields + 2 * all_fields * most
    assert answer == {
        "data": None,
        "errors": [
            refusal(
                f"The query could return {20 * per_alias} nodes; at most 25000 are "
                "allowed. Ask for smaller pages (first/last) or fewer nested "
                "connections.",
                "TOO_MANY_NODES",
                at(query, "{"),
            )
        ],
        "extensions": cost(nodes=20 * per_alias, depth=7, settings=settings),
    }


def test_introspection_counts_against_the_depth(gql: GraphQL, settings: Any) -> None:
    settings.GRAPHQL_MAX_DEPTH = 5
    query = "{ __schema { types { fields { type { ofType { name } } } } } }"

    answer = gql(query, extensions=True)

    assert answer["errors"] == [
        refusal(
            "The query is 6 fields deep; at most 5 are allowed.",
            "QUERY_TOO_DEEP",
            at(query, "name"),
        )
    ]
    assert answer["data"] is None


# -- list fields --------------------------------------------------------------------


def test_a_list_of_objects_counts_its_declared_bound(
    gql: GraphQL, lamp: Product, settings: Any
) -> None:
    settings.GRAPHQL_MAX_NODES = 2 + 2 * MAX_TAGS - 1
    query = "{ products(first: 2) { edges { node { tags { name } } } } }"

    with sql_of_request() as statements:
        answer = gql(query, extensions=True)

    # 2 products with at most MAX_TAGS tags each.
    nodes = 2 + 2 * MAX_TAGS
    assert answer == {
        "data": None,
        "errors": [
            refusal(
                f"The query could return {nodes} nodes; at most {nodes - 1} are "
                "allowed. Ask for smaller pages (first/last) or fewer nested "
                "connections.",
                "TOO_MANY_NODES",
                at(query, "{"),
            )
        ],
        "extensions": cost(nodes=nodes, depth=5, settings=settings),
    }
    assert_only_authentication(statements, authenticated=False)


def test_every_list_field_declares_its_bound() -> None:
    """A list field without a bound would cost as a page, silently: each one
    declares `list_bound` (or is a library type's, in LIBRARY_LIST_BOUNDS)."""
    undeclared = [
        f"{parent.name}.{name}"
        for parent in root.schema._schema.type_map.values()
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
        and not parent.name.startswith("__")
        for name, definition in parent.fields.items()
        if "[" in str(definition.type)
        and not limits.is_connection_plumbing(parent, name)
        and limits.declared_list_bound(parent, name, definition) is None
    ]

    assert undeclared == []


def test_the_bounds_of_changes_hold_for_every_tracked_model() -> None:
    """`changes` lists at most MAX_CHANGES fields, MAX_TEXT_FIELDS of them with
    segments."""
    tracked = [
        model
        for model in apps.get_models()
        if hasattr(model._meta, "simple_history_manager_attribute")
    ]
    counts = {
        model.__name__: (
            len(tracked_fields(model)),
            len([field for field in tracked_fields(model) if is_text(field)]),
        )
        for model in tracked
    }

    assert "Product" in counts
    assert {
        name: (fields, texts)
        for name, (fields, texts) in counts.items()
        if fields > MAX_CHANGES or texts > MAX_TEXT_FIELDS
    } == {}
    assert MAX_TAGS <= MAX_M2M_ITEMS


# -- list inputs --------------------------------------------------------------------

FIELDS_OF_CHANGES = (
    "query($names: [String!]) { productHistory(first: 1) { edges { node"
    " { changes(fields: $names) { field } } } } }"
)


def names_query(count: int) -> str:
    names = ", ".join(f'"n{n}"' for n in range(count))
    return (
        "{ productHistory(first: 1) { edges { node"
        f" {{ changes(fields: [{names}]) {{ field }} }} }} }} }}"
    )


def in_list_query(count: int) -> str:
    names = ", ".join(f'"n{n}"' for n in range(count))
    return f"{{ products(filters: {{name: {{inList: [{names}]}}}}) {{ totalCount }} }}"


FOUR_ITEMS = "Argument 'fields' has a list of 4 items; at most 3 are allowed."


def four_items_at(path: str) -> str:
    return f"Argument 'filters' has a list of 4 items at {path}; at most 3 are allowed."


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        pytest.param(names_query(4), {}, FOUR_ITEMS, id="literal"),
        pytest.param(
            FIELDS_OF_CHANGES, {"names": ["price"] * 4}, FOUR_ITEMS, id="variable"
        ),
        pytest.param(
            in_list_query(4),
            {},
            four_items_at("filters.name.inList"),
            id="in-an-input-object",
        ),
        pytest.param(
            "query($f: ProductFilter) { products(filters: $f) { totalCount } }",
            {"f": {"OR": {"name": {"inList": ["a", "b", "c", "d"]}}}},
            four_items_at("filters.OR.name.inList"),
            id="in-a-variable-input-object",
        ),
        pytest.param(
            "query($names: [String!]) { products(filters:"
            " {name: {inList: $names}}) { totalCount } }",
            {"names": ["a", "b", "c", "d"]},
            four_items_at("filters.name.inList"),
            id="variable-in-a-literal",
        ),
    ],
)
def test_a_list_argument_one_item_too_long_is_refused(
    gql: GraphQL,
    lamp: Product,
    as_editor: dict[str, str],
    settings: Any,
    query: str,
    variables: dict[str, Any],
    message: str,
) -> None:
    settings.GRAPHQL_MAX_LIST_INPUT = 3

    assert_input_refused(
        gql,
        query,
        variables,
        message,
        at_field="changes" if "'fields'" in message else "products",
        headers=as_editor,
    )


def test_a_list_variable_used_many_times_counts_at_every_use(
    gql: GraphQL, lamp: Product, as_editor: dict[str, str], settings: Any
) -> None:
    """A variable's list is charged at every place it is used: two uses of a
    list of 2 are 4 items, over a limit of 3."""
    settings.GRAPHQL_MAX_LIST_INPUT = 3
    query = (
        "query($names: [String!]) { products(filters: {name: {inList: $names},"
        " OR: {description: {inList: $names}}}) { totalCount } }"
    )

    assert_input_refused(
        gql,
        query,
        {"names": ["a", "b"]},
        "Argument 'filters' has 4 list items in all; at most 3 are allowed.",
        headers=as_editor,
    )


def test_a_list_argument_as_long_as_allowed_runs(
    gql: GraphQL, lamp: Product, as_editor: dict[str, str], settings: Any
) -> None:
    settings.GRAPHQL_MAX_LIST_INPUT = 3

    answer = gql(
        FIELDS_OF_CHANGES, {"names": ["price", "name", "quantity"]}, headers=as_editor
    )

    change = {"field": "price"}
    assert answer == {
        "data": {"productHistory": {"edges": [{"node": {"changes": [change]}}]}}
    }


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
