"""Helpers shared by the tests of the read side of the API: global ids of
products and versions, and writes through the services."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from history.selectors import history_versions
from products.models import Product
from products.services import (
    product_create,
    product_update,
)
from tests.helpers import gid

# -- helpers ----------------------------------------------------------------------


def product_gid(product: Product) -> str:
    return gid("Product", product.pk)


def create(actor: Any, name: str, price: str = "10.00", **data: Any) -> Product:
    """A product created through the service, with its CREATED version."""
    values = {"name": name, "price": Decimal(price), **data}
    return product_create(data=values, actor=actor, reason=f"create {name}")


def update(product: Product, actor: Any, reason: str = "edit", **data: Any) -> Product:
    """Change a product through the service, recording an UPDATED version."""
    if "price" in data:
        data["price"] = Decimal(data["price"])
    return product_update(pk=product.pk, data=data, actor=actor, reason=reason)


def versions(product: Product) -> list[Any]:
    """The versions of a product, newest first (works after deletion)."""
    return list(history_versions(model=Product, pk=product.pk))


def iso(moment: datetime.datetime) -> str:
    return moment.isoformat()


def change(field: str, old: str | None, new: str | None, delta: str | None = None):
    return {"field": field, "oldValue": old, "newValue": new, "delta": delta}
