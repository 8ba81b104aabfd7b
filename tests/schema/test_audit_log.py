"""The audit log over HTTP: every tracked model's versions as one feed, newest
first, with filters, permissions, stable keyset cursors and flat deep pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from products.models import Category, Product
from tests.conftest import GraphQL
from tests.factories import ProductFactory, UserFactory
from tests.helpers import gid

PAGE = """
query ($after: String, $filters: AuditLogFilter) {
  auditLog(first: 3, after: $after, filters: $filters) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { __typename id historyType } }
  }
}
"""
AUDITOR_PERMISSIONS = [
    "view_historicalproduct",
    "view_historicalcategory",
    "change_product",
    "add_product",
    "delete_product",
    "change_category",
]


@pytest.fixture
def auditor(db: None) -> Any:
    return UserFactory(username="auditor", permissions=AUDITOR_PERMISSIONS)


def _seed() -> None:
    for index in range(4):
        category = Category.objects.create(name=f"Group {index}")
        product: Product = ProductFactory.create(
            name=f"Thing {index}", category=category
        )
        product.quantity = index + 10
        product.save()


def _all_ids() -> set[str]:
    ids = {
        gid("HistoricalProduct", pk)
        for pk in Product.history.values_list("pk", flat=True)
    }
    ids |= {
        gid("HistoricalCategory", pk)
        for pk in Category.history.values_list("pk", flat=True)
    }
    return ids


def test_a_walk_with_writes_between_pages_sees_each_version_once(
    gql: GraphQL, auditor: Any
) -> None:
    _seed()
    existing = _all_ids()
    seen: list[str] = []
    after = None
    writes = 0
    while True:
        answer = gql(PAGE, {"after": after}, user=auditor)
        page = answer["data"]["auditLog"]
        seen.extend(edge["node"]["id"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        # Someone writes between every two pages: a new product, a change to a
        # category, a deletion.
        writes += 1
        gql(
            """mutation ($name: String!) { createProduct(input: {name: $name,
                 price: "1.00"}) { __typename } }""",
            {"name": f"Late {writes}"},
            user=auditor,
        )
        gql(
            """mutation ($id: ID!, $name: String!) { updateCategory(input: {id: $id,
                 name: $name}) { __typename } }""",
            {"id": gid("Category", Category.objects.first().pk), "name": f"N{writes}"},
            user=auditor,
        )
    assert writes >= 3
    pre_existing = [version for version in seen if version in existing]
    assert sorted(pre_existing) == sorted(existing)  # each exactly once
    assert len(set(seen)) == len(seen)


def test_models_interleave_newest_first(gql: GraphQL, auditor: Any) -> None:
    category = Category.objects.create(name="Lamps")
    ProductFactory.create(name="Lamp", category=category)
    answer = gql(
        """{ auditLog(first: 5) { edges { node { __typename historyType } } } }""",
        user=auditor,
    )
    assert answer == {
        "data": {
            "auditLog": {
                "edges": [
                    {
                        "node": {
                            "__typename": "HistoricalProduct",
                            "historyType": "CREATED",
                        }
                    },
                    {
                        "node": {
                            "__typename": "HistoricalCategory",
                            "historyType": "CREATED",
                        }
                    },
                ]
            }
        }
    }


def test_filters_combine(gql: GraphQL, auditor: Any) -> None:
    _seed()
    product = Product.objects.get(name="Thing 2")
    cases = [
        ({"model": ["CATEGORY"]}, 4),
        ({"model": ["PRODUCT"], "historyType": "UPDATED"}, 4),
        ({"object": gid("Product", product.pk)}, 2),
        ({"changedField": "quantity"}, 4),
        ({"OR": {"model": ["CATEGORY"]}, "historyType": "UPDATED"}, 8),
        ({"NOT": {"model": ["PRODUCT"]}}, 4),
        ({"object": gid("Product", product.pk), "model": ["CATEGORY"]}, 0),
        ({"object": "bm90IGFuIGlk"}, 0),
    ]
    for filters, expected in cases:
        answer = gql(PAGE, {"filters": filters}, user=auditor)
        assert answer["data"]["auditLog"]["totalCount"] == expected, filters


def test_deleted_objects_stay_in_the_log(gql: GraphQL, auditor: Any) -> None:
    product: Product = ProductFactory.create(name="Gone")
    pk = product.pk
    gql(
        "mutation ($id: ID!) { deleteProduct(input: {id: $id}) { __typename } }",
        {"id": gid("Product", pk)},
        user=auditor,
    )
    answer = gql(
        """query ($id: ID!) { auditLog(filters: {object: $id}) { edges { node {
             historyType objectId object { id } } } } }""",
        {"id": gid("Product", pk)},
        user=auditor,
    )
    assert answer["data"]["auditLog"]["edges"] == [
        {
            "node": {
                "historyType": "DELETED",
                "objectId": gid("Product", pk),
                "object": None,
            }
        },
        {
            "node": {
                "historyType": "CREATED",
                "objectId": gid("Product", pk),
                "object": None,
            }
        },
    ]


def test_a_viewer_sees_only_models_whose_history_they_may_read(
    gql: GraphQL, db: None
) -> None:
    _seed()
    category_reader = UserFactory(
        username="category-reader", permissions=["view_historicalcategory"]
    )
    answer = gql(PAGE, {}, user=category_reader)
    assert answer["data"]["auditLog"]["totalCount"] == 4
    assert {e["node"]["__typename"] for e in answer["data"]["auditLog"]["edges"]} == {
        "HistoricalCategory"
    }
    answer = gql(PAGE, {}, user=UserFactory(username="nobody"))
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


def test_a_deep_page_uses_no_offset(gql: GraphQL, auditor: Any) -> None:
    _seed()
    cursor = None
    for _ in range(3):
        answer = gql(PAGE, {"after": cursor}, user=auditor)
        cursor = answer["data"]["auditLog"]["pageInfo"]["endCursor"]
    with CaptureQueriesContext(connection) as captured:
        answer = gql(PAGE, {"after": cursor}, user=auditor)
    assert answer["data"]["auditLog"]["edges"]
    page_sql = [q["sql"] for q in captured.captured_queries if "UNION ALL" in q["sql"]]
    assert len(page_sql) == 1
    assert all(" OFFSET " not in q["sql"].upper() for q in captured.captured_queries)


@pytest.mark.parametrize(
    "cursor",
    ["bm90IGEgY3Vyc29y", "YXJyYXljb25uZWN0aW9uOjM=", "dmVyc2lvbjp4eXo="],
)
def test_a_bad_cursor_is_bad_user_input(
    gql: GraphQL, auditor: Any, cursor: str
) -> None:
    answer = gql(PAGE, {"after": cursor}, user=auditor)
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_page_costs_a_constant_number_of_queries(
    gql: GraphQL, auditor: Any, django_assert_max_num_queries: Any
) -> None:
    _seed()
    query = """{ auditLog(first: 20) { totalCount edges { node {
        historyType historyUser { username } changes { field newValue }
        changeset { id } object { id } } } } }"""
    gql(query, user=auditor)
    small = _count(gql, query, auditor)
    for index in range(10):
        ProductFactory.create(name=f"More {index}")
    assert _count(gql, query, auditor) == small


def _count(gql: GraphQL, query: str, user: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        gql(query, user=user)
    return len(captured.captured_queries)


def test_a_page_with_users_costs_the_same_whoever_wrote_it(
    gql: GraphQL, auditor: Any
) -> None:
    """Who made each version comes with the page (joined), not one query per
    version: the versions here are written by as many users as there are."""
    query = """{ auditLog(first: 30) { edges { node {
        __typename id historyId historyDate historyType historyChangeReason
        historyUser { username } changes { field oldValue newValue }
        ... on HistoricalProduct { name price }
        ... on HistoricalCategory { name } } } } }"""
    Category.objects.create(name="Group")
    _write_as_users(range(3))
    gql(query, user=auditor)
    few = _count(gql, query, auditor)
    _write_as_users(range(3, 15))
    with CaptureQueriesContext(connection) as captured:
        answer = gql(query, user=auditor)
    assert len(captured.captured_queries) == few
    nodes = [edge["node"] for edge in answer["data"]["auditLog"]["edges"]]
    assert [node["historyUser"] for node in nodes[:15]] == [
        {"username": f"writer{index}"} for index in reversed(range(15))
    ]
    assert [node["name"] for node in nodes[:15]] == [
        f"Made by {index}" for index in reversed(range(15))
    ]
    assert nodes[15] == {
        "__typename": "HistoricalCategory",
        "id": nodes[15]["id"],
        "historyId": nodes[15]["historyId"],
        "historyDate": nodes[15]["historyDate"],
        "historyType": "CREATED",
        "historyChangeReason": None,
        "historyUser": None,
        "changes": [],
        "name": "Group",
    }


def _write_as_users(indexes: range) -> None:
    from products.services import product_create

    for index in indexes:
        writer = UserFactory(username=f"writer{index}", permissions=["add_product"])
        product_create(
            data={"name": f"Made by {index}", "price": "1.00", "quantity": 1},
            actor=writer,
            reason=f"by writer {index}",
        )
