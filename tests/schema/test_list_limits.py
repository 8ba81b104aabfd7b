"""Lists over HTTP: every list field declares its bound and counts it; list
arguments and variables longer than allowed are refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from graphql import GraphQLInterfaceType, GraphQLObjectType

from history.tracking import (
    MAX_CHANGES,
    MAX_M2M_ITEMS,
    MAX_TEXT_FIELDS,
    is_text,
    tracked_fields,
)
from products.models import MAX_TAGS, Product
from schema import limits, root
from tests.conftest import GraphQL
from tests.schema.limit_checks import (
    assert_input_refused,
    assert_only_authentication,
    at,
    cost,
    refusal,
    sql_of_request,
)

pytestmark = pytest.mark.django_db


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
