"""The catalog in the GraphQL API: categories, tags and products.

Each tracked model is a declaration (`schema.registry.tracked`): its object
type, its filter and ordering, its inputs and its services. Its versions,
feeds, time travel, mutations and payloads are generated.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, ClassVar

import strawberry
import strawberry_django
from django.db import models
from django.db.models import Q
from strawberry import relay
from strawberry.types import Info
from strawberry_django import DatetimeFilterLookup

from history.tracking import m2m_history_model
from products import services
from products.models import MAX_TAGS, Category, Product, Tag
from schema.context import viewer_of
from schema.filters import (
    DecimalFilterLookup,
    IntFilterLookup,
    StrFilterLookup,
    filter_text,
    pk_filter,
)
from schema.ids import IntegerKeyNode
from schema.inputs import (
    CreateCategoryInput,
    CreateProductInput,
    UpdateCategoryInput,
    UpdateProductInput,
)
from schema.limits import list_bound
from schema.registry import Services, tracked

# The reverse relation from a product version to its recorded tag rows.
TAG_ROWS = (
    m2m_history_model(Product, Product._meta.get_field("tags"))
    ._meta.get_field("history")
    .related_query_name()
)


@strawberry_django.type(Tag, name="Tag", description="A label on products.")
class TagType(IntegerKeyNode, relay.Node):
    name: str = strawberry_django.field(description="The tag.")


@strawberry_django.filter_type(
    Category, name="CategoryFilter", description="Filters of the category connection."
)
class CategoryFilter:
    name: StrFilterLookup | None = strawberry_django.filter_field(
        description='The name, e.g. { iContains: "lamp" }.'
    )


@strawberry_django.order_type(
    Category, name="CategoryOrder", description="Orderings of the category connection."
)
class CategoryOrder:
    id: strawberry.auto = strawberry_django.order_field(description="Creation order.")
    name: strawberry.auto = strawberry_django.order_field(description="Name.")


@tracked(
    Category,
    services=Services(
        create=services.category_create,
        update=services.category_update,
        delete=services.category_delete,
        revert=services.category_revert,
    ),
    filters=CategoryFilter,
    order=CategoryOrder,
    create_input=CreateCategoryInput,
    update_input=UpdateCategoryInput,
    notes={
        "delete": (
            "A category holding products needs products.change_product too: "
            "they leave it first, each with a version."
        )
    },
    description=(
        "A group of products. Every change to it is recorded as a HistoricalCategory."
    ),
)
class CategoryType(IntegerKeyNode, relay.Node):
    name: strawberry.auto
    description: strawberry.auto
    created_at: datetime.datetime
    updated_at: datetime.datetime


@strawberry.type
class RelatedAtVersion:
    """An object a version pointed to, with the name it had then."""

    pk: strawberry.Private[int]
    model: ClassVar[type[models.Model]]
    name: str = strawberry.field(description="Its name when the version was written.")

    @strawberry.field(description="Global id of the object; valid after deletion.")
    def id(self) -> relay.GlobalID:
        return relay.GlobalID(self.model.__name__, str(self.pk))

    @strawberry.field(description="Whether it still exists.")
    async def exists(self, info: Info[Any, Any]) -> bool:
        return await self.live(info) is not None

    async def live(self, info: Info[Any, Any]) -> Any:
        return await info.context.loaders.objects(self.model).load(self.pk)


@strawberry.type(
    name="CategoryAtVersion",
    description=(
        "The category a version was in, with the name it had then; it may have "
        "been renamed or deleted since."
    ),
)
class CategoryAtVersion(RelatedAtVersion):
    model = Category

    @strawberry.field(description="The live category; null once it was deleted.")
    async def category(self, info: Info[Any, Any]) -> CategoryType | None:
        return await self.live(info)


@strawberry.type(
    name="TagAtVersion",
    description="A tag a version had, with the name it had then.",
)
class TagAtVersion(RelatedAtVersion):
    model = Tag

    @strawberry.field(description="The live tag; null once it was deleted.")
    async def tag(self, info: Info[Any, Any]) -> TagType | None:
        return await self.live(info)


@strawberry.type
class ProductVersionFields:
    """What a product version has besides its own values: its relations as
    they were."""

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


@strawberry.input
class ProductVersionFilter:
    @strawberry_django.filter_field(
        description="Versions in which the product was in this category."
    )
    def category(self, value: strawberry.ID, prefix: str) -> Q:
        return pk_filter(prefix, "category_id", value, "Category")

    @strawberry_django.filter_field(
        description="Versions in which the product had this tag (by name)."
    )
    def tag(self, value: str, prefix: str) -> Q:
        return Q(**{f"{prefix}{TAG_ROWS}__tag__name": filter_text(value)})

    @strawberry_django.filter_field(
        description="Versions in which the product had this tag (by id)."
    )
    def tag_id(self, value: strawberry.ID, prefix: str) -> Q:
        return pk_filter(prefix, f"{TAG_ROWS}__tag_id", value, "Tag")


@strawberry_django.filter_type(
    Product, name="ProductFilter", description="Filters of the product connection."
)
class ProductFilter:
    """Filters of the product connection."""

    name: StrFilterLookup | None = strawberry_django.filter_field(
        description='The name, e.g. { iContains: "lamp" }.'
    )
    description: StrFilterLookup | None = strawberry_django.filter_field(
        description="The description."
    )
    price: DecimalFilterLookup | None = strawberry_django.filter_field(
        description='The price, e.g. { gt: "1000" }.'
    )
    quantity: IntFilterLookup | None = strawberry_django.filter_field(
        description="Units in stock."
    )
    created_at: DatetimeFilterLookup | None = strawberry_django.filter_field(
        description="When the product was created."
    )
    updated_at: DatetimeFilterLookup | None = strawberry_django.filter_field(
        description="When the product was last changed."
    )

    @strawberry_django.filter_field(description="Products in this category.")
    def category(self, value: strawberry.ID, prefix: str) -> Q:
        return pk_filter(prefix, "category_id", value, "Category")

    @strawberry_django.filter_field(description="Products with this tag (by name).")
    def tag(self, value: str, prefix: str) -> Q:
        return Q(**{f"{prefix}tags__name": filter_text(value)})

    @strawberry_django.filter_field(description="Products with this tag (by id).")
    def tag_id(self, value: strawberry.ID, prefix: str) -> Q:
        return pk_filter(prefix, "tags", value, "Tag")


@strawberry_django.order_type(
    Product, name="ProductOrder", description="Orderings of the product connection."
)
class ProductOrder:
    """Orderings of the product connection."""

    id: strawberry.auto = strawberry_django.order_field(description="Creation order.")
    name: strawberry.auto = strawberry_django.order_field(description="Name.")
    price: strawberry.auto = strawberry_django.order_field(description="Price.")
    quantity: strawberry.auto = strawberry_django.order_field(
        description="Units in stock."
    )
    created_at: strawberry.auto = strawberry_django.order_field(
        description="Creation time."
    )
    updated_at: strawberry.auto = strawberry_django.order_field(
        description="Time of the last change."
    )


@tracked(
    Product,
    services=Services(
        create=services.product_create,
        update=services.product_update,
        delete=services.product_delete,
        revert=services.product_revert,
    ),
    filters=ProductFilter,
    order=ProductOrder,
    create_input=CreateProductInput,
    update_input=UpdateProductInput,
    version_fields=ProductVersionFields,
    version_filter=ProductVersionFilter,
    notes={"revert": "Fields, category and tags alike."},
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

    @strawberry_django.field(
        only=["supplier_cost"],
        description="What the supplier charges; staff only (null for others).",
    )
    async def supplier_cost(self, info: Info[Any, Any]) -> Decimal | None:
        if not viewer_of(info).is_staff:
            return None
        return self.supplier_cost
