"""Query-count guards of the nested history read: a fixed number of SQL
statements whatever the sizes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import bearer
from tests.factories import UserFactory
from tests.schema.reads import change, create, update

pytestmark = pytest.mark.django_db


# -- query counts -------------------------------------------------------------------

NESTED = """
{
  products(first: 50) { edges { node { history(first: 20) {
    totalCount
    edges { node {
      historyDate
      historyUser { username }
      changes { field oldValue newValue delta }
    } }
  } } } }
}
"""


def catalog_with_history(actor: Any, products: int, updates: int) -> None:
    for n in range(products):
        product = create(actor, f"Item {n}", "1.00")
        for m in range(updates):
            update(product, actor, price=f"{m + 2}.00")


@pytest.fixture
def auditor(db: None) -> Any:
    return UserFactory(username="auditor", permissions=["view_historicalproduct"])


def test_nested_history_query_count(
    gql, editor, auditor, django_assert_max_num_queries
):
    catalog_with_history(editor, products=3, updates=1)
    headers = bearer(auditor)

    with django_assert_max_num_queries(4):
        answer = gql(NESTED, headers=headers)

    assert "errors" not in answer, answer["errors"]
    histories = [e["node"]["history"] for e in answer["data"]["products"]["edges"]]
    assert len(histories) == 3
    for history in histories:
        nodes = [edge["node"] for edge in history["edges"]]
        assert history["totalCount"] == 2
        assert [node["historyUser"] for node in nodes] == [{"username": "editor"}] * 2
        assert [node["changes"] for node in nodes] == [
            [change("price", "1.00", "2.00", "1.00")],
            [],
        ]


def test_nested_history_query_count_does_not_grow(gql, editor, auditor):
    catalog_with_history(editor, products=3, updates=1)
    headers = bearer(auditor)
    with CaptureQueriesContext(connection) as small:
        small_answer = gql(NESTED, headers=headers)

    catalog_with_history(editor, products=47, updates=21)
    headers = bearer(auditor)
    with CaptureQueriesContext(connection) as large:
        large_answer = gql(NESTED, headers=headers)

    assert "errors" not in small_answer
    assert "errors" not in large_answer
    edges = large_answer["data"]["products"]["edges"]
    assert len(edges) == 50
    histories = [edge["node"]["history"] for edge in edges]
    assert [h["totalCount"] for h in histories] == [2] * 3 + [22] * 47
    assert [len(h["edges"]) for h in histories] == [2] * 3 + [20] * 47
    assert histories[-1]["edges"][0]["node"]["changes"] == [
        change("price", "21.00", "22.00", "1.00")
    ]
    sizes = (len(small.captured_queries), len(large.captured_queries))
    assert sizes[0] == sizes[1], (
        f"3 x 2 versions: {sizes[0]} queries, 50 x 20+: {sizes[1]}"
    )
    assert sizes[1] <= 4, [query["sql"] for query in large.captured_queries]
