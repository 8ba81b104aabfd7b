"""The sensitive supplier cost over HTTP: who sees it, in products and in their
history."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from products.models import Product
from tests.helpers import gid, ok, refused
from tests.schema.related_history import (
    FEED,
    OPERATION_INFO,
    REVERT_PRODUCT,
    HistoricalProduct,
    change_product,
    database_state,
    feed_nodes,
    make_product,
    product_versions,
)

pytestmark = pytest.mark.django_db


# -- the sensitive supplier cost -----------------------------------------------------

COST = "4321.98"
NEW_COST = "8765.43"
PRODUCT_COST = """
query($id: ID!) { product(id: $id) { name supplierCost } }
"""
CREATE_WITH_COST = f"""
mutation($input: CreateProductInput!) {{
  createProduct(input: $input) {{
    __typename ... on Product {{ name price supplierCost }} {OPERATION_INFO}
  }}
}}
"""
UPDATE_WITH_COST = f"""
mutation($input: UpdateProductInput!) {{
  updateProduct(input: $input) {{
    __typename ... on Product {{ name price supplierCost }} {OPERATION_INFO}
  }}
}}
"""
FULL_HISTORY = """
query($id: ID!, $against: ID!) {
  productHistory {
    edges { node {
      id historyId productId historyDate historyType historyChangeReason
      historyUser { username } ipAddress userAgent requestId
      name description price quantity
      category { id name exists } tags { name exists }
      changes { field label oldValue newValue delta added removed
                segments { op text } }
      diff(against: $against) { field oldValue newValue delta added removed }
      previous { historyId price } next { historyId price }
      revertedFrom { historyId }
    } }
  }
  productAsOf(id: $id, at: "2999-01-01T00:00:00+00:00") { name price }
}
"""


def test_supplier_cost_is_staff_only_and_in_no_version(
    gql: Any, staff: Any, editor: Any, reader: Any
) -> None:
    assert "supplier_cost" not in [f.name for f in HistoricalProduct._meta.fields]

    created = gql(
        CREATE_WITH_COST,
        {
            "input": {
                "name": "Lamp",
                "price": "10.00",
                "supplierCost": COST,
                "reason": "New",
            }
        },
        user=staff,
    )
    assert created == {
        "data": {
            "createProduct": {
                "__typename": "Product",
                "name": "Lamp",
                "price": "10.00",
                "supplierCost": COST,
            }
        }
    }
    product = Product.objects.get()
    product_id = gid("Product", product.pk)
    assert product.supplier_cost == Decimal(COST)

    assert gql(
        UPDATE_WITH_COST,
        {
            "input": {
                "id": product_id,
                "price": "12.00",
                "supplierCost": NEW_COST,
                "reason": "Costs up",
            }
        },
        user=staff,
    ) == {
        "data": {
            "updateProduct": {
                "__typename": "Product",
                "name": "Lamp",
                "price": "12.00",
                "supplierCost": NEW_COST,
            }
        }
    }

    assert gql(PRODUCT_COST, {"id": product_id}, user=staff) == {
        "data": {"product": {"name": "Lamp", "supplierCost": NEW_COST}}
    }
    for viewer in (editor, reader, None):
        assert gql(PRODUCT_COST, {"id": product_id}, user=viewer) == {
            "data": {"product": {"name": "Lamp", "supplierCost": None}}
        }

    # No stored version, diff, snapshot or search text holds either cost.
    stored = json.dumps(list(HistoricalProduct.objects.values()), default=str)
    for cost in (COST, NEW_COST):
        assert cost not in stored

    first = product_versions(product.pk)[0]
    for viewer in (staff, editor):
        answer = gql(
            FULL_HISTORY,
            {"id": product_id, "against": gid("HistoricalProduct", first.history_id)},
            user=viewer,
        )
        data = ok(answer)
        assert [
            e["node"]["historyChangeReason"] for e in data["productHistory"]["edges"]
        ] == ["Costs up", "New"]
        assert data["productHistory"]["edges"][0]["node"]["changes"] == [
            {
                "field": "price",
                "label": "Price",
                "oldValue": "10.00",
                "newValue": "12.00",
                "delta": "2.00",
                "added": None,
                "removed": None,
                "segments": None,
            }
        ]
        text = json.dumps(answer)
        for cost in (COST, NEW_COST):
            assert cost not in text

    for cost in (COST, NEW_COST):
        assert ok(gql(FEED, {"filters": {"search": cost}}, user=staff)) == feed_nodes()


def test_a_non_staff_editor_may_not_set_the_supplier_cost(
    gql: Any, editor: Any, staff: Any
) -> None:
    product = make_product(staff, "Lamp", supplier_cost=Decimal(COST))
    before = database_state()

    created = gql(
        CREATE_WITH_COST,
        {"input": {"name": "Desk", "price": "10.00", "supplierCost": "1.00"}},
        user=editor,
    )
    updated = gql(
        UPDATE_WITH_COST,
        {
            "input": {
                "id": gid("Product", product.pk),
                "price": "11.00",
                "supplierCost": "1.00",
            }
        },
        user=editor,
    )

    assert created == refused("createProduct", "PERMISSION_DENIED", kind="PERMISSION")
    assert updated == refused("updateProduct", "PERMISSION_DENIED", kind="PERMISSION")
    assert database_state() == before


def test_supplier_cost_is_not_a_revertable_field(gql: Any, staff: Any) -> None:
    product = make_product(staff, "Lamp", supplier_cost=Decimal(COST))
    change_product(product, staff, "up", price="11.00", supplier_cost=Decimal("1.00"))
    first = product_versions(product.pk)[0]
    before = database_state()

    answer = gql(
        REVERT_PRODUCT,
        {
            "input": {
                "id": gid("Product", product.pk),
                "record": gid("HistoricalProduct", first.history_id),
                "reason": "back",
                "fields": ["supplierCost"],
            }
        },
        user=staff,
    )

    assert answer == refused("revertProduct", "UNKNOWN_FIELD", field="fields")
    assert database_state() == before
