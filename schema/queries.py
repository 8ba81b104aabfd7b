"""Queries: products, their history, the audit feed and time travel."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import strawberry
import strawberry_django
from django.db import models
from django.utils import timezone
from strawberry import relay
from strawberry.types import Info
from strawberry_django.relay import DjangoListConnection

from history import selectors
from products.models import Category, Product
from schema.context import viewer_of
from schema.fields import DescribedField
from schema.filters import (
    CategoryFilter,
    CategoryOrder,
    HistoricalCategoryFilter,
    HistoricalProductFilter,
    ProductFilter,
    ProductOrder,
)
from schema.ids import pk_of
from schema.permissions import history_permission
from schema.types import (
    CategoryType,
    HistoricalCategoryType,
    HistoricalProductType,
    ProductType,
)
from schema.users import UserType


def _live(model: type[models.Model], pk: int | None) -> Any:
    if pk is None:
        return None
    return selectors.objects_by_pk(model=model, pks=[pk]).get(pk)


def _as_of(
    info: Info[Any, Any], model: type[models.Model], pk: int, at: datetime.datetime
) -> Any:
    if timezone.is_naive(at):
        at = at.replace(tzinfo=datetime.UTC)
    try:
        at = at.astimezone(datetime.UTC)
    except OverflowError:
        # Beyond the calendar in UTC: before anything existed, or after now.
        at = datetime.datetime.min if at.year == 1 else datetime.datetime.max
        at = at.replace(tzinfo=datetime.UTC)
    return selectors.history_as_of(
        model=model, pk=pk, at=at, staff=viewer_of(info).is_staff
    )


@strawberry.type(description="Reads of the catalog and its history.")
class Query:
    node: relay.Node | None = strawberry_django.node(
        description="Any object by its global id."
    )

    @strawberry_django.field(
        description=(
            "A product by its global id; null when it does not exist (or was deleted)."
        )
    )
    def product(
        self,
        id: Annotated[strawberry.ID, strawberry.argument(description="The product.")],
    ) -> ProductType | None:
        return _live(Product, pk_of(id, "Product"))

    products: DjangoListConnection[ProductType] = strawberry_django.connection(
        field_cls=DescribedField,
        filters=ProductFilter,
        ordering=ProductOrder,
        description="The products of the catalog.",
    )

    product_history: DjangoListConnection[HistoricalProductType] = (
        strawberry_django.connection(
            field_cls=DescribedField,
            filters=HistoricalProductFilter,
            permission_classes=[history_permission(Product)],
            description=(
                "The audit feed: every version of every product, deleted ones "
                "included, newest first."
            ),
        )
    )

    @strawberry_django.field(
        permission_classes=[history_permission(Product)],
        description=(
            "The version of a product that was in force at a moment; null if it did "
            "not exist then."
        ),
    )
    def product_as_of(
        self,
        info: Info[Any, Any],
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The product, deleted or not."),
        ],
        at: Annotated[
            datetime.datetime,
            strawberry.argument(
                description="The moment; without an offset it is taken as UTC."
            ),
        ],
    ) -> HistoricalProductType | None:
        pk = pk_of(id, "Product")
        if pk is None:
            return None
        return _as_of(info, Product, pk, at)

    @strawberry_django.field(
        description=(
            "A category by its global id; null when it does not exist (or was deleted)."
        )
    )
    def category(
        self,
        id: Annotated[strawberry.ID, strawberry.argument(description="The category.")],
    ) -> CategoryType | None:
        return _live(Category, pk_of(id, "Category"))

    categories: DjangoListConnection[CategoryType] = strawberry_django.connection(
        field_cls=DescribedField,
        filters=CategoryFilter,
        ordering=CategoryOrder,
        description="The categories of the catalog.",
    )

    category_history: DjangoListConnection[HistoricalCategoryType] = (
        strawberry_django.connection(
            field_cls=DescribedField,
            filters=HistoricalCategoryFilter,
            permission_classes=[history_permission(Category)],
            description=(
                "The audit feed of categories: every version, deleted ones "
                "included, newest first."
            ),
        )
    )

    @strawberry_django.field(
        permission_classes=[history_permission(Category)],
        description=(
            "The version of a category that was in force at a moment; null if it "
            "did not exist then."
        ),
    )
    def category_as_of(
        self,
        info: Info[Any, Any],
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The category, deleted or not."),
        ],
        at: Annotated[
            datetime.datetime,
            strawberry.argument(
                description="The moment; without an offset it is taken as UTC."
            ),
        ],
    ) -> HistoricalCategoryType | None:
        pk = pk_of(id, "Category")
        if pk is None:
            return None
        return _as_of(info, Category, pk, at)

    @strawberry.field(description="The logged-in user; null when anonymous.")
    def me(self, info: Info[Any, Any]) -> UserType | None:
        viewer = viewer_of(info)
        return viewer.user if viewer.is_authenticated else None
