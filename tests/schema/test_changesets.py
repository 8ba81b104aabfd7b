"""Changesets over HTTP: `changeset(id)`, `Version.changeset`, the audit log's
`changeset` filter and `revertChangeset`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from products.models import Product
from tests.conftest import GraphQL
from tests.factories import CategoryFactory, ProductFactory, UserFactory
from tests.helpers import CATALOG_PERMISSIONS, gid

ADJUST = """
mutation ($ids: [ID!]!) {
  adjustPrices(input: {ids: $ids, percent: "10", reason: "spring prices"}) {
    __typename ... on ProductsResult { count }
  }
}
"""
CHANGESET_OF_NEWEST = """
query ($id: ID!) {
  product(id: $id) { history(first: 1) { edges { node { changeset { id } } } } }
}
"""
REVERT_CHANGESET = """
mutation ($id: ID!, $dryRun: Boolean) {
  revertChangeset(input: {id: $id, reason: "undo spring", dryRun: $dryRun}) {
    __typename
    ... on RevertChangesetResult {
      changeset { historyChangeReason versions(first: 1) { totalCount } }
      versions { __typename historyChangeReason }
      changes { objectId object { __typename } changes { field oldValue newValue } }
    }
    ... on OperationInfo { messages { code field } }
  }
}
"""


@pytest.fixture
def catalog_editor(db: None) -> Any:
    return UserFactory(
        username="catalog-editor",
        permissions=CATALOG_PERMISSIONS,
    )


def _adjust_fifty(gql: GraphQL, user: Any) -> tuple[list[Product], str]:
    products: list[Product] = [
        ProductFactory.create(price=Decimal("10.00")) for _ in range(50)
    ]
    ids = [gid("Product", product.pk) for product in products]
    answer = gql(ADJUST, {"ids": ids}, user=user)
    assert answer["data"]["adjustPrices"] == {
        "__typename": "ProductsResult",
        "count": 50,
    }
    answer = gql(CHANGESET_OF_NEWEST, {"id": ids[0]}, user=user)
    edges = answer["data"]["product"]["history"]["edges"]
    return products, edges[0]["node"]["changeset"]["id"]


def test_a_changeset_shows_who_when_why_and_every_version(
    gql: GraphQL, catalog_editor: Any
) -> None:
    _, changeset_id = _adjust_fifty(gql, catalog_editor)
    answer = gql(
        """query ($id: ID!) { changeset(id: $id) {
             id historyChangeReason historyUser { username }
             versions(first: 2) { totalCount edges { node {
               __typename historyChangeReason changeset { id } } } } } }""",
        {"id": changeset_id},
        user=catalog_editor,
    )
    version = {
        "node": {
            "__typename": "HistoricalProduct",
            "historyChangeReason": "spring prices",
            "changeset": {"id": changeset_id},
        }
    }
    assert answer == {
        "data": {
            "changeset": {
                "id": changeset_id,
                "historyChangeReason": "spring prices",
                "historyUser": {"username": "catalog-editor"},
                "versions": {"totalCount": 50, "edges": [version, version]},
            }
        }
    }
    answer = gql(
        """query ($id: ID!) { auditLog(filters: {changeset: $id}) { totalCount } }""",
        {"id": changeset_id},
        user=catalog_editor,
    )
    assert answer == {"data": {"auditLog": {"totalCount": 50}}}


def test_revert_changeset_restores_all_fifty_in_one_transaction(
    gql: GraphQL, catalog_editor: Any
) -> None:
    products, changeset_id = _adjust_fifty(gql, catalog_editor)
    versions_before = Product.history.count()
    answer = gql(
        REVERT_CHANGESET, {"id": changeset_id, "dryRun": True}, user=catalog_editor
    )
    preview = answer["data"]["revertChangeset"]
    assert preview["changeset"] is None
    assert preview["versions"] == []
    assert len(preview["changes"]) == 50
    assert Product.history.count() == versions_before

    answer = gql(REVERT_CHANGESET, {"id": changeset_id}, user=catalog_editor)
    result = answer["data"]["revertChangeset"]
    assert result["__typename"] == "RevertChangesetResult"
    assert result["changeset"] == {
        "historyChangeReason": "undo spring",
        "versions": {"totalCount": 50},
    }
    assert len(result["versions"]) == 50
    assert {v["historyChangeReason"] for v in result["versions"]} == {"undo spring"}
    assert result["changes"][0]["changes"] == [
        {"field": "price", "oldValue": "11.00", "newValue": "10.00"}
    ]
    prices = set(
        Product.objects.filter(pk__in=[p.pk for p in products]).values_list(
            "price", flat=True
        )
    )
    assert prices == {Decimal("10.00")}
    assert Product.history.count() == versions_before + 50


def test_revert_changeset_is_stale_when_one_product_changed_since(
    gql: GraphQL, catalog_editor: Any
) -> None:
    products, changeset_id = _adjust_fifty(gql, catalog_editor)
    gql(
        """mutation ($id: ID!) { updateProduct(input: {id: $id, quantity: 99}) {
             __typename } }""",
        {"id": gid("Product", products[17].pk)},
        user=catalog_editor,
    )
    versions_before = Product.history.count()
    answer = gql(REVERT_CHANGESET, {"id": changeset_id}, user=catalog_editor)
    assert answer["data"]["revertChangeset"]["__typename"] == "OperationInfo"
    assert answer["data"]["revertChangeset"]["messages"][0]["code"] == "STALE"
    assert Product.history.count() == versions_before
    assert set(Product.objects.values_list("price", flat=True)) == {Decimal("11.00")}


def test_revert_changeset_of_a_category_deletion(
    gql: GraphQL, catalog_editor: Any
) -> None:
    category: Any = CategoryFactory.create(name="Lamps")
    lamps: list[Product] = [ProductFactory.create(category=category) for _ in range(3)]
    answer = gql(
        """mutation ($id: ID!) { deleteCategory(input: {id: $id, reason: "merge"}) {
             __typename } }""",
        {"id": gid("Category", category.pk)},
        user=catalog_editor,
    )
    assert answer["data"]["deleteCategory"] == {"__typename": "Category"}
    answer = gql(
        """query ($id: ID!) { auditLog(first: 1, filters: {object: $id}) {
             edges { node { changeset { id versions { totalCount } } } } } }""",
        {"id": gid("Category", category.pk)},
        user=catalog_editor,
    )
    changeset = answer["data"]["auditLog"]["edges"][0]["node"]["changeset"]
    assert changeset["versions"] == {"totalCount": 4}
    answer = gql(REVERT_CHANGESET, {"id": changeset["id"]}, user=catalog_editor)
    result = answer["data"]["revertChangeset"]
    assert result["__typename"] == "RevertChangesetResult"
    assert result["changes"][0]["objectId"] == gid("Category", category.pk)
    assert result["changes"][0]["object"] == {"__typename": "Category"}
    assert set(
        Product.objects.filter(pk__in=[p.pk for p in lamps]).values_list(
            "category_id", flat=True
        )
    ) == {category.pk}


def test_changesets_need_a_history_permission(
    gql: GraphQL, catalog_editor: Any
) -> None:
    _, changeset_id = _adjust_fifty(gql, catalog_editor)
    reader = UserFactory(username="plain-reader")
    answer = gql(
        "query ($id: ID!) { changeset(id: $id) { id } }",
        {"id": changeset_id},
        user=reader,
    )
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    category_reader = UserFactory(
        username="category-reader", permissions=["view_historicalcategory"]
    )
    answer = gql(
        "query ($id: ID!) { changeset(id: $id) { versions { totalCount } } }",
        {"id": changeset_id},
        user=category_reader,
    )
    # A changeset of only versions the viewer may not read tells nothing.
    assert answer == {"data": {"changeset": None}}
    answer = gql(REVERT_CHANGESET, {"id": changeset_id}, user=category_reader)
    assert answer["data"]["revertChangeset"] == {
        "__typename": "OperationInfo",
        "messages": [{"code": "PERMISSION_DENIED", "field": None}],
    }


@pytest.mark.parametrize(
    "changeset_id",
    [
        "bm90IGFuIGlk",
        gid("Changeset", "not-a-uuid"),
        gid("Changeset", "7d5bd1f6-7a5b-4b8a-9a55-1d2f0b1e9c11"),
        gid("Product", 1),
    ],
)
def test_an_unknown_changeset_is_null_or_not_found(
    gql: GraphQL, catalog_editor: Any, changeset_id: str
) -> None:
    answer = gql(
        "query ($id: ID!) { changeset(id: $id) { id } }",
        {"id": changeset_id},
        user=catalog_editor,
    )
    assert answer == {"data": {"changeset": None}}
    answer = gql(REVERT_CHANGESET, {"id": changeset_id}, user=catalog_editor)
    assert answer["data"]["revertChangeset"] == {
        "__typename": "OperationInfo",
        "messages": [{"code": "NOT_FOUND", "field": "id"}],
    }
