"""GraphQL object types of the catalog: categories, tags, products and their
versions."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
import strawberry_django
from strawberry import relay
from strawberry.types import Info

from products.models import MAX_TAGS, Category, Product, Tag
from schema.connections import KeysetConnection
from schema.context import viewer_of
from schema.fields import DescribedField
from schema.history import (
    VersionFields,
    load_live_object,
    load_neighbour,
    load_version,
    object_global_id,
)
from schema.ids import IntegerKeyNode
from schema.limits import list_bound
from schema.permissions import history_permission

if TYPE_CHECKING:
    from schema.filters import HistoricalCategoryFilter, HistoricalProductFilter

HistoricalProduct = Product.history.model
HistoricalCategory = Category.history.model


@strawberry_django.type(Tag, name="Tag", description="A label on products.")
class TagType:
    name: str = strawberry_django.field(description="The tag.")


@strawberry_django.type(
    Category,
    name="Category",
    description=(
        "A group of products. Every change to it is recorded as a HistoricalCategory."
    ),
)
class CategoryType(IntegerKeyNode, relay.Node):
    name: strawberry.auto
    description: strawberry.auto
    created_at: datetime.datetime
    updated_at: datetime.datetime
    history: KeysetConnection[HistoricalCategoryType] = strawberry_django.connection(
        field_name="versions",
        field_cls=DescribedField,
        filters=Annotated[
            "HistoricalCategoryFilter", strawberry.lazy("schema.filters")
        ],
        permission_classes=[history_permission(Category)],
        description="Every recorded version of this category, newest first.",
    )


@strawberry_django.type(
    Product,
    name="Product",
    description=(
        "A product in the catalog. Every change to it is recorded as a "
        "HistoricalProduct."
    ),
)
class ProductType(IntegerKeyNode, relay.Node):
    name: strawberry.auto
    description: strawberry.auto
    price: Decimal
    quantity: int
    category: CategoryType | None = strawberry_django.field(
        description="The category the product is in."
    )
    tags: list[TagType] = strawberry_django.field(
        description="The product's tags, by name.", metadata=list_bound(MAX_TAGS)
    )
    created_at: datetime.datetime
    updated_at: datetime.datetime
    history: KeysetConnection[HistoricalProductType] = strawberry_django.connection(
        field_name="versions",
        field_cls=DescribedField,
        filters=Annotated["HistoricalProductFilter", strawberry.lazy("schema.filters")],
        permission_classes=[history_permission(Product)],
        description="Every recorded version of this product, newest first.",
    )

    @strawberry_django.field(
        only=["supplier_cost"],
        description="What the supplier charges; staff only (null for others).",
    )
    async def supplier_cost(self, info: Info[Any, Any]) -> Decimal | None:
        if not viewer_of(info).is_staff:
            return None
        return self.supplier_cost


@strawberry.type(
    name="CategoryAtVersion",
    description=(
        "The category a version was in, with the name it had then; it may have "
        "been renamed or deleted since."
    ),
)
class CategoryAtVersion:
    pk: strawberry.Private[int]
    name: str = strawberry.field(description="Its name when the version was written.")

    @strawberry.field(description="Global id of the category; valid after deletion.")
    def id(self) -> relay.GlobalID:
        return relay.GlobalID("Category", str(self.pk))

    @strawberry.field(description="Whether the category still exists.")
    async def exists(self, info: Info[Any, Any]) -> bool:
        return await self.category(info) is not None

    @strawberry.field(description="The live category; null once it was deleted.")
    async def category(self, info: Info[Any, Any]) -> CategoryType | None:
        return await info.context.loaders.objects(Category).load(self.pk)


@strawberry.type(
    name="TagAtVersion",
    description="A tag a version had, with the name it had then.",
)
class TagAtVersion:
    pk: strawberry.Private[int]
    name: str = strawberry.field(description="Its name when the version was written.")

    @strawberry.field(description="Whether the tag still exists.")
    async def exists(self, info: Info[Any, Any]) -> bool:
        return await info.context.loaders.objects(Tag).load(self.pk) is not None


@strawberry_django.type(
    HistoricalProduct,
    name="HistoricalProduct",
    description=(
        "One immutable version of a product: its field values right after a "
        "change, and who/when/why."
    ),
)
class HistoricalProductType(VersionFields, IntegerKeyNode, relay.Node):
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
        only=["category", "history_snapshot"],
        description="The category as it was in this version.",
    )
    async def category(self) -> CategoryAtVersion | None:
        category_id = self.category_id  # type: ignore[attr-defined]
        if category_id is None:
            return None
        entry = (self.history_snapshot or {}).get("category") or {}  # type: ignore[attr-defined]
        return CategoryAtVersion(
            pk=category_id, name=str(entry.get("label") or f"#{category_id}")
        )

    @strawberry_django.field(
        only=["history_snapshot"],
        description="The tags as they were in this version, by name.",
        metadata=list_bound(MAX_TAGS),
    )
    async def tags(self) -> list[TagAtVersion]:
        entries = (self.history_snapshot or {}).get("tags") or []  # type: ignore[attr-defined]
        return sorted(
            (TagAtVersion(pk=e["id"], name=str(e["label"])) for e in entries),
            key=lambda tag: tag.name,
        )

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


@strawberry_django.type(
    HistoricalCategory,
    name="HistoricalCategory",
    description=(
        "One immutable version of a category: its values right after a change, "
        "and who/when/why."
    ),
)
class HistoricalCategoryType(VersionFields, IntegerKeyNode, relay.Node):
    name: str
    description: str

    @strawberry_django.field(
        only=["id"],
        description="Global id of the category; valid even after it was deleted.",
    )
    def category_id(self) -> relay.GlobalID:
        return object_global_id(self)

    @strawberry_django.field(
        only=["id", "history_id"],
        description="The version of this category just before this one.",
    )
    async def previous(self, info: Info[Any, Any]) -> HistoricalCategoryType | None:
        return await load_neighbour(info, self, newer=False)

    @strawberry_django.field(
        only=["id", "history_id"],
        description="The version of this category just after this one.",
    )
    async def next(self, info: Info[Any, Any]) -> HistoricalCategoryType | None:
        return await load_neighbour(info, self, newer=True)

    @strawberry_django.field(
        only=["id"],
        description="The live category; null once it has been deleted.",
    )
    async def category(self, info: Info[Any, Any]) -> CategoryType | None:
        return await load_live_object(info, self)

    @strawberry_django.field(
        only=["history_reverted_from_id"],
        description=(
            "Set when revertCategory made this version: the version it went back to."
        ),
    )
    async def reverted_from(
        self, info: Info[Any, Any]
    ) -> HistoricalCategoryType | None:
        return await load_version(
            info,
            Category,
            self.history_reverted_from_id,  # type: ignore[attr-defined]
        )
