"""Helpers shared by the bulk-edit tests: every row a bulk change could write,
a seeded catalog, and the documents of the bulk mutations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from history.tracking import m2m_history_model
from products import services
from products.models import Category, Product, Tag
from tests.helpers import gid

HistoricalProduct = Product.history.model
HistoricalCategory = Category.history.model
HistoricalProductTag = m2m_history_model(Product, Product._meta.get_field("tags"))

OPERATION_INFO = "... on OperationInfo { messages { kind message field code } }"

ADJUST = f"""
mutation($input: AdjustPricesInput!) {{
  adjustPrices(input: $input) {{
    __typename
    ... on ProductsResult {{ count products {{ id price }} }}
    {OPERATION_INFO}
  }}
}}
"""


FEED = """
query($filters: HistoricalProductFilter) {
  productHistory(filters: $filters, first: 100) {
    totalCount
    edges { node {
      productId historyType historyChangeReason historyUser { username }
      requestId name price category { name exists }
      changes { field oldValue newValue delta }
    } }
  }
}
"""


# -- helpers ----------------------------------------------------------------------


def database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row a bulk change could write, all columns."""
    return {
        "products": list(Product.objects.order_by("pk").values()),
        "product_versions": list(HistoricalProduct.objects.order_by("pk").values()),
        "product_version_tags": list(
            HistoricalProductTag.objects.order_by("pk").values()
        ),
        "product_tags": list(Product.tags.through.objects.order_by("pk").values()),
        "categories": list(Category.objects.order_by("pk").values()),
        "category_versions": list(HistoricalCategory.objects.order_by("pk").values()),
        "tags": list(Tag.objects.order_by("pk").values()),
    }


def catalog(prices: list[Decimal], *, prefix: str = "Item") -> list[Product]:
    """Products imported through the service, one CREATED version each."""
    rows = [
        {"name": f"{prefix} {index:03}", "price": price, "quantity": 1}
        for index, price in enumerate(prices)
    ]
    return services.product_import(rows=rows, actor=None, reason="seed")


def ids(products: list[Product]) -> list[str]:
    return [gid("Product", product.pk) for product in products]
