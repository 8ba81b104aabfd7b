"""GraphQL object types of the catalog: products and their versions."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
import strawberry_django
from strawberry import relay
from strawberry.types import Info
from strawberry_django.relay import DjangoListConnection

from products.models import Product
from schema.fields import DescribedField
from schema.history import (
    VersionFields,
    load_live_object,
    load_neighbour,
    load_version,
    object_global_id,
)
from schema.permissions import history_permission
from schema.users import UserType

if TYPE_CHECKING:
    from schema.filters import HistoricalProductFilter

HistoricalProduct = Product.history.model


@strawberry_django.type(
    Product,
    name="Product",
    description=(
        "A product in the catalog. Every change to it is recorded as a "
        "HistoricalProduct."
    ),
)
class ProductType(relay.Node):
    name: strawberry.auto
    description: strawberry.auto
    price: Decimal
    quantity: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    history: DjangoListConnection[HistoricalProductType] = strawberry_django.connection(
        field_name="versions",
        field_cls=DescribedField,
        filters=Annotated["HistoricalProductFilter", strawberry.lazy("schema.filters")],
        permission_classes=[history_permission(Product)],
        description="Every recorded version of this product, newest first.",
    )


@strawberry_django.type(
    HistoricalProduct,
    name="HistoricalProduct",
    description=(
        "One immutable version of a product: its field values right after a "
        "change, and who/when/why."
    ),
)
class HistoricalProductType(VersionFields, relay.Node):
    history_user: UserType | None = strawberry_django.field(
        description="Who made the change; null for changes made outside a request."
    )
    name: str
    description: str
    price: Decimal
    quantity: int

    @strawberry_django.field(
        only=["id"],
        description="Global id of the product; valid even after it was deleted.",
    )
    def product_id(self) -> relay.GlobalID:
        return object_global_id(self)

    @strawberry_django.field(
        only=["id", "history_id"],
        description="The version of this product just before this one.",
    )
    async def previous(self, info: Info[Any, Any]) -> HistoricalProductType | None:
        return await load_neighbour(info, self, newer=False)

    @strawberry_django.field(
        only=["id", "history_id"],
        description="The version of this product just after this one.",
    )
    async def next(self, info: Info[Any, Any]) -> HistoricalProductType | None:
        return await load_neighbour(info, self, newer=True)

    @strawberry_django.field(
        only=["id"],
        description="The live product; null once it has been deleted.",
    )
    async def product(self, info: Info[Any, Any]) -> ProductType | None:
        return await load_live_object(info, self)

    @strawberry_django.field(
        only=["history_reverted_from_id"],
        description=(
            "Set when revertProduct made this version: the version it went back to."
        ),
    )
    async def reverted_from(self, info: Info[Any, Any]) -> HistoricalProductType | None:
        return await load_version(
            info,
            Product,
            self.history_reverted_from_id,  # type: ignore[attr-defined]
        )
