"""The query count of the nested read of products with related history."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import bearer
from tests.factories import UserFactory
from tests.helpers import ok
from tests.schema.related_history import (
    change_product,
    make_category,
    make_product,
    tag_names,
)

pytestmark = pytest.mark.django_db


# -- query counts --------------------------------------------------------------------

NESTED = """
{
  products(first: 50) { edges { node { history(first: 15) {
    totalCount
    edges { node {
      historyDate
      historyUser { username }
      category { name }
      tags { name }
      changes { field oldValue newValue delta added removed }
    } }
  } } } }
}
"""


@pytest.fixture
def auditor(db: None) -> Any:
    return UserFactory(username="auditor", permissions=["view_historicalproduct"])


def catalog_with_history(actor: Any, products: int, updates: int) -> None:
    """Products in categories with tags; each update moves the price, and the
    first one also the category and the tags."""
    lamps = make_category(actor, f"Lamps {products}")
    desks = make_category(actor, f"Desks {products}")
    for n in range(products):
        product = make_product(
            actor, f"Item {n}", price="1.00", category=lamps, tags=["red", "sale"]
        )
        for m in range(updates):
            extra: dict[str, Any] = (
                {"category": desks, "tags": ["blue", "red"]} if m == 0 else {}
            )
            change_product(product, actor, "edit", price=f"{m + 2}.00", **extra)


def test_nested_history_with_category_and_tags_query_count(
    gql: Any, curator: Any, auditor: Any, django_assert_max_num_queries: Any
) -> None:
    catalog_with_history(curator, products=3, updates=1)
    headers = bearer(auditor)

    with django_assert_max_num_queries(4):
        answer = gql(NESTED, headers=headers)

    node_updated = {
        "historyUser": {"username": "curator"},
        "category": {"name": "Desks 3"},
        "tags": tag_names("blue", "red"),
        "changes": [
            {
                "field": "category",
                "oldValue": "Lamps 3",
                "newValue": "Desks 3",
                "delta": None,
                "added": None,
                "removed": None,
            },
            {
                "field": "price",
                "oldValue": "1.00",
                "newValue": "2.00",
                "delta": "1.00",
                "added": None,
                "removed": None,
            },
            {
                "field": "tags",
                "oldValue": "red, sale",
                "newValue": "blue, red",
                "delta": None,
                "added": ["blue"],
                "removed": ["sale"],
            },
        ],
    }
    node_created = {
        "historyUser": {"username": "curator"},
        "category": {"name": "Lamps 3"},
        "tags": tag_names("red", "sale"),
        "changes": [],
    }
    data = ok(answer)
    histories = [edge["node"]["history"] for edge in data["products"]["edges"]]
    for history in histories:
        for edge in history["edges"]:
            assert isinstance(edge["node"].pop("historyDate"), str)
    assert (
        histories
        == [
            {
                "totalCount": 2,
                "edges": [{"node": node_updated}, {"node": node_created}],
            }
        ]
        * 3
    )


def test_nested_history_with_category_and_tags_query_count_does_not_grow(
    gql: Any, curator: Any, auditor: Any
) -> None:
    catalog_with_history(curator, products=3, updates=1)
    headers = bearer(auditor)
    with CaptureQueriesContext(connection) as small:
        small_answer = gql(NESTED, headers=headers)

    catalog_with_history(curator, products=47, updates=21)
    headers = bearer(auditor)
    with CaptureQueriesContext(connection) as large:
        large_answer = gql(NESTED, headers=headers)

    ok(small_answer)
    edges = ok(large_answer)["products"]["edges"]
    assert len(edges) == 50
    histories = [edge["node"]["history"] for edge in edges]
    assert [h["totalCount"] for h in histories] == [2] * 3 + [22] * 47
    assert [len(h["edges"]) for h in histories] == [2] * 3 + [15] * 47
    newest = histories[-1]["edges"][0]["node"]
    assert newest["category"] == {"name": "Desks 47"}
    assert newest["tags"] == tag_names("blue", "red")
    assert newest["changes"] == [
        {
            "field": "price",
            "oldValue": "21.00",
            "newValue": "22.00",
            "delta": "1.00",
            "added": None,
            "removed": None,
        }
    ]
    sizes = (len(small.captured_queries), len(large.captured_queries))
    assert sizes[0] == sizes[1], (
        f"3 x 2 versions: {sizes[0]} queries, 50 x 20+: {sizes[1]}"
    )
    assert sizes[1] <= 4, [query["sql"] for query in large.captured_queries]
