"""`importProducts` over HTTP: one CREATED version per row, all or nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from products import services
from products.models import Product
from tests.conftest import EDITOR_PERMISSIONS
from tests.factories import UserFactory
from tests.helpers import Mentions, gid, refused
from tests.products.bulk_checks import (
    FEED,
    OPERATION_INFO,
    HistoricalProduct,
    catalog,
    database_state,
)

pytestmark = pytest.mark.django_db


IMPORT = f"""
mutation($input: ImportProductsInput!) {{
  importProducts(input: $input) {{
    __typename
    ... on ProductsResult {{
      count
      products {{ name price quantity category {{ name }} }}
    }}
    {OPERATION_INFO}
  }}
}}
"""


# -- importProducts -----------------------------------------------------------------


def test_import_products_records_a_created_version_of_each(
    gql: Any, editor: Any
) -> None:
    lighting = services.category_create(data={"name": "Lighting"}, actor=None)
    rows = [
        {
            "name": f"Imported {i:02}",
            "price": f"{i}.50",
            "quantity": i,
            **({"category": gid("Category", lighting.pk)} if i % 2 else {}),
        }
        for i in range(30)
    ]
    products_before = Product.objects.count()
    versions_before = HistoricalProduct.objects.count()

    answer = gql(
        IMPORT,
        {"input": {"products": rows, "reason": "Supplier feed"}},
        user=editor,
        headers={"X-Request-ID": "import-1"},
    )

    assert answer == {
        "data": {
            "importProducts": {
                "__typename": "ProductsResult",
                "count": 30,
                "products": [
                    {
                        "name": f"Imported {i:02}",
                        "price": f"{i}.50",
                        "quantity": i,
                        "category": {"name": "Lighting"} if i % 2 else None,
                    }
                    for i in range(30)
                ],
            }
        }
    }
    assert Product.objects.count() == products_before + 30
    assert HistoricalProduct.objects.count() == versions_before + 30
    created = HistoricalProduct.objects.filter(name__startswith="Imported")
    assert sorted(
        (
            v.name,
            v.history_type,
            v.history_change_reason,
            v.history_user_id,
            v.history_request_id,
        )
        for v in created
    ) == [
        (f"Imported {i:02}", "+", "Supplier feed", editor.pk, "import-1")
        for i in range(30)
    ]

    feed = gql(FEED, {"filters": {"historyType": "CREATED"}}, user=editor)
    feed["data"]["productHistory"]["edges"].sort(key=lambda e: e["node"]["name"])
    live = {p.name: p.pk for p in Product.objects.all()}
    assert feed == {
        "data": {
            "productHistory": {
                "totalCount": 30,
                "edges": [
                    {
                        "node": {
                            "productId": gid("Product", live[f"Imported {i:02}"]),
                            "historyType": "CREATED",
                            "historyChangeReason": "Supplier feed",
                            "historyUser": {"username": "editor"},
                            "requestId": None,  # staff only
                            "name": f"Imported {i:02}",
                            "price": f"{i}.50",
                            "category": (
                                {"name": "Lighting", "exists": True} if i % 2 else None
                            ),
                            "changes": [],
                        }
                    }
                    for i in range(30)
                ],
            }
        }
    }


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        pytest.param({"price": "-0.01"}, "price", id="negative-price"),
        pytest.param({"quantity": -1}, "quantity", id="negative-quantity"),
        pytest.param({"name": "x" * 201}, "name", id="name-too-long"),
    ],
)
def test_import_products_rolls_back_every_row_when_one_is_invalid(
    gql: Any, editor: Any, bad: dict[str, Any], field: str
) -> None:
    catalog([Decimal("10.00")])
    before = database_state()
    rows = [
        {"name": "First", "price": "1.00"},
        {"name": "Second", "price": "2.00", **bad},
        {"name": "Third", "price": "3.00"},
    ]

    answer = gql(IMPORT, {"input": {"products": rows, "reason": "feed"}}, user=editor)

    assert answer == refused(
        "importProducts", "INVALID", field=field, message=Mentions("Row 2")
    )
    assert database_state() == before


def test_import_products_with_an_unknown_category_writes_nothing(
    gql: Any, editor: Any
) -> None:
    before = database_state()
    rows = [
        {"name": "First", "price": "1.00"},
        {"name": "Second", "price": "2.00", "category": gid("Category", 999)},
    ]

    answer = gql(IMPORT, {"input": {"products": rows, "reason": "feed"}}, user=editor)

    assert answer == refused("importProducts", "NOT_FOUND", field="category")
    assert database_state() == before


def test_import_products_needs_add_product(gql: Any) -> None:
    user = UserFactory(
        username="no-add",
        permissions=[p for p in EDITOR_PERMISSIONS if p != "add_product"],
    )
    before = database_state()

    answer = gql(
        IMPORT,
        {"input": {"products": [{"name": "A", "price": "1.00"}], "reason": "x"}},
        user=user,
    )

    assert answer == refused("importProducts", "PERMISSION_DENIED", kind="PERMISSION")
    assert database_state() == before
