"""Fragments and introspection over HTTP: spreads measured once, cycles
refused without looping, introspection bounded by the same limits."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLInterfaceType, GraphQLObjectType, get_introspection_query

from products.models import Product
from schema import limits, root
from tests.conftest import GraphQL
from tests.schema.limit_checks import (
    assert_only_authentication,
    at,
    cost,
    refusal,
    sql_of_request,
)

pytestmark = pytest.mark.django_db


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
