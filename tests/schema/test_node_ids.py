"""`node(id:)` with well-formed global ids whose key is not a 64-bit integer:
null, as for any id that names nothing, without asking the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from products import services
from tests.factories import UserFactory
from tests.helpers import gid

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
TYPES = ["Product", "Category", "HistoricalProduct", "HistoricalCategory", "User"]
NOT_KEYS = [
    "abc",
    "1.5",
    "1e3",
    "-",
    "",
    "0x10",
    "99999999999999999999999",
    str(2**63),
    str(-(2**63) - 1),
    "1" * 5000,  # longer than int() parses
]


@pytest.fixture
def root(db: None) -> Any:
    """A superuser: may look up every type, history and users included."""
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def queries_for(gql: Any, node_id: str, user: Any) -> tuple[dict[str, Any], int]:
    """The answer to `node(id:)` and how many SQL queries it took."""
    with CaptureQueriesContext(connection) as context:
        answer = gql(NODE, {"id": node_id}, user=user)
    return answer, len(context.captured_queries)


@pytest.mark.parametrize("type_name", TYPES)
@pytest.mark.parametrize("key", NOT_KEYS, ids=lambda key: key[:24] or "empty")
def test_a_key_that_is_not_an_integer_names_nothing(
    gql: Any, root: Any, type_name: str, key: str
) -> None:
    answer, queries = queries_for(gql, gid(type_name, key), root)
    _, missing_queries = queries_for(gql, gid(type_name, "999999"), root)

    assert answer == {"data": {"node": None}}
    # The lookup of an id that merely names no row costs one query more.
    assert queries == missing_queries - 1


@pytest.mark.parametrize("type_name", TYPES)
def test_the_largest_keys_name_nothing_without_an_error(
    gql: Any, root: Any, type_name: str
) -> None:
    for key in [2**63 - 1, -(2**63)]:
        assert gql(NODE, {"id": gid(type_name, key)}, user=root) == {
            "data": {"node": None}
        }


def test_integer_keys_still_find_every_type(gql: Any, root: Any) -> None:
    category = services.category_create(data={"name": "Desks"}, actor=root)
    product = services.product_create(
        data={"name": "Desk", "price": "120.00", "category": category.pk},
        actor=root,
    )
    objects = {
        "Product": product.pk,
        "Category": category.pk,
        "HistoricalProduct": product.history.get().pk,
        "HistoricalCategory": category.history.get().pk,
        "User": root.pk,
    }

    for type_name, pk in objects.items():
        node_id = gid(type_name, pk)
        assert gql(NODE, {"id": node_id}, user=root) == {
            "data": {"node": {"__typename": type_name, "id": node_id}}
        }
