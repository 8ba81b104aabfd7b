"""The life of a product over HTTP: create, update twice, delete, restore."""

from __future__ import annotations

from typing import Any

from products.models import Product
from tests.conftest import EDITOR_PERMISSIONS
from tests.factories import UserFactory
from tests.helpers import gid, node_pk

PRODUCT = """
fragment P on Product { id name description price quantity }
"""

CREATE = (
    PRODUCT
    + """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) { __typename ...P }
}
"""
)
UPDATE = (
    PRODUCT
    + """
mutation($input: UpdateProductInput!) {
  updateProduct(input: $input) { __typename ...P }
}
"""
)
DELETE = (
    PRODUCT
    + """
mutation($input: DeleteProductInput!) {
  deleteProduct(input: $input) { __typename ...P }
}
"""
)
REVERT = (
    PRODUCT
    + """
mutation($input: RevertProductInput!) {
  revertProduct(input: $input) {
    __typename
    ... on RevertProductResult {
      product { ...P }
      record { historyType historyChangeReason revertedFrom { historyId } }
      changes { field oldValue newValue delta }
    }
  }
}
"""
)
HISTORY = """
query($filters: HistoricalProductFilter) {
  productHistory(filters: $filters) {
    totalCount
    edges { node {
      historyId historyType historyChangeReason
      historyUser { username }
      name description price quantity
      changes { field label oldValue newValue delta segments { op text } }
      revertedFrom { historyId }
    } }
  }
}
"""


def test_create_update_update_delete_restore(gql: Any, editor: Any) -> None:
    other = UserFactory(username="other", permissions=EDITOR_PERMISSIONS)
    created = gql(
        CREATE,
        {
            "input": {
                "name": "Lamp",
                "description": "A small lamp",
                "price": "10.5",
                "quantity": 3,
                "reason": "New in the catalog",
            }
        },
        user=editor,
    )["data"]["createProduct"]
    product_id = created["id"]
    assert created == {
        "__typename": "Product",
        "id": product_id,
        "name": "Lamp",
        "description": "A small lamp",
        "price": "10.50",
        "quantity": 3,
    }

    gql(
        UPDATE,
        {"input": {"id": product_id, "price": "8.00", "reason": "Sale"}},
        user=other,
    )
    updated = gql(
        UPDATE,
        {
            "input": {
                "id": product_id,
                "description": "A small red lamp",
                "quantity": 2,
                "reason": "Repainted",
            }
        },
        user=editor,
    )["data"]["updateProduct"]
    assert updated["description"] == "A small red lamp"
    deleted = gql(
        DELETE, {"input": {"id": product_id, "reason": "Discontinued"}}, user=other
    )["data"]["deleteProduct"]
    assert deleted["__typename"] == "Product"
    assert not Product.objects.exists()

    history = gql(HISTORY, {"filters": {"product": product_id}}, user=editor)
    first_version_id = history["data"]["productHistory"]["edges"][-1]["node"][
        "historyId"
    ]

    restored = gql(
        REVERT,
        {
            "input": {
                "id": product_id,
                "record": gid("HistoricalProduct", first_version_id),
                "reason": "Back by popular demand",
            }
        },
        user=editor,
    )["data"]["revertProduct"]
    assert restored == {
        "__typename": "RevertProductResult",
        "product": {
            "id": product_id,
            "name": "Lamp",
            "description": "A small lamp",
            "price": "10.50",
            "quantity": 3,
        },
        "record": {
            "historyType": "CREATED",
            "historyChangeReason": "Back by popular demand",
            "revertedFrom": {"historyId": first_version_id},
        },
        "changes": [
            {
                "field": "description",
                "oldValue": "A small red lamp",
                "newValue": "A small lamp",
                "delta": None,
            },
            {
                "field": "price",
                "oldValue": "8.00",
                "newValue": "10.50",
                "delta": "2.50",
            },
            {"field": "quantity", "oldValue": "2", "newValue": "3", "delta": "1"},
        ],
    }
    assert Product.objects.get().pk == node_pk(product_id)

    nodes = [
        edge["node"]
        for edge in gql(HISTORY, {"filters": {"product": product_id}}, user=editor)[
            "data"
        ]["productHistory"]["edges"]
    ]
    ids = [node.pop("historyId") for node in nodes]
    assert ids == sorted(ids, reverse=True)
    assert nodes == [
        {
            "historyType": "CREATED",
            "historyChangeReason": "Back by popular demand",
            "historyUser": {"username": "editor"},
            "name": "Lamp",
            "description": "A small lamp",
            "price": "10.50",
            "quantity": 3,
            "changes": [
                {
                    "field": "description",
                    "label": "Description",
                    "oldValue": "A small red lamp",
                    "newValue": "A small lamp",
                    "delta": None,
                    "segments": [
                        {"op": "EQUAL", "text": "A small "},
                        {"op": "DELETE", "text": "red "},
                        {"op": "EQUAL", "text": "lamp"},
                    ],
                },
                {
                    "field": "price",
                    "label": "Price",
                    "oldValue": "8.00",
                    "newValue": "10.50",
                    "delta": "2.50",
                    "segments": None,
                },
                {
                    "field": "quantity",
                    "label": "Quantity",
                    "oldValue": "2",
                    "newValue": "3",
                    "delta": "1",
                    "segments": None,
                },
            ],
            "revertedFrom": {"historyId": first_version_id},
        },
        {
            "historyType": "DELETED",
            "historyChangeReason": "Discontinued",
            "historyUser": {"username": "other"},
            "name": "Lamp",
            "description": "A small red lamp",
            "price": "8.00",
            "quantity": 2,
            "changes": [],
            "revertedFrom": None,
        },
        {
            "historyType": "UPDATED",
            "historyChangeReason": "Repainted",
            "historyUser": {"username": "editor"},
            "name": "Lamp",
            "description": "A small red lamp",
            "price": "8.00",
            "quantity": 2,
            "changes": [
                {
                    "field": "description",
                    "label": "Description",
                    "oldValue": "A small lamp",
                    "newValue": "A small red lamp",
                    "delta": None,
                    "segments": [
                        {"op": "EQUAL", "text": "A small "},
                        {"op": "INSERT", "text": "red "},
                        {"op": "EQUAL", "text": "lamp"},
                    ],
                },
                {
                    "field": "quantity",
                    "label": "Quantity",
                    "oldValue": "3",
                    "newValue": "2",
                    "delta": "-1",
                    "segments": None,
                },
            ],
            "revertedFrom": None,
        },
        {
            "historyType": "UPDATED",
            "historyChangeReason": "Sale",
            "historyUser": {"username": "other"},
            "name": "Lamp",
            "description": "A small lamp",
            "price": "8.00",
            "quantity": 3,
            "changes": [
                {
                    "field": "price",
                    "label": "Price",
                    "oldValue": "10.50",
                    "newValue": "8.00",
                    "delta": "-2.50",
                    "segments": None,
                },
            ],
            "revertedFrom": None,
        },
        {
            "historyType": "CREATED",
            "historyChangeReason": "New in the catalog",
            "historyUser": {"username": "editor"},
            "name": "Lamp",
            "description": "A small lamp",
            "price": "10.50",
            "quantity": 3,
            "changes": [],
            "revertedFrom": None,
        },
    ]
