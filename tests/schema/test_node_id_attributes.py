"""Every Node type declares its id attribute, so strawberry finds it once.

strawberry-django falls back to the primary key when a type declares no
`relay.NodeID`, but does not remember the fallback: each `id` resolved would
scan and evaluate the type's annotations again.
"""

from __future__ import annotations

from typing import Any

import pytest
from strawberry import relay
from strawberry.types.base import StrawberryObjectDefinition

from schema.root import schema


def node_types() -> list[Any]:
    types = []
    for graphql_type in schema._schema.type_map.values():
        definition = (graphql_type.extensions or {}).get("strawberry-definition")
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        origin = definition.origin
        if definition.is_interface or not issubclass(origin, relay.Node):
            continue
        types.append(origin)
    return sorted(types, key=lambda node_type: node_type.__name__)


def test_the_schema_has_the_node_types_of_the_catalog_and_its_history() -> None:
    names = {node_type.__name__ for node_type in node_types()}

    assert {
        "ProductType",
        "CategoryType",
        "TagType",
        "HistoricalProductType",
        "HistoricalCategoryType",
        "UserType",
        "ChangesetType",
    } <= names


@pytest.mark.parametrize("node_type", node_types(), ids=lambda t: t.__name__)
def test_a_node_type_declares_its_id_attribute(node_type: Any) -> None:
    assert node_type.resolve_id_attr() == "pk"
    # Remembered: later `id`s do not scan the annotations again.
    assert node_type._id_attr == "pk"
